"""Turning what was observed in a cell into an outcome and a one-line reason (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.model import (
    EXIT_FAILED,
    EXIT_PASSED,
    EXIT_UNSUPPORTED,
    MediaReport,
    Outcome,
    Verification,
)
from orchestrator.text import clean_line

REASON_MAX = 200
VERDICT_PREFIXES = ("PASS:", "FAIL:", "UNSUPPORTED:")


@dataclass(frozen=True)
class Observation:
    """What the runner saw once the client finished or was killed."""

    test: str
    client_exit: int | None  # None: still running at the deadline, so it was killed
    server_exit: int | None  # set when the server had already stopped by then
    timeout_s: float
    client_output: str


def classify(seen: Observation) -> tuple[Outcome, str]:
    said = last_line(seen.client_output).removeprefix(f"{seen.test}: ")
    if seen.client_exit is None:
        return Outcome.TIMEOUT, _join(
            f"client still running after {seen.timeout_s:g}s, killed", said
        )
    if seen.client_exit == EXIT_UNSUPPORTED:
        return Outcome.UNSUPPORTED, said or "client exited 127: test case not supported"
    if seen.server_exit is not None and seen.client_exit != EXIT_PASSED:
        return Outcome.SERVER_ERROR, _join(
            f"server exited with code {seen.server_exit} while the client ran", said
        )
    if seen.client_exit == EXIT_PASSED:
        return Outcome.PASSED, said or "client exited 0"
    if seen.client_exit == EXIT_FAILED:
        return Outcome.FAILED, said or "client exited 1 without saying why"
    return Outcome.FAILED, _join(f"client exited with code {seen.client_exit}", said)


def reconcile(outcome: Outcome, reason: str, wire: Verification) -> tuple[Outcome, str]:
    """Hold the client's verdict against the capture: no green without evidence."""
    if outcome is Outcome.PASSED and not wire.verified:
        shown = "; ".join(wire.missing[:2])
        more = f" (+{len(wire.missing) - 2} more)" if len(wire.missing) > 2 else ""
        return Outcome.UNVERIFIED, f"client exited 0 but {shown}{more}"
    if outcome in (Outcome.FAILED, Outcome.TIMEOUT) and wire.verified:
        return outcome, f"{reason} (yet the capture shows a complete exchange)"
    return outcome, reason


def last_line(output: str) -> str:
    """The client's own verdict, without its prefix, as one short clean line: its first
    `FAIL:` line (what went wrong first, not what it printed while cleaning up), else its
    last `PASS:`/`UNSUPPORTED:` line, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return ""
    failures = [line for line in lines if line.startswith("FAIL:")]
    verdicts = [line for line in lines if line.startswith(VERDICT_PREFIXES)]
    line = failures[0] if failures else (verdicts[-1] if verdicts else lines[-1])
    for prefix in VERDICT_PREFIXES:
        if line.startswith(prefix):
            line = line[len(prefix) :].strip()
            break
    return clean_line(line, REASON_MAX)


def _join(what: str, said: str) -> str:
    return f"{what}; client: {said}" if said else what


def media_report(output: str) -> MediaReport | None:
    """The last NEGOTIATED: and RECEIVED: lines of a media client, parsed (contract)."""
    fields: dict[str, str] = {}
    for raw in output.splitlines():
        line = raw.strip()
        for prefix in ("NEGOTIATED:", "RECEIVED:"):
            if line.startswith(prefix):
                fields.update(re.findall(r"(\w+)=(\S+)", line[len(prefix) :]))
    if not fields:
        return None
    codec = fields.get("codec")
    return MediaReport(
        codec=clean_line(codec, 60) if codec else None,
        payload_type=_number(fields.get("payload_type")),
        packets=_number(fields.get("packets")),
        frames=_number(fields.get("frames")),
    )


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None
