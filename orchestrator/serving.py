"""One server container for consecutive cells (docs/contract.md section 1.1).

A short cell's cost is mostly starting its two peers; a server whose implementation
declares `reuse_server` is started once for a batch of cells (same server, test case
and scenario, planned one after the other) and asked to end its sessions between them.
Only a server that served a passing cell, still runs and ended its sessions in time
serves the next one; anything else removes it, and the next cell (or the retry) starts
a fresh one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

from orchestrator.config import Matrix
from orchestrator.model import PlannedCell
from orchestrator.network.topology import Wiring
from orchestrator.ports import RunningContainer

MAX_BATCH = 8  # cells per server: bounds how long a batch holds one worker
END_SESSIONS_TIMEOUT_S = 5.0


@dataclass
class Served:
    """The live server of a share, where it sits, and where its next cell's output
    begins (UNIX time; None: from its start)."""

    wiring: Wiring
    server: RunningContainer
    cells: int = 0
    output_from: float | None = None


class ServerShare:
    """Owns the shared server (and the network it sits on) between cells of a batch."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._served: Served | None = None
        self._spoiled = False

    def live(self) -> Served | None:
        """The server the next cell may use, or None when it needs a fresh one."""
        if self._served is None or self._spoiled:
            return None
        if self._served.server.exit_code() is not None:
            return None
        return self._served

    def fresh(self) -> ExitStack:
        """An empty stack for a new server and its network (the old ones removed)."""
        self.retire()
        return self._stack

    def adopt(self, wiring: Wiring, server: RunningContainer) -> Served:
        self._served = Served(wiring, server)
        self._spoiled = False
        return self._served

    def spoil(self) -> None:
        """The server must not serve another cell (removed when the cell has ended)."""
        self._spoiled = True

    def retire(self) -> None:
        self._served = None
        self._spoiled = False
        self._stack.close()
        self._stack = ExitStack()

    def after(self, passed: bool) -> None:
        """A cell has ended (its own containers are gone): keep the server only after a
        pass."""
        if not passed or self._spoiled:
            self.retire()

    def __enter__(self) -> ServerShare:
        return self

    def __exit__(self, *error: object) -> None:
        self.retire()


def reuse_stamp() -> float:
    """Where one cell's server output ends and the next one's begins."""
    return time.time()


class Batch:
    """Cells that may share one server, run front to back by one worker. When no batch
    is left to start, the scheduler splits the back half off a running light one to run
    on a second server (`split`), so a run does not end on a few long chains of media
    cells while the cores idle."""

    def __init__(self, cells: Iterable[PlannedCell], light: bool = False) -> None:
        self._cells = deque(cells)
        if not self._cells:
            raise ValueError("a batch has at least one cell")
        self.scenario = self._cells[0].cell.scenario
        self.light = light  # Matrix.light_server: a light test case, a server not heavy
        self._lock = threading.Lock()

    def take(self) -> PlannedCell | None:
        """The next cell to run, or None when none is left."""
        with self._lock:
            return self._cells.popleft() if self._cells else None

    def split(self) -> Batch | None:
        """A new batch of the back half of the cells not yet taken (rounded up), or None
        when none is left."""
        with self._lock:
            count = (len(self._cells) + 1) // 2
            back = [self._cells.pop() for _ in range(count)]
        return Batch(reversed(back), self.light) if back else None

    def left(self) -> tuple[PlannedCell, ...]:
        """The cells not yet taken."""
        with self._lock:
            return tuple(self._cells)

    def __len__(self) -> int:
        with self._lock:
            return len(self._cells)


def batches(cells: Iterable[PlannedCell], matrix: Matrix) -> Iterator[Batch]:
    """The planned cells in order, cut into batches that may share a server: runs of
    consecutive cells with the same scenario, test case and reusable server, at most
    MAX_BATCH long; every other cell is a batch of its own."""
    batch: list[PlannedCell] = []
    for planned in cells:
        if batch and (len(batch) >= MAX_BATCH or not _same_server(batch[-1], planned, matrix)):
            yield _batch(batch, matrix)
            batch = []
        batch.append(planned)
    if batch:
        yield _batch(batch, matrix)


def schedule(batches: Iterable[Batch]) -> list[Batch]:
    """The order batches start in: scenario by scenario as planned (a network slot keeps
    its scenario's set-up from cell to cell), and within one, light test cases' first.
    Light cells are the long ones (real-time media) and take half a peer slot: started
    first, they run beside the CPU-bound cells instead of ending the run on their own
    with the cores idle."""
    listed = list(batches)
    scenarios: dict[str, int] = {}
    for batch in listed:
        scenarios.setdefault(batch.scenario, len(scenarios))
    return sorted(listed, key=lambda batch: (scenarios[batch.scenario], not batch.light))


def _batch(cells: list[PlannedCell], matrix: Matrix) -> Batch:
    return Batch(cells, matrix.light_server(cells[0].cell))


def _same_server(before: PlannedCell, planned: PlannedCell, matrix: Matrix) -> bool:
    a, b = before.cell, planned.cell
    return (
        (a.scenario, a.test, a.server) == (b.scenario, b.test, b.server)
        and matrix.implementation(b.server).reuse_server
        and before.refusal is None
        and planned.refusal is None
    )
