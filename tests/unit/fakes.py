"""A hand-written in-memory engine with the runner's Engine shape, for unit tests only."""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import EngineError
from orchestrator.model import CellResult, PlannedCell
from orchestrator.ports import Cancelled, Capture, CaptureBudget, ContainerSpec, NetworkSpec, Output
from orchestrator.runner import Event
from orchestrator.serving import Batch


@dataclass
class Script:
    """How a fake container behaves."""

    listens: bool = True
    exit_code: int | None = 0  # None: runs until killed
    output: str = ""
    cut: bool = False  # pretend the log was too long and its middle was cut


@dataclass
class FakeContainer:
    spec: ContainerSpec
    script: Script
    killed: bool = False
    removed: bool = False
    spans: list[tuple[float | None, float | None]] = field(default_factory=list)

    def address(self) -> str | None:
        return self.spec.attachment.ipv4

    def exit_code(self) -> int | None:
        return 137 if self.killed else self.script.exit_code

    def wait_exit(self, timeout_s: float, cancel: threading.Event) -> int | None:
        if self.script.exit_code is not None:
            return self.script.exit_code
        if cancel.wait(timeout_s):
            raise Cancelled
        return None

    def kill(self) -> None:
        self.killed = True

    def wait_output(self, marker: bytes, timeout_s: float, cancel: threading.Event) -> bool:
        return True

    def logs(self, since: float | None = None, until: float | None = None) -> Output:
        self.spans.append((since, until))
        return Output(self.script.output.encode(), self.script.cut)


PcapFor = Callable[[str, str], bytes]  # (server address, client address) -> pcap bytes


@dataclass
class FakeRecorder:
    pcap: bytes
    ready: bool = True
    removed: bool = False
    dropped: int = 0
    snapped: int = 0

    def wait_ready(self, timeout_s: float, cancel: threading.Event) -> bool:
        return self.ready

    def stop(self, destination: Path) -> Capture | None:
        if not self.pcap:
            return None
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(self.pcap)
        return Capture(destination, len(self.pcap), None, False, self.dropped, self.snapped)


@dataclass
class FakeEngine:
    scripts: Mapping[str, Script]  # image reference → behaviour
    fail_create: str | None = None  # image reference whose creation fails
    pcap_for: PcapFor | None = None  # what every capture records
    capture_dropped: int = 0  # what every recorder says the kernel dropped
    capture_snapped: int = 0  # how many packets every recorder says it kept cut
    recorders: list[FakeRecorder] = field(default_factory=list)
    containers: list[FakeContainer] = field(default_factory=list)
    networks_open: set[str] = field(default_factory=set)
    networks_created: list[NetworkSpec] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    deletes: list[tuple[str, str]] = field(default_factory=list)  # (address, path)
    delete_failure: str | None = None  # what every DELETE answers (None: 200)

    @contextlib.contextmanager
    def network(self, spec: NetworkSpec, keep: bool = False) -> Iterator[str]:
        with self.lock:
            assert spec.name not in self.networks_open, "network names must be unique"
            self.networks_open.add(spec.name)
            self.networks_created.append(spec)
        try:
            yield spec.name
        finally:
            with self.lock:
                self.networks_open.discard(spec.name)

    @contextlib.contextmanager
    def container(self, spec: ContainerSpec, keep: bool = False) -> Iterator[FakeContainer]:
        if spec.image == self.fail_create:
            raise EngineError(f"cannot create container {spec.name}: no space left")
        if spec.attachment.join:
            live = {c.spec.name for c in self.containers if not c.removed}
            assert spec.attachment.join in live, "a joined namespace's holder is running"
        else:
            assert spec.attachment.network in self.networks_open, "containers need a network"
        container = FakeContainer(spec, self.scripts[spec.image])
        with self.lock:
            self.containers.append(container)
        try:
            yield container
        finally:
            container.removed = True

    @contextlib.contextmanager
    def record(self, bridge: str, budget: CaptureBudget) -> Iterator[FakeRecorder]:
        """The engine doubles as the run's recorder (the runner's Recorders)."""
        network = next(n for n in self.networks_created if n.bridge == bridge)
        assert network.subnet is not None
        subnet = ipaddress.IPv4Network(network.subnet)
        server, client = str(subnet.network_address + 70), str(subnet.network_address + 10)
        pcap = self.pcap_for(server, client) if self.pcap_for else b""
        recorder = FakeRecorder(pcap, dropped=self.capture_dropped, snapped=self.capture_snapped)
        self.recorders.append(recorder)
        try:
            yield recorder
        finally:
            recorder.removed = True

    def accepts_tcp(self, address: str, port: int) -> bool:
        return any(
            c.address() == address and not c.removed and c.script.listens and port == 8080
            for c in self.containers
        )

    def delete(self, address: str, port: int, path: str, timeout_s: float) -> str | None:
        self.deletes.append((address, path))
        return self.delete_failure

    def analyse(
        self,
        image: str,
        folder: Path,
        arguments: list[str],
        labels: Mapping[str, str],
        timeout_s: float = 120,
    ) -> str:
        return ""

    def leftovers(self) -> list[str]:
        containers = [c.spec.name for c in self.containers if not c.removed]
        recorders = [f"recorder{i}" for i, r in enumerate(self.recorders) if not r.removed]
        return containers + recorders + sorted(self.networks_open)


def singly(cells: list[PlannedCell] | tuple[PlannedCell, ...]) -> list[Batch]:
    """Every cell a batch of its own."""
    return [Batch([planned]) for planned in cells]


def one_by_one(
    run_cell: Callable[[PlannedCell], CellResult],
) -> Callable[[Batch, Callable[[Event], None]], None]:
    """A batch runner (run_cells' shape) from a function that runs one cell."""

    def run_batch(batch: Batch, report: Callable[[Event], None]) -> None:
        while (planned := batch.take()) is not None:
            report(planned.cell)
            report(run_cell(planned))

    return run_batch
