from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from orchestrator.codec import from_json, load_results, to_json
from orchestrator.errors import ResultsError
from orchestrator.model import Cell, CellResult, Expectation, Outcome, Traffic, Verification
from orchestrator.progress import PlainReporter
from orchestrator.records import ImplementationRecord, RunInfo, RunResults, RunStatus, TestRecord
from orchestrator.render import terminal
from orchestrator.render.markdown import render_markdown
from orchestrator.render.symbols import EMOJI, GLYPH, MEANING
from orchestrator.results import ResultStore, point_latest

LOGS = (
    ("server", "logs/datachannel/pion__aiortc/server.log"),
    ("client", "logs/datachannel/pion__aiortc/client.log"),
)


TRAFFIC = Traffic(
    packets=12,
    bytes=3400,
    stun_requests=2,
    stun_successes=2,
    dtls_handshake_records=5,
    dtls_encrypted_records=4,
    dtls_application_records=3,
)
WIRE = Verification(
    (),
    0.0125,
    True,
    True,
    TRAFFIC,
    TRAFFIC,
    proof="sized",
    details=("700-byte messages: 1 records client→server, 1 back",),
    path="host",
)


def sample(cells: tuple[CellResult, ...] | None = None) -> RunResults:
    info = RunInfo(
        id="20261121T100000Z-abcd",
        started_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        ended_at=datetime(2026, 11, 21, 10, 2, 5, tzinfo=UTC),
        orchestrator_version="0.1.0",
        host=(("hostname", "ci"),),
        parallelism=4,
        status=RunStatus.COMPLETE,
    )
    implementations = (
        ImplementationRecord(
            "aiortc",
            "wi/aiortc:latest",
            "sha256:0123456789abcdef",
            (("aiortc", "1.16.0"),),
            "built",
            ("datachannel",),
            ("datachannel",),
        ),
        ImplementationRecord(
            "pion", "wi/pion:latest", None, (("pion", "3.1.56"),), "failed", ("datachannel",), ()
        ),
    )
    if cells is None:
        cells = (
            CellResult(
                Cell("datachannel", "aiortc", "aiortc"),
                Outcome.PASSED,
                "echoed",
                0,
                2.5,
                (),
                WIRE,
            ),
            CellResult(
                Cell("datachannel", "pion", "aiortc"), Outcome.FAILED, "SCTP | abort", 1, 9.75, LOGS
            ),
        )
    return RunResults(
        info,
        (TestRecord("datachannel", 30.0, "Echo a string."), TestRecord("audio", 30.0)),
        implementations,
        cells,
    )


def test_markdown_grid_has_servers_as_rows_and_clients_as_columns() -> None:
    text = render_markdown(sample())
    assert "## datachannel" in text
    assert "## audio" not in text  # no cells, no grid
    assert "| server ↓ / client → | aiortc |" in text
    assert "| **aiortc** | ✅ <sub>12 ms</sub> |" in text
    assert "| **pion** | ❌ |" in text
    assert "Run at 2026-11-21 10:00:00 UTC, took 2m 05s · 2 cells: 1 passed, 1 failed" in text
    assert "**Legend:** ✅ passed · ❌ failed" in text


def test_markdown_lists_failures_with_log_links_and_escaped_reasons() -> None:
    text = render_markdown(sample())
    assert (
        "| datachannel | pion | aiortc | direct | ❌ failed | SCTP \\| abort | — | "
        "[server](logs/datachannel/pion__aiortc/server.log) "
        "[client](logs/datachannel/pion__aiortc/client.log) |"
    ) in text


def test_markdown_shows_wire_evidence_per_cell() -> None:
    text = render_markdown(sample())
    assert "## Wire evidence" in text
    assert (
        "| datachannel/aiortc/aiortc | sized | host | 12.5 ms | "
        "700-byte messages: 1 records client→server, 1 back |"
    ) in text
    assert "| datachannel | pion | aiortc |" not in text.split("## Wire evidence")[1]


def test_every_outcome_has_a_symbol_a_glyph_and_a_meaning() -> None:
    for table in (EMOJI, GLYPH, MEANING):
        assert set(table) == set(Outcome)
    assert len(set(EMOJI.values())) == len(Outcome)


def test_markdown_versions_table() -> None:
    text = render_markdown(sample())
    assert "| aiortc | `wi/aiortc:latest` `0123456789ab` | aiortc 1.16.0 |" in text
    assert "| pion | `wi/pion:latest` (build failed) | pion 3.1.56 |" in text


def test_markdown_marks_an_unfinished_run() -> None:
    results = sample()
    running = RunResults(
        RunInfo(results.run.id, results.run.started_at, None, "0.1.0", (), 2),
        results.tests,
        results.implementations,
        results.cells[:1],
    )
    text = render_markdown(running)
    assert "still running" in text
    assert "**running**" in text


def test_json_has_the_documented_fields_and_round_trips() -> None:
    data = to_json(sample())
    assert data["schema_version"] == 2
    assert set(data["run"]) == {
        "id",
        "started_at",
        "ended_at",
        "status",
        "stop_reason",
        "first_cell_after_s",
        "orchestrator_version",
        "host",
        "parallelism",
    }
    assert data["run"]["started_at"] == "2026-11-21T10:00:00Z"
    assert data["implementations"]["aiortc"]["versions"] == {"aiortc": "1.16.0"}
    assert data["implementations"]["aiortc"]["image_id"] == "sha256:0123456789abcdef"
    cell = data["cells"][1]
    assert set(cell) == {
        "test",
        "server",
        "client",
        "scenario",
        "outcome",
        "exit_code",
        "duration_s",
        "reason",
        "cause",
        "logs",
        "timings",
        "evidence",
        "media",
        "attempts",
        "expected",
    }
    assert cell["outcome"] == "failed"
    assert cell["evidence"] is None
    evidence = data["cells"][0]["evidence"]
    assert evidence["verified"] is True
    assert evidence["connect_time_s"] == 0.0125
    assert evidence["client_to_server"]["dtls_encrypted_records"] == 4
    assert cell["logs"] == dict(LOGS)
    assert from_json(json.loads(json.dumps(data)), Path("x")) == sample()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(schema_version=99),
        lambda d: d.pop("cells"),
        lambda d: d["cells"][0].update(outcome="green"),
        lambda d: d["run"].update(started_at="yesterday"),
        lambda d: d["cells"][0].update(server="Bad Name"),
        lambda d: d["cells"][0]["evidence"].update(client_to_server={"packets": -1}),
        lambda d: d["cells"][0].update(surprise=1),
    ],
)
def test_results_not_in_schema_are_rejected(
    mutate: Callable[[dict[str, Any]], object], tmp_path: Path
) -> None:
    data = to_json(sample())
    mutate(data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=str(path)):
        load_results(path)


def test_store_rewrites_results_json_as_cells_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orchestrator.results.FLUSH_INTERVAL_S", 0.0)
    results = sample(cells=())
    store = ResultStore(tmp_path, results)

    def on_disk() -> Any:
        return json.loads((tmp_path / "results.json").read_text())

    assert on_disk()["cells"] == []
    store.add(CellResult(Cell("datachannel", "aiortc", "aiortc"), Outcome.PASSED, "ok"))
    assert [c["outcome"] for c in on_disk()["cells"]] == ["passed"]
    finished = store.finish(RunStatus.INTERRUPTED)
    assert on_disk()["run"]["status"] == "interrupted"
    assert finished.run.ended_at is not None
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary files


def test_latest_points_at_the_newest_run(tmp_path: Path) -> None:
    for run in ("run-a", "run-b"):
        (tmp_path / run).mkdir()
        point_latest(tmp_path, tmp_path / run)
    assert (tmp_path / "latest").resolve() == (tmp_path / "run-b").resolve()
    assert not (tmp_path / "latest").readlink().is_absolute()


def test_known_failures_get_a_footnote_with_their_cause() -> None:
    known = Expectation(Outcome.FAILED, "SCTP: pion 3.1 rejects werift's INIT")
    stale = Expectation(Outcome.TIMEOUT, "ICE never completes")
    results = sample()
    failing = replace(results.cells[1], expected=known)
    fixed = replace(results.cells[0], expected=stale)
    text = render_markdown(replace(results, cells=(fixed, failing)))
    assert "| **pion** | ❌ <sup>2</sup> |" in text
    assert "2. known failed: SCTP: pion 3.1 rejects werift's INIT" in text
    assert (
        "1. aiortc → aiortc: expected timeout (ICE never completes), got passed; "
        "update expectations.yaml"
    ) in text
    assert "(1 of the failures known and explained)" in text
    assert "| SCTP \\| abort | SCTP: pion 3.1 rejects werift's INIT |" in text
    document = to_json(replace(results, cells=(fixed, failing)))
    assert document["cells"][1]["expected"] == {
        "outcome": "failed",
        "reason": "SCTP: pion 3.1 rejects werift's INIT",
        "condition": None,
    }
    assert from_json(document, Path("x")).cells[1].expected == known


@pytest.mark.parametrize(
    ("outcome", "expected", "deviates"),
    [
        (Outcome.PASSED, None, False),
        (Outcome.FAILED, None, True),  # a new failure
        (Outcome.FAILED, Outcome.FAILED, False),
        (Outcome.TIMEOUT, Outcome.FAILED, False),  # still failing, differently
        (Outcome.PASSED, Outcome.FAILED, True),  # fixed: the expectation is stale
        (Outcome.UNSUPPORTED, None, False),
        (Outcome.PASSED, Outcome.FLAKY, False),  # a known-flaky cell may pass ...
        (Outcome.FAILED, Outcome.FLAKY, False),  # ... or fail
        (Outcome.SERVER_ERROR, Outcome.FLAKY, True),  # but not crash
        (Outcome.UNVERIFIED, Outcome.FLAKY, True),
    ],
)
def test_deviation_from_expectations(
    outcome: Outcome, expected: Outcome | None, deviates: bool
) -> None:
    result = CellResult(
        Cell("datachannel", "a", "b"),
        outcome,
        "r",
        expected=Expectation(expected, "why") if expected else None,
    )
    assert result.deviates is deviates


def test_terminal_grid_fills_in_as_cells_finish() -> None:
    done, failed = sample().cells
    running = Cell("datachannel", "pion", "pion")
    pending = Cell("datachannel", "aiortc", "pion")
    planned = [done.cell, failed.cell, running, pending]
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    console.print(
        terminal.grid(
            planned,
            {done.cell: done, failed.cell: failed},
            {running},
            ["datachannel"],
            ("aiortc", "pion"),
        )
    )
    console.print(terminal.legend())
    console.print(terminal.summary([done, failed]))
    text = out.getvalue()
    rows = {
        line.split()[0]: line.split()[1:]
        for line in text.splitlines()
        if line.strip().startswith(("aiortc", "pion"))
    }
    assert rows["aiortc"] == ["✔", "·"]  # finished, then not started yet
    assert rows["pion"] == ["✘", "…"]  # finished, then running
    assert "? client exited 0 but the capture does not show" in " ".join(text.split())
    assert "2 cells: 1 passed, 1 failed" in text


def test_cells_with_the_same_cause_share_one_footnote() -> None:
    race = Expectation(Outcome.FLAKY, "DTLS race")
    cells = tuple(
        CellResult(Cell("datachannel", server, "ldc"), Outcome.PASSED, "ok", expected=race)
        for server in ("aiortc", "pion")
    )
    text = render_markdown(replace(sample(), cells=cells))
    assert "| **aiortc** | ✅ <sup>1</sup> |" in text
    assert "| **pion** | ✅ <sup>1</sup> |" in text
    assert text.count("known flaky: DTLS race") == 1


def test_plain_progress_names_every_build_and_throttles_its_steps() -> None:
    out = io.StringIO()
    reporter = PlainReporter(Console(file=out, width=200))
    for text in (
        "building base",
        "base: Step 1/7 : FROM debian",
        "base: Step 2/7 : RUN x",
        "building werift",
        "werift: Step 1/9 : FROM base",
    ):
        reporter.status(text)
    assert out.getvalue().splitlines() == ["building base", "building werift"]
