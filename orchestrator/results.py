"""A run's record in memory and on disk: results.json is kept current while cells finish,
so a run that dies keeps what finished. The file format is orchestrator/codec.py's.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.codec import json_text
from orchestrator.model import CellResult
from orchestrator.records import (
    ImplementationRecord,
    RunInfo,
    RunResults,
    RunStatus,
    TestRecord,
)

__all__ = [
    "ImplementationRecord",
    "ResultStore",
    "RunInfo",
    "RunResults",
    "RunStatus",
    "TestRecord",
    "point_latest",
    "write_atomically",
]

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
RESULTS_HTML = "results.html"
RESULTS_PNG = "results.png"
LATEST = "latest"
FLUSH_INTERVAL_S = 1.0  # results.json is rewritten at most this often while cells finish


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(3).hex()


def write_atomically(path: Path, text: str) -> None:
    """Readers (and a crash) only ever see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o644)  # mkstemp's 0600 would hide results from other users
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class ResultStore:
    """Accumulates a run's results and keeps results.json current on disk: rewritten at
    most once a second while cells finish, and at the end."""

    def __init__(self, run_dir: Path, results: RunResults) -> None:
        self.run_dir = run_dir
        self._head = results
        self._cells: list[CellResult] = list(results.cells)
        self._lock = threading.Lock()
        self._flushed_at = 0.0
        self._flush()

    @property
    def results(self) -> RunResults:
        with self._lock:
            return replace(self._head, cells=tuple(self._cells))

    def add(self, result: CellResult, flush: bool = True) -> None:
        with self._lock:
            self._cells.append(result)
            if flush and time.monotonic() - self._flushed_at >= FLUSH_INTERVAL_S:
                self._flush()

    def first_cell_started(self, after_s: float) -> None:
        with self._lock:
            if self._head.run.first_cell_after_s is None:
                run = replace(self._head.run, first_cell_after_s=round(after_s, 3))
                self._head = replace(self._head, run=run)

    def finish(self, status: RunStatus, why: str | None = None) -> RunResults:
        with self._lock:
            run = replace(self._head.run, ended_at=utc_now(), status=status, stop_reason=why)
            self._head = replace(self._head, run=run)
            self._flush()
            return replace(self._head, cells=tuple(self._cells))

    def _flush(self) -> None:
        results = replace(self._head, cells=tuple(self._cells))
        write_atomically(self.run_dir / RESULTS_JSON, json_text(results))
        self._flushed_at = time.monotonic()


def point_latest(results_dir: Path, run_dir: Path) -> None:
    """Make results/latest a relative symlink to the run folder, replaced atomically."""
    link = results_dir / LATEST
    temporary = results_dir / f".{LATEST}.{os.getpid()}.{threading.get_ident()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(run_dir.name, target_is_directory=True)
    os.replace(temporary, link)
