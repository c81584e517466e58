"""Which topology builds which scenario."""

from __future__ import annotations

from orchestrator.network.topology import Direct, Topology


def topology_for(scenario: str, keep: bool = False) -> Topology:
    """The topology that builds `scenario`'s network for one cell."""
    if scenario == "direct":
        return Direct(keep)
    raise ValueError(f"scenario {scenario!r} has no topology yet")
