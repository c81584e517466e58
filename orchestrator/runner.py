"""Runs cells: each attempt in its own topology, retried on failure, `jobs` at a time.

A cell is in flight from its first container to its verdict, but holds one of the
`jobs` peer slots (AttemptContext.peer_slots; half of one for a light test case) only
while its peers run: twice as many batches are in flight, so one cell's teardown and
capture analysis overlap the next cell's peers.

One cell's failure is one cell's result; only what makes every further cell pointless
(the engine gone, our own disk failing, Ctrl-C) ends the run, and then cleanly: running
cells are cancelled and release their resources before the error goes up.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from orchestrator.errors import EngineUnavailable, InternalError, InteropError, Interrupted
from orchestrator.lifecycle import AttemptContext, CellAttempt
from orchestrator.model import Attempt, Cell, CellResult, Outcome, PlannedCell
from orchestrator.naming import log_folder
from orchestrator.ports import Cancelled
from orchestrator.serving import Batch, ServerShare

Event = Cell | CellResult  # what a batch reports: a cell started, a cell's result

IN_FLIGHT = 2  # cells in flight per peer slot
PAYLOAD_BYTES = (600, 1000)
PRINTABLE = (0x21, 0x7E)


@dataclass(frozen=True)
class UnavailableImage:
    """An implementation whose image could not be built or found."""

    reason: str
    log: str | None  # build log, relative to the run folder
    cause: str | None = None  # SOURCE_UNREACHABLE when a registry was out of reach


def new_payload() -> bytes:
    """A fresh test message (docs/contract.md 2.1): 600-1000 printable ASCII bytes."""
    low, high = PAYLOAD_BYTES
    length = low + secrets.randbelow(high - low + 1)
    first, last = PRINTABLE
    return bytes(first + secrets.randbelow(last - first + 1) for _ in range(length))


class CellRunner:
    def __init__(
        self,
        context: AttemptContext,
        unavailable: Mapping[str, UnavailableImage],
        retries: int = 0,
    ) -> None:
        self.context = context
        self.unavailable = unavailable
        self.retries = retries

    def run_batch(self, batch: Batch, report: Callable[[Event], None]) -> None:
        """Run a batch's cells one after the other (their server shared where it may be,
        serving.py), reporting each cell as it starts and its result as it lands."""
        with ServerShare() as share:
            while (planned := batch.take()) is not None:
                if self.context.cancel.is_set():
                    raise Cancelled
                if planned.refusal is None:
                    report(planned.cell)
                report(self.run(planned, share))

    def run(self, planned: PlannedCell, share: ServerShare | None = None) -> CellResult:
        """The cell's result, retried up to `retries` times on failure. Raises only what
        ends the run (Cancelled, EngineUnavailable, InternalError).

        A cell that fails and then passes is `flaky`, never silently green; every
        attempt's logs are kept.
        """
        cell = planned.cell
        if planned.refusal is not None:
            return CellResult(cell, Outcome.UNSUPPORTED, planned.refusal)
        for name in (cell.server, cell.client):
            if name in self.unavailable:
                missing = self.unavailable[name]
                logs = (("build", missing.log),) if missing.log else ()
                return CellResult(
                    cell,
                    Outcome.BUILD_ERROR,
                    f"{name}: {missing.reason}",
                    logs=logs,
                    cause=missing.cause,
                )
        attempts = [self._attempt(cell, 1, share)]
        retries = self.retries if self._worth_retrying(attempts[0]) else 0
        while attempts[-1].outcome.is_failure and len(attempts) <= retries:
            attempts.append(self._attempt(cell, len(attempts) + 1, share))
        return _combined(attempts)

    def _worth_retrying(self, first: CellResult) -> bool:
        """A retry tells a flaky cell from a broken one; a cell that failed exactly as
        expectations.yaml says it always does would only spend the time again."""
        expected = self.context.matrix.expected(first.cell, first.cause)
        # One attempt is never `flaky`, so a cell expected to be flaky is always retried.
        return expected is None or expected.outcome is not first.outcome

    def _attempt(self, cell: Cell, number: int, share: ServerShare | None) -> CellResult:
        result = self._attempt_once(cell, number, share)
        if share is not None:
            share.after(passed=result.outcome is Outcome.PASSED)
        return result

    def _attempt_once(self, cell: Cell, number: int, share: ServerShare | None) -> CellResult:
        started = time.monotonic()
        try:
            return CellAttempt(self.context, cell, number, share).run()
        except (Cancelled, EngineUnavailable):
            raise
        except OSError as error:  # our own files: a full or read-only disk ends the run
            raise InternalError(f"cannot write the results of {cell.key}: {error}") from error
        except InteropError as error:
            return CellResult(
                cell, Outcome.INFRA_ERROR, str(error), duration_s=time.monotonic() - started
            )
        except Exception as error:  # a bug of ours must cost one cell, not the run
            folder = self.context.run_dir / log_folder(cell, number)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "orchestrator-error.log").write_text(traceback.format_exc())
            return CellResult(
                cell,
                Outcome.INFRA_ERROR,
                f"{type(error).__name__}: {error}",
                duration_s=time.monotonic() - started,
                logs=(("orchestrator", f"{log_folder(cell, number)}/orchestrator-error.log"),),
            )


def _combined(attempts: list[CellResult]) -> CellResult:
    final = attempts[-1]
    if len(attempts) == 1:
        return final
    history = tuple(
        Attempt(a.outcome, a.reason, a.exit_code, a.duration_s, a.logs) for a in attempts
    )
    if final.outcome is Outcome.PASSED:
        first = attempts[0]
        reason = f"passed on attempt {len(attempts)} after {first.outcome.value}: {first.reason}"
        return replace(final, outcome=Outcome.FLAKY, reason=reason, attempts=history)
    return replace(final, attempts=history)


def run_cells(
    batches: Iterable[Batch],
    run_batch: Callable[[Batch, Callable[[Event], None]], None],
    jobs: int,
    cancel: threading.Event,
    on_start: Callable[[Cell], None],
    on_result: Callable[[CellResult], None],
) -> None:
    """Run batches of cells (each batch's cells one after the other), IN_FLIGHT batches
    per peer slot at once, reporting each cell as it starts and its result as it lands.
    Once every batch has started, a worker that comes free takes the back half of the
    waiting cells of the longest running light batch (serving.Batch.split): its cells
    last seconds each, a second server costs a fraction of one; a full batch keeps its
    cells, which are short, on its one server.

    On Ctrl-C, SIGTERM, the engine going away or any unexpected error (in a worker or
    in `on_result`): stop starting batches, cancel the running ones, wait until they
    released their resources, then raise (Interrupted for a stop).
    """
    pending = list(batches)
    events: queue.Queue[Event | Future[None]] = queue.Queue()
    running: dict[Future[None], Batch] = {}
    executor = ThreadPoolExecutor(max_workers=jobs * IN_FLIGHT, thread_name_prefix="cell")

    def start(batch: Batch) -> None:
        future = executor.submit(run_batch, batch, events.put)
        running[future] = batch
        future.add_done_callback(events.put)

    def next_batch() -> Batch | None:
        if pending:
            return pending.pop(0)
        light = [batch for batch in running.values() if batch.light]
        longest = max(light, key=len, default=None)
        return longest.split() if longest is not None else None

    def fill() -> None:
        while len(running) < jobs * IN_FLIGHT and not cancel.is_set():
            batch = next_batch()
            if batch is None:
                return
            start(batch)

    try:
        fill()
        while running:
            event = events.get()
            if isinstance(event, CellResult):
                on_result(event)
            elif isinstance(event, Cell):
                on_start(event)
            else:
                del running[event]
                event.result()  # a worker's error ends the run here
                fill()
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        executor.shutdown(wait=True, cancel_futures=True)
        raise Interrupted(
            "interrupted; containers and networks of running cells were removed"
        ) from None
    except BaseException:
        cancel.set()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
