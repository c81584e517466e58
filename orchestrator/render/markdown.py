"""results → markdown, for READMEs, job summaries and results/<run>/results.md."""

from __future__ import annotations

from orchestrator.merge import RunDiff
from orchestrator.model import Cell, CellResult, Outcome, Traffic
from orchestrator.records import RunResults
from orchestrator.render.evidence import grid_note, measure_text
from orchestrator.render.grid import Section, by_cell, result_sections, tally
from orchestrator.render.symbols import EMOJI, MEANING
from orchestrator.text import markdown_cell

MEDIA_TESTS = ("audio", "video")


def render_markdown(results: RunResults, title: str = "WebRTC interop matrix") -> str:
    lines = [f"# {title}", "", summary_line(results), ""]
    lines += grids(results)
    lines += [legend(), ""]
    lines += _failures(results)
    lines += _media(results)
    lines += _evidence(results)
    lines += _versions(results)
    run = results.run
    lines += [
        f"<sub>Run `{run.id}`, orchestrator {run.orchestrator_version}, "
        f"{run.parallelism} cells in parallel.</sub>",
        "",
    ]
    return "\n".join(lines)


def grids(results: RunResults, timings: bool = True) -> list[str]:
    """One grid per test case, with footnotes for cells the expectations file explains.

    Without `timings` the grids hold verdicts only, so two runs with the same verdicts
    render identically (what the README block is compared by).
    """
    found = by_cell(results.cells)
    descriptions = {t.name: t.description for t in results.tests}
    lines: list[str] = []
    for section in result_sections(results):
        lines += _grid(section, descriptions.get(section.test, ""), found, timings)
    return lines


def _grid(
    section: Section, description: str, found: dict[Cell, CellResult], timings: bool
) -> list[str]:
    lines = [f"## {section.title}", ""]
    if description:
        lines += [description, ""]
    lines.append("| server ↓ / client → | " + " | ".join(section.clients) + " |")
    lines.append("|---|" + "|".join(":-:" for _ in section.clients) + "|")
    notes: list[str] = []
    for server in section.servers:
        row = []
        for client in section.clients:
            result = found.get(section.cell(server, client))
            if result is None:
                row.append(" ")
                continue
            text = _cell_text(result) if timings else EMOJI[result.outcome]
            note = _expectation_note(result)
            if note:
                if note not in notes:  # cells with the same cause share one footnote
                    notes.append(note)
                text += f" <sup>{notes.index(note) + 1}</sup>"
            row.append(text)
        lines.append(f"| **{server}** | " + " | ".join(row) + " |")
    lines.append("")
    if notes:
        lines += [f"{n}. {note}" for n, note in enumerate(notes, 1)] + [""]
    return lines


def legend() -> str:
    return "**Legend:** " + " · ".join(f"{EMOJI[o]} {MEANING[o]}" for o in Outcome)


def _expectation_note(result: CellResult) -> str | None:
    expected = result.expected
    if expected is None:
        return None
    if result.as_expected:
        return f"known {expected.outcome.value}: {_escape(expected.reason)}"
    cell = result.cell
    where = f"{cell.server} → {cell.client}"
    return (
        f"{where}: expected {expected.outcome.value} ({_escape(expected.reason)}), "
        f"got {result.outcome.value}; update expectations.yaml"
    )


def summary_line(results: RunResults) -> str:
    run = results.run
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if run.ended_at:
        seconds = int((run.ended_at - run.started_at).total_seconds())
        when = f"{started}, took {seconds // 60}m {seconds % 60:02d}s"
    else:
        when = f"{started}, still running"
    counts = tally(results.cells)
    outcome_text = ", ".join(f"{n} {o.value}" for o, n in counts.items()) or "no cells"
    status = "" if run.status == "complete" else f" · **{run.status}**"
    known = sum(1 for r in results.cells if r.outcome.is_failure and r.as_expected)
    known_text = f" ({known} of the failures known and explained)" if known else ""
    return f"Run at {when} · {len(results.cells)} cells: {outcome_text}{known_text}{status}"


def _cell_text(result: CellResult) -> str:
    note = grid_note(result)
    return f"{EMOJI[result.outcome]} <sub>{note}</sub>" if note else EMOJI[result.outcome]


def _failures(results: RunResults) -> list[str]:
    problems = sorted((r for r in results.cells if r.outcome.is_failure), key=lambda r: r.cell)
    if not problems:
        return []
    lines = [
        "## Failures",
        "",
        "| test | server | client | scenario | outcome | reason | known cause | logs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in problems:
        cell = result.cell
        logs = " ".join(f"[{name}]({path})" for name, path in result.logs)
        known = _escape(result.expected.reason) if result.as_expected and result.expected else "—"
        lines.append(
            f"| {cell.test} | {cell.server} | {cell.client} | {cell.scenario} | "
            f"{EMOJI[result.outcome]} {result.outcome.value} | "
            f"{markdown_cell(result.reason)} | {known} | {logs} |"
        )
    return [*lines, ""]


def _media(results: RunResults) -> list[str]:
    """What media cells negotiated and got back, as their clients reported it."""
    reported = sorted((r for r in results.cells if r.media), key=lambda r: r.cell)
    if not reported:
        return []
    lines = [
        "## Media",
        "",
        "| test | server | client | codec | payload type | echoed packets | decoded frames |",
        "|---|---|---|---|--:|--:|--:|",
    ]
    for result in reported:
        media = result.media
        assert media is not None
        cell = result.cell
        codec = markdown_cell(media.codec or "—")
        lines.append(
            f"| {cell.test} | {cell.server} | {cell.client} | {codec} | "
            f"{_or_dash(media.payload_type)} | {_or_dash(media.packets)} | "
            f"{_or_dash(media.frames)} |"
        )
    return [*lines, ""]


def _evidence(results: RunResults) -> list[str]:
    """Per cell: what the capture proved and how (docs/contract.md 6)."""
    checked = sorted((r for r in results.cells if r.verification), key=lambda r: r.cell)
    if not checked:
        return []
    lines = [
        "## Wire evidence",
        "",
        "Every cell's traffic was captured on its network; a pass counts only if the "
        "capture shows what the test case declares (docs/contract.md, section 6). The "
        "proof column says how: `decrypted` (a peer's DTLS keys), `sized` (record sizes "
        "fit the payload), `echo-shape` (an original-contract client), `rtp-echo` "
        "(media), `transport` (ICE and DTLS).",
        "",
        "<details><summary>Per cell</summary>",
        "",
        "| cell | proof | path | connect | what the wire showed |",
        "|---|---|---|--:|---|",
    ]
    for result in checked:
        wire = result.verification
        assert wire is not None
        shown = wire.details if wire.verified else ("missing: " + "; ".join(wire.missing),)
        measured = [measure_text(n, v) for n, v in wire.measures]
        connect = f"{wire.connect_time_s * 1000:.1f} ms" if wire.connect_time_s is not None else "—"
        lines.append(
            f"| {result.cell.key} | {wire.proof} | {wire.path or '—'} | {connect} | "
            f"{markdown_cell('; '.join([*shown, *measured]))} |"
        )
    return [*lines, "", "</details>", ""]


def _versions(results: RunResults) -> list[str]:
    lines = ["## Versions", "", "| implementation | image | versions |", "|---|---|---|"]
    for record in results.implementations:
        versions = markdown_cell(", ".join(f"{k} {v}" for k, v in record.versions) or "—")
        image_id = f" `{record.image_id.removeprefix('sha256:')[:12]}`" if record.image_id else ""
        build = " (build failed)" if record.build == "failed" else ""
        lines.append(f"| {record.name} | `{record.image}`{image_id}{build} | {versions} |")
    return [*lines, ""]


def _traffic(traffic: Traffic) -> str:
    return f"{traffic.packets} pkts, {traffic.bytes} B"


def _or_dash(value: int | None) -> str:
    return "—" if value is None else str(value)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_diff(change: RunDiff, old: RunResults, new: RunResults) -> str:
    """What changed between two runs, for the nightly summary."""
    lines = [f"## Changes since run `{old.run.id}`", ""]
    if change.empty:
        return "\n".join([*lines, "No verdict or version changed.", ""])
    sections = (
        ("New failures", change.new_failures),
        ("Fixed", change.fixes),
        ("Changed", change.other_changes),
        ("New cells", change.appeared),
        ("Cells no longer run", change.vanished),
    )
    for title, changes in sections:
        if not changes:
            continue
        lines += [f"### {title}", ""]
        for item in changes:
            was = f"{EMOJI[item.before]} {item.before.value}" if item.before else "—"
            now = f"{EMOJI[item.after]} {item.after.value}" if item.after else "—"
            cell = item.cell
            lines.append(
                f"- {cell.key}: {was} → {now}"
                + (f" ({markdown_cell(item.reason)})" if item.after and item.reason else "")
            )
        lines.append("")
    if change.versions:
        lines += ["### Versions", ""]
        for name, component, was_version, now_version in change.versions:
            lines.append(f"- {name}: {component} {was_version or '—'} → {now_version or '—'}")
        lines.append("")
    return "\n".join(lines)
