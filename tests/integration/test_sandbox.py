"""Peers are untrusted: a fork bomb, a log flood and hostile output cost their own cell
and nothing else; a peer that fails once and then passes is flaky, never green."""

from __future__ import annotations

from xml.etree import ElementTree

from orchestrator.model import Cell, Outcome
from orchestrator.render.junit import render_junit
from tests.integration.conftest import FIXTURES, RunFn, by_cell, fixture, matrix, real

TIMEOUT_S = 15
LOG_LIMIT = 256 << 10
MATRIX = matrix(
    {"datachannel": TIMEOUT_S},
    real("aiortc"),
    fixture(
        "bomb",
        "client: all",
        "/fixtures/forkbomb-client.sh",
    ).replace("    roles:", "    limits: {pids: 64}\n    roles:"),
    fixture("flood", "client: all", "/fixtures/flood-client.sh").replace(
        "    roles:", "    limits: {logs: 256k}\n    roles:"
    ),
    fixture("hostile", "client: all", "/fixtures/hostile-client.sh"),
    "  flaky:\n"
    f"    build: {FIXTURES / 'flaky'}\n"
    "    build_args: {PEER_IMAGE: webrtc-interop-test/aiortc:latest}\n"
    "    roles: {client: all}\n"
    "    client_command: /fixtures/flaky-client.sh {server_url}\n",
)


def test_misbehaving_peers_cost_only_their_own_cells(run: RunFn) -> None:
    results, run_dir = run(MATRIX, servers=("aiortc",), retries=1)
    cells = by_cell(results)

    def cell(client: str) -> Cell:
        return Cell("datachannel", "aiortc", client)

    assert cells[cell("aiortc")].outcome is Outcome.PASSED, cells[cell("aiortc")].reason

    bomb = cells[cell("bomb")]
    assert bomb.outcome is Outcome.TIMEOUT, bomb.reason

    flood = cells[cell("flood")]
    assert flood.outcome is Outcome.TIMEOUT
    assert "the middle of the client's output was cut" in flood.reason
    log = (run_dir / flood.log_paths["client"]).read_bytes()
    assert len(log) <= LOG_LIMIT + 4096
    assert log.startswith(b"FLOOD-HEAD: the first line")
    assert b"cut" in log
    assert b"flood flood" in log[-2000:]  # the tail is kept

    hostile = cells[cell("hostile")]
    assert hostile.outcome is Outcome.FAILED
    assert len(hostile.reason) <= 200
    assert "\x1b" not in hostile.reason
    assert hostile.reason.startswith("pipe | table <script>")
    markdown = (run_dir / "results.md").read_text()
    assert "<script>" not in markdown
    assert "\x1b" not in markdown
    assert "<script>" not in (run_dir / "results.html").read_text()
    ElementTree.fromstring(render_junit(results))
    versions = {r.name: dict(r.versions) for r in results.implementations}["hostile"]
    assert all("\x1b" not in k + v for k, v in versions.items())

    flaky = cells[cell("flaky")]
    assert flaky.outcome is Outcome.FLAKY, flaky.reason
    assert flaky.reason.startswith("passed on attempt 2 after failed: the first attempt fails")
    assert [a.outcome for a in flaky.attempts] == [Outcome.FAILED, Outcome.PASSED]
