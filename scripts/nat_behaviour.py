"""Print what each scenario's client-side NAT is, by RFC 5780 (docs/scenarios.md).

usage: python scripts/nat_behaviour.py  (with the netkit image built: `make build`)
"""

from __future__ import annotations

from orchestrator.engine.client import connect
from orchestrator.network.behaviour import discover
from orchestrator.network.routed import PLANS
from orchestrator.results import new_run_id, utc_now


def main() -> None:
    engine = connect(print)
    run_id = new_run_id(utc_now())
    for scenario, plan in PLANS.items():
        if plan.client_nat is None:
            continue
        found = discover(engine, "webrtc-interop/netkit:latest", scenario, run_id)
        print(f"{scenario}: {found.mapping}; {found.filtering}")


if __name__ == "__main__":
    main()
