"""The Docker adapter as one object: the image half, the cell half, and housekeeping."""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Mapping
from functools import partial
from io import BytesIO

import docker
from docker.errors import DockerException
from requests.exceptions import RequestException
from rich.console import Console

from orchestrator.engine.cells import DockerCells, file_from_container
from orchestrator.engine.daemon import ensure_engine
from orchestrator.engine.errors import Health, translate
from orchestrator.engine.images import DockerImages
from orchestrator.errors import EngineError

API_TIMEOUT_S = 30
Say = Callable[[str], None]


def connect(say: Say, max_pool_size: int = 16) -> DockerEngine:
    return DockerEngine(ensure_engine(say, max_pool_size=max_pool_size, timeout=API_TIMEOUT_S))


def connect_for(console: Console, jobs: int) -> DockerEngine:
    """An engine for `jobs` cells at once. Every running container holds one connection
    for Docker's `wait` (its peers, holders, routers, TURN server; twice `jobs` cells are
    in flight), besides short calls."""
    return connect(lambda text: console.print(text, highlight=False), max_pool_size=16 * jobs + 8)


class DockerEngine(DockerImages, DockerCells):
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.health = Health()

    def server_version(self) -> str:
        with self.health.guard("ask the engine its version"):
            return str(self.client.version().get("Version", "unknown"))

    def screenshot(
        self,
        image: str,
        html: str,
        size: tuple[int, int],
        labels: Mapping[str, str],
        timeout_s: float = 90,
    ) -> bytes:
        """Render `html` in the screenshot image's headless browser, offline; the PNG."""
        with self.health.guard("create the screenshot container"):
            container = self.client.containers.create(
                image,
                command=[f"--window-size={size[0]},{size[1]}", "file:///report/results.html"],
                network_mode="none",
                labels=dict(labels),
                shm_size="256m",
            )
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
            png = file_from_container(container, "/report/results.png")
        except (DockerException, RequestException, tarfile.TarError) as error:
            raise translate(error, "take the screenshot") from None
        finally:
            self.health.quietly(partial(container.remove, force=True))
        if not png:
            raise EngineError("headless chromium wrote no screenshot")
        return png

    def remove_labelled(self, label: str) -> tuple[int, int]:
        """Force-remove containers, then networks, carrying `label`; return both counts."""
        with self.health.guard(f"list resources labelled {label}"):
            # sparse: no inspect per container, so one removed meanwhile is no error
            containers = self.client.containers.list(
                all=True, filters={"label": label}, sparse=True
            )
            for container in containers:
                self.health.quietly(partial(container.remove, force=True))
            networks = self.client.networks.list(filters={"label": label})
            for network in networks:
                self.health.quietly(network.remove)
        return len(containers), len(networks)

    def count_labelled(self, label: str) -> tuple[int, int]:
        with self.health.guard(f"list resources labelled {label}"):
            containers = self.client.containers.list(
                all=True, filters={"label": label}, sparse=True
            )
            networks = self.client.networks.list(filters={"label": label})
        return len(containers), len(networks)
