"""Grid geometry shared by the renderers: one grid per (scenario, test case), servers as
rows and clients as columns, in the matrix's order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.model import Cell, CellResult, Outcome
from orchestrator.records import RunResults


@dataclass(frozen=True)
class Section:
    scenario: str
    test: str
    servers: tuple[str, ...]
    clients: tuple[str, ...]

    def cell(self, server: str, client: str) -> Cell:
        return Cell(self.test, server, client, self.scenario)

    @property
    def title(self) -> str:
        return self.test if self.scenario == "direct" else f"{self.test} · {self.scenario}"


def ordered(names: Iterable[str], order: Iterable[str]) -> tuple[str, ...]:
    """`names` deduplicated, in `order` first (the matrix's order), then alphabetically."""
    unique = set(names)
    known = [n for n in order if n in unique]
    return (*known, *sorted(unique - set(known)))


def sections(
    cells: Iterable[Cell],
    tests: Iterable[str],
    scenarios: Iterable[str],
    implementations: Iterable[str],
) -> list[Section]:
    """The grids that have cells: scenario by scenario, test case by test case."""
    grouped: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        grouped.setdefault((cell.scenario, cell.test), []).append(cell)
    order = tuple(implementations)
    result = []
    for scenario in ordered((s for s, _ in grouped), scenarios):
        for test in ordered((t for s, t in grouped if s == scenario), tests):
            members = grouped[(scenario, test)]
            result.append(
                Section(
                    scenario,
                    test,
                    ordered((c.server for c in members), order),
                    ordered((c.client for c in members), order),
                )
            )
    return result


def result_sections(results: RunResults) -> list[Section]:
    """The grids of a run's results, in the run's own order."""
    return sections(
        (r.cell for r in results.cells),
        (t.name for t in results.tests),
        results.scenarios,
        (i.name for i in results.implementations),
    )


def by_cell(results: Iterable[CellResult]) -> dict[Cell, CellResult]:
    return {result.cell: result for result in results}


def tally(results: Iterable[CellResult]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return {outcome: counts[outcome] for outcome in Outcome if outcome in counts}
