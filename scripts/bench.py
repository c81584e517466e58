"""What does packet capture cost? Time the matrix with and without it (`make bench`).

    .venv/bin/python scripts/bench.py [--rounds N] [-- run arguments, e.g. -t datachannel]

Rounds alternate capture on/off so machine noise hits both alike. Prints a markdown
table for docs/benchmarks.md. Images must be built (`make build`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.codec import load_results
from orchestrator.config import load_matrix


def timed_run(matrix: Path, extra: list[str]) -> tuple[float, list[float], int]:
    command = [
        sys.executable,
        "-m",
        "orchestrator",
        "-f",
        str(matrix),
        "run",
        "--no-build",
        "--no-screenshot",
        "--retries",
        "0",
        *extra,
    ]
    started = time.monotonic()
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - started
    if completed.returncode not in (0, 1):
        raise SystemExit(f"webrtc-interop exited {completed.returncode}")
    results = load_results(load_matrix(matrix).settings.results_dir / "latest")
    durations = [r.duration_s for r in results.cells if r.exit_code is not None]
    failures = sum(1 for r in results.cells if r.outcome.is_failure)
    return wall, durations, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("-f", "--file", type=Path, default=Path("matrix.yaml"))
    parser.add_argument("run_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    extra = [a for a in args.run_args if a != "--"]
    samples: dict[str, list[tuple[float, list[float], int]]] = {"capture": [], "no capture": []}
    for round_number in range(1, args.rounds + 1):
        for label, flags in (("capture", []), ("no capture", ["--no-capture"])):
            sample = timed_run(args.file, extra + flags)
            samples[label].append(sample)
            print(f"round {round_number}, {label}: {sample[0]:.1f} s", file=sys.stderr)
    print("| mode | rounds | wall time (mean) | cell duration (median) | failed cells |")
    print("|---|--:|--:|--:|--:|")
    for label, runs in samples.items():
        walls = [wall for wall, _, _ in runs]
        cells = [d for _, durations, _ in runs for d in durations]
        failed = sum(f for _, _, f in runs)
        print(
            f"| {label} | {len(runs)} | {statistics.mean(walls):.1f} s | "
            f"{statistics.median(cells):.2f} s | {failed} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
