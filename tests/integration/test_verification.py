"""No false greens: every verdict is checked against a capture of the cell's traffic."""

from __future__ import annotations

from orchestrator.model import Cell, Outcome
from tests.integration.conftest import RunFn, by_cell, fixture, matrix, real

MATRIX = matrix(
    {"datachannel": 30},
    real("aiortc"),
    fixture("liar", "client: all", "/fixtures/liar-client.sh {server_url}"),
)


def test_liar_is_unverified_and_honest_pair_is_verified(run: RunFn) -> None:
    results, run_dir = run(MATRIX)
    cells = by_cell(results)

    liar = cells[Cell("datachannel", "aiortc", "liar")]
    assert liar.exit_code == 0, "the fixture must really exit 0 for this test to mean anything"
    assert liar.outcome is Outcome.UNVERIFIED
    assert "no ICE check was answered either way" in liar.reason
    assert (run_dir / liar.log_paths["capture"]).stat().st_size > 0  # it did talk HTTP

    honest = cells[Cell("datachannel", "aiortc", "aiortc")]
    assert honest.outcome is Outcome.PASSED, honest.reason
    wire = honest.verification
    assert wire is not None
    assert wire.verified
    assert wire.connect_time_s is not None
    assert 0 < wire.connect_time_s < 10
    assert wire.client_to_server.dtls_application_records > 0
    assert wire.server_to_client.dtls_application_records > 0
    verification = (run_dir / honest.log_paths["verification"]).read_text()
    assert "capture: proven (decrypted)" in verification  # aiortc logs its DTLS keys
    assert "❓" in (run_dir / "results.md").read_text()
