"""Progress for a person watching: a live grid on a terminal, plain lines otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from orchestrator.model import Cell, CellResult
from orchestrator.render import terminal
from orchestrator.render.symbols import GLYPH


class Reporter(Protocol):
    def __enter__(self) -> Reporter: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None: ...

    def note(self, text: str) -> None:
        """A line worth keeping in the scrollback (build finished, warnings)."""

    def status(self, text: str) -> None:
        """A transient line (the current build step); replaced by the next one."""

    def plan(self, cells: Sequence[Cell], tests: Sequence[str], order: tuple[str, ...]) -> None: ...

    def cell_started(self, cell: Cell) -> None: ...

    def cell_finished(self, result: CellResult) -> None: ...


class PlainReporter:
    """One line per event: for CI logs, pipes and files."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = 0
        self.done = 0
        self.last_status = 0.0
        self.last_subject = ""

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        return None

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)

    def status(self, text: str) -> None:
        # Always say when something new starts ("building werift"); within one build, a
        # step line every few seconds shows life without flooding the log.
        subject = text.split(":", 1)[0].removeprefix("building ")
        now = time.monotonic()
        if subject != self.last_subject or now - self.last_status >= 5.0:
            self.last_subject, self.last_status = subject, now
            self.note(text)

    def plan(self, cells: Sequence[Cell], tests: Sequence[str], order: tuple[str, ...]) -> None:
        self.total = len(cells)
        self.note(f"running {self.total} cells")

    def cell_started(self, cell: Cell) -> None:
        return None

    def cell_finished(self, result: CellResult) -> None:
        self.done += 1
        cell = result.cell
        width = len(str(self.total))
        glyph, _ = GLYPH[result.outcome]
        self.note(
            f"[{self.done:>{width}}/{self.total}] {glyph} {cell.key}: "
            f"{result.outcome.value} ({result.duration_s:.1f}s) {result.reason}"
        )


class LiveReporter:
    """The grid, redrawn as cells start and finish, with a status line under it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.cells: Sequence[Cell] = ()
        self.tests: Sequence[str] = ()
        self.order: tuple[str, ...] = ()
        self.finished: dict[Cell, CellResult] = {}
        self.running: set[Cell] = set()
        self.current_status = ""
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.live = Live(
            console=console, refresh_per_second=4, transient=False, get_renderable=self._render
        )

    def __enter__(self) -> LiveReporter:
        self.live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with self.lock:
            self.current_status = ""
        self.live.stop()

    def note(self, text: str) -> None:
        self.live.console.print(text, markup=False)

    def status(self, text: str) -> None:
        with self.lock:
            self.current_status = text

    def plan(self, cells: Sequence[Cell], tests: Sequence[str], order: tuple[str, ...]) -> None:
        with self.lock:
            self.cells, self.tests, self.order = tuple(cells), tuple(tests), order
            self.started = time.monotonic()
            self.current_status = ""

    def cell_started(self, cell: Cell) -> None:
        with self.lock:
            self.running.add(cell)

    def cell_finished(self, result: CellResult) -> None:
        with self.lock:
            self.running.discard(result.cell)
            self.finished[result.cell] = result

    def _render(self) -> Group:
        with self.lock:
            parts: list[Text | object] = []
            if self.cells:
                parts.append(
                    terminal.grid(self.cells, self.finished, self.running, self.tests, self.order)
                )
                parts.append(terminal.legend())
                elapsed = int(time.monotonic() - self.started)
                parts.append(
                    Text(
                        f"\n{len(self.finished)}/{len(self.cells)} cells done, "
                        f"{len(self.running)} running, {elapsed // 60}:"
                        f"{elapsed % 60:02d} elapsed",
                        style="dim",
                    )
                )
            if self.current_status:
                parts.append(
                    Text(self.current_status, style="cyan", overflow="ellipsis", no_wrap=True)
                )
            return Group(*parts)  # type: ignore[arg-type]


def reporter_for(console: Console) -> Reporter:
    return LiveReporter(console) if console.is_terminal else PlainReporter(console)
