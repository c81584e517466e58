"""Grid geometry shared by the renderers: which rows and columns a test case has."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.model import Cell, CellResult, Outcome


def ordered(names: Iterable[str], order: tuple[str, ...]) -> tuple[str, ...]:
    """`names` deduplicated, in `order` first (the matrix's order), then alphabetically."""
    unique = set(names)
    known = [n for n in order if n in unique]
    return (*known, *sorted(unique - set(known)))


def axes(
    cells: Iterable[Cell], test: str, order: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Servers (rows) and clients (columns) that appear in `test`'s cells."""
    of_test = [c for c in cells if c.test == test]
    return ordered((c.server for c in of_test), order), ordered((c.client for c in of_test), order)


def by_cell(results: Iterable[CellResult]) -> dict[Cell, CellResult]:
    return {result.cell: result for result in results}


def tally(results: Iterable[CellResult]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return {outcome: counts[outcome] for outcome in Outcome if outcome in counts}
