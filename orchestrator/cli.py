"""Command line: `webrtc-interop <command>` or `python -m orchestrator <command>`.

Only `main()` turns errors into exit codes; user mistakes print one line, never a
traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table

from orchestrator import __version__
from orchestrator.app import (
    RunRequest,
    build_images,
    clean,
    engine_for,
    load_images,
    merge_runs,
    print_summary,
    run_matrix,
    save_images,
)
from orchestrator.config import Matrix, load_matrix, with_images
from orchestrator.errors import ConfigError, InteropError, Interrupted
from orchestrator.merge import diff_runs
from orchestrator.planner import choose_names
from orchestrator.readme import update_readme
from orchestrator.render.html import render_html
from orchestrator.render.junit import render_junit
from orchestrator.render.markdown import render_diff, render_markdown
from orchestrator.results import RunResults, json_text, load_results, write_atomically

EXIT_OK, EXIT_CELLS_FAILED = 0, 1
REPORT_FORMATS = ("markdown", "json", "html", "junit")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a ConfigError like any other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value:g}")
    return value


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not 1 <= int(index) <= int(count):
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, got {text!r}")
    return int(index), int(count)


def _image_override(text: str) -> tuple[str, str]:
    name, _, reference = text.partition("=")
    if not name or not reference:
        raise argparse.ArgumentTypeError(f"expected NAME=IMAGE, got {text!r}")
    return name, reference


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webrtc-interop",
        description="Run WebRTC implementations against each other in Docker.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-f",
        "--file",
        type=Path,
        default=Path("matrix.yaml"),
        help="the matrix file (default: ./matrix.yaml)",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )

    run = commands.add_parser("run", help="build the images and run the matrix")
    run.add_argument(
        "-s", "--server", type=_names, default=(), help="only these servers (comma-separated)"
    )
    run.add_argument(
        "-c", "--client", type=_names, default=(), help="only these clients (comma-separated)"
    )
    run.add_argument(
        "-t", "--test", type=_names, default=(), help="only these test cases (comma-separated)"
    )
    run.add_argument(
        "-j", "--jobs", type=_positive_int, help="cells run in parallel (default: settings.jobs)"
    )
    run.add_argument(
        "--timeout",
        type=_positive_float,
        help="override every test case's client timeout (seconds)",
    )
    run.add_argument(
        "--keep-containers",
        action="store_true",
        help="leave each cell's containers (stopped) and network for inspection",
    )
    run.add_argument(
        "--image",
        type=_image_override,
        action="append",
        default=[],
        metavar="NAME=IMAGE",
        help="run NAME from this image instead of building it (a development build); repeatable",
    )
    run.add_argument(
        "--retries",
        type=_count,
        help="re-run a failed cell up to N more times (default: settings.retries); "
        "fail-then-pass shows as flaky",
    )
    run.add_argument(
        "--shard",
        type=_shard,
        default=(1, 1),
        metavar="I/N",
        help="run only the I-th of N stable, balanced slices of the cells (merge them later)",
    )
    run.add_argument(
        "--check-expectations",
        action="store_true",
        help="exit 1 only on a deviation from expectations.yaml (a new failure, or a "
        "known failure that now passes)",
    )
    run.add_argument(
        "--no-screenshot",
        action="store_true",
        help="skip results.png, the picture of the HTML report",
    )
    run.add_argument(
        "--no-capture",
        action="store_true",
        help="no packet capture, so verdicts are not checked against the wire",
    )
    run.add_argument(
        "--no-build", action="store_true", help="use the images already built instead of building"
    )

    build = commands.add_parser("build", help="build implementation images")
    build.add_argument("names", nargs="*", help="implementations (default: all)")
    build.add_argument(
        "--cache-from-tags",
        action="store_true",
        help="reuse layers of the images already tagged (after `images load` in CI)",
    )

    images = commands.add_parser("images", help="save or load all images as one tar (CI)")
    images.add_argument("action", choices=("save", "load"))
    images.add_argument("tarball", type=Path)

    commands.add_parser("list", help="show implementations, roles, test cases and versions")

    report = commands.add_parser("report", help="render a results.json again")
    report.add_argument(
        "results",
        type=Path,
        nargs="?",
        default=None,
        help="a results.json or run folder (default: <results_dir>/latest)",
    )
    report.add_argument("--format", choices=REPORT_FORMATS, default="markdown")
    report.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    report.add_argument(
        "--diff",
        type=Path,
        metavar="OLD",
        help="(markdown) append what changed since this older results.json or run folder",
    )

    merge = commands.add_parser("merge", help="combine shard runs into one run")
    merge.add_argument("shards", type=Path, nargs="+", help="run folders or results.json files")

    diff = commands.add_parser("diff", help="what changed between two runs")
    diff.add_argument("old", type=Path, help="the older results.json or run folder")
    diff.add_argument("new", type=Path, help="the newer results.json or run folder")

    check = commands.add_parser(
        "check", help="exit 1 if a run deviates from the current expectations.yaml (CI gate)"
    )
    check.add_argument("results", type=Path, help="a results.json or run folder")

    readme = commands.add_parser(
        "readme", help="update README.md's grid block if a verdict changed"
    )
    readme.add_argument("results", type=Path, help="a results.json or run folder")
    readme.add_argument("--readme", type=Path, default=Path("README.md"))

    cleaning = commands.add_parser("clean", help="remove containers and networks runs left")
    cleaning.add_argument("--run", help="only this run id")

    commands.add_parser("engine", help="make sure a Docker engine answers (start one if allowed)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args, console)
    except InteropError as error:
        errors.print(f"error: {error}", soft_wrap=True, markup=False)
        return error.exit_code
    except KeyboardInterrupt:
        errors.print("interrupted")
        return Interrupted.exit_code


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM gets the same orderly cleanup as Ctrl-C."""
    raise KeyboardInterrupt


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    if args.command == "report":
        return _report(args, console)
    if args.command == "diff":
        old, new = load_results(args.old), load_results(args.new)
        sys.stdout.write(render_diff(diff_runs(old, new), old, new))
        return EXIT_OK
    if args.command == "readme":
        return _readme(args, console)
    if args.command == "clean":
        containers, networks = clean(console, args.run)
        console.print(f"removed {containers} containers and {networks} networks")
        return EXIT_OK
    if args.command == "engine":
        engine = engine_for(console, 1)
        console.print(f"Docker engine {engine.server_version()} answers")
        return EXIT_OK
    matrix = load_matrix(args.file)
    if args.command == "list":
        _list(matrix, console)
        return EXIT_OK
    if args.command == "check":
        # Against today's expectations file, which may explain more than the run knew.
        results = load_results(args.results)
        cells = tuple(replace(r, expected=matrix.expected(r.cell)) for r in results.cells)
        return _gate(replace(results, cells=cells), console)
    if args.command == "merge":
        results, run_dir = merge_runs(args.shards, matrix.settings.results_dir)
        print_summary(results, run_dir, console)
        return EXIT_OK
    if args.command == "build":
        names = choose_names(args.names, matrix.implementation_names, "implementation", "build")
        build_images(matrix, names, console, args.cache_from_tags)
        return EXIT_OK
    if args.command == "images":
        if args.action == "save":
            saved = save_images(matrix, args.tarball, console)
            console.print(f"saved {len(saved)} images to {args.tarball}")
        else:
            loaded = load_images(args.tarball, console)
            console.print(f"loaded {len(loaded)} images from {args.tarball}")
        return EXIT_OK
    request = RunRequest(
        servers=args.server,
        clients=args.client,
        tests=args.test,
        jobs=args.jobs,
        timeout_s=args.timeout,
        keep_containers=args.keep_containers,
        build=not args.no_build,
        capture=not args.no_capture,
        screenshot=not args.no_screenshot,
        retries=args.retries,
        shard=args.shard,
    )
    results, run_dir = run_matrix(with_images(matrix, args.image), request, console)
    print_summary(results, run_dir, console)
    if args.check_expectations:
        return _gate(results, console)
    return EXIT_CELLS_FAILED if any(r.outcome.is_failure for r in results.cells) else EXIT_OK


def _report(args: argparse.Namespace, console: Console) -> int:
    source = args.results
    if source is None:
        source = load_matrix(args.file).settings.results_dir / "latest"
    results = load_results(source)
    if args.format == "json":
        text = json_text(results)
    elif args.format == "html":
        text = render_html(results)
    elif args.format == "junit":
        text = render_junit(results)
    else:
        text = render_markdown(results)
    if args.diff:
        if args.format != "markdown":
            raise ConfigError("--diff goes with --format markdown")
        old = load_results(args.diff)
        text += "\n" + render_diff(diff_runs(old, results), old, results)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _gate(results: RunResults, console: Console) -> int:
    """1 only on a deviation from the expectations: a new failure, or a fixed known one."""
    deviations = [r for r in results.cells if r.deviates]
    for result in deviations:
        known = (
            f"expected {result.expected.outcome.value}"
            if result.expected
            else "not in expectations.yaml"
        )
        console.print(
            f"deviation: {result.cell.key}: {result.outcome.value} ({known}): {result.reason}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"{len(deviations)} deviation(s) from the expectations")
    return EXIT_CELLS_FAILED if deviations else EXIT_OK


def _readme(args: argparse.Namespace, console: Console) -> int:
    try:
        text = args.readme.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{args.readme}: cannot read ({error})") from None
    updated = update_readme(text, load_results(args.results))
    if updated is None:
        console.print(f"{args.readme}: verdicts unchanged, left as it is")
    else:
        write_atomically(args.readme, updated)
        console.print(f"{args.readme}: grid updated")
    return EXIT_OK


def _list(matrix: Matrix, console: Console) -> None:
    table = Table(title="implementations", title_justify="left")
    for column in ("name", "image", "server", "client", "pinned versions"):
        table.add_column(column)
    for implementation in matrix.implementations:
        source = (
            implementation.image
            or f"build {implementation.build_context} → "
            f"{implementation.image_reference(matrix.settings.image_prefix)}"
        )
        table.add_row(
            implementation.name,
            source,
            ", ".join(implementation.server_tests) or "—",
            ", ".join(implementation.client_tests) or "—",
            ", ".join(f"{k} {v}" for k, v in implementation.versions) or "—",
        )
    console.print(table)
    tests = Table(title="test cases", title_justify="left")
    for column in ("name", "timeout", "description"):
        tests.add_column(column)
    for test in matrix.tests:
        tests.add_row(test.name, f"{test.timeout_s:g}s", test.description)
    console.print(tests)
