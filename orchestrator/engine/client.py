"""Docker SDK adapter: images, networks and containers as context managers.

Every resource we create carries the run label, so `clean` can reap what a
killed process left behind, and every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import json
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import EndpointConfig
from docker.utils.build import create_archive, exclude_paths
from requests.exceptions import RequestException

from orchestrator.engine.baseimage import ensure_upstream_base
from orchestrator.engine.daemon import ensure_engine
from orchestrator.errors import EngineError, ImageBuildError
from orchestrator.ports import BuildSpec, Cancelled, ContainerSpec, Limits

POLL_INTERVAL_S = 0.2
CAPTURE_FILE = "/capture/capture.pcap"
API_TIMEOUT_S = 120
Say = Callable[[str], None]


def connect(say: Say, max_pool_size: int = 16) -> DockerEngine:
    return DockerEngine(ensure_engine(say, max_pool_size=max_pool_size, timeout=API_TIMEOUT_S))


class DockerEngine:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def server_version(self) -> str:
        return str(self.client.version().get("Version", "unknown"))

    def ensure_upstream_base(self, reference: str, mirror: str, log_path: Path, say: Say) -> str:
        return ensure_upstream_base(self.client, reference, mirror, log_path, say)

    def build(
        self, spec: BuildSpec, log_path: Path, timeout_s: float, on_step: Callable[[str], None]
    ) -> str:
        """Build `spec`; return the image id.

        The build log goes to `log_path` as it streams; `on_step` gets each
        `Step n/m` line so a long build shows progress.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        image_id = None
        with _context_archive(spec.context, spec.extra_files) as archive, log_path.open("w") as log:
            try:
                stream = self.client.api.build(
                    fileobj=archive,
                    custom_context=True,
                    dockerfile=spec.dockerfile,
                    tag=spec.tag,
                    buildargs=dict(spec.buildargs),
                    labels=dict(spec.labels),
                    cache_from=list(spec.cache_from) or None,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    timeout=int(timeout_s),
                )
                for chunk in stream:
                    if "stream" in chunk:
                        text = chunk["stream"]
                        log.write(text)
                        log.flush()
                        if text.startswith("Step "):
                            on_step(text.strip())
                    if "error" in chunk:
                        log.write(f"ERROR: {chunk['error']}\n")
                        raise ImageBuildError(_last_line(chunk["error"]))
                    if "aux" in chunk and "ID" in chunk["aux"]:
                        image_id = chunk["aux"]["ID"]
                    if time.monotonic() > deadline:
                        stream.close()
                        raise ImageBuildError(f"build took longer than {timeout_s:.0f}s")
            except (APIError, DockerException) as error:
                log.write(f"ERROR: {error}\n")
                raise ImageBuildError(_last_line(str(error))) from error
        if image_id is None:
            image_id = self.image_id(spec.tag)
        if image_id is None:
            raise ImageBuildError("the builder reported no image")
        return image_id

    def image_id(self, reference: str) -> str | None:
        try:
            return str(self.client.images.get(reference).id)
        except ImageNotFound:
            return None
        except APIError as error:
            raise EngineError(f"cannot inspect image {reference}: {error.explanation}") from error

    def save_images(self, references: list[str], path: Path) -> None:
        """One tar of several images (shared layers once), like `docker save a b c`."""
        # docker-py's public get_image takes a single name; the endpoint takes several.
        api: Any = self.client.api
        try:
            response = api._get(api._url("/images/get"), params={"names": references}, stream=True)
            api._raise_for_status(response)
            with path.open("wb") as tarball:
                for chunk in response.iter_content(chunk_size=2 << 20):
                    tarball.write(chunk)
        except (DockerException, RequestException) as error:
            path.unlink(missing_ok=True)
            raise EngineError(f"cannot save images to {path}: {error}") from error

    def load_images(self, path: Path) -> list[str]:
        """Load a tar written by `save_images`; return the tags it brought."""
        try:
            with path.open("rb") as tarball:
                api: Any = self.client.api  # load_image is untyped in the stubs
                events = list(api.load_image(tarball))
        except (DockerException, RequestException, OSError) as error:
            raise EngineError(f"cannot load images from {path}: {error}") from error
        failures = [e["error"] for e in events if "error" in e]
        if failures:
            raise EngineError(f"cannot load images from {path}: {failures[0]}")
        return [
            e["stream"].split("Loaded image: ", 1)[1].strip()
            for e in events
            if "Loaded image: " in e.get("stream", "")
        ]

    def pull(self, reference: str) -> str | None:
        """Pull a prebuilt image; None when the registry cannot provide it."""
        repository, _, tag = (
            reference.rpartition(":")
            if ":" in reference.rsplit("/", maxsplit=1)[-1]
            else (reference, "", "latest")
        )
        try:
            return str(self.client.images.pull(repository, tag=tag).id)
        except (APIError, DockerException):
            return None

    def read_json_from_image(self, reference: str, path: str) -> dict[str, Any] | None:
        """A JSON file baked into an image, read without running it (None if absent)."""
        try:
            container = self.client.containers.create(reference, command=["true"])
        except APIError:
            return None
        try:
            content = _file_from_container(container, path)
            data = json.loads(content) if content is not None else None
        except (NotFound, APIError, ValueError, tarfile.TarError):
            return None
        finally:
            with contextlib.suppress(APIError):
                container.remove(force=True)
        return data if isinstance(data, dict) else None

    @contextlib.contextmanager
    def network(self, name: str, labels: Mapping[str, str], keep: bool = False) -> Iterator[str]:
        try:
            network = self.client.networks.create(
                name, driver="bridge", internal=True, labels=dict(labels), check_duplicate=True
            )
        except APIError as error:
            raise EngineError(f"cannot create network {name}: {error.explanation}") from error
        try:
            yield name
        finally:
            if not keep:
                _remove_quietly(network.remove)

    @contextlib.contextmanager
    def container(self, spec: ContainerSpec, keep: bool = False) -> Iterator[DockerContainer]:
        endpoint = EndpointConfig(self.client.api.api_version, aliases=list(spec.aliases))
        with self._started(
            f"container {spec.name}",
            keep,
            image=spec.image,
            command=list(spec.command) if spec.command else None,
            name=spec.name,
            environment=dict(spec.environment),
            labels=dict(spec.labels),
            network=spec.network,
            networking_config={spec.network: endpoint},
            shm_size="256m",
            **_sandbox(spec.limits),
        ) as container:
            yield DockerContainer(container, spec.network)

    @contextlib.contextmanager
    def capture(
        self, target: str, name: str, image: str, labels: Mapping[str, str]
    ) -> Iterator[DockerRecorder]:
        with self._started(
            f"capture {name}",
            image=image,
            name=name,
            labels=dict(labels),
            network_mode=f"container:{target}",
            cap_drop=["ALL"],
            cap_add=["NET_RAW"],
        ) as container:
            yield DockerRecorder(container)

    @contextlib.contextmanager
    def _started(self, what: str, keep: bool = False, **create: Any) -> Iterator[Container]:
        """A created and started container, force-removed however the block ends; with
        `keep` it is only killed, left for a maintainer to inspect and `clean` to reap."""
        try:
            container = self.client.containers.create(**create)
        except APIError as error:
            raise EngineError(f"cannot create {what}: {error.explanation}") from error
        try:
            try:
                container.start()
            except APIError as error:
                raise EngineError(f"cannot start {what}: {error.explanation}") from error
            yield container
        finally:
            if keep:
                _remove_quietly(container.kill)
            else:
                _remove_quietly(partial(container.remove, force=True))

    def screenshot(
        self,
        image: str,
        html: str,
        size: tuple[int, int],
        labels: Mapping[str, str],
        timeout_s: float = 90,
    ) -> bytes:
        """Render `html` in the screenshot image's headless browser, offline; the PNG."""
        try:
            container = self.client.containers.create(
                image,
                command=[f"--window-size={size[0]},{size[1]}", "file:///report/results.html"],
                network_mode="none",
                labels=dict(labels),
                shm_size="256m",
            )
        except APIError as error:
            raise EngineError(
                f"cannot create the screenshot container: {error.explanation}"
            ) from error
        try:
            page = BytesIO()
            with tarfile.open(fileobj=page, mode="w") as archive:
                data = html.encode()
                member = tarfile.TarInfo("results.html")
                member.size = len(data)
                archive.addfile(member, BytesIO(data))
            container.put_archive("/report", page.getvalue())
            container.start()
            status = container.wait(timeout=timeout_s)
            if status.get("StatusCode") != 0:
                tail = bytes(container.logs()).decode(errors="replace").strip().splitlines()
                raise EngineError(
                    f"headless chromium exited with {status.get('StatusCode')}: "
                    f"{tail[-1] if tail else 'no output'}"
                )
            png = _file_from_container(container, "/report/results.png")
        except (DockerException, RequestException, tarfile.TarError) as error:
            raise EngineError(f"screenshot failed: {error}") from error
        finally:
            _remove_quietly(partial(container.remove, force=True))
        if not png:
            raise EngineError("headless chromium wrote no screenshot")
        return png

    def remove_labelled(self, label: str) -> tuple[int, int]:
        """Force-remove containers, then networks, carrying `label`; return both counts."""
        try:
            containers = self.client.containers.list(all=True, filters={"label": label})
            for container in containers:
                _remove_quietly(partial(container.remove, force=True))
            networks = self.client.networks.list(filters={"label": label})
            for network in networks:
                _remove_quietly(network.remove)
        except APIError as error:
            raise EngineError(
                f"cannot list resources labelled {label}: {error.explanation}"
            ) from error
        return len(containers), len(networks)

    def count_labelled(self, label: str) -> tuple[int, int]:
        containers = self.client.containers.list(all=True, filters={"label": label})
        networks = self.client.networks.list(filters={"label": label})
        return len(containers), len(networks)


class DockerRecorder:
    """tcpdump in a sidecar; it says "listening on" once the socket is open."""

    def __init__(self, container: Container) -> None:
        self._container = container

    def wait_ready(self, timeout_s: float, cancel: threading.Event) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if b"listening on" in self._container.logs(stdout=False, stderr=True):
                    return True
                self._container.reload()
            except DockerException:
                return False
            if self._container.status not in ("created", "running"):
                return False
            if cancel.wait(POLL_INTERVAL_S):
                raise Cancelled
        return False

    def stop(self) -> bytes:
        """SIGINT lets tcpdump close the file cleanly; then copy it out of the container."""
        with contextlib.suppress(DockerException):
            self._container.kill(signal="SIGINT")
        with contextlib.suppress(DockerException, RequestException):
            self._container.wait(timeout=10)
        try:
            return _file_from_container(self._container, CAPTURE_FILE) or b""
        except (DockerException, tarfile.TarError):
            return b""


class DockerContainer:
    def __init__(self, container: Container, network: str) -> None:
        self._container = container
        self._network = network
        self._address: str | None = None

    def address(self) -> str | None:
        return self._network_address()

    def exit_code(self) -> int | None:
        try:
            self._container.reload()
        except NotFound:
            return -1
        state = self._container.attrs.get("State", {})
        if state.get("Running") or state.get("Status") in ("created", "restarting"):
            return None
        return int(state.get("ExitCode", -1))

    def accepts_tcp(self, port: int) -> bool:
        address = self._network_address()
        if address is None:
            return False
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            return False

    def wait_exit(self, timeout_s: float, cancel: threading.Event) -> int | None:
        deadline = time.monotonic() + timeout_s
        while True:
            code = self.exit_code()
            if code is not None:
                return code
            if time.monotonic() >= deadline:
                return None
            if cancel.wait(POLL_INTERVAL_S):
                raise Cancelled

    def kill(self) -> None:
        _remove_quietly(self._container.kill)

    def logs(self) -> bytes:
        try:
            return bytes(self._container.logs(stdout=True, stderr=True))
        except APIError as error:
            return f"(logs unavailable: {error.explanation})\n".encode()

    def _network_address(self) -> str | None:
        if self._address is None:
            self._container.reload()
            networks = self._container.attrs.get("NetworkSettings", {}).get("Networks", {})
            self._address = networks.get(self._network, {}).get("IPAddress") or None
        return self._address


def _sandbox(limits: Limits) -> dict[str, Any]:
    """Create options that confine an untrusted peer: no capabilities, no privilege gain,
    a read-only root with a capped /tmp, and memory, pids and CPU limits."""
    return {
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={limits.tmpfs_bytes}"},
        "mem_limit": limits.memory_bytes,
        "memswap_limit": limits.memory_bytes,
        "pids_limit": limits.pids,
        "nano_cpus": int(limits.cpus * 1e9),
    }


def _file_from_container(container: Container, path: str) -> bytes | None:
    """One file's bytes, copied out of a container (running or not) as the API's tar."""
    chunks, _ = container.get_archive(path)
    with tarfile.open(fileobj=BytesIO(b"".join(chunks))) as archive:
        member = archive.next()
        handle = archive.extractfile(member) if member else None
        return handle.read() if handle else None


@contextlib.contextmanager
def _context_archive(context: Path, extra_files: Mapping[str, str]) -> Iterator[Any]:
    ignore = context / ".dockerignore"
    patterns = (
        [
            line.strip()
            for line in ignore.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        if ignore.exists()
        else []
    )
    files = sorted(exclude_paths(str(context), patterns))
    archive = create_archive(str(context), files=files, extra_files=list(extra_files.items()))
    try:
        archive.seek(0)
        yield archive
    finally:
        archive.close()


def _remove_quietly(remove: Callable[[], object]) -> None:
    """Cleanup must not mask the error that got us here; `clean` reaps what this misses."""
    with contextlib.suppress(DockerException):
        remove()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "unknown error"
