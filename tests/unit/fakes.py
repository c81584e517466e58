"""A hand-written in-memory engine with the runner's Engine shape, for unit tests only."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from orchestrator.errors import EngineError
from orchestrator.ports import Cancelled, ContainerSpec


@dataclass
class Script:
    """How a fake container behaves."""

    listens: bool = True
    exit_code: int | None = 0  # None: runs until killed
    output: str = ""


@dataclass
class FakeContainer:
    spec: ContainerSpec
    script: Script
    killed: bool = False
    removed: bool = False

    def address(self) -> str:
        return "10.0.0.2" if self.spec.aliases else "10.0.0.3"

    def exit_code(self) -> int | None:
        return 137 if self.killed else self.script.exit_code

    def accepts_tcp(self, port: int) -> bool:
        return self.script.listens and port == 8080

    def wait_exit(self, timeout_s: float, cancel: threading.Event) -> int | None:
        if self.script.exit_code is not None:
            return self.script.exit_code
        if cancel.wait(timeout_s):
            raise Cancelled
        return None

    def kill(self) -> None:
        self.killed = True

    def logs(self) -> bytes:
        return self.script.output.encode()


@dataclass
class FakeRecorder:
    pcap: bytes
    ready: bool = True
    removed: bool = False

    def wait_ready(self, timeout_s: float, cancel: threading.Event) -> bool:
        return self.ready

    def stop(self) -> bytes:
        return self.pcap


@dataclass
class FakeEngine:
    scripts: Mapping[str, Script]  # image reference → behaviour
    fail_create: str | None = None  # image reference whose creation fails
    pcap: bytes = b""  # what every capture records
    recorders: list[FakeRecorder] = field(default_factory=list)
    containers: list[FakeContainer] = field(default_factory=list)
    networks_open: set[str] = field(default_factory=set)
    networks_created: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def network(self, name: str, labels: Mapping[str, str], keep: bool = False) -> Iterator[str]:
        with self.lock:
            assert name not in self.networks_open, "network names must be unique"
            self.networks_open.add(name)
            self.networks_created.append(name)
        try:
            yield name
        finally:
            with self.lock:
                self.networks_open.discard(name)

    @contextlib.contextmanager
    def container(self, spec: ContainerSpec, keep: bool = False) -> Iterator[FakeContainer]:
        if spec.image == self.fail_create:
            raise EngineError(f"cannot create container {spec.name}: no space left")
        assert spec.network in self.networks_open, "containers live inside their network"
        container = FakeContainer(spec, self.scripts[spec.image])
        with self.lock:
            self.containers.append(container)
        try:
            yield container
        finally:
            container.removed = True

    @contextlib.contextmanager
    def capture(
        self, target: str, name: str, image: str, labels: Mapping[str, str]
    ) -> Iterator[FakeRecorder]:
        assert any(c.spec.name == target and not c.removed for c in self.containers)
        recorder = FakeRecorder(self.pcap)
        self.recorders.append(recorder)
        try:
            yield recorder
        finally:
            recorder.removed = True

    def leftovers(self) -> list[str]:
        containers = [c.spec.name for c in self.containers if not c.removed]
        recorders = [f"recorder{i}" for i, r in enumerate(self.recorders) if not r.removed]
        return containers + recorders + sorted(self.networks_open)
