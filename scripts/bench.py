"""How fast is a run, against the plain docker-run loop, on the same cells? (`make bench`)

    .venv/bin/python scripts/bench.py [-i aiortc,werift,libdatachannel,pion]
        [-t peerconnection,datachannel,audio,video] [-j 4] [--seqloop PATH]

One after the other, on the built images (never two at once: one engine, two cores):
the reference loop one cell at a time (`seqloop.py -P 1`), the same loop four at a time
(`-P 4`), and `webrtc-interop run` with packet capture on. Prints the wall times, the
ratios, where the orchestrator's seconds go per cell (results.json `timings`), how soon
the first cell started, the verdicts that differ, and how long rendering, merging and
diffing 10,000 synthetic cells take. Markdown, for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.codec import json_text, load_results
from orchestrator.config import load_matrix
from orchestrator.merge import diff_runs, merge_results
from orchestrator.model import Cell, CellResult, Outcome, Traffic, Verification
from orchestrator.records import ImplementationRecord, RunInfo, RunResults, RunStatus, TestRecord
from orchestrator.render.html import render_html
from orchestrator.render.junit import render_junit
from orchestrator.render.markdown import render_diff, render_markdown

ROOT = Path(__file__).resolve().parents[1]
SEQLOOP = ROOT.parent / "shared" / "bench" / "seqloop.py"
PHASES = (
    "network",
    "capture",
    "server_start",
    "server_ready",
    "client",
    "end_sessions",
    "collect",
)
AFTER = ("teardown", "analysis")  # after the cell gave its peer slot back
PEER_PHASES = ("server_ready", "client")  # time the peers themselves take


def seqloop(
    path: Path, implementations: str, tests: str, parallel: int
) -> tuple[float, dict[str, int]]:
    command = [sys.executable, str(path), "-i", implementations, "-t", tests, "-P", str(parallel)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    return float(summary["wall_s"]), {k: v for k, v in summary["verdicts"].items()}


def orchestrator(
    matrix: Path, implementations: str, tests: str, jobs: int
) -> tuple[float, RunResults]:
    command = [
        sys.executable, "-m", "orchestrator", "-f", str(matrix), "run", "--no-build",
        "--no-screenshot", "--retries", "0", "-j", str(jobs),
        "-s", implementations, "-c", implementations, "-t", tests, "--scenario", "direct",
    ]  # fmt: skip
    started = time.monotonic()
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - started
    if completed.returncode not in (0, 1):
        raise SystemExit(f"webrtc-interop exited {completed.returncode}")
    return wall, load_results(load_matrix(matrix).settings.results_dir / "latest")


def overheads(results: RunResults) -> list[str]:
    ran = [dict(r.timings) for r in results.cells if r.timings]
    if not ran:
        return []

    def median(phases: tuple[str, ...]) -> float:
        return statistics.median(sum(t.get(p, 0.0) for p in phases) for t in ran)

    lines = ["| phase | median per cell |", "|---|--:|"]
    for phase in (*PHASES, *AFTER):
        lines.append(f"| {phase} | {median((phase,)):.3f} s |")
    slot = tuple(p for p in PHASES if p not in PEER_PHASES)
    lines.append(
        f"| **orchestration while the cell holds a peer slot** ({', '.join(slot)}) "
        f"| {median(slot):.3f} s |"
    )
    lines.append(f"| orchestration after it ({', '.join(AFTER)}) | {median(AFTER):.3f} s |")
    shared = sum("server_start" not in t for t in ran)
    lines.append(f"\n{shared} of {len(ran)} cells ran on a server that an earlier cell started.")
    return lines


def differing(results: RunResults, baseline: dict[str, int], matrix: Path) -> list[str]:
    known = load_matrix(matrix)
    lines = []
    for result in results.cells:
        cell = result.cell
        code = baseline.get(f"{cell.test}/{cell.server}/{cell.client}")
        if code is None or result.outcome is Outcome.UNSUPPORTED:
            continue
        expected = known.expected(cell)
        if expected is not None and expected.outcome is Outcome.FLAKY:
            continue
        if (code == 0) != (result.outcome is Outcome.PASSED):
            lines.append(f"- {cell.key}: seqloop exit {code}, orchestrator {result.outcome.value}")
    return lines


def synthetic(count: int) -> RunResults:
    names = [f"impl-{n}" for n in range(10)]
    wire = Verification((), 0.05, True, True, Traffic(12, 3400), Traffic(12, 3400), "sized")
    cells = []
    for index in range(count):
        test, server, client = f"t{index // 100 % 10}", names[index // 10 % 10], names[index % 10]
        scenario = f"s{index // 1000}"
        outcome = Outcome.PASSED if index % 7 else Outcome.FAILED
        cells.append(
            CellResult(Cell(test, server, client, scenario), outcome, "reason", 0, 3.0, (), wire)
        )
    run = RunInfo(
        "20261201T000000Z-bench",
        datetime(2026, 12, 1, tzinfo=UTC),
        None,
        "bench",
        (),
        4,
        RunStatus.COMPLETE,
    )
    records = tuple(ImplementationRecord(n, f"x/{n}", None, (("v", "1"),), "built") for n in names)
    tests = tuple(TestRecord(f"t{n}", 30.0) for n in range(10))
    return RunResults(
        run, tests, records, tuple(cells), tuple(f"s{n}" for n in range(count // 1000 + 1))
    )


def synthetic_timing(count: int) -> str:
    results = synthetic(count)
    half = len(results.cells) // 2
    started = time.monotonic()
    render_markdown(results)
    render_html(results)
    render_junit(results)
    json_text(results)
    first = replace(results, cells=results.cells[:half])
    second = replace(results, cells=results.cells[half:], run=replace(results.run, id="other"))
    merged = merge_results([first, second])
    render_diff(diff_runs(results, merged), results, merged)
    took = time.monotonic() - started
    return f"{count} synthetic cells: rendered, merged and diffed in {took:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", default="aiortc,werift,libdatachannel,pion")
    parser.add_argument("-t", default="peerconnection,datachannel,audio,video")
    parser.add_argument("-j", type=int, default=4)
    parser.add_argument("-f", "--file", type=Path, default=ROOT / "matrix.yaml")
    parser.add_argument("--seqloop", type=Path, default=SEQLOOP)
    parser.add_argument("--synthetic", type=int, default=10_000)
    args = parser.parse_args()
    if not args.seqloop.is_file():
        raise SystemExit(f"the reference loop {args.seqloop} is not there (--seqloop PATH)")
    loop1, baseline = seqloop(args.seqloop, args.i, args.t, 1)
    print(f"seqloop -P 1: {loop1:.1f} s", file=sys.stderr)
    loop4, _ = seqloop(args.seqloop, args.i, args.t, 4)
    print(f"seqloop -P 4: {loop4:.1f} s", file=sys.stderr)
    ours, results = orchestrator(args.file, args.i, args.t, args.j)
    print(f"webrtc-interop: {ours:.1f} s", file=sys.stderr)
    cells = sum(1 for r in results.cells if r.timings)
    print(f"{cells} cells ({args.i} × {args.t}), images built, capture on, no retries\n")
    print("| run | wall time | webrtc-interop is |")
    print("|---|--:|--:|")
    print(f"| seqloop -P 1 | {loop1:.1f} s | {loop1 / ours:.2f}× faster |")
    print(f"| seqloop -P 4 | {loop4:.1f} s | {loop4 / ours:.2f}× faster |")
    print(f"| webrtc-interop run -j {args.j} | {ours:.1f} s | — |\n")
    print("\n".join(overheads(results)))
    print(f"\nfirst cell started {results.run.first_cell_after_s} s after the command")
    print("\nverdicts that differ from the loop (known flaky cells aside):")
    print("\n".join(differing(results, baseline, args.file)) or "none")
    print("\n" + synthetic_timing(args.synthetic))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
