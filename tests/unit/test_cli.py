from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.codec import to_json
from orchestrator.config import load_matrix, with_images
from orchestrator.errors import ConfigError
from orchestrator.model import Cell, CellResult, Outcome
from tests.unit.conftest import VALID, WriteMatrix
from tests.unit.test_results_and_render import sample


def test_config_error_is_one_line_and_exit_2(
    write_matrix: WriteMatrix, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_matrix(VALID.replace("  jobs: 2", "  jobz: 2"))
    assert main(["-f", str(path), "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "did you mean 'jobs'" in err


def test_bad_arguments_exit_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert "must be at least 1" in err
    assert "Traceback" not in err


def test_unknown_filter_name_suggests(
    write_matrix: WriteMatrix, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_matrix(VALID)
    assert main(["-f", str(path), "run", "-s", "alpah"]) == 2
    assert "did you mean 'alpha'" in capsys.readouterr().err


def test_report_renders_markdown_and_json_from_a_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(to_json(sample())))
    assert main(["report", str(path)]) == 0
    assert "| **pion** | ❌ |" in capsys.readouterr().out
    out = tmp_path / "again.json"
    assert main(["report", str(tmp_path), "--format", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == to_json(sample())


def test_report_of_a_missing_file_exits_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "none.json")]) == 4
    assert "no such file" in capsys.readouterr().err


def test_list_shows_implementations(
    write_matrix: WriteMatrix, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["-f", str(write_matrix(VALID)), "list"]) == 0
    out = capsys.readouterr().out
    assert "images/alpha → webrtc-interop/alpha:latest" in out
    assert "example.org/beta:2" in out


def test_image_override_replaces_the_build(write_matrix: WriteMatrix) -> None:
    matrix = with_images(load_matrix(write_matrix(VALID), environ={}), [("alpha", "dev/alpha:pr7")])
    alpha = matrix.implementation("alpha")
    assert alpha.image == "dev/alpha:pr7"
    assert alpha.build_context is None
    assert alpha.image_reference("webrtc-interop") == "dev/alpha:pr7"
    with pytest.raises(ConfigError, match="did you mean 'alpha'"):
        with_images(matrix, [("alpah", "x")])


def test_image_override_needs_name_and_image(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--image", "pion"]) == 2
    assert "expected NAME=IMAGE" in capsys.readouterr().err


def test_check_gates_against_the_current_expectations_file(
    write_matrix: WriteMatrix, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = write_matrix(VALID)
    results = tmp_path / "run.json"
    failing = CellResult(Cell("datachannel", "alpha", "beta"), Outcome.FAILED, "SCTP abort")
    passing = CellResult(Cell("datachannel", "alpha", "alpha"), Outcome.PASSED, "ok")
    document = replace(sample(), cells=(failing, passing), implementations=())
    results.write_text(json.dumps(to_json(document)))
    assert main(["-f", str(matrix), "check", str(results)]) == 1
    assert "deviation: datachannel/alpha/beta: failed (not in expectations.yaml)" in (
        capsys.readouterr().out
    )
    (tmp_path / "expectations.yaml").write_text(
        "datachannel/alpha/beta:\n  outcome: failed\n  reason: SCTP INIT rejected\n"
    )
    assert main(["-f", str(matrix), "check", str(results)]) == 0


def test_no_engine_and_no_permission_to_start_one_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    socket = f"unix://{tmp_path}/no-docker.sock"
    monkeypatch.setenv("DOCKER_HOST", socket)  # someone else's engine: never provisioned
    assert main(["engine"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"error: no Docker engine answers at {socket}; start it")
    assert err.count("\n") == 1
