"""The subcommands: each one's arguments and its handler, registered in COMMANDS."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orchestrator.app import build_images, clean, load_images, merge_runs, save_images
from orchestrator.codec import json_text, load_results
from orchestrator.config import Matrix, load_matrix, with_images
from orchestrator.engine.client import connect_for
from orchestrator.errors import ConfigError
from orchestrator.merge import diff_runs
from orchestrator.planner import Selection, choose_names
from orchestrator.readme import update_readme
from orchestrator.records import RunResults
from orchestrator.render.html import render_html
from orchestrator.render.junit import render_junit
from orchestrator.render.markdown import render_diff, render_markdown
from orchestrator.reports import print_summary
from orchestrator.results import write_atomically
from orchestrator.runs import RunRequest, run_matrix

EXIT_OK, EXIT_CELLS_FAILED = 0, 1
REPORT_FORMATS = ("markdown", "json", "html", "junit")
MAX_CLI_JOBS, MAX_CLI_RETRIES, MAX_CLI_TIMEOUT_S = 64, 5, 3600.0

Handler = Callable[[argparse.Namespace, Console], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Handler


# -- argument types ---------------------------------------------------------------


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be at least {low} and at most {high}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= MAX_CLI_TIMEOUT_S:
        raise argparse.ArgumentTypeError(
            f"must be greater than 0 and at most {MAX_CLI_TIMEOUT_S:g}, got {value:g}"
        )
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


# -- run ----------------------------------------------------------------------------


def _run_arguments(run: argparse.ArgumentParser) -> None:
    for short, long, what in (
        ("-s", "--server", "servers"),
        ("-c", "--client", "clients"),
        ("-t", "--test", "test cases"),
    ):
        run.add_argument(short, long, type=_names, help=f"only these {what} (comma-separated)")
    run.add_argument(
        "--scenario", type=_names, help="only these network scenarios (comma-separated)"
    )
    run.add_argument(
        "--all",
        action="store_true",
        help="everything in matrix.yaml, not only the default set of implementations, "
        "test cases and scenarios",
    )
    run.add_argument(
        "-j",
        "--jobs",
        type=_bounded_int(1, MAX_CLI_JOBS),
        help="cells run in parallel (default: settings.jobs)",
    )
    run.add_argument(
        "--timeout", type=_seconds, help="override every test case's client timeout (seconds)"
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
        type=_bounded_int(0, MAX_CLI_RETRIES),
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
    run.add_argument("--no-screenshot", action="store_true", help="skip results.png")
    run.add_argument(
        "--no-capture",
        action="store_true",
        help="no packet capture, so verdicts are not checked against the wire",
    )
    run.add_argument(
        "--no-build", action="store_true", help="use the images already built instead of building"
    )


def _run(args: argparse.Namespace, console: Console) -> int:
    matrix = with_images(load_matrix(args.file), args.image)
    request = RunRequest(
        selection=Selection(args.server, args.client, args.test, args.scenario, args.all),
        jobs=args.jobs,
        timeout_s=args.timeout,
        keep_containers=args.keep_containers,
        build=not args.no_build,
        capture=not args.no_capture,
        screenshot=not args.no_screenshot,
        retries=args.retries,
        shard=args.shard,
    )
    results, run_dir = run_matrix(matrix, request, console)
    print_summary(results, run_dir, console)
    if args.check_expectations:
        return _gate(results, console)
    return EXIT_CELLS_FAILED if any(r.outcome.is_failure for r in results.cells) else EXIT_OK


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
            markup=False,
        )
    console.print(f"{len(deviations)} deviation(s) from the expectations", markup=False)
    return EXIT_CELLS_FAILED if deviations else EXIT_OK


# -- results ------------------------------------------------------------------------


def _report_arguments(report: argparse.ArgumentParser) -> None:
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


def _report(args: argparse.Namespace, console: Console) -> int:
    if args.diff and args.format != "markdown":
        raise ConfigError("--diff goes with --format markdown")
    source = args.results or load_matrix(args.file).settings.results_dir / "latest"
    results = load_results(source)
    renderers: dict[str, Callable[[RunResults], str]] = {
        "json": json_text,
        "html": render_html,
        "junit": render_junit,
        "markdown": render_markdown,
    }
    text = renderers[args.format](results)
    if args.diff:
        old = load_results(args.diff)
        text += "\n" + render_diff(diff_runs(old, results), old, results)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _two_runs(diff: argparse.ArgumentParser) -> None:
    diff.add_argument("old", type=Path, help="the older results.json or run folder")
    diff.add_argument("new", type=Path, help="the newer results.json or run folder")


def _diff(args: argparse.Namespace, console: Console) -> int:
    old, new = load_results(args.old), load_results(args.new)
    sys.stdout.write(render_diff(diff_runs(old, new), old, new))
    return EXIT_OK


def _one_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="a results.json or run folder")


def _check(args: argparse.Namespace, console: Console) -> int:
    # Against today's expectations file, which may explain more than the run knew.
    matrix = load_matrix(args.file)
    results = load_results(args.results)
    cells = tuple(matrix.explained(r) for r in results.cells)
    return _gate(replace(results, cells=cells), console)


def _merge_arguments(merge: argparse.ArgumentParser) -> None:
    merge.add_argument("shards", type=Path, nargs="+", help="run folders or results.json files")


def _merge(args: argparse.Namespace, console: Console) -> int:
    results, run_dir = merge_runs(args.shards, load_matrix(args.file).settings.results_dir)
    print_summary(results, run_dir, console)
    return EXIT_OK


def _readme_arguments(readme: argparse.ArgumentParser) -> None:
    _one_run(readme)
    readme.add_argument("--readme", type=Path, default=Path("README.md"))


def _readme(args: argparse.Namespace, console: Console) -> int:
    try:
        text = args.readme.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{args.readme}: cannot read ({error})") from None
    updated = update_readme(text, load_results(args.results))
    if updated is None:
        console.print(f"{args.readme}: verdicts unchanged, left as it is", markup=False)
    else:
        write_atomically(args.readme, updated)
        console.print(f"{args.readme}: grid updated", markup=False)
    return EXIT_OK


# -- images and housekeeping ----------------------------------------------------------


def _build_arguments(build: argparse.ArgumentParser) -> None:
    build.add_argument("names", nargs="*", help="implementations (default: all)")
    build.add_argument(
        "--cache-from-tags",
        action="store_true",
        help="reuse layers of the images already tagged (after `images load` in CI)",
    )


def _build(args: argparse.Namespace, console: Console) -> int:
    matrix = load_matrix(args.file)
    names = choose_names(
        args.names or None,
        matrix.implementation_names,
        matrix.implementation_names,
        "implementation",
        "build",
    )
    build_images(matrix, names, console, args.cache_from_tags)
    return EXIT_OK


def _images_arguments(images: argparse.ArgumentParser) -> None:
    images.add_argument("action", choices=("save", "load"))
    images.add_argument("tarball", type=Path)


def _images(args: argparse.Namespace, console: Console) -> int:
    if args.action == "save":
        saved = save_images(load_matrix(args.file), args.tarball, console)
        console.print(f"saved {len(saved)} images to {args.tarball}", markup=False)
    else:
        loaded = load_images(args.tarball, console)
        console.print(f"loaded {len(loaded)} images from {args.tarball}", markup=False)
    return EXIT_OK


def _list(args: argparse.Namespace, console: Console) -> int:
    matrix = load_matrix(args.file)
    console.print(_implementations_table(matrix))
    tests = Table(title="test cases", title_justify="left")
    for column in ("name", "timeout", "default", "description"):
        tests.add_column(column)
    for test in matrix.tests:
        tests.add_row(test.name, f"{test.timeout_s:g}s", _yes(test.default), test.description)
    console.print(tests)
    scenarios = Table(title="scenarios", title_justify="left")
    for column in ("name", "default", "test cases", "description"):
        scenarios.add_column(column)
    for scenario in matrix.scenarios:
        scenarios.add_row(
            scenario.name,
            _yes(scenario.default),
            ", ".join(scenario.tests),
            scenario.description,
        )
    console.print(scenarios)
    return EXIT_OK


def _implementations_table(matrix: Matrix) -> Table:
    table = Table(title="implementations", title_justify="left")
    for column in ("name", "image", "default", "server", "client", "pinned versions"):
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
            _yes(implementation.default),
            ", ".join(implementation.server_tests) or "—",
            ", ".join(implementation.client_tests) or "—",
            ", ".join(f"{k} {v}" for k, v in implementation.versions) or "—",
        )
    return table


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _clean_arguments(cleaning: argparse.ArgumentParser) -> None:
    cleaning.add_argument("--run", help="only this run id")


def _clean(args: argparse.Namespace, console: Console) -> int:
    containers, networks = clean(console, args.run)
    console.print(f"removed {containers} containers and {networks} networks", markup=False)
    return EXIT_OK


def _engine(args: argparse.Namespace, console: Console) -> int:
    engine = connect_for(console, 1)
    console.print(f"Docker engine {engine.server_version()} answers", markup=False)
    return EXIT_OK


def _nothing(parser: argparse.ArgumentParser) -> None:
    return None


COMMANDS = (
    Command("run", "build the images and run the matrix", _run_arguments, _run),
    Command("build", "build implementation images", _build_arguments, _build),
    Command("images", "save or load all images as one tar (CI)", _images_arguments, _images),
    Command("list", "implementations, roles, test cases, scenarios, pins", _nothing, _list),
    Command("report", "render a results.json again", _report_arguments, _report),
    Command("merge", "combine shard runs into one run", _merge_arguments, _merge),
    Command("diff", "what changed between two runs", _two_runs, _diff),
    Command("check", "exit 1 if a run deviates from expectations.yaml", _one_run, _check),
    Command(
        "readme", "update README.md's grid block if a verdict changed", _readme_arguments, _readme
    ),
    Command("clean", "remove containers and networks runs left", _clean_arguments, _clean),
    Command(
        "engine", "make sure a Docker engine answers (start one if allowed)", _nothing, _engine
    ),
)
