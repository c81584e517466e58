"""Runs cells: one fresh internal network and a server/client pair per cell, in parallel.

Safety by construction: a cell owns every resource it creates (unique names, the
run label), releases them in `with` blocks however it ends, and turns any error
into its own result, so one broken cell never aborts the run.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from orchestrator.config import SERVER_PORT, Matrix
from orchestrator.errors import EngineError, InteropError, Interrupted
from orchestrator.evidence import CaptureUnreadable, verify
from orchestrator.model import (
    Attempt,
    Cell,
    CellResult,
    Outcome,
    PlannedCell,
    Role,
    Traffic,
    Verification,
)
from orchestrator.outcomes import Observation, classify, media_report, reconcile
from orchestrator.ports import (
    CELL_LABEL,
    ROLE_LABEL,
    RUN_LABEL,
    Cancelled,
    ContainerSpec,
    Engine,
    Recorder,
    RunningContainer,
)
from orchestrator.render.verification import verification_text

SERVER_ALIASES = ("server", "echo-server")
SERVER_URL = f"http://{SERVER_ALIASES[0]}:{SERVER_PORT}/offer"
POLL_INTERVAL_S = 0.2
CAPTURE_READY_TIMEOUT_S = 15.0
NOTHING_RECORDED = Verification(
    missing=("no packet capture was recorded",),
    connect_time_s=None,
    client_checks_answered=False,
    server_checks_answered=False,
    client_to_server=Traffic(),
    server_to_client=Traffic(),
)


@dataclass(frozen=True)
class UnavailableImage:
    """An implementation whose image could not be built or found."""

    reason: str
    log: str | None  # build log, relative to the run folder


@dataclass(frozen=True)
class RunSettings:
    run_id: str
    run_dir: Path
    server_ready_timeout_s: float
    timeout_override_s: float | None = None
    keep_containers: bool = False
    capture_image: str | None = None  # None: no packet capture, no verification
    retries: int = 0  # extra attempts for a failed cell


@dataclass
class _Seen:
    """What one attempt at a cell observed on its way through; filled in as it goes."""

    attempt: int
    log_dir: str  # relative to the run folder
    logs: list[tuple[str, str]] = field(default_factory=list)
    not_ready: str | None = None
    client_exit: int | None = None
    server_exit: int | None = None
    client_output: bytes = b""
    server_address: str | None = None
    client_address: str | None = None
    pcap: bytes = b""


class CellRunner:
    def __init__(
        self,
        engine: Engine,
        matrix: Matrix,
        images: Mapping[str, str],
        unavailable: Mapping[str, UnavailableImage],
        settings: RunSettings,
        cancel: threading.Event,
    ) -> None:
        self.engine = engine
        self.matrix = matrix
        self.images = images
        self.unavailable = unavailable
        self.settings = settings
        self.cancel = cancel

    def run(self, planned: PlannedCell) -> CellResult:
        """The cell's result, retried up to `retries` times on failure; raises only Cancelled.

        A cell that fails and then passes is `flaky`, never silently green; every
        attempt's logs are kept.
        """
        cell = planned.cell
        if planned.declared_unsupported_by:
            return CellResult(cell, Outcome.UNSUPPORTED, _undeclared_reason(planned))
        for name in (cell.server, cell.client):
            if name in self.unavailable:
                missing = self.unavailable[name]
                logs = (("build", missing.log),) if missing.log else ()
                return CellResult(cell, Outcome.BUILD_ERROR, f"{name}: {missing.reason}", logs=logs)
        attempts = [self._attempt(cell, 1)]
        while attempts[-1].outcome.is_failure and len(attempts) <= self.settings.retries:
            attempts.append(self._attempt(cell, len(attempts) + 1))
        final = attempts[-1]
        if len(attempts) == 1:
            return final
        history = tuple(
            Attempt(a.outcome, a.reason, a.exit_code, a.duration_s, a.logs) for a in attempts
        )
        if final.outcome is Outcome.PASSED:
            first = attempts[0]
            reason = (
                f"passed on attempt {len(attempts)} after {first.outcome.value}: {first.reason}"
            )
            return replace(final, outcome=Outcome.FLAKY, reason=reason, attempts=history)
        return replace(final, attempts=history)

    def _attempt(self, cell: Cell, number: int) -> CellResult:
        seen = _Seen(number, f"logs/{cell.slug}" + (f"/attempt-{number}" if number > 1 else ""))
        started = time.monotonic()
        try:
            return self._execute(cell, started, seen)
        except Cancelled:
            raise
        except InteropError as error:
            return CellResult(
                cell, Outcome.INFRA_ERROR, str(error), duration_s=time.monotonic() - started
            )
        except Exception as error:  # a bug of ours must cost one cell, not the run
            self._keep(seen, "orchestrator", "orchestrator-error.log", traceback.format_exc())
            return CellResult(
                cell,
                Outcome.INFRA_ERROR,
                f"{type(error).__name__}: {error}",
                duration_s=time.monotonic() - started,
                logs=tuple(seen.logs),
            )

    def timeout_for(self, test: str) -> float:
        return self.settings.timeout_override_s or self.matrix.test(test).timeout_s

    def _execute(self, cell: Cell, started: float, seen: _Seen) -> CellResult:
        name = resource_name(self.settings.run_id, cell, seen.attempt)
        labels = {RUN_LABEL: self.settings.run_id, CELL_LABEL: cell.slug}
        timeout = self.timeout_for(cell.test)
        keep = self.settings.keep_containers
        with ExitStack() as stack:
            network = stack.enter_context(self.engine.network(name, labels, keep))
            payload = new_payload()
            server_spec = self._spec(cell, Role.SERVER, f"{name}-server", network, labels, payload)
            server = stack.enter_context(self.engine.container(server_spec, keep))
            stack.callback(self._save_output, "server", server, seen)
            recorder = None
            if self.settings.capture_image:
                recorder = self._start_recorder(
                    stack, server, self.settings.capture_image, server_spec.name, name, labels
                )
            seen.not_ready = self._wait_listening(server)
            if seen.not_ready is None:
                seen.server_address = server.address()
                client_spec = self._spec(
                    cell, Role.CLIENT, f"{name}-client", network, labels, payload
                )
                client = stack.enter_context(self.engine.container(client_spec, keep))
                stack.callback(self._save_output, "client", client, seen)
                # Read now: a stopped container has no address (a quick client may
                # already be gone; the capture analysis then finds it by its traffic).
                seen.client_address = client.address()
                seen.client_exit = client.wait_exit(timeout, self.cancel)
                if seen.client_exit is None:
                    client.kill()
                seen.server_exit = server.exit_code()
                if recorder is not None:
                    seen.pcap = recorder.stop()
                    self._keep(seen, "capture", "capture.pcap", seen.pcap)
        duration = round(time.monotonic() - started, 3)
        if seen.not_ready is not None:
            return CellResult(
                cell,
                Outcome.SERVER_ERROR,
                seen.not_ready,
                duration_s=duration,
                logs=tuple(seen.logs),
            )
        client_output = seen.client_output.decode(errors="replace")
        outcome, reason = classify(
            Observation(
                test=cell.test,
                client_exit=seen.client_exit,
                server_exit=seen.server_exit,
                timeout_s=timeout,
                client_output=client_output,
            )
        )
        verification = None
        if self.settings.capture_image:
            verification = self._verify(cell, seen)
            outcome, reason = reconcile(outcome, reason, verification)
        return CellResult(
            cell,
            outcome,
            reason,
            exit_code=seen.client_exit,
            duration_s=duration,
            logs=tuple(seen.logs),
            verification=verification,
            media=media_report(client_output),
        )

    def _start_recorder(
        self,
        stack: ExitStack,
        server: RunningContainer,
        image: str,
        target: str,
        name: str,
        labels: Mapping[str, str],
    ) -> Recorder | None:
        """The cell's packet recorder; None when the server died before it could attach
        (the readiness wait then reports the server's exit)."""
        try:
            recorder = stack.enter_context(
                self.engine.capture(
                    target,
                    f"{name}-capture",
                    image,
                    {**labels, ROLE_LABEL: "capture"},
                )
            )
            if recorder.wait_ready(CAPTURE_READY_TIMEOUT_S, self.cancel):
                return recorder
        except EngineError:
            if server.exit_code() is None:
                raise
            return None
        if server.exit_code() is not None:
            return None
        raise EngineError("the packet capture did not start")

    def _verify(self, cell: Cell, seen: _Seen) -> Verification:
        if not seen.pcap or seen.server_address is None:
            verification = NOTHING_RECORDED
        else:
            try:
                verification = verify(
                    seen.pcap, seen.server_address, seen.client_address, cell.test
                )
            except CaptureUnreadable as error:
                verification = replace(NOTHING_RECORDED, missing=(f"capture unreadable: {error}",))
        self._keep(
            seen, "verification", "verification.txt", verification_text(verification, cell.test)
        )
        return verification

    def _spec(
        self,
        cell: Cell,
        role: Role,
        name: str,
        network: str,
        labels: Mapping[str, str],
        payload: bytes,
    ) -> ContainerSpec:
        timeout = self.timeout_for(cell.test)
        return ContainerSpec(
            name=name,
            image=self.images[cell.server if role is Role.SERVER else cell.client],
            network=network,
            labels={**labels, ROLE_LABEL: role.value},
            command=self._command(cell, role),
            environment={
                "ROLE": role.value,
                "TEST_CASE": cell.test,
                "SERVER_URL": SERVER_URL,
                "TEST_TIMEOUT": f"{timeout:g}",
                "TEST_PAYLOAD": payload.hex(),
                "ICE_SERVERS": "[]",
                "ICE_TRANSPORT_POLICY": "all",
                "NETWORK_SCENARIO": "direct",
            },
            aliases=SERVER_ALIASES if role is Role.SERVER else (),
        )

    def _save_output(self, role: str, container: RunningContainer, seen: _Seen) -> None:
        output = container.logs()
        if role == "client":
            seen.client_output = output
        self._keep(seen, role, f"{role}.log", output)

    def _wait_listening(self, server: RunningContainer) -> str | None:
        """None once the server accepts TCP on the contract port, else why not."""
        limit = self.settings.server_ready_timeout_s
        deadline = time.monotonic() + limit
        while True:
            if server.accepts_tcp(SERVER_PORT):
                return None
            code = server.exit_code()
            if code is not None:
                return f"server exited with code {code} before listening on {SERVER_PORT}"
            if time.monotonic() >= deadline:
                return f"server did not listen on {SERVER_PORT} within {limit:g}s"
            if self.cancel.wait(POLL_INTERVAL_S):
                raise Cancelled

    def _command(self, cell: Cell, role: Role) -> tuple[str, ...] | None:
        implementation = self.matrix.implementation(
            cell.server if role is Role.SERVER else cell.client
        )
        template = (
            implementation.server_command if role is Role.SERVER else implementation.client_command
        )
        if template is None:
            return None
        values = {
            "server_url": SERVER_URL,
            "server_host": SERVER_ALIASES[0],
            "test": cell.test,
        }
        return tuple(part.format(**values) for part in template)

    def _keep(self, seen: _Seen, key: str, filename: str, content: bytes | str) -> None:
        """Write one of the attempt's files and list it among its logs."""
        relative = f"{seen.log_dir}/{filename}"
        path = self.settings.run_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        seen.logs.append((key, relative))


def run_cells(
    cells: Iterable[PlannedCell],
    run_cell: Callable[[PlannedCell], CellResult],
    jobs: int,
    cancel: threading.Event,
    on_start: Callable[[Cell], None],
    on_result: Callable[[CellResult], None],
) -> None:
    """Run cells `jobs` at a time, reporting each result as it lands.

    On Ctrl-C: stop starting cells, let running ones clean up, then raise Interrupted.
    """
    pending = list(cells)
    running: dict[Future[CellResult], Cell] = {}
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="cell")

    def start(planned: PlannedCell) -> None:
        if not planned.declared_unsupported_by:
            on_start(planned.cell)
        running[executor.submit(run_cell, planned)] = planned.cell

    try:
        while pending and len(running) < jobs:
            start(pending.pop(0))
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                on_result(future.result())
                if pending:
                    start(pending.pop(0))
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        executor.shutdown(wait=True, cancel_futures=True)
        raise Interrupted(
            "interrupted; containers and networks of running cells were removed"
        ) from None
    executor.shutdown(wait=True)


def new_payload() -> bytes:
    """A fresh test message (docs/contract.md 2.1): 600-1000 printable ASCII bytes."""
    length = 600 + secrets.randbelow(401)
    return bytes(0x21 + secrets.randbelow(0x7E - 0x21 + 1) for _ in range(length))


def resource_name(run_id: str, cell: Cell, attempt: int = 1) -> str:
    """Docker-safe and unique per run: the run id, the cell's coordinates, the attempt."""
    raw = f"interop-{run_id}-{cell.test}-{cell.server}-{cell.client}"
    if attempt > 1:
        raw += f"-a{attempt}"
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", raw)


def _undeclared_reason(planned: PlannedCell) -> str:
    cell = planned.cell
    roles = {cell.server: "server", cell.client: "client"}
    parts = [
        f"{name} does not declare '{cell.test}' as {roles[name]}"
        for name in planned.declared_unsupported_by
    ]
    if cell.server == cell.client and len(parts) == 2:
        parts = [f"{cell.server} does not declare '{cell.test}'"]
    return "; ".join(parts)
