"""A cell's network: where each peer sits, what it is told, and who is who on the wire.

Every topology puts the whole cell on ONE internal Docker network with a subnet of its
own, at fixed addresses. Scenarios that need routers place them on the same network
and change the peers' routes (docs/scenarios.md); Docker's internal networks drop
traffic routed in from other subnets, so separate networks per segment would not do.
The packet recorder listens on the network's bridge and sees every hop.
"""

from __future__ import annotations

import ipaddress
import json
import random
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.errors import EngineError
from orchestrator.naming import bridge_name
from orchestrator.ports import Attachment, Engine, NetworkSpec
from orchestrator.wire.endpoints import Endpoints

SERVER_ALIASES = ("server", "echo-server")
ADDRESS_POOL = ipaddress.IPv4Network("198.18.0.0/15")  # RFC 2544: for network benchmarks
SUBNET_ATTEMPTS = 24
GATEWAY_HOST = 254  # the host's own address on the bridge; never a peer's route


@dataclass(frozen=True)
class Wiring:
    """A topology that is up: everything the rest of the cell needs to know about it."""

    server: Attachment
    client: Attachment
    server_url: str
    server_host: str
    probe: tuple[str, int]  # where the host checks that the server listens
    bridge: str
    endpoints: Endpoints
    environment: Mapping[str, str] = field(default_factory=dict)  # for both peers
    server_environment: Mapping[str, str] = field(default_factory=dict)  # the server's own


@dataclass(frozen=True)
class CellNetwork:
    name: str
    bridge: str
    subnet: ipaddress.IPv4Network
    subnet6: ipaddress.IPv6Network | None = None

    def host(self, number: int) -> str:
        return str(self.subnet.network_address + number)

    def host6(self, number: int) -> str:
        assert self.subnet6 is not None, "an IPv4-only network"
        return str(self.subnet6.network_address + number)


@dataclass(frozen=True)
class CellScope:
    """Where a cell's resources go: the engine, the cell's ExitStack (closed when the
    cell ends), the names' prefix and labels, and the run's cancel signal."""

    engine: Engine
    stack: ExitStack
    prefix: str
    labels: Mapping[str, str]
    cancel: threading.Event


class Topology(Protocol):
    def up(self, scope: CellScope) -> Wiring:
        """Create the cell's network (and routers, relays) inside `stack`."""


def ice_environment(
    scenario: str, servers: list[dict[str, str | list[str]]] | None = None, relay: bool = False
) -> dict[str, str]:
    """The contract's ICE variables (docs/contract.md section 2)."""
    return {
        "ICE_SERVERS": json.dumps(servers or []),
        "ICE_TRANSPORT_POLICY": "relay" if relay else "all",
        "NETWORK_SCENARIO": scenario,
    }


def open_network(
    engine: Engine,
    stack: ExitStack,
    prefix: str,
    labels: Mapping[str, str],
    keep: bool,
    rng: random.Random | None = None,
    ipv6: bool = False,
) -> CellNetwork:
    """The cell's internal network on a free /24 of the pool (and, with `ipv6`, a random
    unique-local /64); a taken subnet (another cell, another run, anything of the
    host's) is skipped."""
    rng = rng or random.Random()
    subnets: list[ipaddress.IPv4Network] = list(ADDRESS_POOL.subnets(new_prefix=24))
    bridge = bridge_name(prefix)
    last: EngineError | None = None
    for subnet in rng.sample(subnets, SUBNET_ATTEMPTS):
        subnet6 = _unique_local(rng) if ipv6 else None
        spec = NetworkSpec(
            prefix,
            labels,
            bridge,
            subnet=str(subnet),
            gateway=str(subnet.network_address + GATEWAY_HOST),
            subnet6=str(subnet6) if subnet6 else None,
        )
        try:
            stack.enter_context(engine.network(spec, keep))
        except EngineError as error:
            if "overlap" not in str(error).lower():
                raise
            last = error
            continue
        return CellNetwork(prefix, bridge, subnet, subnet6)
    raise EngineError(f"no free subnet for the cell network after {SUBNET_ATTEMPTS} tries: {last}")


def _unique_local(rng: random.Random) -> ipaddress.IPv6Network:
    """A random fdXX:XXXX:XXXX::/64 (RFC 4193)."""
    return ipaddress.IPv6Network((0xFD << 120 | rng.getrandbits(56) << 64, 64))
