"""Which topology builds which scenario."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.network.direct import Direct
from orchestrator.network.routed import PLANS, Routed
from orchestrator.network.slots import Fresh, Networks
from orchestrator.network.tls import Authority
from orchestrator.network.topology import Topology


@dataclass(frozen=True)
class Topologies:
    """What every topology of a run shares: the netkit image, the run's TLS authority."""

    netkit_image: str | None = None
    authority: Authority | None = None
    networks: Networks = field(default_factory=Fresh)
    keep: bool = False

    def __call__(self, scenario: str) -> Topology:
        if scenario == "direct":
            return Direct(self.networks, self.netkit_image, self.keep)
        if scenario in PLANS and self.netkit_image is not None:
            return Routed(scenario, self.netkit_image, self.authority, self.networks, self.keep)
        raise ValueError(f"scenario {scenario!r} needs the netkit image")


def topology_for(scenario: str, keep: bool = False) -> Topology:
    """The direct topology with the peers on the network itself, no namespace holders
    (no tool image needed: for unit tests with a fake engine)."""
    return Topologies(networks=Fresh(keep), keep=keep)(scenario)


TopologyFor = Callable[[str], Topology]
