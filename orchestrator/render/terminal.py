"""results → rich renderables: the grid that fills in while a run goes, and its summary."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from orchestrator.model import Cell, CellResult, Outcome
from orchestrator.render.grid import sections, tally
from orchestrator.render.symbols import GLYPH, MEANING

PENDING = Text("·", style="dim")
RUNNING = Text("…", style="bold cyan")


def grid(
    planned: Sequence[Cell],
    finished: Mapping[Cell, CellResult],
    running: Collection[Cell],
    tests: Sequence[str],
    order: tuple[str, ...],
) -> RenderableType:
    """One table per (scenario, test case): servers as rows, clients as columns."""
    tables: list[RenderableType] = []
    scenarios = tuple(dict.fromkeys(c.scenario for c in planned))
    for section in sections(planned, tests, scenarios, order):
        table = Table(
            title=section.title,
            title_justify="left",
            title_style="bold",
            box=None,
            padding=(0, 1),
            show_edge=False,
        )
        table.add_column("server ↓ client →", style="bold")
        for client in section.clients:
            table.add_column(client, justify="center")
        for server in section.servers:
            row: list[RenderableType] = [server]
            for client in section.clients:
                cell = section.cell(server, client)
                row.append(_glyph(finished.get(cell), cell in running))
            table.add_row(*row)
        tables.append(table)
    return Group(*tables)


def legend() -> Text:
    text = Text()
    for outcome in Outcome:
        glyph, style = GLYPH[outcome]
        text.append(f"{glyph}", style=style).append(f" {MEANING[outcome]}  ")
    return text


def summary(results: Sequence[CellResult]) -> Text:
    counts = tally(results)
    text = Text(f"{len(results)} cells: ")
    for index, (outcome, count) in enumerate(counts.items()):
        _, style = GLYPH[outcome]
        text.append(", " if index else "").append(f"{count} {outcome.value}", style=style)
    return text


def failure_lines(results: Sequence[CellResult]) -> list[Text]:
    lines = []
    for result in sorted((r for r in results if r.outcome.is_failure), key=lambda r: r.cell):
        glyph, style = GLYPH[result.outcome]
        cell = result.cell
        lines.append(
            Text.assemble(
                (f"{glyph} ", style),
                f"{cell.key}: ",
                (result.outcome.value, style),
                f": {result.reason}",
            )
        )
    return lines


def _glyph(result: CellResult | None, running: bool) -> Text:
    if result is None:
        return RUNNING if running else PENDING
    glyph, style = GLYPH[result.outcome]
    return Text(glyph, style=style)
