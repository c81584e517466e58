"""The other commands' work, independent of argument parsing: build, merge, images,
clean. (`run` is orchestrator/runs.py, its reports orchestrator/reports.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from orchestrator.codec import json_text, load_results
from orchestrator.config import Matrix
from orchestrator.engine.client import connect_for
from orchestrator.errors import BuildFailed, ConfigError
from orchestrator.images import ImageBuilder
from orchestrator.merge import copy_shard_files, merge_results
from orchestrator.ports import RUN_LABEL
from orchestrator.progress import reporter_for
from orchestrator.records import RunResults
from orchestrator.reports import write_reports
from orchestrator.results import RESULTS_JSON, point_latest, write_atomically


def merge_runs(sources: Sequence[Path], results_dir: Path) -> tuple[RunResults, Path]:
    """Merge shard runs into a new run folder (results, reports, every shard's logs)."""
    folders = [s if s.is_dir() else s.parent for s in sources]
    results = merge_results([load_results(source) for source in sources])
    run_dir = results_dir / results.run.id
    run_dir.mkdir(parents=True)
    copy_shard_files(folders, run_dir)
    write_atomically(run_dir / RESULTS_JSON, json_text(results))
    write_reports(results, run_dir)
    point_latest(results_dir, run_dir)
    return results, run_dir


def build_images(
    matrix: Matrix, names: Sequence[str], console: Console, cache_from_tags: bool = False
) -> None:
    engine = connect_for(console, 1)
    log_dir = matrix.settings.results_dir / "build"
    with reporter_for(console) as reporter:
        builder = ImageBuilder(
            engine, matrix, log_dir, reporter.note, reporter.status, cache_from_tags
        )
        outcomes = builder.prepare(names)
        for tool, context in _tools(matrix):
            builder.prepare_tool(tool, context)
    failed = [o for o in outcomes.values() if not o.ok]
    if failed:
        raise BuildFailed("; ".join(f"{o.name}: {o.reason}" for o in failed))


def _tools(matrix: Matrix) -> list[tuple[str, Path]]:
    """The tool images this matrix's runs use (name, build context)."""
    settings = matrix.settings
    tools = (
        ("capture", settings.capture, settings.capture_context),
        ("screenshot", settings.screenshot, settings.screenshot_context),
        ("netkit", True, settings.netkit_context),  # namespace holders, in every scenario
    )
    return [(name, context) for name, wanted, context in tools if wanted]


def save_images(matrix: Matrix, path: Path, console: Console) -> list[str]:
    """Every image a run needs, in one tar: CI builds once and ships it to the shards."""
    engine = connect_for(console, 1)
    settings = matrix.settings
    wanted = [settings.local_image(tool) for tool in ("base", *dict(_tools(matrix)))] + [
        i.image_reference(settings.image_prefix) for i in matrix.implementations
    ]
    present = [reference for reference in wanted if engine.image_id(reference)]
    engine.save_images(present, path)
    return present


def load_images(path: Path, console: Console) -> list[str]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    return connect_for(console, 1).load_images(path)


def clean(console: Console, run_id: str | None) -> tuple[int, int]:
    engine = connect_for(console, 1)
    label = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    return engine.remove_labelled(label)
