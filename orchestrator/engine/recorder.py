"""The run's packet recorder: one container on the host's network (NET_RAW, to listen on
bridges; CHOWN, to hand its files to us), steered through files in a folder of the run
(images/capture/record.py). Starting and stopping a cell's recording costs no Docker
call at all."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from orchestrator.engine.errors import Health
from orchestrator.ports import Cancelled, Capture, CaptureBudget

POLL_INTERVAL_S = 0.01
STOP_TIMEOUT_S = 15.0


class FileRecording:
    """One bridge's recording (the runner's Recorder)."""

    def __init__(self, control: Path, bridge: str, health: Health) -> None:
        self.base = control / bridge
        self.health = health
        self.collected = False

    def start(self, budget: CaptureBudget) -> None:
        order = {
            "full": budget.full_bytes,
            "headers": budget.headers_bytes,
            "limit": budget.limit_bytes,
        }
        partial = self.base.with_suffix(".start.part")
        partial.write_text(json.dumps(order))
        partial.rename(self.base.with_suffix(".start"))

    def wait_ready(self, timeout_s: float, cancel: threading.Event) -> bool:
        return _wait_for(self.base.with_suffix(".listening"), timeout_s, cancel, self.health)

    def stop(self, destination: Path) -> Capture | None:
        """Ask for the file to be closed; take it once its status is written."""
        stop = self.base.with_suffix(".stop")
        stop.write_text("")
        status_file = self.base.with_suffix(".json")
        if not _wait_for(status_file, STOP_TIMEOUT_S, threading.Event(), self.health):
            return None
        self.collected = True
        status = json.loads(status_file.read_text() or "{}")
        pcap = self.base.with_suffix(".pcap")
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(pcap, destination)
        for leftover in (status_file, self.base.with_suffix(".listening")):
            leftover.unlink(missing_ok=True)
        return Capture(
            destination,
            destination.stat().st_size,
            status.get("full_bytes"),
            bool(status.get("stopped_at_limit")),
            int(status.get("dropped") or 0),
            int(status.get("snapped") or 0),
        )

    def abandon(self) -> None:
        """The cell ended without collecting (an error): stop and forget the files."""
        if self.collected:
            return
        if not self.base.with_suffix(".json").exists():
            self.base.with_suffix(".stop").write_text("")
            _wait_for(
                self.base.with_suffix(".json"), STOP_TIMEOUT_S, threading.Event(), self.health
            )
        for suffix in (".pcap", ".json", ".listening", ".start", ".stop"):
            self.base.with_suffix(suffix).unlink(missing_ok=True)


class FileRecorders:
    """What a run's recorder offers: a recording per bridge, as a context manager."""

    def __init__(self, control: Path, health: Health) -> None:
        self.control = control
        self.health = health

    @contextlib.contextmanager
    def record(self, bridge: str, budget: CaptureBudget) -> Iterator[FileRecording]:
        recording = FileRecording(self.control, bridge, self.health)
        recording.start(budget)
        try:
            yield recording
        finally:
            recording.abandon()


def _wait_for(path: Path, timeout_s: float, cancel: threading.Event, health: Health) -> bool:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() >= deadline or health.lost is not None:
            return False
        if cancel.wait(POLL_INTERVAL_S):
            raise Cancelled
    return True


def recorder_options(
    image: str, control: Path, labels: Mapping[str, str], name: str
) -> dict[str, Any]:
    """How the recorder container is created."""
    return {
        "image": image,
        "command": ["serve", "/control", str(os.getuid()), str(os.getgid())],
        "name": name,
        "labels": dict(labels),
        "network_mode": "host",
        "cap_drop": ["ALL"],
        "cap_add": ["NET_RAW", "CHOWN"],
        "security_opt": ["no-new-privileges"],
        "volumes": {str(control.resolve()): {"bind": "/control", "mode": "rw"}},
        "mem_limit": "1g",
        "pids_limit": 256,
        # Under load the recorder must not wait for CPU behind the peers (a 16 MiB
        # transfer is ~14,000 packets in 2-4 s): eight times a container's default weight.
        "cpu_shares": 8192,
    }
