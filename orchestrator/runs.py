"""`run`: plan the cells, get their images, run them, keep the results.

Nothing is written before the request is known to be valid; `results/latest` moves to
a run only once its results are complete; a run that stops early keeps a readable
`results.json` in its own folder, with the cells it did not run marked `not-run` and a
status that says why.
"""

from __future__ import annotations

import os
import platform
import shutil
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from orchestrator import __version__
from orchestrator.config import Matrix
from orchestrator.engine.client import DockerEngine, connect_for
from orchestrator.errors import (
    ConfigError,
    EngineError,
    EngineUnavailable,
    InternalError,
    Interrupted,
)
from orchestrator.images import ImageBuilder, ImageOutcome
from orchestrator.lifecycle import AttemptContext
from orchestrator.model import Cell, CellResult, Outcome, PlannedCell
from orchestrator.network.registry import Topologies
from orchestrator.network.slots import Fresh, NetworkPool
from orchestrator.network.tls import new_authority
from orchestrator.peerslots import PeerSlots
from orchestrator.planner import Selection, plan, shard
from orchestrator.ports import ROLE_LABEL, RUN_LABEL, Engine, Recorders
from orchestrator.progress import Reporter, reporter_for
from orchestrator.reports import take_screenshot, write_reports
from orchestrator.results import (
    ImplementationRecord,
    ResultStore,
    RunInfo,
    RunResults,
    RunStatus,
    TestRecord,
    new_run_id,
    point_latest,
    utc_now,
)
from orchestrator.runner import CellRunner, UnavailableImage, new_payload, run_cells
from orchestrator.serving import batches, schedule

PROCESS_STARTED = time.monotonic()  # this module is imported as the command starts
CAPTURE_CONTROL = ".captures"  # the recorder's working folder inside the run folder


@dataclass(frozen=True)
class RunRequest:
    selection: Selection = field(default_factory=Selection)
    jobs: int | None = None
    timeout_s: float | None = None
    keep_containers: bool = False
    build: bool = True
    capture: bool = True  # and the matrix's settings.capture
    screenshot: bool = True  # and the matrix's settings.screenshot
    retries: int | None = None  # None: settings.retries
    shard: tuple[int, int] = (1, 1)  # run the I-th of N slices of the cells


def run_matrix(matrix: Matrix, request: RunRequest, console: Console) -> tuple[RunResults, Path]:
    """Build what the cells need, run them, write results; the results and run folder."""
    planned = shard(plan(matrix, request.selection), *request.shard)
    check_results_dir(matrix.settings.results_dir)
    jobs = request.jobs or matrix.settings.jobs
    engine = connect_for(console, jobs)
    check_prebuilt(engine, matrix, planned)
    started = utc_now()
    run_id = new_run_id(started)
    run_dir = matrix.settings.results_dir / run_id
    run_dir.mkdir(parents=True)
    with reporter_for(console) as reporter:
        reporter.note(f"run {run_id}: {len(planned)} cells, {jobs} at a time")
        builder = ImageBuilder(engine, matrix, run_dir / "build", reporter.note, reporter.status)
        outcomes, capture_image = prepare_images(builder, request, planned)
        topologies = prepare_topologies(builder, planned, run_id, request.keep_containers)
        store = ResultStore(
            run_dir, _first_record(matrix, planned, outcomes, run_id, started, jobs, engine)
        )
        execution = _Execution(matrix, request, planned, store, reporter, jobs)
        execution.run(engine, outcomes, capture_image, topologies, run_dir)
    results = store.results
    if request.screenshot and matrix.settings.screenshot:
        take_screenshot(engine, matrix, results, run_dir, console)
    point_latest(matrix.settings.results_dir, run_dir)
    if request.keep_containers:
        console.print(
            f"containers and networks kept; remove them with `webrtc-interop clean --run {run_id}`"
        )
    return results, run_dir


@dataclass
class _Execution:
    """The running part of a run, and how it ends whichever way it ends."""

    matrix: Matrix
    request: RunRequest
    planned: Sequence[PlannedCell]
    store: ResultStore
    reporter: Reporter
    jobs: int
    cancel: threading.Event = field(default_factory=threading.Event)

    def run(
        self,
        engine: DockerEngine,
        outcomes: dict[str, ImageOutcome],
        capture_image: str | None,
        topologies: Topologies,
        run_dir: Path,
    ) -> None:
        try:
            with ExitStack() as stack:
                run_label = {RUN_LABEL: self.store.results.run.id}
                if topologies.keep:
                    topologies = replace(topologies, networks=Fresh(keep=True))
                else:
                    pool = NetworkPool(engine, self.store.results.run.id, run_label)
                    topologies = replace(topologies, networks=stack.enter_context(pool))
                recorders = None
                if capture_image is not None:
                    recorders = stack.enter_context(
                        engine.recorders(
                            capture_image,
                            run_dir / CAPTURE_CONTROL,
                            {RUN_LABEL: self.store.results.run.id, ROLE_LABEL: "recorder"},
                            f"wi-{self.store.results.run.id}.recorder",
                        )
                    )
                runner = self._runner(
                    engine, outcomes, capture_image, recorders, topologies, run_dir
                )
                self.reporter.plan(
                    [p.cell for p in self.planned],
                    self.matrix.test_names,
                    self.matrix.implementation_names,
                )
                run_cells(
                    schedule(batches(self.planned, self.matrix)),
                    runner.run_batch,
                    self.jobs,
                    self.cancel,
                    self._started,
                    self._finished,
                )
        except (KeyboardInterrupt, Interrupted):
            self._stop(RunStatus.INTERRUPTED, "interrupted")
            raise Interrupted(f"interrupted; the cells that finished are in {run_dir}") from None
        except EngineUnavailable as error:
            self._stop(RunStatus.ABORTED, str(error))
            raise EngineUnavailable(f"{error}; the cells that finished are in {run_dir}") from None
        except InternalError as error:
            self._stop(RunStatus.ABORTED, str(error))
            raise
        except Exception as error:
            self._stop(RunStatus.ABORTED, f"internal error: {type(error).__name__}: {error}")
            raise InternalError(
                f"internal error: {type(error).__name__}: {error}; partial results in {run_dir}"
            ) from error
        shutil.rmtree(run_dir / CAPTURE_CONTROL, ignore_errors=True)
        write_reports(self.store.finish(RunStatus.COMPLETE), run_dir)

    def _runner(
        self,
        engine: Engine,
        outcomes: dict[str, ImageOutcome],
        capture_image: str | None,
        recorders: Recorders | None,
        topologies: Topologies,
        run_dir: Path,
    ) -> CellRunner:
        settings = self.matrix.settings
        context = AttemptContext(
            engine=engine,
            matrix=self.matrix,
            images={n: o.image_id for n, o in outcomes.items() if o.ok and o.image_id},
            run_id=self.store.results.run.id,
            run_dir=run_dir,
            server_ready_timeout_s=settings.server_ready_timeout_s,
            cancel=self.cancel,
            topology=topologies,
            payload=new_payload,
            timeout_override_s=self.request.timeout_s,
            keep_containers=self.request.keep_containers,
            capture_image=capture_image,
            recorders=recorders,
            peer_slots=PeerSlots(self.jobs),
        )
        return CellRunner(
            context,
            unavailable={
                n: UnavailableImage(o.reason, _relative(o.log, run_dir), o.cause)
                for n, o in outcomes.items()
                if not o.ok
            },
            retries=settings.retries if self.request.retries is None else self.request.retries,
        )

    def _started(self, cell: Cell) -> None:
        self.store.first_cell_started(time.monotonic() - PROCESS_STARTED)
        self.reporter.cell_started(cell)

    def _finished(self, result: CellResult) -> None:
        result = self.matrix.explained(result)
        self.store.add(result)
        self.reporter.cell_finished(result)

    def _stop(self, status: RunStatus, why: str) -> None:
        """Cells that never ran are listed as such; the status says the run is partial."""
        self.cancel.set()
        done = {r.cell for r in self.store.results.cells}
        for planned in self.planned:
            if planned.cell not in done:
                self.store.add(
                    CellResult(planned.cell, Outcome.NOT_RUN, f"not run: {why}"), flush=False
                )
        write_reports(self.store.finish(status, why), self.store.run_dir)


def check_results_dir(results_dir: Path) -> None:
    """results_dir must be (or become) a writable directory: checked before anything runs."""
    if results_dir.exists() and not results_dir.is_dir():
        raise ConfigError(f"settings.results_dir: {results_dir} exists and is not a directory")
    existing = next((p for p in (results_dir, *results_dir.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"settings.results_dir: {results_dir} is not writable")


def check_prebuilt(engine: DockerEngine, matrix: Matrix, planned: Sequence[PlannedCell]) -> None:
    """Every `image:` a cell needs is here or can be pulled; otherwise nothing runs."""
    for name in needed_implementations(matrix, planned):
        implementation = matrix.implementation(name)
        if implementation.image is None:
            continue
        if (
            engine.image_id(implementation.image) is None
            and engine.pull(implementation.image) is None
        ):
            raise ConfigError(
                f"implementations.{name}.image: {implementation.image} is not here and "
                "cannot be pulled"
            )


def prepare_images(
    builder: ImageBuilder, request: RunRequest, planned: Sequence[PlannedCell]
) -> tuple[dict[str, ImageOutcome], str | None]:
    """The implementation images the cells need, and the packet recorder's (if capturing)."""
    matrix = builder.matrix
    needed = needed_implementations(matrix, planned)
    outcomes = builder.prepare(needed) if request.build else builder.existing(needed)
    if not (request.capture and matrix.settings.capture):
        return outcomes, None
    try:
        return outcomes, builder.prepare_tool("capture", matrix.settings.capture_context)
    except EngineError as error:
        raise EngineError(f"{error}; --no-capture runs without wire verification") from None


def prepare_topologies(
    builder: ImageBuilder, planned: Sequence[PlannedCell], run_id: str, keep: bool
) -> Topologies:
    """The scenarios' shared parts: the netkit image (namespace holders in every
    scenario, routers and TURN servers in some), the run's TLS authority if any cell
    needs TURN over TLS."""
    scenarios = {p.cell.scenario for p in planned if p.refusal is None}
    netkit = builder.prepare_tool("netkit", builder.settings.netkit_context)
    authority = new_authority(run_id) if scenarios & {"turn-tcp", "turn-tls"} else None
    return Topologies(netkit, authority, keep=keep)


def needed_implementations(matrix: Matrix, planned: Sequence[PlannedCell]) -> tuple[str, ...]:
    """Only images some runnable cell uses: a declared-N/A cell needs no image."""
    used = {name for p in planned if p.refusal is None for name in (p.cell.server, p.cell.client)}
    return tuple(n for n in matrix.implementation_names if n in used)


def _first_record(
    matrix: Matrix,
    planned: Sequence[PlannedCell],
    outcomes: dict[str, ImageOutcome],
    run_id: str,
    started: object,
    jobs: int,
    engine: DockerEngine,
) -> RunResults:
    info = RunInfo(
        id=run_id,
        started_at=started,  # type: ignore[arg-type]
        ended_at=None,
        orchestrator_version=__version__,
        host=(
            ("hostname", platform.node()),
            ("platform", platform.platform()),
            ("docker", engine.server_version()),
        ),
        parallelism=jobs,
    )
    tests = {p.cell.test for p in planned}
    scenarios = {p.cell.scenario for p in planned}
    return RunResults(
        info,
        tuple(
            TestRecord(t.name, t.timeout_s, t.description) for t in matrix.tests if t.name in tests
        ),
        implementation_records(matrix, outcomes),
        (),
        scenarios=tuple(s for s in matrix.scenario_names if s in scenarios),
    )


def implementation_records(
    matrix: Matrix, outcomes: dict[str, ImageOutcome]
) -> tuple[ImplementationRecord, ...]:
    records = []
    for implementation in matrix.implementations:
        outcome = outcomes.get(implementation.name)
        if outcome is None:
            continue
        records.append(
            ImplementationRecord(
                name=implementation.name,
                image=outcome.image,
                image_id=outcome.image_id,
                versions=outcome.versions,
                build=outcome.build,
                server_tests=implementation.server_tests,
                client_tests=implementation.client_tests,
            )
        )
    return tuple(records)


def _relative(path: Path | None, run_dir: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(path.relative_to(run_dir))
    except ValueError:
        return str(path)
