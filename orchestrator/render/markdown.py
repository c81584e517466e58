"""results → markdown, for READMEs, job summaries and results/<run>/results.md."""

from __future__ import annotations

from orchestrator.model import Cell, CellResult, Outcome, Traffic
from orchestrator.render.grid import axes, by_cell, tally
from orchestrator.render.symbols import EMOJI, MEANING
from orchestrator.results import RunResults


def render_markdown(results: RunResults, title: str = "WebRTC interop matrix") -> str:
    run = results.run
    order = tuple(i.name for i in results.implementations)
    found = by_cell(results.cells)
    lines = [f"# {title}", "", _summary_line(results), ""]
    for test in results.tests:
        servers, clients = axes(found, test.name, order)
        if not servers:
            continue
        lines += [f"## {test.name}", ""]
        if test.description:
            lines += [test.description, ""]
        lines.append("| server ↓ / client → | " + " | ".join(clients) + " |")
        lines.append("|---|" + "|".join(":-:" for _ in clients) + "|")
        for server in servers:
            row = []
            for client in clients:
                result = found.get(Cell(test.name, server, client))
                row.append(_cell_text(result) if result else " ")
            lines.append(f"| **{server}** | " + " | ".join(row) + " |")
        lines.append("")
    lines += ["**Legend:** " + " · ".join(f"{EMOJI[o]} {MEANING[o]}" for o in Outcome), ""]
    problems = [r for r in results.cells if r.outcome.is_failure]
    if problems:
        lines += [
            "## Failures",
            "",
            "| test | server | client | outcome | reason | logs |",
            "|---|---|---|---|---|---|",
        ]
        for result in sorted(problems, key=lambda r: r.cell):
            cell = result.cell
            logs = " ".join(f"[{name}]({path})" for name, path in result.logs)
            lines.append(
                f"| {cell.test} | {cell.server} | {cell.client} | "
                f"{EMOJI[result.outcome]} {result.outcome.value} | "
                f"{_escape(result.reason)} | {logs} |"
            )
        lines.append("")
    lines += _evidence_section(results)
    lines += ["## Versions", "", "| implementation | image | versions |", "|---|---|---|"]
    for record in results.implementations:
        versions = ", ".join(f"{k} {v}" for k, v in record.versions) or "—"
        image_id = f" `{record.image_id.removeprefix('sha256:')[:12]}`" if record.image_id else ""
        build = " (build failed)" if record.build == "failed" else ""
        lines.append(f"| {record.name} | `{record.image}`{image_id}{build} | {versions} |")
    lines += [
        "",
        f"<sub>Run `{run.id}`, orchestrator {run.orchestrator_version}, "
        f"{run.parallelism} cells in parallel.</sub>",
        "",
    ]
    return "\n".join(lines)


def _summary_line(results: RunResults) -> str:
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
    return f"Run at {when} · {len(results.cells)} cells: {outcome_text}{status}"


def _cell_text(result: CellResult) -> str:
    wire = result.verification
    if wire is not None and wire.connect_time_s is not None:
        return f"{EMOJI[result.outcome]} <sub>{wire.connect_time_s * 1000:.0f} ms</sub>"
    return EMOJI[result.outcome]


def _evidence_section(results: RunResults) -> list[str]:
    """Per cell: what the capture proved, connect time, packets and bytes each way."""
    checked = sorted((r for r in results.cells if r.verification), key=lambda r: r.cell)
    if not checked:
        return []
    lines = [
        "## Wire evidence",
        "",
        "Each cell's traffic was captured in the server's network namespace; a verdict counts "
        "only if the capture backs it. Connect time runs from the first ICE check to both "
        "peers' first encrypted DTLS record; the grids show it under each symbol.",
        "",
        "<details><summary>Per cell</summary>",
        "",
        "| test | server | client | capture | connect | client → server | server → client |",
        "|---|---|---|---|--:|--:|--:|",
    ]
    for result in checked:
        wire = result.verification
        assert wire is not None
        cell = result.cell
        verdict = "verified" if wire.verified else "missing: " + _escape("; ".join(wire.missing))
        connect = f"{wire.connect_time_s * 1000:.1f} ms" if wire.connect_time_s is not None else "—"
        lines.append(
            f"| {cell.test} | {cell.server} | {cell.client} | {verdict} | {connect} | "
            f"{_traffic(wire.client_to_server)} | {_traffic(wire.server_to_client)} |"
        )
    return [*lines, "", "</details>", ""]


def _traffic(traffic: Traffic) -> str:
    return f"{traffic.packets} pkts, {traffic.bytes} B"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
