"""What a run is, as plain frozen values: its header, its implementations and tests, its
cells. results.py keeps them on disk, codec.py turns them into JSON and back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orchestrator.model import CellResult


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    ABORTED = "aborted"  # the engine went away, or an internal error


@dataclass(frozen=True)
class RunInfo:
    id: str
    started_at: datetime
    ended_at: datetime | None
    orchestrator_version: str
    host: tuple[tuple[str, str], ...]
    parallelism: int
    status: RunStatus = RunStatus.RUNNING
    stop_reason: str | None = None  # why an interrupted or aborted run stopped
    first_cell_after_s: float | None = None  # from the command's start to the first cell


@dataclass(frozen=True)
class ImplementationRecord:
    name: str
    image: str
    image_id: str | None
    versions: tuple[tuple[str, str], ...]
    build: str  # "built", "prebuilt" or "failed"
    server_tests: tuple[str, ...] = ()
    client_tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestRecord:
    __test__ = False  # not a pytest test class, despite the name

    name: str
    timeout_s: float
    description: str = ""


@dataclass(frozen=True)
class RunResults:
    run: RunInfo
    tests: tuple[TestRecord, ...]
    implementations: tuple[ImplementationRecord, ...]
    cells: tuple[CellResult, ...]
    scenarios: tuple[str, ...] = ("direct",)

    def versions_of(self, name: str) -> dict[str, str]:
        for record in self.implementations:
            if record.name == name:
                return dict(record.versions)
        return {}
