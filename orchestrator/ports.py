"""The interface the runner needs from a container engine.

The Docker implementation lives in `orchestrator.engine`; unit tests hand the
runner a small fake with the same shape, so no test that claims to be end to end
ever talks to a pretend daemon.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

LABEL_PREFIX = "org.webrtc-interop"
RUN_LABEL = f"{LABEL_PREFIX}.run"
CELL_LABEL = f"{LABEL_PREFIX}.cell"
ROLE_LABEL = f"{LABEL_PREFIX}.role"


@dataclass(frozen=True)
class Limits:
    """What one peer container may use: peers are untrusted code (docs/contract.md)."""

    memory_bytes: int = 1 << 30
    pids: int = 512
    cpus: float = 1.0
    tmpfs_bytes: int = 512 << 20
    log_bytes: int = 4 << 20  # head and tail of the output kept, the middle cut


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    network: str
    labels: Mapping[str, str]
    command: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class BuildSpec:
    """One image build: a context directory, what goes into it, and how to tag it."""

    context: Path
    tag: str
    dockerfile: str | None = None  # relative to the context; None: its own Dockerfile
    buildargs: Mapping[str, str] = field(default_factory=dict)
    extra_files: Mapping[str, str] = field(default_factory=dict)  # path in context -> text
    labels: Mapping[str, str] = field(default_factory=dict)
    cache_from: tuple[str, ...] = ()  # images whose layers may be reused (CI after a load)


class ImageEngine(Protocol):
    """What building and finding images needs from a container engine."""

    def ensure_upstream_base(
        self, reference: str, mirror: str, log_path: Path, say: Callable[[str], None]
    ) -> str:
        """Make the upstream base exist; how: 'local', 'pulled' or 'bootstrapped'."""

    def build(
        self, spec: BuildSpec, log_path: Path, timeout_s: float, on_step: Callable[[str], None]
    ) -> str:
        """The built image's id; raises ImageBuildError when the Dockerfile fails."""

    def image_id(self, reference: str) -> str | None: ...

    def pull(self, reference: str) -> str | None: ...

    def read_json_from_image(self, reference: str, path: str) -> dict[str, Any] | None: ...


class Cancelled(Exception):
    """Raised out of a wait when the run is being cancelled (Ctrl-C, SIGTERM)."""


class RunningContainer(Protocol):
    def address(self) -> str | None:
        """The container's IP address on the cell network."""

    def exit_code(self) -> int | None:
        """The exit code once the container has stopped, else None."""

    def accepts_tcp(self, port: int) -> bool:
        """True when a TCP connection to `port` on the container's network address succeeds."""

    def wait_exit(self, timeout_s: float, cancel: threading.Event) -> int | None:
        """Wait for the container to stop; None when `timeout_s` passed first."""

    def kill(self) -> None: ...

    def logs(self) -> bytes: ...


class Recorder(Protocol):
    """A packet capture running in a container's network namespace."""

    def wait_ready(self, timeout_s: float, cancel: threading.Event) -> bool:
        """True once packets are being recorded; False if the recorder died or was slow."""

    def stop(self) -> bytes:
        """Stop recording and hand over the pcap file's bytes (b"" if there is none)."""


class Engine(Protocol):
    def network(
        self, name: str, labels: Mapping[str, str], keep: bool = False
    ) -> AbstractContextManager[str]:
        """An internal network for the `with` block, removed after it unless `keep`."""

    def container(
        self, spec: ContainerSpec, keep: bool = False
    ) -> AbstractContextManager[RunningContainer]:
        """A started container, force-removed when the block ends (however it ends) unless
        `keep`, which leaves it for a maintainer to inspect and `clean` to reap."""

    def capture(
        self, target: str, name: str, image: str, labels: Mapping[str, str]
    ) -> AbstractContextManager[Recorder]:
        """A recorder sharing container `target`'s network namespace, removed after use."""
