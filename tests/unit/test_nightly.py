"""Sharding, merging, diffs, JUnit/HTML reports and the README block (no Docker)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest

from orchestrator.cli import main
from orchestrator.codec import json_text
from orchestrator.config import load_matrix
from orchestrator.errors import ConfigError, ResultsError
from orchestrator.merge import diff_runs, merge_results
from orchestrator.model import Cell, CellResult, Expectation, MediaReport, Outcome
from orchestrator.planner import plan, shard
from orchestrator.readme import END, START, update_readme
from orchestrator.records import RunResults
from orchestrator.render.html import COLOURS, render_html
from orchestrator.render.junit import render_junit
from orchestrator.render.markdown import render_diff, render_markdown
from tests.unit.conftest import VALID, WriteMatrix
from tests.unit.test_results_and_render import sample

BIG = (
    VALID
    + """\
  gamma:
    build: images/alpha
    roles: {server: all, client: all}
  delta:
    build: images/alpha
    roles: {server: [datachannel], client: all}
"""
)


def test_three_shards_together_are_the_whole_plan_once(write_matrix: WriteMatrix) -> None:
    planned = plan(load_matrix(write_matrix(BIG), environ={}))
    shards = [shard(planned, index, 3) for index in (1, 2, 3)]
    together = [p.cell for s in shards for p in s]
    assert sorted(together) == sorted(p.cell for p in planned)
    assert len(together) == len(set(together))
    runnable = [sum(1 for p in s if p.refusal is None) for s in shards]
    assert max(runnable) - min(runnable) <= 1  # balanced
    assert shard(planned, 2, 3) == shards[1]  # stable


def test_shard_number_out_of_range(write_matrix: WriteMatrix) -> None:
    with pytest.raises(ConfigError, match=r"must be 1\.\.3"):
        shard(plan(load_matrix(write_matrix(VALID), environ={})), 4, 3)
    assert main(["run", "--shard", "0/3"]) == 2


def split(results: RunResults, count: int) -> list[RunResults]:
    return [
        replace(
            results,
            run=replace(results.run, id=f"shard{i}"),
            cells=tuple(c for n, c in enumerate(results.cells) if n % count == i),
        )
        for i in range(count)
    ]


def test_merge_of_shards_equals_the_unsharded_run() -> None:
    whole = sample()
    merged = merge_results(split(whole, 2))
    assert sorted(merged.cells, key=lambda c: c.cell) == sorted(whole.cells, key=lambda c: c.cell)
    assert merged.implementations == whole.implementations
    assert merged.run.id.endswith("-merged")
    assert dict(merged.run.host)["shards"] == "shard0,shard1"


def test_merging_the_same_cell_twice_is_an_error() -> None:
    with pytest.raises(ResultsError, match="is in both run"):
        merge_results([sample(), replace(sample(), run=replace(sample().run, id="other"))])


def test_merge_command_copies_every_shards_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = []
    for part in split(sample(), 2):
        folder = tmp_path / part.run.id
        (folder / "logs/datachannel/x").mkdir(parents=True)
        (folder / f"logs/datachannel/x/{part.run.id}.log").write_text("hi")
        (folder / "results.json").write_text(json_text(part))
        folders.append(str(folder))
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(
        "settings: {capture: false, screenshot: false, results_dir: out}\n"
        "tests: {datachannel: {}}\n"
        "implementations: {a: {image: x, roles: {server: all}}}\n"
    )
    assert main(["-f", str(matrix), "merge", *folders]) == 0
    merged = (tmp_path / "out/latest").resolve()
    assert {p.name for p in (merged / "logs/datachannel/x").iterdir()} == {
        "shard0.log",
        "shard1.log",
    }
    assert len(json.loads((merged / "results.json").read_text())["cells"]) == 2
    assert (merged / "results.html").exists()


def test_diff_names_new_failures_fixes_and_versions() -> None:
    old = sample()
    passed, failed = old.cells
    now_failing = replace(passed, outcome=Outcome.TIMEOUT, reason="ICE never completed")
    now_fixed = replace(failed, outcome=Outcome.PASSED, reason="ok")
    appeared = CellResult(Cell("audio", "aiortc", "aiortc"), Outcome.PASSED, "echoed")
    upgraded = replace(old.implementations[0], versions=(("aiortc", "1.17.0"),))
    new = replace(
        old,
        cells=(now_failing, now_fixed, appeared),
        implementations=(upgraded, old.implementations[1]),
    )
    change = diff_runs(old, new)
    assert [c.cell for c in change.new_failures] == [passed.cell]
    assert [c.cell for c in change.fixes] == [failed.cell]
    assert [c.cell for c in change.appeared] == [appeared.cell]
    assert change.vanished == ()
    assert change.versions == (("aiortc", "aiortc", "1.16.0", "1.17.0"),)
    assert diff_runs(old, old).empty


def test_junit_has_a_suite_per_test_case_and_a_failure_per_failed_cell() -> None:
    results = sample()
    unsupported = CellResult(Cell("datachannel", "aiortc", "pion"), Outcome.UNSUPPORTED, "n/a")
    known = replace(results.cells[1], expected=Expectation(Outcome.FAILED, "SCTP bug"))
    root = ElementTree.fromstring(
        render_junit(replace(results, cells=(results.cells[0], known, unsupported)))
    )
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == "datachannel"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = root.find(".//testcase[@name='pion → aiortc']/failure")
    assert failure is not None
    assert failure.get("message") == "failed: SCTP | abort (known: SCTP bug)"
    assert root.find(".//testcase[@name='aiortc → pion']/skipped") is not None


def test_html_is_self_contained_and_links_each_cell_to_its_evidence_and_logs() -> None:
    page = render_html(sample())
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page
    assert 'href="#cell-direct-datachannel-pion__aiortc"' in page
    assert 'id="cell-direct-datachannel-pion__aiortc"' in page
    assert 'href="logs/datachannel/pion__aiortc/client.log"' in page
    assert 'title="failed: SCTP | abort"' in page
    assert page.count('<td class="') == 2
    assert len(set(COLOURS.values())) == len(COLOURS) == len(Outcome)
    assert "#d0d7de" not in COLOURS.values()  # the table lines


README = f"intro\n{START}\nold\n{END}\noutro\n"


def test_readme_block_is_rewritten_only_when_a_verdict_changes() -> None:
    first = update_readme(README, sample())
    assert first is not None
    assert first.startswith("intro\n")
    assert first.endswith("outro\n")
    assert "| **pion** | ❌ 0/1 |" in first  # by pair
    assert "| **datachannel** | ❌ 1/2 |" in first  # by test case and scenario
    later = replace(sample(), run=replace(sample().run, id="20261122T100000Z-ffff"))
    assert update_readme(first, later) is None  # same verdicts, other run: left alone
    fixed = replace(later, cells=(later.cells[0], replace(later.cells[1], outcome=Outcome.PASSED)))
    second = update_readme(first, fixed)
    assert second is not None
    assert "| **pion** | ✅ 1 |" in second
    assert "| **datachannel** | ✅ 2 |" in second


def test_readme_without_markers_is_an_error() -> None:
    with pytest.raises(ResultsError, match="no <!-- interop-grid:start -->"):
        update_readme("no markers here", sample())


def test_diff_renders_as_markdown_sections() -> None:
    old = sample()
    fixed = replace(old.cells[1], outcome=Outcome.PASSED, reason="ok")
    text = render_diff(diff_runs(old, replace(old, cells=(old.cells[0], fixed))), old, old)
    assert "## Changes since run `20261121T100000Z-abcd`" in text
    assert "### Fixed" in text
    assert "- datachannel/pion/aiortc: ❌ failed → ✅ passed (ok)" in text
    assert "No verdict or version changed." in render_diff(diff_runs(old, old), old, old)


def test_media_cells_report_codec_and_echo_counts() -> None:
    results = sample()
    audio = CellResult(
        Cell("audio", "aiortc", "pion"),
        Outcome.PASSED,
        "echoed",
        media=MediaReport("opus/48000/2", 111, 57, None),
    )
    text = render_markdown(replace(results, cells=(*results.cells, audio)))
    assert "| audio | aiortc | pion | opus/48000/2 | 111 | 57 | — |" in text
