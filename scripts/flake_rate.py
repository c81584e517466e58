"""How often does a cell fail? Run a slice of the matrix N times and tally each cell.

    .venv/bin/python scripts/flake_rate.py -n 20 -- -s aiortc -c libdatachannel

Everything after `--` goes to `webrtc-interop run` (filters, -j). Each repetition is
a normal run (its folder stays under results/), so every failure keeps its logs.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from pathlib import Path

from orchestrator.codec import load_results
from orchestrator.config import load_matrix


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=20)
    parser.add_argument("-f", "--file", type=Path, default=Path("matrix.yaml"))
    parser.add_argument("run_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    run_args = [a for a in args.run_args if a != "--"]
    latest = load_matrix(args.file).settings.results_dir / "latest"
    tally: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    reasons: dict[str, list[str]] = collections.defaultdict(list)
    for index in range(1, args.runs + 1):
        command = [
            sys.executable,
            "-m",
            "orchestrator",
            "-f",
            str(args.file),
            "run",
            "--no-build",
            "--no-screenshot",
            "--retries",
            "0",
            *run_args,
        ]
        completed = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
        if completed.returncode not in (0, 1):
            print(f"run {index}: webrtc-interop exited {completed.returncode}", file=sys.stderr)
            return completed.returncode
        results = load_results(latest)
        for result in results.cells:
            tally[result.cell.slug][result.outcome.value] += 1
            if result.outcome.is_failure:
                reasons[result.cell.slug].append(f"{results.run.id}: {result.reason}")
        print(f"run {index}/{args.runs}: {results.run.id}", file=sys.stderr)
    print(f"| cell | runs | {' | '.join(['passed', 'failed', 'other'])} |")
    print("|---|--:|--:|--:|--:|")
    for slug, counts in sorted(tally.items()):
        other = sum(n for outcome, n in counts.items() if outcome not in ("passed", "failed"))
        print(
            f"| {slug} | {sum(counts.values())} | {counts['passed']} | {counts['failed']} | "
            f"{other} |"
        )
    for slug, lines in sorted(reasons.items()):
        print(f"\n{slug}:")
        for line in lines:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
