"""A server shared by consecutive cells (docs/contract.md 1.1), for real: each client
gets its own session, payload, keys, log and capture."""

from __future__ import annotations

import re

from orchestrator.model import Cell, Outcome
from tests.integration.conftest import RunFn, by_cell, matrix, real

TESTS = {"datachannel-server-open": 30, "datachannel": 30}
KEY = re.compile(r"KEYLOG: \S+ ([0-9a-f]{64}) ")


def test_one_aiortc_server_serves_two_clients_each_on_its_own(run: RunFn) -> None:
    body = matrix(TESTS, real("aiortc"), real("pion"))
    results, run_dir = run(body, servers=("aiortc",), clients=("aiortc", "pion"), retries=0)
    cells = by_cell(results)
    for test in TESTS:
        first, second = cells[Cell(test, "aiortc", "aiortc")], cells[Cell(test, "aiortc", "pion")]
        for result in (first, second):
            assert result.outcome is Outcome.PASSED, result.reason
            assert result.verification is not None
            assert result.verification.proof == "decrypted", result.verification
        assert "server_start" in dict(first.timings)
        assert "server_start" not in dict(second.timings)  # the same server container
        assert "the server had served 1 cell(s) before" in second.reason
        logs = [(run_dir / r.log_paths["server"]).read_text() for r in (first, second)]
        keys = [set(KEY.findall(log)) for log in logs]
        assert keys[0], logs[0]
        assert keys[1], logs[1]
        assert not keys[0] & keys[1]  # each cell's log holds its own session's keys only
