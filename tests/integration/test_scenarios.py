"""The scenarios' networks are what docs/scenarios.md says they are, whatever the peers
do: RFC 5780 discovery against each NAT, from the client's own namespace."""

from __future__ import annotations

import pytest

from orchestrator.config import load_matrix
from orchestrator.engine.client import DockerEngine
from orchestrator.images import ImageBuilder
from orchestrator.model import Outcome
from orchestrator.network.behaviour import discover
from orchestrator.ports import RUN_LABEL
from orchestrator.results import new_run_id, utc_now
from tests.integration.conftest import REPO, RunFn, matrix, real

CONE = ("Endpoint Independent Mapping", "Address and Port Dependent Filtering")
SYMMETRIC = ("Address and Port Dependent Mapping", "Address and Port Dependent Filtering")


@pytest.fixture(scope="module")
def netkit(engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory) -> str:
    matrix = load_matrix(REPO / "matrix.yaml")
    builder = ImageBuilder(engine, matrix, tmp_path_factory.mktemp("build"), print, print)
    return builder.prepare_tool("netkit", matrix.settings.netkit_context)


@pytest.mark.parametrize(
    ("scenario", "expected"), [("nat-client", CONE), ("nat-symmetric", SYMMETRIC)]
)
def test_each_nat_behaves_as_documented(
    engine: DockerEngine, netkit: str, scenario: str, expected: tuple[str, str]
) -> None:
    run_id = new_run_id(utc_now())
    found = discover(engine, netkit, scenario, run_id)
    assert (found.mapping, found.filtering) == expected, found.output
    assert engine.count_labelled(f"{RUN_LABEL}={run_id}") == (0, 0)


REAL_PEERS = matrix({"datachannel": 40}, real("pion"), real("aiortc")) + (
    "scenarios:\n"
    "  nat-both: {tests: [datachannel]}\n"
    "  nat-symmetric: {tests: [datachannel]}\n"
    "  turn-tls: {tests: [datachannel]}\n"
)
PATHS = {"nat-both": "srflx", "nat-symmetric": "relay", "turn-tls": "relay"}


def test_real_peers_cross_nats_and_relays_the_way_the_scenario_allows(run: RunFn) -> None:
    """Pion serving, aiortc calling: through two cone NATs (STUN), two symmetric NATs
    (only TURN works) and TURN over TLS from a network without UDP."""
    results, _ = run(
        REAL_PEERS, servers=("pion",), clients=("aiortc",), scenarios=tuple(PATHS), jobs=3
    )
    assert {r.cell.scenario for r in results.cells} == set(PATHS)
    for result in results.cells:
        assert result.outcome is Outcome.PASSED, (result.cell, result.reason)
        wire = result.verification
        assert wire is not None
        assert wire.path == PATHS[result.cell.scenario], (result.cell, wire.path)
        assert wire.proof == "decrypted", (result.cell, wire.details)  # both log their keys
