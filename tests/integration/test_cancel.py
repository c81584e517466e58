"""Ctrl-C in the middle of a run leaves no container or network behind."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.cli import main
from orchestrator.engine.client import DockerEngine
from orchestrator.errors import Interrupted
from orchestrator.ports import RUN_LABEL
from tests.integration.conftest import REPO, SETTINGS, fixture, matrix, real

MATRIX = matrix(
    {"peerconnection": 120, "datachannel": 120},
    real("aiortc", "server: all"),
    fixture("hanging", "client: all", "/fixtures/hanging-client.sh {server_url}"),
)


def start_run_mid_way(tmp_path: Path, engine: DockerEngine) -> tuple[subprocess.Popen[str], str]:
    """A run in a child process, returned once its first cells' containers exist."""
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(SETTINGS + MATRIX)
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "-f", str(matrix), "run", "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    assert process.stdout is not None
    run_id = None
    for line in process.stdout:  # the first line names the run
        found = re.match(r"run (\S+):", line)
        if found:
            run_id = found.group(1)
            break
    assert run_id, "the run never announced its id"
    deadline = time.monotonic() + 300  # builds may be cold
    while engine.count_labelled(f"{RUN_LABEL}={run_id}")[0] < 4:  # two cells under way
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "cells never started"
        time.sleep(0.5)
    return process, run_id


def test_sigint_mid_run_removes_every_labelled_resource(
    tmp_path: Path, engine: DockerEngine
) -> None:
    process, run_id = start_run_mid_way(tmp_path, engine)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == Interrupted.exit_code, output
    assert engine.count_labelled(f"{RUN_LABEL}={run_id}") == (0, 0)
    document = json.loads((tmp_path / "results" / run_id / "results.json").read_text())
    assert document["run"]["status"] == "interrupted"


def test_clean_reaps_what_a_killed_run_left(tmp_path: Path, engine: DockerEngine) -> None:
    process, run_id = start_run_mid_way(tmp_path, engine)
    process.kill()  # SIGKILL: no cleanup at all
    process.communicate(timeout=30)
    label = f"{RUN_LABEL}={run_id}"
    containers, networks = engine.count_labelled(label)
    assert containers >= 4
    assert networks >= 2
    assert main(["-f", str(tmp_path / "matrix.yaml"), "clean", "--run", run_id]) == 0
    assert engine.count_labelled(label) == (0, 0)
