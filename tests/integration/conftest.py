"""Integration tests: a real Docker engine, real images, real peers.

They never skip: `make integration` first makes sure an engine answers (installing
and starting one on a fresh Debian CI machine), and a missing engine is a failure.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.config import load_matrix
from orchestrator.engine.client import DockerEngine, connect
from orchestrator.model import Cell, CellResult
from orchestrator.planner import Selection
from orchestrator.records import RunResults
from orchestrator.runs import RunRequest, run_matrix

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROJECT = load_matrix(REPO / "matrix.yaml")

SETTINGS = f"""\
settings:
  jobs: 4
  # A browser image's first start after its build took 17-20 s here (files not yet in
  # the page cache); these tests prove interop, not start-up speed.
  server_ready_timeout: 60
  results_dir: results
  base_context: {REPO / "images/base"}
  capture_context: {REPO / "images/capture"}
  netkit_context: {REPO / "images/netkit"}
  screenshot: false  # the nightly pipeline test turns it on
  image_prefix: webrtc-interop-test  # keep test images apart from the real ones
"""


def matrix(tests: Mapping[str, float], *entries: str) -> str:
    """A matrix body: the test cases with their timeouts, then implementation entries."""
    lines = [
        "tests:",
        *(f"  {name}: {{timeout: {timeout:g}}}" for name, timeout in tests.items()),
        "implementations:",
    ]
    return "\n".join(lines) + "\n" + "".join(entries)


def real(name: str, roles: str = "server: all, client: all") -> str:
    """An entry for one of the project's implementation images, built the way the
    project's matrix.yaml builds it (context, Dockerfile, build arguments)."""
    entry = PROJECT.implementation(name)
    assert entry.build_context is not None, f"{name} is not built from source"
    source = f"    build: {entry.build_context}\n"
    if entry.dockerfile:
        source += f"    dockerfile: {entry.build_context / entry.dockerfile}\n"
    if entry.build_args:
        arguments = ", ".join(f"{key}: {value!r}" for key, value in entry.build_args)
        source += f"    build_args: {{{arguments}}}\n"
    if entry.reuse_server:
        source += "    reuse_server: true\n"
    return f"  {name}:\n{source}    roles: {{{roles}}}\n"


def fixture(
    name: str, roles: str, client_command: str | None = None, context: str = "peers"
) -> str:
    """An entry for a misbehaving fixture peer from tests/integration/fixtures."""
    entry = f"  {name}:\n    build: {FIXTURES / context}\n    roles: {{{roles}}}\n"
    if client_command:
        entry += f"    client_command: {client_command}\n"
    return entry


@pytest.fixture(scope="session")
def engine() -> DockerEngine:
    return connect(print)


RunFn = Callable[..., tuple[RunResults, Path]]


@pytest.fixture
def run(tmp_path: Path, engine: DockerEngine) -> RunFn:
    """Write a matrix (settings + the given tests and implementations) and run it for real."""

    def run_it(
        body: str,
        servers: tuple[str, ...] | None = None,
        clients: tuple[str, ...] | None = None,
        tests: tuple[str, ...] | None = None,
        scenarios: tuple[str, ...] | None = None,
        **request: object,
    ) -> tuple[RunResults, Path]:
        path = tmp_path / "matrix.yaml"
        path.write_text(SETTINGS + body)
        matrix = load_matrix(path)
        selection = Selection(servers, clients, tests, scenarios)
        return run_matrix(
            matrix,
            RunRequest(selection=selection, **request),  # type: ignore[arg-type]
            Console(file=io.StringIO()),
        )

    return run_it


def by_cell(results: RunResults) -> dict[Cell, CellResult]:
    return {r.cell: r for r in results.cells}
