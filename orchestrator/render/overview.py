"""The README's compact view of a run: one grid of server × client over every test case
and scenario, and one of test case × scenario over every pair. A cell counts what passed
of what ran; the per-test grids stay in results.md and the HTML report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from orchestrator.model import CellResult, Outcome
from orchestrator.records import RunResults
from orchestrator.render.grid import ordered
from orchestrator.render.symbols import EMOJI

NOT_RAN = (Outcome.UNSUPPORTED, Outcome.NOT_RUN)


def overview(results: RunResults) -> list[str]:
    names = [i.name for i in results.implementations]
    servers = ordered((r.cell.server for r in results.cells if _ran(r)), names)
    clients = ordered((r.cell.client for r in results.cells if _ran(r)), names)
    tests = ordered((r.cell.test for r in results.cells), (t.name for t in results.tests))
    scenarios = ordered((r.cell.scenario for r in results.cells), results.scenarios)
    return [
        "#### By pair: every test case and scenario",
        "",
        *_table(
            "server ↓ / client →",
            servers,
            clients,
            lambda server, client: [
                r for r in results.cells if (r.cell.server, r.cell.client) == (server, client)
            ],
        ),
        "#### By test case and scenario: every pair",
        "",
        *_table(
            "test case ↓ / scenario →",
            tests,
            scenarios,
            lambda test, scenario: [
                r for r in results.cells if (r.cell.test, r.cell.scenario) == (test, scenario)
            ],
        ),
        "Each cell: cells passed / cells run, with the symbol of the most common other "
        "outcome when not all passed (➖: nothing to run there). Known causes: "
        "[docs/findings.md](docs/findings.md).",
        "",
    ]


def _table(
    corner: str,
    rows: Iterable[str],
    columns: tuple[str, ...],
    members: Callable[[str, str], list[CellResult]],
) -> list[str]:
    lines = [f"| {corner} | " + " | ".join(columns) + " |"]
    lines.append("|---|" + "|".join(":-:" for _ in columns) + "|")
    for row in rows:
        lines.append(
            f"| **{row}** | " + " | ".join(_count(members(row, c)) for c in columns) + " |"
        )
    return [*lines, ""]


def _count(cells: list[CellResult]) -> str:
    ran = [r for r in cells if _ran(r)]
    if not ran:
        return EMOJI[Outcome.UNSUPPORTED]
    passed = sum(1 for r in ran if r.outcome is Outcome.PASSED)
    if passed == len(ran):
        return f"{EMOJI[Outcome.PASSED]} {passed}"
    others = Counter(r.outcome for r in ran if r.outcome is not Outcome.PASSED)
    worst = others.most_common(1)[0][0]
    return f"{EMOJI[worst]} {passed}/{len(ran)}"


def _ran(result: CellResult) -> bool:
    return result.outcome not in NOT_RAN
