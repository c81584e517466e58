"""What a run leaves for people: results.md, results.html, results.png, the summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from orchestrator.config import Matrix
from orchestrator.engine.client import DockerEngine
from orchestrator.errors import EngineError
from orchestrator.images import ImageBuilder
from orchestrator.ports import RUN_LABEL
from orchestrator.records import RunResults
from orchestrator.render import terminal
from orchestrator.render.html import page_size, render_html
from orchestrator.render.markdown import render_markdown
from orchestrator.results import (
    RESULTS_HTML,
    RESULTS_JSON,
    RESULTS_MD,
    RESULTS_PNG,
    write_atomically,
)


def write_reports(results: RunResults, run_dir: Path) -> None:
    write_atomically(run_dir / RESULTS_MD, render_markdown(results))
    write_atomically(run_dir / RESULTS_HTML, render_html(results))


def take_screenshot(
    engine: DockerEngine, matrix: Matrix, results: RunResults, run_dir: Path, console: Console
) -> Path | None:
    """results.png: the HTML report as headless Chromium draws it. A failure here is a
    warning; the run's results stand without a picture."""

    def note(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    builder = ImageBuilder(engine, matrix, run_dir / "build", note, note)
    try:
        image = builder.prepare_tool("screenshot", matrix.settings.screenshot_context)
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


def print_summary(results: RunResults, run_dir: Path, console: Console) -> None:
    console.print(terminal.summary(results.cells))
    for line in terminal.failure_lines(results.cells):
        console.print(line)
    console.print(f"results: {run_dir / RESULTS_MD} and {run_dir / RESULTS_JSON}", markup=False)
