"""A server shared by consecutive cells (docs/contract.md 1.1): who shares, what each
cell is told, and when the server is replaced."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

from orchestrator.config import load_matrix
from orchestrator.lifecycle import AttemptContext
from orchestrator.model import Cell, CellResult, Outcome, PlannedCell
from orchestrator.network.registry import topology_for
from orchestrator.runner import CellRunner, Event, run_cells
from orchestrator.serving import MAX_BATCH, Batch, batches, schedule
from tests.unit.conftest import HEADER, WriteMatrix
from tests.unit.fakes import FakeEngine, Script

MATRIX = (
    HEADER
    + """\
implementations:
  alpha:
    build: images/alpha
    reuse_server: true
    roles:
      server: all
  once:
    build: images/alpha
    roles:
      server: all
  beta:
    image: example.org/beta:2
    roles:
      client: all
  gamma:
    image: example.org/gamma:2
    roles:
      client: all
  delta:
    image: example.org/delta:2
    roles:
      client: [peerconnection]
"""
)
IMAGES = {
    "alpha": "img/server",
    "once": "img/server",
    "beta": "img/beta",
    "gamma": "img/gamma",
    "delta": "img/delta",
}


def runner_for(
    write_matrix: WriteMatrix, tmp_path: Path, engine: FakeEngine, retries: int = 0
) -> CellRunner:
    numbers = itertools.count(1)

    def payload() -> bytes:
        return f"payload-{next(numbers)}".encode()

    context = AttemptContext(
        engine=engine,
        matrix=load_matrix(write_matrix(MATRIX), environ={}),
        images=IMAGES,
        run_id="run1",
        run_dir=tmp_path / "run1",
        server_ready_timeout_s=0.5,
        cancel=threading.Event(),
        topology=topology_for,
        payload=payload,
    )
    return CellRunner(context, {}, retries)


def engine_with(beta: int = 0, gamma: int = 0) -> FakeEngine:
    return FakeEngine(
        {
            "img/server": Script(exit_code=None, output="server says\n"),
            "img/beta": Script(exit_code=beta, output="PASS: beta\n" if beta == 0 else "FAIL\n"),
            "img/gamma": Script(exit_code=gamma, output="PASS: gamma\n"),
            "img/delta": Script(exit_code=0, output="PASS: delta\n"),
        }
    )


def run_batch(runner: CellRunner, cells: list[Cell]) -> list[CellResult]:
    events: list[Event] = []
    runner.run_batch(Batch(PlannedCell(cell) for cell in cells), events.append)
    return [event for event in events if isinstance(event, CellResult)]


def servers(engine: FakeEngine) -> list[str]:
    return [c.spec.name for c in engine.containers if c.spec.image == "img/server"]


def test_planned_cells_share_a_server_only_with_its_test_case_and_scenario(
    write_matrix: WriteMatrix,
) -> None:
    matrix = load_matrix(write_matrix(MATRIX), environ={})
    planned = [
        PlannedCell(Cell("peerconnection", "alpha", "beta")),
        PlannedCell(Cell("peerconnection", "alpha", "gamma")),
        PlannedCell(Cell("datachannel", "alpha", "beta")),
        PlannedCell(Cell("datachannel", "alpha", "delta"), "delta: not a client"),
        PlannedCell(Cell("datachannel", "alpha", "gamma")),
        PlannedCell(Cell("datachannel", "alpha", "gamma", "nat-client")),
        PlannedCell(Cell("datachannel", "once", "beta")),
        PlannedCell(Cell("datachannel", "once", "gamma")),
    ]
    cut = [[planned.index(p) for p in batch.left()] for batch in batches(planned, matrix)]
    assert cut == [[0, 1], [2], [3], [4], [5], [6], [7]]


def test_a_batch_is_never_longer_than_the_limit(write_matrix: WriteMatrix) -> None:
    matrix = load_matrix(write_matrix(MATRIX), environ={})
    cells = [PlannedCell(Cell("datachannel", "alpha", "beta"))] * (MAX_BATCH + 3)
    assert [len(b) for b in batches(cells, matrix)] == [MAX_BATCH, 3]


def test_one_server_serves_consecutive_passing_cells(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = engine_with()
    runner = runner_for(write_matrix, tmp_path, engine)
    cells = [Cell("datachannel", "alpha", client) for client in ("beta", "gamma", "beta")]
    results = run_batch(runner, cells)
    assert [r.outcome for r in results] == [Outcome.PASSED] * 3
    assert len(servers(engine)) == 1
    assert [path for _, path in engine.deletes] == ["/sessions"] * 3
    clients = [c for c in engine.containers if c.spec.image != "img/server"]
    # each client's offer URL carries its own cell's payload; the server has the first's
    urls = [c.spec.environment["SERVER_URL"] for c in clients]
    payloads = [c.spec.environment["TEST_PAYLOAD"] for c in clients]
    assert urls == [f"http://server:8080/offer?payload={p}" for p in payloads]
    assert len(set(payloads)) == 3
    server = next(c for c in engine.containers if c.spec.image == "img/server")
    assert server.spec.environment["TEST_PAYLOAD"] == payloads[0]
    # each cell gets the server's output of its own span, one after the other
    (first_from, first_to), (second_from, second_to), (third_from, _) = server.spans
    assert first_from is None
    assert first_to is not None
    assert second_from == first_to
    assert third_from == second_to
    assert "server_start" in dict(results[0].timings)
    assert "server_start" not in dict(results[1].timings)
    assert "served 1 cell(s) before" in results[1].reason
    assert engine.leftovers() == []


def test_a_failed_cell_takes_its_server_with_it(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    engine = engine_with(beta=1)
    runner = runner_for(write_matrix, tmp_path, engine)
    cells = [Cell("datachannel", "alpha", client) for client in ("beta", "gamma", "gamma")]
    results = run_batch(runner, cells)
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.PASSED, Outcome.PASSED]
    assert len(servers(engine)) == 2  # a fresh one after the failure, then shared
    assert engine.leftovers() == []


def test_a_retry_starts_on_a_fresh_server(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    engine = engine_with(beta=1)
    runner = runner_for(write_matrix, tmp_path, engine, retries=1)
    results = run_batch(runner, [Cell("datachannel", "alpha", "beta")])
    assert [a.outcome for a in results[0].attempts] == [Outcome.FAILED, Outcome.FAILED]
    assert len(servers(engine)) == 2
    assert engine.leftovers() == []


def test_a_server_that_cannot_end_its_sessions_is_not_reused(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = engine_with()
    engine.delete_failure = "DELETE /sessions answered 404"
    runner = runner_for(write_matrix, tmp_path, engine)
    results = run_batch(runner, [Cell("datachannel", "alpha", c) for c in ("beta", "gamma")])
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.PASSED]
    assert "the server is not reused: DELETE /sessions answered 404" in results[0].reason
    assert len(servers(engine)) == 2
    assert engine.leftovers() == []


def test_a_server_without_the_declaration_serves_one_cell(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = engine_with()
    runner = runner_for(write_matrix, tmp_path, engine)
    results = run_batch(runner, [Cell("datachannel", "once", c) for c in ("beta", "gamma")])
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.PASSED]
    assert len(servers(engine)) == 2
    assert engine.deletes == []
    urls = [c.spec.environment["SERVER_URL"] for c in engine.containers]
    assert set(urls) == {"http://server:8080/offer"}


def _cells(count: int, test: str = "datachannel") -> list[PlannedCell]:
    return [PlannedCell(Cell(test, "alpha", f"c{n}")) for n in range(count)]


def test_a_split_takes_the_back_half_of_what_is_left_in_order() -> None:
    batch = Batch(_cells(5), light=True)
    first = batch.take()
    assert first is not None
    assert first.cell.client == "c0"
    back = batch.split()
    assert back is not None
    assert [p.cell.client for p in back.left()] == ["c3", "c4"]
    assert [p.cell.client for p in batch.left()] == ["c1", "c2"]
    assert back.light  # the back half stays light: it may be split again
    while batch.take() is not None:
        pass
    assert batch.split() is None


def test_light_batches_start_first_within_each_scenario(write_matrix: WriteMatrix) -> None:
    text = MATRIX.replace(
        "  datachannel:\n    timeout: 12\n", "  datachannel:\n    timeout: 12\n    light: true\n"
    )
    matrix = load_matrix(write_matrix(text), environ={})
    assert matrix.test("datachannel").light
    assert not matrix.test("peerconnection").light
    planned = [
        PlannedCell(Cell("peerconnection", "alpha", "c1")),
        PlannedCell(Cell("peerconnection", "alpha", "c2")),
        PlannedCell(Cell("peerconnection", "once", "c1")),
        PlannedCell(Cell("datachannel", "alpha", "c1")),
        PlannedCell(Cell("datachannel", "alpha", "c2")),
        PlannedCell(Cell("datachannel", "once", "c1")),
        PlannedCell(Cell("peerconnection", "alpha", "c1", "nat-client")),
        PlannedCell(Cell("datachannel", "alpha", "c1", "nat-client")),
    ]
    order = [
        [planned.index(p) for p in batch.left()] for batch in schedule(batches(planned, matrix))
    ]
    assert order == [[3, 4], [5], [0, 1], [2], [7], [6]]


def test_a_heavy_side_makes_a_light_test_cases_cell_full(write_matrix: WriteMatrix) -> None:
    text = (
        MATRIX.replace(
            "  datachannel:\n    timeout: 12\n",
            "  datachannel:\n    timeout: 12\n    light: true\n",
        )
        .replace("  gamma:\n", "  gamma:\n    heavy: true\n")
        .replace("  once:\n", "  once:\n    heavy: true\n")
    )
    matrix = load_matrix(write_matrix(text), environ={})
    assert matrix.light(Cell("datachannel", "alpha", "beta"))
    assert not matrix.light(Cell("datachannel", "alpha", "gamma"))  # a heavy client
    assert not matrix.light(Cell("datachannel", "once", "beta"))  # a heavy server
    assert not matrix.light(Cell("peerconnection", "alpha", "beta"))  # not a light test case
    planned = [
        PlannedCell(Cell("datachannel", s, c)) for s in ("alpha", "once") for c in ("beta", "gamma")
    ]
    assert [b.light for b in batches(planned, matrix)] == [True, False, False]


def test_a_free_worker_takes_the_back_half_of_a_running_light_batch() -> None:
    ran: dict[str, int] = {}
    lock = threading.Lock()
    other_started = threading.Event()

    def run_batch(batch: Batch, report: Callable[[Event], None]) -> None:
        while (planned := batch.take()) is not None:
            with lock:
                ran[planned.cell.client] = threading.get_ident()
            if planned.cell.client == "c0":
                assert other_started.wait(5), "no second worker took cells of the batch"
            else:
                other_started.set()
            report(CellResult(planned.cell, Outcome.PASSED, "ok"))

    results: list[CellResult] = []
    batch = Batch(_cells(4), light=True)
    run_cells([batch], run_batch, 1, threading.Event(), lambda c: None, results.append)
    assert sorted(r.cell.client for r in results) == ["c0", "c1", "c2", "c3"]  # each once
    # c0 ends only once another worker ran a cell of its batch: c2, the first of the
    # back half split off at the start (who takes c1 and c3 depends on who is free).
    assert ran["c2"] != ran["c0"]


def test_a_full_batch_keeps_its_cells_on_its_one_worker() -> None:
    ran: list[int] = []

    def run_batch(batch: Batch, report: Callable[[Event], None]) -> None:
        while (planned := batch.take()) is not None:
            ran.append(threading.get_ident())
            report(CellResult(planned.cell, Outcome.PASSED, "ok"))

    run_cells([Batch(_cells(4))], run_batch, 1, threading.Event(), lambda c: None, lambda r: None)
    assert len(ran) == 4
    assert len(set(ran)) == 1
