"""Which cells a run has: every scenario × test × server × client the selection leaves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.config import Matrix, suggestion
from orchestrator.errors import ConfigError
from orchestrator.model import Cell, PlannedCell, Role


@dataclass(frozen=True)
class Selection:
    """What the command line asked for; None means "the default set" (everything with
    `--all`), an empty tuple is a mistake."""

    servers: tuple[str, ...] | None = None
    clients: tuple[str, ...] | None = None
    tests: tuple[str, ...] | None = None
    scenarios: tuple[str, ...] | None = None
    everything: bool = False


def plan(matrix: Matrix, selection: Selection = Selection()) -> tuple[PlannedCell, ...]:
    """Cells in grid order; cells a side cannot run are kept, with the reason.

    Keeping them lets the grid show N/A by declaration instead of a hole.
    """
    every = selection.everything
    tests = choose_names(
        selection.tests,
        matrix.test_names,
        tuple(t.name for t in matrix.tests if every or t.default),
        "test case",
        "-t/--test",
    )
    defaults = tuple(i.name for i in matrix.implementations if every or i.default)
    servers = _with_role(
        matrix,
        choose_names(
            selection.servers,
            matrix.implementation_names,
            defaults,
            "implementation",
            "-s/--server",
        ),
        Role.SERVER,
    )
    clients = _with_role(
        matrix,
        choose_names(
            selection.clients,
            matrix.implementation_names,
            defaults,
            "implementation",
            "-c/--client",
        ),
        Role.CLIENT,
    )
    scenarios = choose_names(
        selection.scenarios,
        matrix.scenario_names,
        tuple(s.name for s in matrix.scenarios if every or s.default),
        "scenario",
        "--scenario",
    )
    cells = []
    for scenario_name in scenarios:
        scenario = matrix.scenario(scenario_name)
        chosen = scenario.tests_for(every or selection.tests is not None)
        for test in (t for t in tests if t in chosen):
            for server in servers:
                for client in clients:
                    cell = Cell(test, server, client, scenario_name)
                    cells.append(PlannedCell(cell, refusal(matrix, cell)))
    if not cells:
        raise ConfigError("the selection leaves no cell to run (check --scenario and -t)")
    return tuple(cells)


def refusal(matrix: Matrix, cell: Cell) -> str | None:
    """Why the cell cannot run as declared in matrix.yaml, or None."""
    roles = ((cell.server, Role.SERVER), (cell.client, Role.CLIENT))
    for name, role in roles:
        if not matrix.implementation(name).has_role(role):
            return f"{name} has no {role.value} role"
    undeclared = [n for n, role in roles if not matrix.implementation(n).supports(role, cell.test)]
    if undeclared:
        if len(undeclared) == 2 and cell.server == cell.client:
            return f"{cell.server} does not declare '{cell.test}'"
        return "; ".join(
            f"{name} does not declare '{cell.test}' as {role.value}"
            for name, role in roles
            if name in undeclared
        )
    for name in dict.fromkeys((cell.server, cell.client)):
        why = matrix.implementation(name).scenario_refusal(cell.scenario)
        if why is not None:
            return f"{name} cannot run in {cell.scenario}: {why}"
    return None


def choose_names(
    asked: Sequence[str] | None,
    known: tuple[str, ...],
    default: tuple[str, ...],
    what: str,
    flag: str,
) -> tuple[str, ...]:
    """`asked` in `known`'s order (`default` when nothing is asked); an unknown name is a
    ConfigError with the closest known one, an empty list is one too."""
    if asked is None:
        return default
    if not asked:
        raise ConfigError(f"{flag}: empty selection; name at least one {what}")
    for name in asked:
        if name not in known:
            raise ConfigError(
                f"{flag}: unknown {what} '{name}'{suggestion(name, known)}; "
                f"known: {', '.join(known)}"
            )
    return tuple(name for name in known if name in asked)


def _with_role(matrix: Matrix, names: tuple[str, ...], role: Role) -> tuple[str, ...]:
    """The names, all kept (one without the role shows as a column or row of N/A), but
    not if none of them can play the role."""
    if names and not any(matrix.implementation(n).has_role(role) for n in names):
        raise ConfigError(f"none of {', '.join(names)} can act as {role.value}")
    return names


def shard(cells: tuple[PlannedCell, ...], index: int, count: int) -> tuple[PlannedCell, ...]:
    """The `index`-th (1-based) of `count` slices: stable for a given plan, and balanced.

    Cells that really run are dealt out round-robin first, then the N/A ones, so every
    shard gets its share of real work; together the shards are the plan.
    """
    if not 1 <= index <= count:
        raise ConfigError(f"--shard {index}/{count}: the shard number must be 1..{count}")
    runnable = [c for c in cells if c.refusal is None]
    refused = [c for c in cells if c.refusal is not None]
    mine = {
        id(c)
        for group in (runnable, refused)
        for position, c in enumerate(group)
        if position % count == index - 1
    }
    return tuple(c for c in cells if id(c) in mine)
