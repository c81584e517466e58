"""The commands' work, independent of argument parsing: run, build, clean."""

from __future__ import annotations

import platform
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from orchestrator import __version__
from orchestrator.config import Matrix
from orchestrator.engine.client import DockerEngine, connect
from orchestrator.errors import BuildFailed, ConfigError, EngineError, Interrupted
from orchestrator.images import ImageBuilder, ImageOutcome
from orchestrator.merge import copy_shard_files, merge_results
from orchestrator.model import CellResult, PlannedCell
from orchestrator.planner import plan, shard
from orchestrator.ports import RUN_LABEL
from orchestrator.progress import reporter_for
from orchestrator.render import terminal
from orchestrator.render.html import page_size, render_html
from orchestrator.render.markdown import render_markdown
from orchestrator.results import (
    RESULTS_HTML,
    RESULTS_JSON,
    RESULTS_MD,
    RESULTS_PNG,
    ImplementationRecord,
    ResultStore,
    RunInfo,
    RunResults,
    RunStatus,
    TestRecord,
    json_text,
    load_results,
    new_run_id,
    point_latest,
    utc_now,
    write_atomically,
)
from orchestrator.runner import CellRunner, RunSettings, UnavailableImage, run_cells


@dataclass(frozen=True)
class RunRequest:
    servers: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    jobs: int | None = None
    timeout_s: float | None = None
    keep_containers: bool = False
    build: bool = True
    capture: bool = True  # and the matrix's settings.capture
    screenshot: bool = True  # and the matrix's settings.screenshot
    retries: int | None = None  # None: settings.retries
    shard: tuple[int, int] = (1, 1)  # run the I-th of N slices of the cells


def engine_for(console: Console, jobs: int) -> DockerEngine:
    # Each running cell holds up to three connections (waits, probes, logs).
    return connect(lambda text: console.print(text, highlight=False), max_pool_size=4 * jobs + 4)


def run_matrix(matrix: Matrix, request: RunRequest, console: Console) -> tuple[RunResults, Path]:
    """Build what the cells need, run them, write results; return the results and run folder."""
    planned = shard(plan(matrix, request.servers, request.clients, request.tests), *request.shard)
    jobs = request.jobs or matrix.settings.jobs
    engine = engine_for(console, jobs)
    started = utc_now()
    run_id = new_run_id(started)
    run_dir = matrix.settings.results_dir / run_id
    run_dir.mkdir(parents=True)
    store: ResultStore | None = None
    cancel = threading.Event()
    try:
        with reporter_for(console) as reporter:
            reporter.note(f"run {run_id}: {len(planned)} cells, {jobs} at a time")
            builder = ImageBuilder(
                engine, matrix, run_dir / "build", reporter.note, reporter.status
            )
            outcomes, capture_image = _prepare_images(builder, request, planned)
            info = RunInfo(
                id=run_id,
                started_at=started,
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
            store = ResultStore(
                run_dir,
                RunResults(
                    info,
                    tuple(
                        TestRecord(t.name, t.timeout_s, t.description)
                        for t in matrix.tests
                        if t.name in tests
                    ),
                    _implementation_records(matrix, outcomes),
                    (),
                ),
            )
            point_latest(matrix.settings.results_dir, run_dir)
            runner = CellRunner(
                engine,
                matrix,
                images={n: o.image for n, o in outcomes.items() if o.ok},
                unavailable={
                    n: UnavailableImage(o.reason, _relative(o.log, run_dir))
                    for n, o in outcomes.items()
                    if not o.ok
                },
                settings=RunSettings(
                    run_id,
                    run_dir,
                    matrix.settings.server_ready_timeout_s,
                    request.timeout_s,
                    request.keep_containers,
                    capture_image,
                    matrix.settings.retries if request.retries is None else request.retries,
                ),
                cancel=cancel,
            )
            reporter.plan([p.cell for p in planned], matrix.test_names, matrix.implementation_names)

            def finished(result: CellResult) -> None:
                assert store is not None
                result = replace(result, expected=matrix.expected(result.cell))
                store.add(result)
                reporter.cell_finished(result)

            run_cells(planned, runner.run, jobs, cancel, reporter.cell_started, finished)
            results = _finish(store, run_dir, RunStatus.COMPLETE)
            if request.screenshot and matrix.settings.screenshot:
                take_screenshot(engine, builder, results, run_dir, reporter.note)
    except (KeyboardInterrupt, Interrupted):
        cancel.set()
        if store is None:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise Interrupted("interrupted before any cell ran; nothing was kept") from None
        _finish(store, run_dir, RunStatus.INTERRUPTED)
        raise Interrupted(f"interrupted; the cells that finished are in {run_dir}") from None
    except BaseException:
        if store is None:
            shutil.rmtree(run_dir, ignore_errors=True)
        elif store.results.run.status is RunStatus.RUNNING:
            _finish(store, run_dir, RunStatus.INTERRUPTED)
        raise
    if request.keep_containers:
        console.print(
            f"containers and networks kept; remove them with `webrtc-interop clean --run {run_id}`"
        )
    return results, run_dir


def _prepare_images(
    builder: ImageBuilder, request: RunRequest, planned: Sequence[PlannedCell]
) -> tuple[dict[str, ImageOutcome], str | None]:
    """The implementation images the cells need, and the packet recorder's (if capturing)."""
    matrix = builder.matrix
    needed = _needed_implementations(matrix, planned)
    outcomes = builder.prepare(needed) if request.build else builder.existing(needed)
    if not (request.capture and matrix.settings.capture):
        return outcomes, None
    try:
        return outcomes, builder.prepare_tool("capture", matrix.settings.capture_context)
    except EngineError as error:
        raise EngineError(f"{error}; --no-capture runs without wire verification") from None


def _finish(store: ResultStore, run_dir: Path, status: RunStatus) -> RunResults:
    results = store.finish(status)
    write_reports(results, run_dir)
    return results


def take_screenshot(
    engine: DockerEngine,
    builder: ImageBuilder,
    results: RunResults,
    run_dir: Path,
    note: Callable[[str], None],
) -> Path | None:
    """results.png: the HTML report as headless Chromium draws it. A failure here is a
    warning; the run's results stand without a picture."""
    try:
        image = builder.prepare_tool("screenshot", builder.settings.screenshot_context)
        png = engine.screenshot(
            image, render_html(results), page_size(results), {RUN_LABEL: results.run.id}
        )
    except EngineError as error:
        note(f"warning: no screenshot of the report: {error}")
        return None
    path = run_dir / RESULTS_PNG
    path.write_bytes(png)
    note(f"screenshot of the report: {path}")
    return path


def write_reports(results: RunResults, run_dir: Path) -> None:
    write_atomically(run_dir / RESULTS_MD, render_markdown(results))
    write_atomically(run_dir / RESULTS_HTML, render_html(results))


def merge_runs(sources: Sequence[Path], results_dir: Path) -> tuple[RunResults, Path]:
    """Merge shard runs into a new run folder (results, reports, every shard's logs)."""
    folders = [s if s.is_dir() else s.parent for s in sources]
    results = merge_results([load_results(folder) for folder in folders])
    run_dir = results_dir / results.run.id
    run_dir.mkdir(parents=True)
    copy_shard_files(folders, run_dir)
    write_atomically(run_dir / RESULTS_JSON, json_text(results))
    write_reports(results, run_dir)
    point_latest(results_dir, run_dir)
    return results, run_dir


def _needed_implementations(matrix: Matrix, planned: Sequence[PlannedCell]) -> tuple[str, ...]:
    """Only images some runnable cell uses: a declared-N/A cell needs no image."""
    used = {
        name
        for p in planned
        if not p.declared_unsupported_by
        for name in (p.cell.server, p.cell.client)
    }
    return tuple(n for n in matrix.implementation_names if n in used)


def _implementation_records(
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


def print_summary(results: RunResults, run_dir: Path, console: Console) -> None:
    console.print(terminal.summary(results.cells))
    for line in terminal.failure_lines(results.cells):
        console.print(line, soft_wrap=True)
    console.print(
        f"results: {run_dir / RESULTS_MD} and {run_dir / RESULTS_JSON}",
        highlight=False,
        soft_wrap=True,
    )


def build_images(
    matrix: Matrix, names: Sequence[str], console: Console, cache_from_tags: bool = False
) -> None:
    engine = engine_for(console, 1)
    log_dir = matrix.settings.results_dir / "build"
    with reporter_for(console) as reporter:
        builder = ImageBuilder(
            engine, matrix, log_dir, reporter.note, reporter.status, cache_from_tags
        )
        outcomes = builder.prepare(names)
        for tool, wanted, context in (
            ("capture", matrix.settings.capture, matrix.settings.capture_context),
            ("screenshot", matrix.settings.screenshot, matrix.settings.screenshot_context),
        ):
            if wanted:
                builder.prepare_tool(tool, context)
    failed = [o for o in outcomes.values() if not o.ok]
    if failed:
        raise BuildFailed("; ".join(f"{o.name}: {o.reason}" for o in failed))


def save_images(matrix: Matrix, path: Path, console: Console) -> list[str]:
    """Every image a run needs, in one tar: CI builds once and ships it to the shards."""
    engine = engine_for(console, 1)
    settings = matrix.settings
    wanted = [settings.local_image(tool) for tool in ("base", "capture", "screenshot")] + [
        i.image_reference(settings.image_prefix) for i in matrix.implementations
    ]
    present = [reference for reference in wanted if engine.image_id(reference)]
    engine.save_images(present, path)
    return present


def load_images(path: Path, console: Console) -> list[str]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    return engine_for(console, 1).load_images(path)


def clean(console: Console, run_id: str | None) -> tuple[int, int]:
    engine = engine_for(console, 1)
    label = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    return engine.remove_labelled(label)
