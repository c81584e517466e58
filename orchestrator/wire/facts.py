"""What a rule needs to know about a cell beyond its capture: the payload the orchestrator
chose, the scenario's parameters, and what the client says it tested (SIZES:)."""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.wire.rules import LARGE, UNORDERED_MESSAGES, CellFacts


def cell_facts(payload: bytes, client_output: str, environment: Mapping[str, str]) -> CellFacts:
    return CellFacts(
        payload=payload,
        min_echoes=_number(environment.get("MIN_ECHOES"), UNORDERED_MESSAGES),
        sizes=_sizes(client_output),
        media_duration_s=float(_number(environment.get("MEDIA_DURATION"), 0)),
    )


def _sizes(output: str) -> tuple[int, ...]:
    """The sizes a datachannel-large client says it tested (its last SIZES: line)."""
    found: tuple[int, ...] = (LARGE,)
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("SIZES:"):
            numbers = tuple(int(n) for n in line[6:].replace(",", " ").split() if n.isdigit())
            found = numbers or found
    return found


def _number(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default
