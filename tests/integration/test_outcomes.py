"""Each way a cell can go wrong, produced by a real misbehaving container."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.model import Cell, Outcome
from tests.integration.conftest import SETTINGS, RunFn, by_cell, fixture, matrix, real

TIMEOUT_S = 6
MATRIX = matrix(
    {"datachannel": TIMEOUT_S},
    real("aiortc", "server: all"),
    fixture("crashing", "server: all"),
    fixture("failing", "client: all", "/fixtures/failing-client.sh"),
    fixture("hanging", "client: all", "/fixtures/hanging-client.sh {server_url}"),
    fixture("broken", "server: all, client: all", context="broken-build"),
)


def test_every_failure_kind_is_classified_and_the_run_goes_on(run: RunFn) -> None:
    results, run_dir = run(MATRIX)
    cells = by_cell(results)

    def outcome(server: str, client: str) -> Outcome:
        return cells[Cell("datachannel", server, client)].outcome

    failed = cells[Cell("datachannel", "aiortc", "failing")]
    assert failed.outcome is Outcome.FAILED
    assert failed.reason == "this fixture always fails"

    hung = cells[Cell("datachannel", "aiortc", "hanging")]
    assert hung.outcome is Outcome.TIMEOUT
    assert hung.exit_code is None
    assert f"still running after {TIMEOUT_S}s, killed" in hung.reason
    assert hung.duration_s < TIMEOUT_S + 15  # server start + timeout + teardown

    for client in ("failing", "hanging"):
        crashed = cells[Cell("datachannel", "crashing", client)]
        assert crashed.outcome is Outcome.SERVER_ERROR
        assert crashed.reason == "server exited with code 3 before listening on 8080"
        assert "cannot bind" in (run_dir / crashed.log_paths["server"]).read_text()

    broken = [
        c
        for c in results.cells
        if "broken" in (c.cell.server, c.cell.client) and c.outcome is not Outcome.UNSUPPORTED
    ]
    assert len(broken) == 5  # 3 servers x broken client + broken server x 2 other clients
    assert {c.outcome for c in broken} == {Outcome.BUILD_ERROR}
    build_log = run_dir / broken[0].log_paths["build"]
    assert "this build fails on purpose" in build_log.read_text()
    record = {r.name: r for r in results.implementations}["broken"]
    assert record.build == "failed"
    assert outcome("aiortc", "failing") is Outcome.FAILED  # the rest of the matrix still ran


def test_a_prebuilt_image_that_is_not_here_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(
        SETTINGS
        + matrix(
            {"datachannel": 10},
            "  ghost:\n    image: webrtc-interop-test/not-there:1\n    roles: {server: all}\n",
            real("aiortc", "client: all"),
        )
    )
    assert main(["-f", str(path), "run", "--no-build"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "implementations.ghost.image: webrtc-interop-test/not-there:1 is not here" in err
    assert not (tmp_path / "results").exists()
