"""Which cells a run contains: every test × server × client the filters leave."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.config import Matrix, suggestion
from orchestrator.errors import ConfigError
from orchestrator.model import Cell, PlannedCell, Role


def plan(
    matrix: Matrix,
    servers: Sequence[str] = (),
    clients: Sequence[str] = (),
    tests: Sequence[str] = (),
) -> tuple[PlannedCell, ...]:
    """Cells in grid order; cells a side did not declare are kept, marked unsupported.

    Keeping them lets the grid show N/A by declaration instead of a hole.
    """
    chosen_tests = choose_names(tests, matrix.test_names, "test case", "-t/--test")
    server_names = _with_role(
        matrix,
        choose_names(servers, matrix.implementation_names, "implementation", "-s/--server"),
        Role.SERVER,
    )
    client_names = _with_role(
        matrix,
        choose_names(clients, matrix.implementation_names, "implementation", "-c/--client"),
        Role.CLIENT,
    )
    cells = []
    for test in chosen_tests:
        for server in server_names:
            for client in client_names:
                undeclared = tuple(
                    name
                    for name, role in ((server, Role.SERVER), (client, Role.CLIENT))
                    if not matrix.implementation(name).supports(role, test)
                )
                cells.append(PlannedCell(Cell(test, server, client), undeclared))
    return tuple(cells)


def choose_names(
    asked: Sequence[str], known: tuple[str, ...], what: str, flag: str
) -> tuple[str, ...]:
    """`asked` in `known`'s order (all of `known` when nothing is asked); an unknown name
    is a ConfigError with the closest known one."""
    if not asked:
        return known
    for name in asked:
        if name not in known:
            raise ConfigError(
                f"{flag}: unknown {what} '{name}'{suggestion(name, known)}; "
                f"known: {', '.join(known)}"
            )
    return tuple(name for name in known if name in asked)


def _with_role(matrix: Matrix, names: tuple[str, ...], role: Role) -> tuple[str, ...]:
    able = tuple(n for n in names if matrix.implementation(n).has_role(role))
    if names and not able:
        raise ConfigError(f"none of {', '.join(names)} can act as {role.value}")
    return able


def shard(cells: tuple[PlannedCell, ...], index: int, count: int) -> tuple[PlannedCell, ...]:
    """The `index`-th (1-based) of `count` slices: stable for a given plan, and balanced.

    Cells that really run are dealt out round-robin first, then the declared-N/A ones,
    so every shard gets its share of real work; together the shards are the plan.
    """
    if not 1 <= index <= count:
        raise ConfigError(f"--shard {index}/{count}: the shard number must be 1..{count}")
    runnable = [c for c in cells if not c.declared_unsupported_by]
    declared = [c for c in cells if c.declared_unsupported_by]
    mine = {
        id(c)
        for group in (runnable, declared)
        for position, c in enumerate(group)
        if position % count == index - 1
    }
    return tuple(c for c in cells if id(c) in mine)
