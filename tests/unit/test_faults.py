"""Faults the tool must survive: colliding names, piped output, hostile peer text,
damaged results files, a worker that blows up, an engine that goes away."""

from __future__ import annotations

import io
import itertools
import json
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rich.text import Text

from orchestrator.cli import main
from orchestrator.codec import to_json
from orchestrator.console import console_for
from orchestrator.errors import EngineUnavailable, InternalError
from orchestrator.model import Cell, CellResult, Outcome, PlannedCell
from orchestrator.naming import bridge_name, cell_prefix, log_folder
from orchestrator.outcomes import last_line
from orchestrator.render import terminal
from orchestrator.render.html import render_html
from orchestrator.render.junit import render_junit
from orchestrator.render.markdown import render_markdown
from orchestrator.runner import IN_FLIGHT, new_payload, run_cells
from tests.unit.fakes import one_by_one, singly
from tests.unit.test_results_and_render import sample

HOSTILE = (
    "connecting\nFAIL: pipe | table <script>alert(1)</script> ]]> \x1b[31mred\x1b[0m "
    "\x1b]0;title\x07 [bold]markup[/bold] \x00\x08" + "A" * 1_000_000 + "\nclosing\n"
)


def test_resource_names_are_unique_for_any_legal_names() -> None:
    names = ["a", "b", "c", "a-b", "b-c", "a-b-c", "1", "x-1", "1-x"]
    cells = [
        Cell(test, server, client, scenario)
        for test, server, client, scenario in itertools.product(names, repeat=4)
    ]
    derivations: list[Callable[[Cell], str]] = [
        lambda c: cell_prefix("run", c),
        lambda c: cell_prefix("run", c, 2),
        log_folder,
        lambda c: bridge_name(cell_prefix("run", c)),
    ]
    for derive in derivations:
        derived = [derive(c) for c in cells]
        assert len(set(derived)) == len(cells)
    assert cell_prefix("r", Cell("t", "a-b", "c")) != cell_prefix("r", Cell("t", "a", "b-c"))
    assert all(len(bridge_name(cell_prefix("r", c))) <= 15 for c in cells[:50])


def test_piped_output_is_never_wrapped_or_cut(tmp_path: Path) -> None:
    stream = io.StringIO()
    console = console_for(stream)
    long_path = "/very" * 60 + "/results.md"
    console.print(f"results: {long_path} and more words after it", markup=False)
    console.print(Text("x" * 500))
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"results: {long_path} and more words after it"
    assert lines[1] == "x" * 500


def test_a_long_checkout_path_does_not_break_cli_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path.joinpath(*(["a-rather-long-folder-name"] * 8))
    deep.mkdir(parents=True)
    assert len(str(deep)) > 150
    results = deep / "results.json"
    results.write_text(json.dumps(to_json(sample())))
    readme = deep / "README.md"
    readme.write_text("# x\n<!-- interop-grid:start -->\n<!-- interop-grid:end -->\n")
    assert main(["readme", str(results), "--readme", str(readme)]) == 0
    assert main(["readme", str(results), "--readme", str(readme)]) == 0
    assert f"{readme}: verdicts unchanged, left as it is" in capsys.readouterr().out.splitlines()


def hostile_results() -> CellResult:
    reason = last_line(HOSTILE)
    return CellResult(Cell("datachannel", "pion", "aiortc"), Outcome.FAILED, reason, 1)


def test_hostile_peer_output_becomes_one_bounded_clean_line() -> None:
    reason = hostile_results().reason
    assert len(reason) <= 200
    assert "\n" not in reason
    assert "\x1b" not in reason
    assert "\x07" not in reason
    assert reason.startswith("pipe | table <script>alert(1)</script> ]]> red [bold]markup")


def test_hostile_text_is_escaped_in_every_report() -> None:
    results = replace(sample(), cells=(hostile_results(),))
    markdown = render_markdown(results)
    failure_row = next(line for line in markdown.splitlines() if "pipe" in line)
    assert "pipe \\| table" in failure_row
    header = next(line for line in markdown.splitlines() if line.startswith("| test | server"))
    unescaped = failure_row.replace("\\|", "")
    assert unescaped.count("|") == header.count("|")  # the reason did not add a column
    assert "<script>" not in markdown
    assert "\\<script\\>" in markdown
    assert "\\[bold\\]" in markdown
    html = render_html(results)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    junit = render_junit(results)
    ElementTree.fromstring(junit)  # still well-formed XML
    assert "]]>" not in junit.replace("]]&gt;", "")
    line = terminal.failure_lines(results.cells)[0]
    assert isinstance(line, Text)
    assert "[bold]markup[/bold]" in line.plain


@pytest.mark.parametrize("command", ["report", "diff", "merge", "check"])
def test_damaged_results_files_are_rejected_with_file_and_field(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(to_json(sample())))
    data = to_json(sample())
    data["cells"][1]["outcome"] = "green"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    arguments = {
        "report": ["report", str(bad)],
        "diff": ["diff", str(good), str(bad)],
        "merge": ["merge", str(bad)],
        "check": ["check", str(bad)],
    }[command]
    matrix = Path(__file__).resolve().parents[2] / "matrix.yaml"
    assert main(["-f", str(matrix), *arguments]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert str(bad) in err
    assert "$.cells[1].outcome" in err


def test_truncated_json_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "results.json"
    bad.write_text(json.dumps(to_json(sample()))[:200])
    assert main(["report", str(bad)]) == 4
    assert "cannot read JSON" in capsys.readouterr().err


def _planned(count: int) -> list[PlannedCell]:
    return [PlannedCell(Cell("datachannel", "a", f"c{n}")) for n in range(count)]


@pytest.mark.parametrize(
    "failure",
    [OSError(28, "No space left on device"), EngineUnavailable("the Docker engine went away")],
)
def test_a_worker_failure_ends_the_run_cleanly_instead_of_hanging(failure: Exception) -> None:
    cancel = threading.Event()
    released = []

    def run_cell(planned: PlannedCell) -> CellResult:
        if planned.cell.client == "c2":
            raise failure
        if cancel.wait(5):  # a long cell notices the cancellation and releases
            released.append(planned.cell)
        return CellResult(planned.cell, Outcome.PASSED, "ok")

    with pytest.raises(type(failure)):
        run_cells(
            singly(_planned(10)),
            one_by_one(run_cell),
            3,
            cancel,
            lambda cell: None,
            lambda result: None,
        )
    assert cancel.is_set()
    in_flight = {f"c{n}" for n in range(3 * IN_FLIGHT)}
    assert {c.client for c in released} == in_flight - {"c2"}  # the rest never started


def test_a_failing_result_callback_ends_the_run_too() -> None:
    cancel = threading.Event()

    def on_result(result: CellResult) -> None:
        raise InternalError("cannot write results.json: disk full")

    with pytest.raises(InternalError):
        run_cells(
            singly(_planned(4)),
            one_by_one(lambda p: CellResult(p.cell, Outcome.PASSED, "ok")),
            2,
            cancel,
            lambda cell: None,
            on_result,
        )
    assert cancel.is_set()


def test_random_payloads_follow_the_contract() -> None:
    random.seed(1)
    for _ in range(50):
        payload = new_payload()
        assert 600 <= len(payload) <= 1000
        assert all(0x21 <= byte <= 0x7E for byte in payload)
