from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.config import load_matrix
from orchestrator.errors import Interrupted
from orchestrator.images import ImageOutcome
from orchestrator.lifecycle import AttemptContext
from orchestrator.model import Cell, CellResult, Outcome, PlannedCell
from orchestrator.network.registry import Topologies, topology_for
from orchestrator.peerslots import UNITS_PER_SLOT, PeerSlots
from orchestrator.planner import plan
from orchestrator.ports import ContainerSpec
from orchestrator.records import RunInfo, RunResults
from orchestrator.results import ResultStore, utc_now
from orchestrator.runner import IN_FLIGHT, CellRunner, UnavailableImage, run_cells
from orchestrator.runs import RunRequest, _Execution
from tests.unit.conftest import VALID, WriteMatrix
from tests.unit.fakes import FakeContainer, FakeEngine, Script, one_by_one, singly
from tests.unit.wirekit import CLIENT as CLIENT_IP
from tests.unit.wirekit import app_record, association, handshake, pcap_of, sctp_size

SERVER, CLIENT = "img/server", "img/client"
CELL = Cell("datachannel", "alpha", "beta")
PAYLOAD = b"hello"


def make_runner(
    write_matrix: WriteMatrix,
    tmp_path: Path,
    engine: FakeEngine,
    unavailable: dict[str, UnavailableImage] | None = None,
    cancel: threading.Event | None = None,
    retries: int = 0,
    **context: object,
) -> CellRunner:
    matrix = load_matrix(write_matrix(VALID), environ={})
    settings = AttemptContext(
        engine=engine,
        matrix=matrix,
        images={"alpha": SERVER, "beta": CLIENT},
        run_id="run1",
        run_dir=tmp_path / "run1",
        server_ready_timeout_s=0.5,
        cancel=cancel or threading.Event(),
        topology=topology_for,
        payload=lambda: PAYLOAD,
    )
    return CellRunner(replace(settings, **context), unavailable or {}, retries)  # type: ignore[arg-type]


def run_one(runner: CellRunner, cell: Cell = CELL) -> CellResult:
    return runner.run(PlannedCell(cell))


def test_passing_pair_saves_logs_and_releases_everything(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine(
        {
            SERVER: Script(exit_code=None, output="listening\n"),
            CLIENT: Script(exit_code=0, output="log\nPASS: echo came back\n"),
        }
    )
    result = run_one(make_runner(write_matrix, tmp_path, engine))
    assert result.outcome is Outcome.PASSED
    assert result.reason == "echo came back"
    assert result.exit_code == 0
    assert result.log_paths == {
        "client": "logs/direct/datachannel/alpha__beta/client.log",
        "server": "logs/direct/datachannel/alpha__beta/server.log",
    }
    assert (tmp_path / "run1" / result.log_paths["server"]).read_text() == "listening\n"
    assert engine.leftovers() == []
    server, client = engine.containers
    assert server.spec.attachment.aliases == ("server", "echo-server")
    assert server.spec.command is None  # the image's own entrypoint
    assert client.spec.command == (
        "/run-client",
        "http://server:8080/offer",
        "--test",
        "datachannel",
    )
    assert client.spec.environment["TEST_CASE"] == "datachannel"
    assert client.spec.environment["TEST_TIMEOUT"] == "12"
    assert client.spec.environment["TEST_PAYLOAD"] == PAYLOAD.hex()
    assert server.spec.environment["TEST_PAYLOAD"] == PAYLOAD.hex()
    assert client.spec.environment["ICE_SERVERS"] == "[]"
    assert client.spec.labels["org.webrtc-interop.run"] == "run1"
    assert dict(result.timings).keys() >= {"network", "server_ready", "client", "teardown"}


def test_client_exit_1_is_failed_with_its_last_line(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine(
        {
            SERVER: Script(exit_code=None),
            CLIENT: Script(exit_code=1, output="FAIL: DTLS handshake timed out\n"),
        }
    )
    result = run_one(make_runner(write_matrix, tmp_path, engine))
    assert (result.outcome, result.reason) == (Outcome.FAILED, "DTLS handshake timed out")


def test_hanging_client_is_killed_as_timeout(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    engine = FakeEngine({SERVER: Script(exit_code=None), CLIENT: Script(exit_code=None)})
    runner = make_runner(write_matrix, tmp_path, engine, timeout_override_s=0.1)
    result = run_one(runner)
    assert result.outcome is Outcome.TIMEOUT
    assert result.exit_code is None
    assert "after 0.1s, killed" in result.reason
    assert engine.containers[1].killed
    assert engine.leftovers() == []


def test_server_that_exits_at_start_is_server_error(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine(
        {SERVER: Script(listens=False, exit_code=3, output="panic\n"), CLIENT: Script(exit_code=0)}
    )
    result = run_one(make_runner(write_matrix, tmp_path, engine))
    assert result.outcome is Outcome.SERVER_ERROR
    assert result.reason == "server exited with code 3 before listening on 8080"
    assert len(engine.containers) == 1, "the client must not start"
    assert "server" in result.log_paths
    assert engine.leftovers() == []


def test_server_that_never_listens_is_server_error(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine({SERVER: Script(listens=False, exit_code=None), CLIENT: Script()})
    result = run_one(make_runner(write_matrix, tmp_path, engine))
    assert result.outcome is Outcome.SERVER_ERROR
    assert "did not listen on 8080 within 0.5s" in result.reason


def test_server_dying_while_client_fails_is_server_error(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine(
        {
            SERVER: Script(listens=True, exit_code=139),
            CLIENT: Script(exit_code=1, output="FAIL: connection failed"),
        }
    )
    result = run_one(make_runner(write_matrix, tmp_path, engine))
    assert result.outcome is Outcome.SERVER_ERROR
    assert result.reason == (
        "server exited with code 139 while the client ran; client: connection failed"
    )


def test_declared_unsupported_cell_never_touches_the_engine(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine({})
    runner = make_runner(write_matrix, tmp_path, engine)
    refusal = "beta does not declare 'peerconnection' as client"
    result = runner.run(PlannedCell(Cell("peerconnection", "alpha", "beta"), refusal))
    assert result.outcome is Outcome.UNSUPPORTED
    assert result.reason == refusal
    assert engine.networks_created == []


def test_unbuilt_image_is_build_error_with_its_log(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine({})
    missing = {"beta": UnavailableImage("image failed to build: npm ERR!", "build/beta.log")}
    result = run_one(make_runner(write_matrix, tmp_path, engine, unavailable=missing))
    assert result.outcome is Outcome.BUILD_ERROR
    assert result.reason == "beta: image failed to build: npm ERR!"
    assert result.log_paths == {"build": "build/beta.log"}
    assert engine.networks_created == []


def test_engine_failure_is_infra_error_and_still_releases(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine({SERVER: Script(exit_code=None), CLIENT: Script()}, fail_create=CLIENT)
    result = run_one(make_runner(write_matrix, tmp_path, engine))
    assert result.outcome is Outcome.INFRA_ERROR
    assert "no space left" in result.reason
    assert engine.leftovers() == []


def test_a_bug_costs_one_cell_not_the_run(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    engine = FakeEngine({})  # no script for the server image: KeyError inside the cell
    result = run_one(make_runner(write_matrix, tmp_path, engine))
    assert result.outcome is Outcome.INFRA_ERROR
    assert result.reason.startswith("KeyError")
    assert "Traceback" in (tmp_path / "run1" / result.log_paths["orchestrator"]).read_text()
    assert engine.leftovers() == []


def test_cells_in_flight_are_twice_the_jobs(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    matrix = load_matrix(write_matrix(VALID), environ={})
    planned = plan(matrix)
    in_flight = 2 * IN_FLIGHT
    assert len(planned) > in_flight
    active, peak, lock = 0, 0, threading.Lock()
    gate = threading.Barrier(in_flight, timeout=5)
    gated = 0

    def run_cell(cell: PlannedCell) -> CellResult:
        nonlocal active, peak, gated
        with lock:
            active += 1
            peak = max(peak, active)
            gated += 1
            must_meet = gated <= in_flight
        if must_meet:
            gate.wait()  # the first cells must be in flight at once, or this times out
        with lock:
            active -= 1
        return CellResult(cell.cell, Outcome.PASSED, "ok")

    results: list[CellResult] = []
    run_cells(
        singly(planned),
        one_by_one(run_cell),
        2,
        threading.Event(),
        lambda cell: None,
        results.append,
    )
    assert sorted(r.cell for r in results) == sorted(p.cell for p in planned)
    assert peak == in_flight


class Timeline(FakeEngine):
    """A fake engine that notes when each container starts, ends its run and goes."""

    events: list[tuple[str, str]]

    @contextlib.contextmanager
    def container(self, spec: ContainerSpec, keep: bool = False) -> Iterator[FakeContainer]:
        with super().container(spec, keep) as container:
            self.events.append(("start", spec.name))
            if spec.name.endswith("client"):
                time.sleep(0.2)  # the client's run: long enough for another cell to overlap
                self.events.append(("ran", spec.name))
            yield container
        self.events.append(("removed", spec.name))


def test_only_jobs_cells_have_peers_running(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    engine = Timeline({SERVER: Script(exit_code=None), CLIENT: Script(exit_code=0)})
    engine.events = []
    runner = make_runner(write_matrix, tmp_path, engine, peer_slots=PeerSlots(1))
    cells = [Cell("datachannel", "alpha", "beta"), Cell("peerconnection", "alpha", "beta")]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda cell: run_one(runner, cell), cells))
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.PASSED]
    order = [kind for kind, name in engine.events if kind != "removed"]
    # one cell's server, client and client run, then the other's: never interleaved
    assert order == ["start", "start", "ran"] * 2, engine.events


class CountingSlots(PeerSlots):
    def __init__(self) -> None:
        super().__init__(1)
        self.asked: list[int] = []

    def acquire(
        self, units: int, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> bool:
        self.asked.append(units)
        return super().acquire(units, timeout, cancel)


def test_a_light_test_cases_cell_takes_half_a_peer_slot(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    text = VALID.replace("  datachannel:\n    timeout: 12\n", "  datachannel:\n    light: true\n")
    light = load_matrix(write_matrix(text), environ={})
    engine = FakeEngine({SERVER: Script(exit_code=None), CLIENT: Script(exit_code=0)})
    slots = CountingSlots()
    runner = make_runner(write_matrix, tmp_path, engine, peer_slots=slots, matrix=light)
    for cell in (Cell("datachannel", "alpha", "beta"), Cell("peerconnection", "alpha", "beta")):
        assert run_one(runner, cell).outcome is Outcome.PASSED
    assert slots.asked == [1, UNITS_PER_SLOT]
    assert slots.free == slots.capacity


def test_ctrl_c_cancels_running_cells_and_releases_everything(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine({SERVER: Script(exit_code=None), CLIENT: Script(exit_code=None)})
    cancel = threading.Event()
    runner = make_runner(write_matrix, tmp_path, engine, cancel=cancel, timeout_override_s=60)
    cells = [
        PlannedCell(Cell("datachannel", "alpha", "beta")),
        PlannedCell(Cell("peerconnection", "alpha", "beta")),
        PlannedCell(Cell("datachannel", "alpha", "alpha")),
    ]
    started: list[Cell] = []

    def on_start(cell: Cell) -> None:
        started.append(cell)
        if len(started) == 2:
            raise KeyboardInterrupt  # what Ctrl-C does to the main thread

    with pytest.raises(Interrupted):
        run_cells(singly(cells), runner.run_batch, 2, cancel, on_start, lambda result: None)
    assert cancel.is_set()
    assert engine.leftovers() == []
    assert len(started) == 2  # the third cell never started


def test_capture_backs_a_pass(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    echo = [
        (2.0, CLIENT_IP, "other", app_record(sctp_size(len(PAYLOAD)))),
        (2.1, "other", CLIENT_IP, app_record(sctp_size(len(PAYLOAD)))),
    ]

    def pcap_for(server: str, client: str) -> bytes:
        return pcap_of(
            [
                (
                    t,
                    client if src == CLIENT_IP else server,
                    server if src == CLIENT_IP else client,
                    p,
                )
                for t, src, _, p in handshake() + association() + echo
            ]
        )

    engine = FakeEngine(
        {SERVER: Script(exit_code=None), CLIENT: Script(exit_code=0)}, pcap_for=pcap_for
    )
    runner = make_runner(
        write_matrix, tmp_path, engine, capture_image="img/capture", recorders=engine
    )
    result = run_one(runner)
    assert result.outcome is Outcome.PASSED, result.reason
    assert result.verification is not None
    assert result.verification.verified
    run_dir = tmp_path / "run1"
    assert (run_dir / result.log_paths["capture"]).read_bytes() == engine.recorders[0].pcap
    assert "capture: proven (sized)" in (run_dir / result.log_paths["verification"]).read_text()
    assert engine.leftovers() == []


def test_packets_the_recorder_lost_are_in_the_reason(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeEngine(
        {SERVER: Script(exit_code=None), CLIENT: Script(exit_code=0)},
        pcap_for=lambda server, client: pcap_of(handshake(server, client)),
        capture_dropped=3,
        capture_snapped=2,
    )
    runner = make_runner(
        write_matrix, tmp_path, engine, capture_image="img/capture", recorders=engine
    )
    result = run_one(runner)
    assert result.outcome is Outcome.UNVERIFIED
    assert "the recorder lost 3 packets (dropped by the kernel)" in result.reason
    assert "kept only the start of 2 packets longer than its snapshot length" in result.reason


def test_exit_0_without_a_capture_is_unverified(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    engine = FakeEngine(
        {SERVER: Script(exit_code=None), CLIENT: Script(exit_code=0, output="PASS: trust me")}
    )
    runner = make_runner(
        write_matrix, tmp_path, engine, capture_image="img/capture", recorders=engine
    )
    result = run_one(runner)
    assert result.outcome is Outcome.UNVERIFIED
    assert result.reason == "client exited 0 but no packet capture was recorded"
    assert result.outcome.is_failure


def test_cells_run_the_image_ids_resolved_when_the_run_was_planned(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    """A tag moved by a rebuild during the run changes nothing: specs carry the id."""
    matrix = load_matrix(write_matrix(VALID), environ={})
    outcomes = {
        "alpha": ImageOutcome("alpha", "p/alpha:latest", "sha256:aaaa", (), "built"),
        "beta": ImageOutcome("beta", "example.org/beta:2", "sha256:bbbb", (), "prebuilt"),
    }
    store = ResultStore(
        tmp_path, RunResults(RunInfo("run1", utc_now(), None, "0", (), 1), (), (), ())
    )
    execution = _Execution(matrix, RunRequest(), plan(matrix), store, None, 1)  # type: ignore[arg-type]
    runner = execution._runner(FakeEngine({}), outcomes, None, None, Topologies(), tmp_path)
    assert dict(runner.context.images) == {"alpha": "sha256:aaaa", "beta": "sha256:bbbb"}


@pytest.mark.parametrize(
    ("expectation", "attempts"),
    [
        ("", 2),  # unexpected: the retry tells flaky from broken
        ("datachannel/alpha/beta:\n  outcome: failed\n  reason: SCTP\n", 1),
        ("datachannel/alpha/beta:\n  outcome: flaky\n  reason: DTLS race\n", 2),
        ("datachannel/alpha/beta:\n  outcome: timeout\n  reason: hangs\n", 2),
    ],
)
def test_a_cell_failing_as_expected_is_not_retried(
    write_matrix: WriteMatrix, tmp_path: Path, expectation: str, attempts: int
) -> None:
    (tmp_path / "expectations.yaml").write_text(expectation or "{}\n")
    engine = FakeEngine(
        {SERVER: Script(exit_code=None), CLIENT: Script(exit_code=1, output="FAIL: no echo")}
    )
    result = make_runner(write_matrix, tmp_path, engine, retries=1).run(PlannedCell(CELL))
    assert result.outcome is Outcome.FAILED
    clients = [c for c in engine.containers if c.spec.image == CLIENT]
    assert len(clients) == attempts
