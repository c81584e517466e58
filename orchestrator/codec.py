"""results.json ⇄ the run's records. Reading validates against the published schema
(orchestrator/results-schema.json, documented in docs/results-schema.md): a file that
does not fit is a ResultsError naming the file and the field, never a traceback."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

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
from orchestrator.records import (
    ImplementationRecord,
    RunInfo,
    RunResults,
    RunStatus,
    TestRecord,
)

SCHEMA_VERSION = 2
RESULTS_JSON = "results.json"


@cache
def schema() -> dict[str, Any]:
    text = resources.files("orchestrator").joinpath("results-schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def json_text(results: RunResults) -> str:
    return json.dumps(to_json(results), indent=2, ensure_ascii=False) + "\n"


def load_results(path: Path) -> RunResults:
    """Read and validate a results.json, or the one inside a run folder."""
    if path.is_dir():
        path = path / RESULTS_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, ValueError) as error:
        raise ResultsError(f"{path}: cannot read JSON ({error})") from None
    return from_json(data, path)


def from_json(data: Any, source: Path) -> RunResults:
    """Parse a results document; anything the schema rejects is a ResultsError."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{source}: schema_version {version!r} is not {SCHEMA_VERSION}")
    error = best_match(Draft202012Validator(schema()).iter_errors(data))
    if error is not None:
        raise ResultsError(f"{source}: {error.json_path}: {_short(error.message)}")
    return RunResults(
        _run(data["run"]),
        tuple(
            TestRecord(t["name"], float(t["timeout_s"]), t.get("description", ""))
            for t in data["tests"]
        ),
        tuple(_implementation(name, body) for name, body in data["implementations"].items()),
        tuple(_cell(c) for c in data["cells"]),
        scenarios=tuple(data["scenarios"]),
    )


def to_json(results: RunResults) -> dict[str, Any]:
    run = results.run
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": run.id,
            "started_at": _timestamp(run.started_at),
            "ended_at": _timestamp(run.ended_at) if run.ended_at else None,
            "status": run.status.value,
            "stop_reason": run.stop_reason,
            "first_cell_after_s": run.first_cell_after_s,
            "orchestrator_version": run.orchestrator_version,
            "host": dict(run.host),
            "parallelism": run.parallelism,
        },
        "tests": [
            {"name": t.name, "timeout_s": t.timeout_s, "description": t.description}
            for t in results.tests
        ],
        "scenarios": list(results.scenarios),
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
    expected = result.expected
    return {
        "test": result.cell.test,
        "server": result.cell.server,
        "client": result.cell.client,
        "scenario": result.cell.scenario,
        "outcome": result.outcome.value,
        "exit_code": result.exit_code,
        "duration_s": round(result.duration_s, 3),
        "reason": result.reason,
        "cause": result.cause,
        "logs": result.log_paths,
        "timings": dict(result.timings),
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
            {
                "outcome": expected.outcome.value,
                "reason": expected.reason,
                "condition": expected.condition,
            }
            if expected
            else None
        ),
    }


def _evidence_json(wire: Verification) -> dict[str, Any]:
    return {
        "verified": wire.verified,
        "proof": wire.proof,
        "path": wire.path,
        "details": list(wire.details),
        "measures": dict(wire.measures),
        "missing": list(wire.missing),
        "connect_time_s": wire.connect_time_s,
        "ice_checks_answered": {
            "client": wire.client_checks_answered,
            "server": wire.server_checks_answered,
        },
        "client_to_server": asdict(wire.client_to_server),
        "server_to_client": asdict(wire.server_to_client),
    }


def _run(run: dict[str, Any]) -> RunInfo:
    return RunInfo(
        id=run["id"],
        started_at=_parse_time(run["started_at"]),
        ended_at=_parse_time(run["ended_at"]) if run.get("ended_at") else None,
        orchestrator_version=run["orchestrator_version"],
        host=tuple((str(k), str(v)) for k, v in run.get("host", {}).items()),
        parallelism=int(run["parallelism"]),
        status=RunStatus(run["status"]),
        stop_reason=run.get("stop_reason"),
        first_cell_after_s=run.get("first_cell_after_s"),
    )


def _implementation(name: str, body: dict[str, Any]) -> ImplementationRecord:
    roles = body.get("roles", {})
    return ImplementationRecord(
        name=name,
        image=body["image"],
        image_id=body.get("image_id"),
        versions=tuple((str(k), str(v)) for k, v in body.get("versions", {}).items()),
        build=body["build"],
        server_tests=tuple(roles.get("server", ())),
        client_tests=tuple(roles.get("client", ())),
    )


def _cell(c: dict[str, Any]) -> CellResult:
    evidence = c.get("evidence")
    expected = c.get("expected")
    return CellResult(
        cell=Cell(c["test"], c["server"], c["client"], c["scenario"]),
        outcome=Outcome(c["outcome"]),
        reason=c["reason"],
        exit_code=c.get("exit_code"),
        duration_s=float(c.get("duration_s", 0.0)),
        logs=tuple((str(k), str(v)) for k, v in (c.get("logs") or {}).items()),
        verification=_evidence(evidence) if evidence else None,
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
        expected=Expectation(
            Outcome(expected["outcome"]), expected["reason"], expected.get("condition")
        )
        if expected
        else None,
        cause=c.get("cause"),
        timings=tuple((str(k), float(v)) for k, v in (c.get("timings") or {}).items()),
    )


def _evidence(data: dict[str, Any]) -> Verification:
    answered = data.get("ice_checks_answered", {})
    return Verification(
        missing=tuple(data["missing"]),
        connect_time_s=data.get("connect_time_s"),
        client_checks_answered=bool(answered.get("client")),
        server_checks_answered=bool(answered.get("server")),
        client_to_server=Traffic(**data.get("client_to_server", {})),
        server_to_client=Traffic(**data.get("server_to_client", {})),
        proof=data.get("proof", "none"),
        details=tuple(data.get("details", ())),
        measures=tuple((str(k), float(v)) for k, v in data.get("measures", {}).items()),
        path=data.get("path"),
    )


def _short(message: str) -> str:
    """jsonschema quotes whole values; a 1 MB string must not become a 1 MB error."""
    return message if len(message) <= 200 else message[:199] + "…"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
