"""One attempt at one cell, as a short sequence of named, timed steps:

topology up → recorder on → server → ready → client → collect → teardown → verdict.

The attempt owns every resource it creates through one ExitStack, so they are released
however it ends; each step's duration goes into the result (`timings`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestrator.config import Matrix
from orchestrator.errors import EngineError
from orchestrator.judgement import Seen, judge
from orchestrator.model import (
    Cell,
    CellResult,
    Role,
)
from orchestrator.naming import cell_prefix, log_folder
from orchestrator.network.topology import CellScope, Topology, Wiring
from orchestrator.peerslots import UNITS_PER_SLOT, PeerSlots
from orchestrator.ports import (
    CELL_LABEL,
    ROLE_LABEL,
    RUN_LABEL,
    Cancelled,
    Capture,
    CaptureBudget,
    ContainerSpec,
    Engine,
    Output,
    Recorder,
    Recorders,
    RunningContainer,
)
from orchestrator.serving import END_SESSIONS_TIMEOUT_S, Served, ServerShare, reuse_stamp
from orchestrator.wire.signalling import RESET_PATH

POLL_INTERVAL_S = 0.1
CAPTURE_READY_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class AttemptContext:
    """What every attempt of a run shares."""

    engine: Engine
    matrix: Matrix
    images: Mapping[str, str]  # implementation name -> image id to run
    run_id: str
    run_dir: Path
    server_ready_timeout_s: float
    cancel: threading.Event
    topology: Callable[[str], Topology]  # scenario name -> its topology
    payload: Callable[[], bytes]
    timeout_override_s: float | None = None
    keep_containers: bool = False
    capture_image: str | None = None  # None: no packet capture, no verification
    recorders: Recorders | None = None  # the run's recorder (with capture_image)
    capture_budget: CaptureBudget = field(default_factory=CaptureBudget)
    # Cells whose peers may run at once (the run's `jobs`, a light test case's cell
    # taking half a slot); a cell tears down and is judged after giving its slot
    # back, so the next cell's peers start meanwhile.
    peer_slots: PeerSlots = field(default_factory=lambda: PeerSlots(64))

    def timeout_for(self, test: str) -> float:
        return self.timeout_override_s or self.matrix.test(test).timeout_s


class CellAttempt:
    def __init__(
        self, context: AttemptContext, cell: Cell, number: int, share: ServerShare | None = None
    ) -> None:
        self.context = context
        self.cell = cell
        self.number = number
        reusable = context.matrix.implementation(cell.server).reuse_server
        self.share = share if reusable and not context.keep_containers else None
        self.served: Served | None = None  # the shared server this attempt uses
        self.sessions_ended: float | None = None  # when it answered DELETE /sessions
        self.prefix = cell_prefix(context.run_id, cell, number)
        self.folder = log_folder(cell, number)
        self.labels = {RUN_LABEL: context.run_id, CELL_LABEL: self.prefix}
        self.payload = context.payload()
        self.specs = PeerSpecs(context, cell, number, self.payload, self.share is not None)
        self.seen = Seen(started=time.monotonic(), folder=self.folder)
        self.peers: list[tuple[Role, RunningContainer]] = []

    def run(self) -> CellResult:
        """Every step in order; the result of the attempt. Raises only Cancelled or
        EngineUnavailable (the caller turns anything else into an infra-error).

        Only the steps with peers running hold one of the run's peer slots: removing the
        containers and judging the capture overlap the next cell's peers."""
        with ExitStack() as stack:
            with self._peer_slot():
                try:
                    self._steps(stack)
                finally:
                    self._save_outputs()
            self._timed("teardown", stack.close)
        result: CellResult = self._timed(
            "analysis", judge, self.context, self.cell, self.payload, self.seen, self._keep
        )
        return replace(result, timings=tuple(self.seen.timings.items()))

    @contextlib.contextmanager
    def _peer_slot(self) -> Iterator[None]:
        slots, cancel = self.context.peer_slots, self.context.cancel
        units = 1 if self.context.matrix.light(self.cell) else UNITS_PER_SLOT
        if not slots.acquire(units, cancel=cancel):
            raise Cancelled
        self.seen.started = time.monotonic()  # a cell's duration excludes its wait
        try:
            yield
        finally:
            slots.release(units)

    def _steps(self, stack: ExitStack) -> None:
        served = self.share.live() if self.share else None
        if served is None:
            home = self.share.fresh() if self.share else stack  # where the server lives
            wiring = self._timed("network", self._topology_up, home)
            recorder = self._timed("capture", self._start_recorder, stack, wiring)
            server = self._timed("server_start", self._start, home, Role.SERVER, wiring)
            self.seen.not_ready = self._timed("server_ready", self._wait_ready, server, wiring)
            if self.share and self.seen.not_ready is None:
                served = self.share.adopt(wiring, server)
        else:
            wiring = self.seen.wiring = served.wiring
            server = served.server
            self.peers.append((Role.SERVER, server))
            recorder = self._timed("capture", self._start_recorder, stack, wiring)
            self.seen.notes.append(f"the server had served {served.cells} cell(s) before")
        self.served = served
        if self.seen.not_ready is None:
            self._timed("client", self._run_client, stack, wiring, server, recorder)
            if served is not None:
                self._timed("end_sessions", self._end_sessions, served)
        self._timed("collect", self._collect, recorder)

    # -- steps ----------------------------------------------------------------------

    def _topology_up(self, stack: ExitStack) -> Wiring:
        topology = self.context.topology(self.cell.scenario)
        scope = CellScope(self.context.engine, stack, self.prefix, self.labels, self.context.cancel)
        wiring = topology.up(scope)
        self.seen.wiring = wiring
        return wiring

    def _start_recorder(self, stack: ExitStack, wiring: Wiring) -> Recorder | None:
        recorders = self.context.recorders
        if recorders is None:
            return None
        return stack.enter_context(recorders.record(wiring.bridge, self.context.capture_budget))

    def _start(self, stack: ExitStack, role: Role, wiring: Wiring) -> RunningContainer:
        container = stack.enter_context(
            self.context.engine.container(self.specs.of(role, wiring), self.context.keep_containers)
        )
        self.peers.append((role, container))
        return container

    def _wait_ready(self, server: RunningContainer, wiring: Wiring) -> str | None:
        """None once the server accepts TCP on the contract port, else why not."""
        address, port = wiring.probe
        limit = self.context.server_ready_timeout_s
        deadline = time.monotonic() + limit
        while True:
            if self.context.engine.accepts_tcp(address, port):
                return None
            code = server.exit_code()
            if code is not None:
                return f"server exited with code {code} before listening on {port}"
            if time.monotonic() >= deadline:
                return f"server did not listen on {port} within {limit:g}s"
            if self.context.cancel.wait(POLL_INTERVAL_S):
                raise Cancelled

    def _run_client(
        self,
        stack: ExitStack,
        wiring: Wiring,
        server: RunningContainer,
        recorder: Recorder | None,
    ) -> None:
        if recorder is not None and not recorder.wait_ready(
            CAPTURE_READY_TIMEOUT_S, self.context.cancel
        ):
            raise EngineError("the packet capture did not start")
        client = self._start(stack, Role.CLIENT, wiring)
        self.seen.client_exit = client.wait_exit(
            self.context.timeout_for(self.cell.test), self.context.cancel
        )
        if self.seen.client_exit is None:
            client.kill()
        self.seen.server_exit = server.exit_code()

    def _end_sessions(self, served: Served) -> None:
        """Ask the shared server to end this cell's sessions before the capture stops
        (contract 1.1); one that cannot is not used again."""
        served.cells += 1
        address, port = served.wiring.probe
        failure = self.context.engine.delete(address, port, RESET_PATH, END_SESSIONS_TIMEOUT_S)
        self.sessions_ended = reuse_stamp()
        if failure is not None:
            assert self.share is not None
            self.share.spoil()
            self.seen.notes.append(f"the server is not reused: {failure}")

    def _collect(self, recorder: Recorder | None) -> None:
        if recorder is None:
            return
        destination = self.context.run_dir / self.folder / "capture.pcap"
        capture = self.seen.capture = recorder.stop(destination)
        if capture is None:
            return
        self.seen.logs.append(("capture", f"{self.folder}/capture.pcap"))
        self.seen.notes.extend(capture_notes(capture))

    # -- helpers --------------------------------------------------------------------

    def _save_outputs(self) -> None:
        """The client's output first (it has ended), then the server's (still running)."""
        for role, container in reversed(self.peers):
            self._save_output(role, container)

    def _save_output(self, role: Role, container: RunningContainer) -> None:
        output: Output = self._output(role, container)
        text = output.text.decode(errors="replace")
        if role is Role.CLIENT:
            self.seen.client_output = text
        else:
            self.seen.server_output = text
        if output.cut:
            self.seen.notes.append(f"the middle of the {role.value}'s output was cut")
        self._keep(role.value, f"{role.value}.log", output.text)

    def _output(self, role: Role, container: RunningContainer) -> Output:
        """A peer's output; of a shared server, only what it printed for this cell."""
        served = self.served
        if role is Role.CLIENT or served is None:
            return container.logs()
        until = self.sessions_ended or reuse_stamp()
        output = container.logs(since=served.output_from, until=until)
        served.output_from = until
        return output

    def _keep(self, key: str, filename: str, content: bytes | str) -> None:
        """Write one of the attempt's files and list it among its logs."""
        relative = f"{self.folder}/{filename}"
        path = self.context.run_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        self.seen.logs.append((key, relative))

    def _timed(self, step: str, action: Callable[..., Any], *args: object) -> Any:
        started = time.monotonic()
        try:
            return action(*args)
        finally:
            self.seen.timings[step] = round(time.monotonic() - started, 3)


@dataclass(frozen=True)
class PeerSpecs:
    """How an attempt's peers are started: image, place, command and environment."""

    context: AttemptContext
    cell: Cell
    number: int
    payload: bytes
    payload_per_offer: bool  # a shared server learns each cell's P from its offer URL

    def of(self, role: Role, wiring: Wiring) -> ContainerSpec:
        cell, context = self.cell, self.context
        prefix = cell_prefix(context.run_id, cell, self.number)
        name = cell.server if role is Role.SERVER else cell.client
        implementation = context.matrix.implementation(name)
        template = (
            implementation.server_command if role is Role.SERVER else implementation.client_command
        )
        server_url = wiring.server_url
        if self.payload_per_offer:
            server_url = f"{server_url}?payload={self.payload.hex()}"
        values = {"server_url": server_url, "server_host": wiring.server_host, "test": cell.test}
        return ContainerSpec(
            name=f"{prefix}.{role.value}",
            image=context.images[name],
            attachment=wiring.server if role is Role.SERVER else wiring.client,
            labels={RUN_LABEL: context.run_id, CELL_LABEL: prefix, ROLE_LABEL: role.value},
            command=tuple(part.format(**values) for part in template) if template else None,
            environment={
                "ROLE": role.value,
                "TEST_CASE": cell.test,
                "SERVER_URL": server_url,
                "TEST_TIMEOUT": f"{context.timeout_for(cell.test):g}",
                "TEST_PAYLOAD": self.payload.hex(),
                "TEST_ATTEMPT": str(self.number),
                **wiring.environment,
                **(wiring.server_environment if role is Role.SERVER else {}),
            },
            limits=implementation.limits,
        )


def capture_notes(capture: Capture) -> list[str]:
    """What the cell's reason must say about a capture that is not whole."""
    notes = []
    if capture.dropped:
        notes.append(f"the recorder lost {capture.dropped} packets (dropped by the kernel)")
    if capture.snapped:
        notes.append(
            f"the recorder kept only the start of {capture.snapped} packets "
            "longer than its snapshot length"
        )
    if capture.stopped_at_limit:
        notes.append(f"the capture stopped at its limit of {capture.size} bytes")
    elif capture.full_bytes is not None:
        notes.append(
            f"packets after the first {capture.full_bytes} bytes of the capture "
            "were kept as headers only"
        )
    return notes
