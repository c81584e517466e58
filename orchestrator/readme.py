"""Keeping the overview in README.md current: rewritten between fixed markers, and only
when a count changed (a new run with the same verdicts leaves the file, and git, alone).
The full grids, one per test case and scenario, are in each run's results.md/.html."""

from __future__ import annotations

from orchestrator.errors import ResultsError
from orchestrator.records import RunResults
from orchestrator.render.markdown import legend
from orchestrator.render.overview import overview

START = "<!-- interop-grid:start -->"
END = "<!-- interop-grid:end -->"


def grid_block(results: RunResults) -> str:
    when = results.run.started_at.strftime("%Y-%m-%d")
    return "\n".join(
        [
            START,
            f"<sub>Verdicts as of run `{results.run.id}` ({when}); they are rewritten only when "
            "one changes.</sub>",
            "",
            *overview(results),
            legend(),
            END,
        ]
    )


def update_readme(text: str, results: RunResults) -> str | None:
    """The README with a fresh grid block, or None when its verdicts are already these."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ResultsError(f"README has no {START} ... {END} block to update")
    current = text[start : end + len(END)]
    fresh = grid_block(results)
    if _verdicts(current) == _verdicts(fresh):
        return None
    return text[:start] + fresh + text[end + len(END) :]


def _verdicts(block: str) -> list[str]:
    """The block without its first line (which names the run)."""
    return block.splitlines()[2:]
