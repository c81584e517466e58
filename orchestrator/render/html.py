"""results → one self-contained HTML page: no scripts, fonts or styles fetched from anywhere.

Cells are coloured by outcome, carry the reason as a tooltip and link to the cell's
log folder (relative to the run folder, where results.html is written).
"""

from __future__ import annotations

from html import escape

from orchestrator.model import CellResult, Outcome
from orchestrator.records import RunResults
from orchestrator.render.evidence import evidence_lines, grid_note
from orchestrator.render.grid import by_cell, result_sections
from orchestrator.render.markdown import summary_line
from orchestrator.render.symbols import EMOJI, MEANING

CELL_WIDTH_PX, CELL_HEIGHT_PX = 114, 38  # a cell's link box plus its border
# Every colour differs from every other and from the table lines (#d0d7de), so the
# screenshot test can count the cells by colour.
COLOURS = {
    Outcome.PASSED: "#2da44e",
    Outcome.FAILED: "#cf222e",
    Outcome.TIMEOUT: "#bf8700",
    Outcome.UNSUPPORTED: "#e8ebef",
    Outcome.SERVER_ERROR: "#8250df",
    Outcome.BUILD_ERROR: "#953800",
    Outcome.INFRA_ERROR: "#57606a",
    Outcome.UNVERIFIED: "#fb8f44",
    Outcome.FLAKY: "#0969da",
    Outcome.NOT_RUN: "#afb8c1",
}

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1f2328; }
table.grid { border-collapse: collapse; margin: 0.5em 0 2em; }
table.grid th, table.grid td { border: 1px solid #d0d7de; padding: 0; text-align: center; }
table.grid th { padding: 6px 10px; background: #f6f8fa; }
table.grid td a { display: block; box-sizing: border-box; width: 112px; height: 36px;
                  line-height: 36px; color: #fff; text-decoration: none; font-weight: 600;
                  white-space: nowrap; overflow: hidden; }
table.grid td.unsupported a { color: #57606a; }
table.list { border-collapse: collapse; }
table.list td, table.list th { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
.legend span { display: inline-block; margin-right: 1em; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: -2px;
          margin-right: 0.3em; border-radius: 2px; }
small { color: #57606a; }
section.cell { border-top: 1px solid #d0d7de; padding: 4px 0; font-size: 12px; }
section.cell h3 { margin: 4px 0; font-size: 13px; }
"""


def render_html(results: RunResults, title: str = "WebRTC interop matrix") -> str:
    found = by_cell(results.cells)
    descriptions = {t.name: t.description for t in results.tests}
    body = [f"<h1>{escape(title)}</h1>", f"<p>{escape(summary_line(results))}</p>"]
    for section in result_sections(results):
        body.append(f"<h2>{escape(section.title)}</h2>")
        if descriptions.get(section.test):
            body.append(f"<p>{escape(descriptions[section.test])}</p>")
        body.append(
            '<table class="grid"><tr><th>server ↓ / client →</th>'
            + "".join(f"<th>{escape(c)}</th>" for c in section.clients)
            + "</tr>"
        )
        for server in section.servers:
            row = [f"<th>{escape(server)}</th>"]
            for client in section.clients:
                row.append(_cell(found.get(section.cell(server, client))))
            body.append("<tr>" + "".join(row) + "</tr>")
        body.append("</table>")
    body.append(
        '<p class="legend">'
        + "".join(
            f'<span><i class="swatch" style="background:{COLOURS[o]}"></i>'
            f"{escape(MEANING[o])}</span>"
            for o in Outcome
        )
        + "</p>"
    )
    body.append(
        '<h2>Versions</h2><table class="list"><tr><th>implementation</th>'
        "<th>image</th><th>versions</th></tr>"
    )
    for record in results.implementations:
        versions = ", ".join(f"{k} {v}" for k, v in record.versions) or "—"
        body.append(
            f"<tr><td>{escape(record.name)}</td><td><code>{escape(record.image)}"
            f"</code></td><td>{escape(versions)}</td></tr>"
        )
    body.append("</table>")
    body += _evidence(results)
    run = results.run
    body.append(
        f"<p><small>Run {escape(run.id)} · orchestrator "
        f"{escape(run.orchestrator_version)} · {run.parallelism} cells in parallel"
        "</small></p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def page_size(results: RunResults) -> tuple[int, int]:
    """A browser window (width, height) that shows the whole page, every grid included."""
    width, height = 900, 420 + 56 * len(results.implementations)
    for section in result_sections(results):
        height += 130 + CELL_HEIGHT_PX * len(section.servers)
        width = max(width, 260 + CELL_WIDTH_PX * len(section.clients))
    return width, height


def _cell(result: CellResult | None) -> str:
    if result is None:
        return "<td></td>"
    outcome = result.outcome
    tooltip = f"{outcome.value}: {result.reason}"
    if result.expected and result.as_expected:
        tooltip += f"\nknown cause: {result.expected.reason}"
    note = grid_note(result)
    label = f"{EMOJI[outcome]} {note}" if note else EMOJI[outcome]
    href = f' href="#{_anchor(result)}"' if result.verification or result.logs else ""
    return (
        f'<td class="{outcome.value}" style="background:{COLOURS[outcome]}" '
        f'title="{escape(tooltip)}"><a{href}>{escape(label)}</a></td>'
    )


def _evidence(results: RunResults) -> list[str]:
    """One entry per cell, each grid cell's link target: verdict, proof, logs."""
    body = ["<h2>Cells</h2>"]
    for result in sorted(results.cells, key=lambda r: r.cell):
        if not (result.verification or result.logs):
            continue
        lines = [f"{result.outcome.value}: {result.reason}"]
        if result.verification:
            lines += evidence_lines(result.verification)
        logs = " ".join(
            f'<a href="{escape(path)}">{escape(name)}</a>' for name, path in result.logs
        )
        body.append(
            f'<section class="cell" id="{_anchor(result)}"><h3>{escape(result.cell.key)}</h3>'
            + "".join(f"<div>{escape(line)}</div>" for line in lines)
            + (f"<div>logs: {logs}</div>" if logs else "")
            + "</section>"
        )
    return body


def _anchor(result: CellResult) -> str:
    return "cell-" + result.cell.slug.replace("/", "-")
