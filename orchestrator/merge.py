"""Combining shard runs into one run, and comparing two runs (what changed since last night)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ResultsError
from orchestrator.model import Cell, Outcome
from orchestrator.results import (
    ImplementationRecord,
    RunInfo,
    RunResults,
    RunStatus,
    TestRecord,
    new_run_id,
)


def merge_results(shards: Sequence[RunResults]) -> RunResults:
    """One run made of several shards' cells; a cell in two shards is an error."""
    if not shards:
        raise ResultsError("nothing to merge")
    seen: dict[Cell, str] = {}
    for shard in shards:
        for result in shard.cells:
            if result.cell in seen:
                raise ResultsError(
                    f"cell {result.cell.slug} is in both run {seen[result.cell]} and "
                    f"{shard.run.id}: these are not shards of one run"
                )
            seen[result.cell] = shard.run.id
    tests: dict[str, TestRecord] = {}
    implementations: dict[str, ImplementationRecord] = {}
    for shard in shards:
        for test in shard.tests:
            tests.setdefault(test.name, test)
        for record in shard.implementations:
            implementations.setdefault(record.name, record)
    started = min(s.run.started_at for s in shards)
    ends = [s.run.ended_at for s in shards]
    first = shards[0].run
    info = RunInfo(
        id=new_run_id(started) + "-merged",
        started_at=started,
        ended_at=None if None in ends else max(e for e in ends if e is not None),
        orchestrator_version=first.orchestrator_version,
        host=(*first.host, ("shards", ",".join(s.run.id for s in shards))),
        parallelism=sum(s.run.parallelism for s in shards),
        status=RunStatus.COMPLETE
        if all(s.run.status is RunStatus.COMPLETE for s in shards)
        else RunStatus.INTERRUPTED,
    )
    cells = tuple(sorted((c for s in shards for c in s.cells), key=lambda c: c.cell))
    return RunResults(info, tuple(tests.values()), tuple(implementations.values()), cells)


def copy_shard_files(sources: Sequence[Path], destination: Path) -> None:
    """Bring each shard's logs and build logs along, so the merged links resolve."""
    for source in sources:
        for folder in ("logs", "build"):
            if (source / folder).is_dir():
                shutil.copytree(source / folder, destination / folder, dirs_exist_ok=True)


@dataclass(frozen=True)
class Change:
    cell: Cell
    before: Outcome | None  # None: the cell was not in the old run
    after: Outcome | None  # None: the cell is gone from the new run
    reason: str


@dataclass(frozen=True)
class RunDiff:
    new_failures: tuple[Change, ...]
    fixes: tuple[Change, ...]
    other_changes: tuple[Change, ...]  # one failure kind to another, flaky to failed, ...
    appeared: tuple[Change, ...]
    vanished: tuple[Change, ...]
    versions: tuple[tuple[str, str, str | None, str | None], ...]  # name, component, old, new

    @property
    def empty(self) -> bool:
        return not (
            self.new_failures
            or self.fixes
            or self.other_changes
            or self.appeared
            or self.vanished
            or self.versions
        )


def diff_runs(old: RunResults, new: RunResults) -> RunDiff:
    before = {r.cell: r for r in old.cells}
    after = {r.cell: r for r in new.cells}
    new_failures, fixes, other, appeared, vanished = [], [], [], [], []
    for cell in sorted(set(before) | set(after)):
        was, now = before.get(cell), after.get(cell)
        if was is None and now is not None:
            appeared.append(Change(cell, None, now.outcome, now.reason))
        elif now is None and was is not None:
            vanished.append(Change(cell, was.outcome, None, was.reason))
        elif was is not None and now is not None and was.outcome is not now.outcome:
            change = Change(cell, was.outcome, now.outcome, now.reason)
            if now.outcome.is_failure and not was.outcome.is_failure:
                new_failures.append(change)
            elif was.outcome.is_failure and now.outcome is Outcome.PASSED:
                fixes.append(change)
            else:
                other.append(change)
    return RunDiff(
        tuple(new_failures),
        tuple(fixes),
        tuple(other),
        tuple(appeared),
        tuple(vanished),
        _version_changes(old, new),
    )


def _version_changes(
    old: RunResults, new: RunResults
) -> tuple[tuple[str, str, str | None, str | None], ...]:
    changes = []
    names = [r.name for r in new.implementations] + [
        r.name for r in old.implementations if r.name not in {n.name for n in new.implementations}
    ]
    for name in names:
        was, now = old.versions_of(name), new.versions_of(name)
        for component in sorted(set(was) | set(now)):
            if was.get(component) != now.get(component):
                changes.append((name, component, was.get(component), now.get(component)))
    return tuple(changes)
