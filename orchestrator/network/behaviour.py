"""RFC 5780 NAT behaviour discovery for a scenario's NAT: coturn with two addresses on the
public side, `turnutils_natdiscovery` run in the client's namespace. Says what the
topology's NATs really are, so a failing scenario can be told apart from a broken one
(docs/scenarios.md)."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass

from orchestrator.errors import EngineError
from orchestrator.network.routed import PLANS, Builder, client_routes
from orchestrator.network.tools import TOOL_LIMITS
from orchestrator.network.topology import open_network
from orchestrator.ports import ROLE_LABEL, RUN_LABEL, Attachment, ContainerSpec, Engine, Privileges

STUN_PORT = 3478
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Behaviour:
    mapping: str  # e.g. "Endpoint Independent Mapping"
    filtering: str
    output: str


def discover(engine: Engine, image: str, scenario: str, run_id: str) -> Behaviour:
    """The mapping and filtering of `scenario`'s client-side NAT."""
    plan = PLANS[scenario]
    if plan.client_nat is None:
        raise ValueError(f"{scenario} has no NAT on the client's side")
    labels = {RUN_LABEL: run_id}
    cancel = threading.Event()
    with ExitStack() as stack:
        prefix = f"wi-{run_id}.nat-behaviour.{scenario}"
        network = open_network(engine, stack, prefix, labels, keep=False)
        builder = Builder(engine, stack, network, prefix, labels, image, False, cancel)
        first, second = network.host(80), network.host(81)
        builder.start(
            "stun",
            [
                "hold",
                f"ip addr add {second}/24 dev eth0",
                f"turnserver -n --no-cli --log-file=stdout --listening-ip={first} "
                f"--listening-ip={second} --listening-port={STUN_PORT} --stun-only "
                "--pidfile=/tmp/t.pid --userdb=/tmp/db >/dev/null 2>&1 &",
                "sleep 1",
            ],
            80,
            Privileges(("NET_ADMIN", "NET_BIND_SERVICE")),
        )
        builder.router("a", 65, 1, 0, plan.client_nat, plan)
        client = builder.holder("client", 10, client_routes(network, plan))
        builder.wait_ready()
        probe = stack.enter_context(
            engine.container(
                ContainerSpec(
                    name=f"{prefix}.probe",
                    image=image,
                    attachment=Attachment(join=client),
                    labels={**labels, ROLE_LABEL: "probe"},
                    command=("turnutils_natdiscovery", "-m", "-f", first),
                    limits=TOOL_LIMITS,
                    privileges=Privileges(),
                )
            )
        )
        if probe.wait_exit(TIMEOUT_S, cancel) is None:
            raise EngineError("NAT behaviour discovery did not finish")
        output = probe.logs().text.decode(errors="replace")
    return Behaviour(_find(output, "Mapping"), _find(output, "Filtering"), output)


def _find(output: str, kind: str) -> str:
    for line in output.splitlines():
        if f"{kind}!" in line or (f"{kind} " in line and "NAT with" in line):
            return line.strip().removeprefix("NAT with ").rstrip("!").strip()
    return "unknown"
