"""The nightly workflow cannot run here; this keeps each of its steps something that can."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from orchestrator.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github/workflows/nightly.yml"


def steps() -> list[dict[str, Any]]:
    document = yaml.safe_load(WORKFLOW.read_text())
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def commands() -> list[list[str]]:
    """Every shell command line of every `run:` step, split into words."""
    lines = []
    for step in steps():
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            for command in re.split(r"\s*(?:&&|\|\||;|\bthen\b|\bif\b)\s*", line):
                if command.strip() and not command.strip().startswith("#"):
                    lines.append(shlex.split(command, comments=True))
    return lines


def test_every_cli_command_in_the_workflow_exists_with_its_options() -> None:
    parser = build_parser()
    used = [
        words[words.index(w) + 1 :]
        for words in commands()
        for w in words
        if w.endswith("bin/webrtc-interop")
    ]
    assert len(used) >= 8
    for words in used:
        arguments = words[: words.index(">>")] if ">>" in words else words
        # A word that is only a shell variable expands to options we cannot know here;
        # an expression inside a word (a shard "1/4") becomes a plausible value.
        concrete = [
            re.sub(r"\$\{\{[^}]*\}\}|\$\{?\w+\}?", "1", a)
            for a in arguments
            if not re.fullmatch(r"\$\{[^}]*\}|\$\w+", a)
        ]
        parsed = parser.parse_args(concrete)  # raises ConfigError on a wrong flag
        assert isinstance(parsed, argparse.Namespace)


def test_every_make_target_in_the_workflow_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w.-]+):", makefile, flags=re.MULTILINE))
    used = {words[1] for words in commands() if words[:1] == ["make"]}
    assert used
    assert used <= targets, used - targets


def test_the_shard_list_matches_the_shard_count() -> None:
    document = yaml.safe_load(WORKFLOW.read_text())
    shards = document["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(document["env"]["SHARDS"]) + 1))


def test_pull_requests_publish_nothing() -> None:
    document = yaml.safe_load(WORKFLOW.read_text())
    publishing = [
        s
        for s in document["jobs"]["publish"]["steps"]
        if "README" in s.get("name", "") or "Pages" in s.get("name", "")
    ]
    assert publishing
    for step in publishing:
        assert "github.event_name != 'pull_request'" in step["if"]
    assert "github.event_name != 'pull_request'" in document["jobs"]["pages"]["if"]


def test_third_party_actions_are_pinned_by_commit() -> None:
    uses = [step["uses"] for step in steps() if "uses" in step]
    assert uses
    for reference in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", reference), reference


def test_every_job_asks_only_for_the_permissions_it_needs() -> None:
    document = yaml.safe_load(WORKFLOW.read_text())
    assert document["permissions"] == {}
    writers = set()
    for name, job in document["jobs"].items():
        assert "permissions" in job, f"job {name} has no permissions block"
        if "write" in job["permissions"].values():
            writers.add(name)
    assert writers == {"publish", "pages"}


def test_no_step_swallows_the_tool_s_exit_code() -> None:
    for step in steps():
        script = step.get("run", "")
        for line in script.splitlines():
            if "webrtc-interop" in line:
                assert "|| echo" not in line, line
                assert "|| true" not in line, line
    shard = next(s for s in steps() if "--shard" in s.get("run", ""))
    assert 'if [ "$status" -gt 1 ]' in shard["run"]
    assert 'exit "$status"' in shard["run"]
