"""results.json: the run's record, written after every cell so a crash keeps what finished.

The schema is documented in docs/results-schema.md; bump SCHEMA_VERSION on any
change a reader would notice.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrator.errors import ResultsError
from orchestrator.model import (
    Attempt,
    Cell,
    CellResult,
    Expectation,
    MediaReport,
    Outcome,
    Traffic,
    Verification,
)

SCHEMA_VERSION = 1
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
RESULTS_HTML = "results.html"
RESULTS_PNG = "results.png"
LATEST = "latest"


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RunInfo:
    id: str
    started_at: datetime
    ended_at: datetime | None
    orchestrator_version: str
    host: tuple[tuple[str, str], ...]
    parallelism: int
    status: RunStatus = RunStatus.RUNNING


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

    def versions_of(self, name: str) -> dict[str, str]:
        for record in self.implementations:
            if record.name == name:
                return dict(record.versions)
        return {}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(2).hex()


def to_json(results: RunResults) -> dict[str, Any]:
    run = results.run
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": run.id,
            "started_at": _timestamp(run.started_at),
            "ended_at": _timestamp(run.ended_at) if run.ended_at else None,
            "status": run.status.value,
            "orchestrator_version": run.orchestrator_version,
            "host": dict(run.host),
            "parallelism": run.parallelism,
        },
        "tests": [
            {"name": t.name, "timeout_s": t.timeout_s, "description": t.description}
            for t in results.tests
        ],
        "implementations": {
            record.name: {
                "image": record.image,
                "image_id": record.image_id,
                "build": record.build,
                "versions": dict(record.versions),
                "roles": {"server": list(record.server_tests), "client": list(record.client_tests)},
            }
            for record in results.implementations
        },
        "cells": [_cell_json(result) for result in results.cells],
    }


def _cell_json(result: CellResult) -> dict[str, Any]:
    return {
        "test": result.cell.test,
        "server": result.cell.server,
        "client": result.cell.client,
        "scenario": result.cell.scenario,
        "outcome": result.outcome.value,
        "exit_code": result.exit_code,
        "duration_s": round(result.duration_s, 3),
        "reason": result.reason,
        "logs": result.log_paths,
        "evidence": _evidence_json(result.verification) if result.verification else None,
        "media": asdict(result.media) if result.media else None,
        "attempts": [
            {
                "outcome": a.outcome.value,
                "reason": a.reason,
                "exit_code": a.exit_code,
                "duration_s": round(a.duration_s, 3),
                "logs": dict(a.logs),
            }
            for a in result.attempts
        ],
        "expected": (
            {"outcome": result.expected.outcome.value, "reason": result.expected.reason}
            if result.expected
            else None
        ),
    }


def _evidence_json(wire: Verification) -> dict[str, Any]:
    return {
        "verified": wire.verified,
        "missing": list(wire.missing),
        "connect_time_s": wire.connect_time_s,
        "ice_checks_answered": {
            "client": wire.client_checks_answered,
            "server": wire.server_checks_answered,
        },
        "client_to_server": asdict(wire.client_to_server),
        "server_to_client": asdict(wire.server_to_client),
    }


def _evidence_from_json(data: dict[str, Any]) -> Verification:
    return Verification(
        missing=tuple(data["missing"]),
        connect_time_s=data["connect_time_s"],
        client_checks_answered=bool(data["ice_checks_answered"]["client"]),
        server_checks_answered=bool(data["ice_checks_answered"]["server"]),
        client_to_server=Traffic(**data["client_to_server"]),
        server_to_client=Traffic(**data["server_to_client"]),
    )


def json_text(results: RunResults) -> str:
    return json.dumps(to_json(results), indent=2) + "\n"


def from_json(data: Any, source: Path) -> RunResults:
    """Parse a results document; any deviation from the schema is a ResultsError."""
    try:
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ResultsError(
                f"{source}: schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION}"
            )
        run = data["run"]
        info = RunInfo(
            id=run["id"],
            started_at=_parse_time(run["started_at"]),
            ended_at=_parse_time(run["ended_at"]) if run.get("ended_at") else None,
            orchestrator_version=run["orchestrator_version"],
            host=tuple((str(k), str(v)) for k, v in run.get("host", {}).items()),
            parallelism=int(run["parallelism"]),
            status=RunStatus(run.get("status", RunStatus.COMPLETE)),
        )
        tests = tuple(
            TestRecord(t["name"], float(t["timeout_s"]), t.get("description", ""))
            for t in data["tests"]
        )
        implementations = tuple(
            ImplementationRecord(
                name=name,
                image=body["image"],
                image_id=body.get("image_id"),
                versions=tuple((str(k), str(v)) for k, v in body.get("versions", {}).items()),
                build=body.get("build", "built"),
                server_tests=tuple(body.get("roles", {}).get("server", ())),
                client_tests=tuple(body.get("roles", {}).get("client", ())),
            )
            for name, body in data["implementations"].items()
        )
        cells = tuple(
            CellResult(
                cell=Cell(c["test"], c["server"], c["client"], c.get("scenario", "direct")),
                outcome=Outcome(c["outcome"]),
                reason=c["reason"],
                exit_code=c.get("exit_code"),
                duration_s=float(c.get("duration_s", 0.0)),
                logs=tuple((str(k), str(v)) for k, v in (c.get("logs") or {}).items()),
                verification=_evidence_from_json(c["evidence"]) if c.get("evidence") else None,
                media=MediaReport(**c["media"]) if c.get("media") else None,
                attempts=tuple(
                    Attempt(
                        Outcome(a["outcome"]),
                        a["reason"],
                        a.get("exit_code"),
                        float(a.get("duration_s", 0.0)),
                        tuple((str(k), str(v)) for k, v in a.get("logs", {}).items()),
                    )
                    for a in c.get("attempts", ())
                ),
                expected=(
                    Expectation(Outcome(c["expected"]["outcome"]), c["expected"]["reason"])
                    if c.get("expected")
                    else None
                ),
            )
            for c in data["cells"]
        )
    except ResultsError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ResultsError(
            f"{source}: not a results.json of schema {SCHEMA_VERSION} "
            f"({type(error).__name__}: {error})"
        ) from None
    return RunResults(info, tests, implementations, cells)


def load_results(path: Path) -> RunResults:
    """Read a results.json, or the one inside a run folder."""
    if path.is_dir():
        path = path / RESULTS_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, ValueError) as error:
        raise ResultsError(f"{path}: cannot read JSON ({error})") from None
    return from_json(data, path)


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
    """Accumulates a run's results and keeps results.json current on disk."""

    def __init__(self, run_dir: Path, results: RunResults) -> None:
        self.run_dir = run_dir
        self._results = results
        self._lock = threading.Lock()
        self._flush()

    @property
    def results(self) -> RunResults:
        return self._results

    def add(self, result: CellResult) -> None:
        with self._lock:
            self._results = replace(self._results, cells=(*self._results.cells, result))
            self._flush()

    def finish(self, status: RunStatus) -> RunResults:
        with self._lock:
            run = replace(self._results.run, ended_at=utc_now(), status=status)
            self._results = replace(self._results, run=run)
            self._flush()
        return self._results

    def _flush(self) -> None:
        write_atomically(self.run_dir / RESULTS_JSON, json_text(self._results))


def point_latest(results_dir: Path, run_dir: Path) -> None:
    """Make results/latest a relative symlink to the run folder, replaced atomically."""
    link = results_dir / LATEST
    temporary = results_dir / f".{LATEST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(run_dir.name, target_is_directory=True)
    os.replace(temporary, link)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
