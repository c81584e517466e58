"""Integration tests: a real Docker engine, real images, real peers.

They never skip: `make integration` first makes sure an engine answers (installing
and starting one on a fresh Debian CI machine), and a missing engine is a failure.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.app import RunRequest, run_matrix
from orchestrator.config import load_matrix
from orchestrator.engine.client import DockerEngine, connect
from orchestrator.model import Cell, CellResult
from orchestrator.results import RunResults

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

SETTINGS = f"""\
settings:
  jobs: 4
  results_dir: results
  base_context: {REPO / "images/base"}
  capture_context: {REPO / "images/capture"}
  screenshot: false  # the nightly pipeline test turns it on
  image_prefix: webrtc-interop-test  # keep test images apart from the real ones
"""


@pytest.fixture(scope="session")
def engine() -> DockerEngine:
    return connect(print)


RunFn = Callable[..., tuple[RunResults, Path]]


@pytest.fixture
def run(tmp_path: Path, engine: DockerEngine) -> RunFn:
    """Write a matrix (settings + the given tests and implementations) and run it for real."""

    def run_it(body: str, **request: object) -> tuple[RunResults, Path]:
        path = tmp_path / "matrix.yaml"
        path.write_text(SETTINGS + body)
        matrix = load_matrix(path)
        return run_matrix(matrix, RunRequest(**request), Console(file=io.StringIO()))  # type: ignore[arg-type]

    return run_it


def by_cell(results: RunResults) -> dict[Cell, CellResult]:
    return {r.cell: r for r in results.cells}
