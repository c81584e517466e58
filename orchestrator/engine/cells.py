"""Networks, containers and packet recorders of a cell, as context managers.

Every resource carries the run label, so `clean` can reap what a killed process left;
every wait is bounded; a peer container is always sandboxed.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException
from docker.models.containers import Container
from docker.types import EndpointConfig, IPAMConfig, IPAMPool, LogConfig
from docker.utils.socket import frames_iter
from requests.exceptions import RequestException

from orchestrator.engine.errors import Health
from orchestrator.engine.recorder import FileRecorders, recorder_options
from orchestrator.errors import EngineError
from orchestrator.ports import (
    Cancelled,
    ContainerSpec,
    Limits,
    NetworkSpec,
    Output,
)

POLL_INTERVAL_S = 0.2
STATE_POLL_S = 0.5  # waiting for an exit: how often Docker is asked while output flows
WAKE_INTERVAL_S = 0.02  # ... and how soon the end of the output is noticed
SETTLE_INTERVAL_S = 0.02  # after the output ended, the state may lag a few milliseconds
SETTLE_CHECKS = 50
STOP_TIMEOUT_S = 15.0
HEAD_GRACE_S = 0.2  # how long the log follower may take to reach the end of the output
CAPTURE_FILE = "/capture/capture.pcap"
SHM_SIZE = "256m"


class DockerCells:
    """The cell-facing half of the Docker adapter (the runner's `Engine`)."""

    client: docker.DockerClient
    health: Health

    @contextlib.contextmanager
    def network(self, spec: NetworkSpec, keep: bool = False) -> Iterator[str]:
        pools = []
        if spec.subnet:
            pools.append(IPAMPool(subnet=spec.subnet, gateway=spec.gateway))
        if spec.subnet6:
            pools.append(IPAMPool(subnet=spec.subnet6))
        with self.health.guard(f"create network {spec.name}"):
            network = self.client.networks.create(
                spec.name,
                driver="bridge",
                internal=True,
                labels=dict(spec.labels),
                check_duplicate=True,
                enable_ipv6=bool(spec.subnet6),
                ipam=IPAMConfig(pool_configs=pools) if pools else None,
                options={"com.docker.network.bridge.name": spec.bridge},
            )
        try:
            yield spec.name
        finally:
            if not keep:
                self.health.quietly(network.remove)

    @contextlib.contextmanager
    def container(self, spec: ContainerSpec, keep: bool = False) -> Iterator[DockerContainer]:
        options = _placement(self.client, spec) | _confinement(spec)
        heads: list[_HeadReader] = []
        with self._started(
            f"container {spec.name}",
            keep,
            before_start=lambda created: heads.append(
                _HeadReader(created, spec.limits.log_bytes // 2)
            ),
            files=spec.files,
            image=spec.image,
            command=list(spec.command) if spec.command else None,
            name=spec.name,
            environment=dict(spec.environment),
            labels=dict(spec.labels),
            shm_size=SHM_SIZE,
            **options,
        ) as container:
            yield DockerContainer(container, spec.attachment.network, heads[0], self.health)

    @contextlib.contextmanager
    def recorders(
        self, image: str, control: Path, labels: Mapping[str, str], name: str
    ) -> Iterator[FileRecorders]:
        """The run's packet recorder, up for the `with` block."""
        control.mkdir(parents=True, exist_ok=True)
        with self._started(
            "the packet recorder", **recorder_options(image, control, labels, name)
        ) as container:
            recorder = DockerContainer(
                container, None, _HeadReader(container, 1 << 19), self.health
            )
            if not recorder.wait_output(b"recorder ready", 30, threading.Event()):
                raise EngineError("the packet recorder did not start")
            yield FileRecorders(control, self.health)

    def analyse(
        self,
        image: str,
        folder: Path,
        arguments: list[str],
        labels: Mapping[str, str],
        timeout_s: float = 120,
    ) -> str:
        """tshark's output for files of `folder` (mounted read-only at /cell), run in the
        capture image with no network at all. The output (megabytes of JSON for a large
        transfer) goes to a file, not through Docker's log stream, which both dockerd
        and the Docker client handle in small frames."""
        with tempfile.TemporaryDirectory(dir=folder, prefix=".analysis-") as out:
            self._analyse(image, folder, Path(out), arguments, labels, timeout_s)
            output = Path(out) / "output"
            return output.read_text(errors="replace") if output.exists() else ""

    def _analyse(
        self,
        image: str,
        folder: Path,
        out: Path,
        arguments: list[str],
        labels: Mapping[str, str],
        timeout_s: float,
    ) -> None:
        with self.health.guard("start the capture analyser"):
            container = self.client.containers.create(
                image,
                entrypoint=["sh", "-c", 'exec tshark "$@" > /out/output', "tshark"],
                command=arguments,
                network_mode="none",
                labels=dict(labels),
                user=f"{os.getuid()}:{os.getgid()}",  # writes /out as the owner of the run
                volumes={
                    str(folder.resolve()): {"bind": "/cell", "mode": "ro"},
                    str(out.resolve()): {"bind": "/out", "mode": "rw"},
                },
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                read_only=True,
                tmpfs={"/tmp": "size=256m"},
                mem_limit="2g",
                pids_limit=64,
            )
        try:
            with self.health.guard("run the capture analyser"):
                container.start()
                container.wait(timeout=timeout_s)
        finally:
            self.health.quietly(partial(container.remove, force=True))

    def accepts_tcp(self, address: str, port: int) -> bool:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            return False

    def delete(self, address: str, port: int, path: str, timeout_s: float) -> str | None:
        connection = http.client.HTTPConnection(address, port, timeout=timeout_s)
        try:
            connection.request("DELETE", path)
            response = connection.getresponse()
            response.read(1 << 16)
        except (OSError, http.client.HTTPException) as error:
            return f"DELETE {path} failed: {error or type(error).__name__}"
        finally:
            connection.close()
        return None if response.status == 200 else f"DELETE {path} answered {response.status}"

    @contextlib.contextmanager
    def _started(
        self,
        what: str,
        keep: bool = False,
        files: Mapping[str, bytes] | None = None,
        before_start: Callable[[Container], object] | None = None,
        **create: Any,
    ) -> Iterator[Container]:
        """A created and started container, force-removed however the block ends; with
        `keep` it is only killed, left for a maintainer to inspect and `clean` to reap."""
        with self.health.guard(f"create {what}"):
            container = self.client.containers.create(**create)
        try:
            with self.health.guard(f"start {what}"):
                for path, content in (files or {}).items():
                    container.put_archive("/", _tar_of(path.lstrip("/"), content))
                if before_start is not None:
                    before_start(container)
                container.start()
            yield container
        finally:
            if keep:
                self.health.quietly(container.kill)
            else:
                self.health.quietly(partial(container.remove, force=True))


def _placement(client: docker.DockerClient, spec: ContainerSpec) -> dict[str, Any]:
    """Network options: join another container's namespace, or sit on a network."""
    where = spec.attachment
    if where.join:
        return {"network_mode": f"container:{where.join}"}
    assert where.network, "a container either joins a namespace or sits on a network"
    endpoint = EndpointConfig(
        client.api.api_version,
        aliases=list(where.aliases),
        ipv4_address=where.ipv4,
        ipv6_address=where.ipv6,
    )
    placement: dict[str, Any] = {
        "network": where.network,
        "networking_config": {where.network: endpoint},
    }
    if where.hosts:
        placement["extra_hosts"] = dict(where.hosts)
    return placement


def _confinement(spec: ContainerSpec) -> dict[str, Any]:
    """Peers (no privileges): no capabilities, no privilege gain, a read-only root with a
    capped /tmp, and memory, pids and CPU limits. Tool containers keep the same limits
    but get the capabilities and sysctls their job needs."""
    limits: Limits = spec.limits
    options: dict[str, Any] = {
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": spec.privileges is None,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={limits.tmpfs_bytes}"},
        "mem_limit": limits.memory_bytes,
        "memswap_limit": limits.memory_bytes,
        "pids_limit": limits.pids,
        "nano_cpus": int(limits.cpus * 1e9),
        "log_config": LogConfig(
            type="json-file",
            config={"max-size": str(max(limits.log_bytes // 2, 1 << 16)), "max-file": "2"},
        ),
    }
    if spec.privileges is not None:
        options["cap_add"] = list(spec.privileges.cap_add)
        if spec.privileges.sysctls:
            options["sysctls"] = dict(spec.privileges.sysctls)
    return options


class DockerContainer:
    def __init__(
        self, container: Container, network: str | None, head: _HeadReader, health: Health
    ) -> None:
        self.health = health
        self._container = container
        self._network = network
        self._address: str | None = None
        self._head = head

    def address(self) -> str | None:
        if self._address is None and self._network:
            with self.health.guard("inspect a container"):
                self._container.reload()
            networks = self._container.attrs.get("NetworkSettings", {}).get("Networks", {})
            self._address = networks.get(self._network, {}).get("IPAddress") or None
        return self._address

    def exit_code(self) -> int | None:
        try:
            with self.health.guard("inspect a container"):
                self._container.reload()
        except EngineError:
            return -1  # removed under us (or refused): it is not running
        state = self._container.attrs.get("State", {})
        if state.get("Running") or state.get("Status") in ("created", "restarting"):
            return None
        return int(state.get("ExitCode", -1))

    def wait_exit(self, timeout_s: float, cancel: threading.Event) -> int | None:
        """Asks Docker for the state when the container's output stream has ended (it
        ends with the container), and every STATE_POLL_S in case it does not (a reader
        that hung up at its limit): no inspect call every few milliseconds."""
        deadline = time.monotonic() + timeout_s
        settling = 0
        while True:
            ended = self._head.ended.is_set()
            if ended and settling < SETTLE_CHECKS:
                pause = SETTLE_INTERVAL_S if settling else 0.0  # just ended: ask at once
                settling += 1
            else:  # still writing, or ended but still running: ask now and then
                pause = STATE_POLL_S
            until = min(time.monotonic() + pause, deadline)
            while (left := until - time.monotonic()) > 0:
                if cancel.wait(min(left, WAKE_INTERVAL_S)):
                    raise Cancelled
                if not ended and self._head.ended.is_set():
                    break
            code = self.exit_code()
            if code is not None:
                return code
            if time.monotonic() >= deadline:
                return None

    def kill(self) -> None:
        self.health.quietly(self._container.kill)

    def wait_output(self, marker: bytes, timeout_s: float, cancel: threading.Event) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.health.guard("read a container's output"):
                if marker in bytes(self._container.logs(stdout=True, stderr=True)):
                    return True
            if self.exit_code() is not None:
                return False
            if cancel.wait(POLL_INTERVAL_S):
                raise Cancelled
        return False

    def logs(self, since: float | None = None, until: float | None = None) -> Output:
        """The head the reader kept and the tail the log driver kept, joined without
        overlap; when neither holds the middle, a marker says so. With `since` or
        `until` (a server serving several cells), only what the log driver kept of that
        span, head and tail kept the same way."""
        if since is not None or until is not None:
            return self._span(since, until)
        head, head_is_all = self._head.finish()
        with self.health.guard("read a container's logs"):
            tail = bytes(self._container.logs(stdout=True, stderr=True))
        half = self._head.limit
        if head_is_all and tail == head:  # a follow stream can also end at a log rotation
            return Output(head)
        if tail.startswith(head) and len(tail) <= 2 * half:
            return Output(tail)
        if tail.startswith(head):
            cut = len(tail) - 2 * half
            return Output(head + _marker(cut) + tail[-half:], True)
        return Output(head + _marker(None) + tail[-half:], True)

    def _span(self, since: float | None, until: float | None) -> Output:
        self._head.finish()
        with self.health.guard("read a container's logs"):
            text = bytes(self._container.logs(stdout=True, stderr=True, since=since, until=until))
        half = self._head.limit
        if len(text) <= 2 * half:
            return Output(text)
        return Output(text[:half] + _marker(len(text) - 2 * half) + text[-half:], True)


def _marker(cut: int | None) -> bytes:
    amount = f"{cut} bytes" if cut is not None else "an unknown amount"
    return f"\n[... webrtc-interop cut {amount} from the middle of this output ...]\n".encode()


class _HeadReader:
    """Keeps the first `limit` bytes of a container's output: the log driver keeps only
    the tail of a flood. It attaches before the container starts (Docker's attach with
    `logs`), so a peer that floods faster than a log follower could connect cannot
    rotate its first lines away unseen; at `limit` it hangs up, and Docker stops
    copying to it."""

    def __init__(self, container: Container, limit: int) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._ended = False
        self.ended = threading.Event()  # the stream ended with the container's output
        self._socket: Any = container.attach_socket(
            params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 1}
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for _, chunk in frames_iter(self._socket, tty=False):  # type: ignore[no-untyped-call]
                self._chunks.append(bytes(chunk))
                self._size += len(chunk)
                if self._size >= self.limit:
                    return
            self._ended = True
            self.ended.set()
        except (DockerException, RequestException, OSError, ValueError):
            return
        finally:
            self._hang_up()

    def _hang_up(self) -> None:
        with contextlib.suppress(Exception):
            self._socket._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._socket.close()

    def finish(self) -> tuple[bytes, bool]:
        """(the head, whether it is the whole output so far). A container still running
        (a server at the end of its cell) is hung up on: the log driver's copy covers
        the rest."""
        self._thread.join(timeout=HEAD_GRACE_S)
        if self._thread.is_alive():
            self._hang_up()
            self._thread.join(timeout=HEAD_GRACE_S)
        return b"".join(self._chunks)[: self.limit], self._ended


def _tar_of(path: str, content: bytes) -> bytes:
    """A tar with one file at `path`, for put_archive at /."""
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo(path)
        member.size = len(content)
        member.mode = 0o644
        archive.addfile(member, BytesIO(content))
    return buffer.getvalue()


def file_from_container(container: Container, path: str) -> bytes | None:
    """One file's bytes, copied out of a container (running or not) as the API's tar."""
    chunks, _ = container.get_archive(path)
    with tarfile.open(fileobj=BytesIO(b"".join(chunks))) as archive:
        member = archive.next()
        handle = archive.extractfile(member) if member else None
        return handle.read() if handle else None


def copy_from_container(container: Container, path: str, destination: Path) -> int | None:
    """Stream one (possibly large) file out of a container to `destination`; its size."""
    chunks, _ = container.get_archive(path)
    reader: Any = _ChunkReader(chunks)
    with tarfile.open(fileobj=reader, mode="r|") as archive:
        for member in archive:
            handle = archive.extractfile(member)
            if handle is None:
                return None
            with destination.open("wb") as out:
                while block := handle.read(1 << 20):
                    out.write(block)
            return destination.stat().st_size
    return None


class _ChunkReader:
    """A file-like view of an iterator of byte chunks, for tarfile's stream mode."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
