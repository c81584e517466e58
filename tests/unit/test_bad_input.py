"""Every kind of bad input the tool can be given: one line on stderr naming the file, the
key and what is expected; exit code 2; nothing written. Run through the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.imageref import is_valid, split
from tests.unit.conftest import VALID

MATRIX = VALID.replace("  jobs: 2\n", "  jobs: 2\n  results_dir: out\n")


def edit(old: str, new: str) -> str:
    assert old in MATRIX, old
    return MATRIX.replace(old, new, 1)


# (what, matrix.yaml text, extra files {path: text}, arguments after -f, expected message)
CASES = [
    ("YAML syntax", "tests: [unclosed\n", {}, ["list"], r"matrix.yaml:2: not valid YAML"),
    (
        "unknown key, deep",
        edit("      client: [datachannel]", "      client: [datachannel]\n      clent: all"),
        {},
        ["list"],
        r"implementations\.beta\.roles\.clent: unknown key \(did you mean 'client'\?\)",
    ),
    (
        "wrong type",
        edit("    timeout: 10", "    timeout: ten"),
        {},
        ["list"],
        r"tests\.peerconnection\.timeout: expected seconds, got a string",
    ),
    ("jobs 0", edit("  jobs: 2", "  jobs: 0"), {}, ["list"], r"settings\.jobs: must be at least 1"),
    (
        "jobs absurd",
        edit("  jobs: 2", "  jobs: 5000"),
        {},
        ["list"],
        r"settings\.jobs: must be at least 1 and at most 64, got 5000",
    ),
    (
        "retries absurd",
        edit("  jobs: 2", "  jobs: 2\n  retries: 100"),
        {},
        ["list"],
        r"settings\.retries: .*at most 5",
    ),
    (
        "zero timeout",
        edit("    timeout: 10", "    timeout: 0"),
        {},
        ["list"],
        r"tests\.peerconnection\.timeout: must be greater than 0",
    ),
    (
        "negative ready timeout",
        edit("  jobs: 2", "  jobs: 2\n  server_ready_timeout: -5"),
        {},
        ["list"],
        r"settings\.server_ready_timeout: must be greater than 0",
    ),
    (
        "reserved name",
        edit("  beta:\n", "  capture:\n"),
        {},
        ["list"],
        r"implementations\.capture: 'capture' is the name of one of the tool's own images",
    ),
    (
        "build folder missing",
        edit("    build: images/alpha", "    build: images/gone"),
        {},
        ["list"],
        r"implementations\.alpha\.build: .*images/gone is not a directory",
    ),
    (
        "both build and image",
        edit("    build: images/alpha", "    build: images/alpha\n    image: x:1"),
        {},
        ["list"],
        r"implementations\.alpha: needs exactly one of 'build'",
    ),
    (
        "bad image reference",
        edit("    image: example.org/beta:2", "    image: Example Beta"),
        {},
        ["list"],
        r"implementations\.beta\.image: 'Example Beta' is not a valid image reference",
    ),
    (
        "expectations named but missing",
        edit("  jobs: 2", "  jobs: 2\n  expectations: known.yaml"),
        {},
        ["list"],
        r"known\.yaml: no such expectations file",
    ),
    (
        "unknown scenario in expectations",
        MATRIX,
        {"expectations.yaml": "datachannel/alpha/beta@nat-clinet: {outcome: failed, reason: x}\n"},
        ["list"],
        r"unknown scenario 'nat-clinet'",
    ),
    (
        "results_dir is a file",
        MATRIX,
        {"out": "not a folder\n"},
        ["run", "--no-build"],
        r"settings\.results_dir: .*out exists and is not a directory",
    ),
    (
        "unknown server",
        MATRIX,
        {},
        ["run", "-s", "alpah"],
        r"-s/--server: unknown implementation 'alpah' \(did you mean 'alpha'\?\)",
    ),
    (
        "unknown test",
        MATRIX,
        {},
        ["run", "-t", "datachanel"],
        r"-t/--test: unknown test case 'datachanel' \(did you mean 'datachannel'\?\)",
    ),
    ("empty selection", MATRIX, {}, ["run", "-s", ""], r"-s/--server: empty selection"),
    ("empty client selection", MATRIX, {}, ["run", "-c", ","], r"-c/--client: empty selection"),
    ("jobs on the command line", MATRIX, {}, ["run", "-j", "0"], r"must be at least 1"),
    ("timeout on the command line", MATRIX, {}, ["run", "--timeout", "-3"], r"greater than 0"),
    (
        "image override of an unknown name",
        MATRIX,
        {},
        ["run", "--image", "gamma=x:1"],
        r"--image: unknown implementation 'gamma'",
    ),
    (
        "image override with a bad reference",
        MATRIX,
        {},
        ["run", "--image", "alpha=::"],
        r"--image: '::' is not a valid image reference",
    ),
]


@pytest.mark.parametrize(
    ("text", "files", "arguments", "pattern"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    files: dict[str, str],
    arguments: list[str],
    pattern: str,
) -> None:
    for context in ("images/alpha", "images/base", "images/capture", "images/screenshot"):
        (tmp_path / context).mkdir(parents=True)
        (tmp_path / context / "Dockerfile").write_text("FROM scratch\n")
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(text)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["-f", str(matrix), *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("error: ")
    assert "Traceback" not in captured.err
    assert re.search(pattern, captured.err), captured.err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_image_references_with_a_registry_port_are_understood() -> None:
    assert is_valid("registry.local:5000/team/peer:1.2")
    assert split("registry.local:5000/team/peer:1.2") == ("registry.local:5000/team/peer", "1.2")
    assert split("registry.local:5000/team/peer") == ("registry.local:5000/team/peer", "latest")
    assert split("debian:trixie") == ("debian", "trixie")
    assert not is_valid("UPPER/case")
