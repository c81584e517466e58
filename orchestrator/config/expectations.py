"""expectations.yaml: cells known not to pass, each with its cause.

A key is `test/server/client`, optionally `@scenario` (without it: `direct`); each part
is a name or an fnmatch pattern (`*`, `nat-*`). An entry with `when: <cause>` applies
only to cells of that cause, and then before any other; otherwise the most specific
entry (most parts without a wildcard) wins, between equals the later one.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from orchestrator.config.fields import At, Source, suggestion, type_name
from orchestrator.config.model import DEFAULT_SCENARIO, ExpectationRule, Matrix
from orchestrator.config.source import read_source
from orchestrator.model import CONDITIONS, Expectation, Outcome

WILDCARD = frozenset("*?[")


def load_expectations(path: Path, matrix: Matrix) -> tuple[ExpectationRule, ...]:
    data, source = read_source(path, "expectations file")
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise source.fail((), f"expected a mapping of cells, got {type_name(data)}")
    return tuple(_rule(source, str(key), body, matrix) for key, body in data.items())


def _rule(source: Source, key: str, body: object, matrix: Matrix) -> ExpectationRule:
    at: At = (key,)
    cell, _, scenario = key.partition("@")
    parts = cell.split("/")
    if len(parts) != 3 or (_ and not scenario):
        raise source.fail(at, "a cell is written test/server/client, optionally @scenario")
    names = (
        (parts[0], matrix.test_names, "test case"),
        (parts[1], matrix.implementation_names, "implementation"),
        (parts[2], matrix.implementation_names, "implementation"),
        (scenario or DEFAULT_SCENARIO, matrix.scenario_names, "scenario"),
    )
    for part, known, what in names:
        _check_part(source, at, part, known, what)
    raw = source.mapping(body, at, ("outcome", "reason", "when"))
    outcomes = tuple(o.value for o in Outcome if o is not Outcome.PASSED)
    outcome = source.text(raw.get("outcome"), (*at, "outcome"), "an outcome")
    if outcome not in outcomes:
        raise source.fail(
            (*at, "outcome"),
            f"'{outcome}' is not an expected outcome{suggestion(outcome, outcomes)}; "
            f"one of: {', '.join(outcomes)}",
        )
    reason = source.text(raw.get("reason"), (*at, "reason"), "a reason")
    if not reason.strip():
        raise source.fail((*at, "reason"), "say why: the reason is what the report shows")
    condition = None
    if "when" in raw:
        condition = source.choice(raw["when"], (*at, "when"), CONDITIONS, "condition")
    pattern = (parts[0], parts[1], parts[2], scenario or DEFAULT_SCENARIO)
    return ExpectationRule(
        pattern, Expectation(Outcome(outcome), " ".join(reason.split()), condition)
    )


def _check_part(source: Source, at: At, part: str, known: tuple[str, ...], what: str) -> None:
    if WILDCARD & set(part):
        if not fnmatch.filter(known, part):
            raise source.fail(at, f"'{part}' matches no {what}; known: {', '.join(known)}")
    elif part not in known:
        raise source.fail(at, f"unknown {what} '{part}'{suggestion(part, known)}")
