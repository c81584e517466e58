"""Stopping a run, however it is stopped, leaves no container or network behind; an engine
that goes away mid-run ends it with one clear line, partial results and exit code 3."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.engine.client import DockerEngine
from orchestrator.errors import EngineUnavailable, Interrupted
from orchestrator.ports import RUN_LABEL
from tests.integration.conftest import REPO, SETTINGS, fixture, matrix, real

MATRIX = matrix(
    {"peerconnection": 120, "datachannel": 120},
    real("aiortc", "server: all"),
    fixture("hanging", "client: all", "/fixtures/hanging-client.sh {server_url}"),
)
STOP_WITHIN_S = 15


def start_run_mid_way(
    tmp_path: Path,
    engine: DockerEngine,
    environment: dict[str, str] | None = None,
    wrapper: tuple[str, ...] = (),
) -> tuple[subprocess.Popen[str], str]:
    """A run in a child process, returned once its first cells' containers exist."""
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(SETTINGS + MATRIX)
    process = subprocess.Popen(
        [*wrapper, sys.executable, "-m", "orchestrator", "-f", str(matrix), "run", "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env={**os.environ, **(environment or {})},
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


def stopped_cleanly(process: subprocess.Popen[str], run_id: str, engine: DockerEngine) -> str:
    started = time.monotonic()
    output, _ = process.communicate(timeout=60)
    assert time.monotonic() - started < STOP_WITHIN_S, output
    assert process.returncode == Interrupted.exit_code, output
    assert engine.count_labelled(f"{RUN_LABEL}={run_id}") == (0, 0)
    assert "Traceback" not in output
    return output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_removes_every_labelled_resource(
    tmp_path: Path, engine: DockerEngine, signum: int
) -> None:
    process, run_id = start_run_mid_way(tmp_path, engine)
    process.send_signal(signum)
    stopped_cleanly(process, run_id, engine)
    document = json.loads((tmp_path / "results" / run_id / "results.json").read_text())
    assert document["run"]["status"] == "interrupted"
    assert "not-run" in {c["outcome"] for c in document["cells"]}
    assert not (tmp_path / "results" / "latest").exists()  # an incomplete run is not latest


def test_sigint_stops_a_run_started_in_the_background_by_a_script(
    tmp_path: Path, engine: DockerEngine
) -> None:
    # A shell starting `cmd &` without job control sets SIGINT to "ignore" for it.
    ignoring = ("sh", "-c", 'trap "" INT; exec "$@"', "sh")
    process, run_id = start_run_mid_way(tmp_path, engine, wrapper=ignoring)
    process.send_signal(signal.SIGINT)
    stopped_cleanly(process, run_id, engine)


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


class SocketProxy:
    """A unix socket forwarding to the real engine's, that can be made to vanish: to the
    orchestrator behind it, exactly what a stopped daemon or a removed socket looks like."""

    def __init__(self, path: Path, target: str = "/var/run/docker.sock") -> None:
        self.path, self.target = path, target
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def vanish(self) -> None:
        self.listener.close()
        self.path.unlink()
        for end in self.open:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def test_the_engine_going_away_mid_run_ends_it_with_one_line_and_exit_3(
    tmp_path: Path, engine: DockerEngine
) -> None:
    proxy = SocketProxy(tmp_path / "docker.sock")
    process, run_id = start_run_mid_way(
        tmp_path, engine, environment={"DOCKER_HOST": f"unix://{proxy.path}"}
    )
    proxy.vanish()
    try:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == EngineUnavailable.exit_code, output
        assert "Traceback" not in output
        last = output.strip().splitlines()[-1]
        assert last.startswith("error: the Docker engine"), last
        document = json.loads((tmp_path / "results" / run_id / "results.json").read_text())
        assert document["run"]["status"] == "aborted"
        assert "Docker engine" in document["run"]["stop_reason"]
        assert all(
            c["outcome"] == "not-run" or "ConnectionError" not in c["reason"]
            for c in document["cells"]
        )
        assert any(c["outcome"] == "not-run" for c in document["cells"])
    finally:
        engine.remove_labelled(f"{RUN_LABEL}={run_id}")


def test_two_runs_at_once_in_one_checkout_keep_to_themselves(
    tmp_path: Path, engine: DockerEngine
) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(SETTINGS + matrix({"datachannel": 30}, real("aiortc")))
    command = [sys.executable, "-m", "orchestrator", "-f", str(path), "run", "--no-screenshot"]
    runs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    outputs = [p.communicate(timeout=600)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    ids = [re.search(r"run (\S+):", o).group(1) for o in outputs]  # type: ignore[union-attr]
    assert ids[0] != ids[1]
    for run_id in ids:
        document = json.loads((tmp_path / "results" / run_id / "results.json").read_text())
        assert document["run"]["status"] == "complete"
        assert {c["outcome"] for c in document["cells"]} == {"passed"}
        assert engine.count_labelled(f"{RUN_LABEL}={run_id}") == (0, 0)
    assert (tmp_path / "results" / "latest").resolve().name in ids
