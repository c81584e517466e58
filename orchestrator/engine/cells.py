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
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container
from docker.types import EndpointConfig, IPAMConfig, IPAMPool, LogConfig

from orchestrator.engine.container import DockerContainer, HeadReader
from orchestrator.engine.errors import Health
from orchestrator.engine.recorder import FileRecorders, recorder_options
from orchestrator.errors import EngineError
from orchestrator.ports import ContainerSpec, Limits, NetworkSpec

STOP_TIMEOUT_S = 15.0
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
        heads: list[HeadReader] = []
        with self._started(
            f"container {spec.name}",
            keep,
            before_start=lambda created: heads.append(
                HeadReader(created, spec.limits.log_bytes // 2)
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
            recorder = DockerContainer(container, None, HeadReader(container, 1 << 19), self.health)
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
