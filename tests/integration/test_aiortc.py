"""The foundation's promise: aiortc against itself passes both test cases, for real."""

from __future__ import annotations

import json

from orchestrator.model import Cell, Outcome
from tests.integration.conftest import RunFn, by_cell, matrix, real

MATRIX = matrix({"peerconnection": 30, "datachannel": 30}, real("aiortc")).replace(
    "    roles:", '    versions: {aiortc: "1.16.0"}\n    roles:'
)


def test_aiortc_against_itself_passes_both_test_cases(run: RunFn) -> None:
    results, run_dir = run(MATRIX)
    cells = by_cell(results)
    for test in ("peerconnection", "datachannel"):
        result = cells[Cell(test, "aiortc", "aiortc")]
        assert result.outcome is Outcome.PASSED, result.reason
        assert result.exit_code == 0
        client_log = (run_dir / result.log_paths["client"]).read_text()
        assert "connection state connected" in client_log
    echoed = cells[Cell("datachannel", "aiortc", "aiortc")]
    assert echoed.verification is not None
    assert echoed.verification.proof == "decrypted", echoed.verification  # P itself, both ways

    document = json.loads((run_dir / "results.json").read_text())
    assert document["schema_version"] == 2
    assert document["run"]["status"] == "complete"
    assert document["implementations"]["aiortc"]["versions"]["aiortc"] == "1.16.0"
    assert document["implementations"]["aiortc"]["image_id"].startswith("sha256:")
    assert {c["outcome"] for c in document["cells"]} == {"passed"}

    markdown = (run_dir / "results.md").read_text()
    assert "| **aiortc** | ✅ <sub>" in markdown  # the symbol, then the connect time
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()
