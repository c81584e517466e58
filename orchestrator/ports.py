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
class NetworkSpec:
    """One cell network: internal (no way out), on a bridge whose name we choose so the
    capture can listen on it; an explicit subnet when the topology places addresses."""

    name: str
    labels: Mapping[str, str]
    bridge: str
    subnet: str | None = None
    gateway: str | None = None
    subnet6: str | None = None


@dataclass(frozen=True)
class Attachment:
    """Where a container sits: on a network (with a fixed address and aliases, maybe), or
    inside another container's network namespace (`join`)."""

    network: str | None = None
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None
    join: str | None = None
    hosts: tuple[tuple[str, str], ...] = ()  # /etc/hosts entries: (name, address)


@dataclass(frozen=True)
class Privileges:
    """What a trusted tool container (router, namespace holder, TURN server) may do;
    peers never get any."""

    cap_add: tuple[str, ...] = ()
    sysctls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    attachment: Attachment
    labels: Mapping[str, str]
    command: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    privileges: Privileges | None = None  # None: an untrusted peer, fully sandboxed
    files: Mapping[str, bytes] = field(default_factory=dict)  # put in place before start


@dataclass(frozen=True)
class Capture:
    """A finished packet capture on disk."""

    path: Path
    size: int
    full_bytes: int | None  # packets after this many bytes were cut to their headers
    stopped_at_limit: bool  # the capture stopped recording at its hard limit
    dropped: int = 0  # packets the kernel dropped before the recorder read them
    snapped: int = 0  # packets longer than the recorder's snapshot length, kept cut


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
        """The container's IP address on its network (None when it shares another's)."""

    def exit_code(self) -> int | None:
        """The exit code once the container has stopped, else None."""

    def wait_exit(self, timeout_s: float, cancel: threading.Event) -> int | None:
        """Wait for the container to stop; None when `timeout_s` passed first."""

    def kill(self) -> None: ...

    def wait_output(self, marker: bytes, timeout_s: float, cancel: threading.Event) -> bool:
        """True once the container printed `marker`; False if it stopped or was slow."""

    def logs(self, since: float | None = None, until: float | None = None) -> Output:
        """What the container printed (between the UNIX times `since` and `until` when
        given), bounded: head and tail kept, the middle cut."""


@dataclass(frozen=True)
class Output:
    text: bytes
    cut: bool = False  # the middle was left out (a marker in `text` says where)


class Recorder(Protocol):
    """A packet capture listening on a cell's bridge."""

    def wait_ready(self, timeout_s: float, cancel: threading.Event) -> bool:
        """True once packets are being recorded; False if the recorder died or was slow."""

    def stop(self, destination: Path) -> Capture | None:
        """Stop recording and write the pcap to `destination` (None if there is none)."""


class Recorders(Protocol):
    """A run's packet recorder."""

    def record(self, bridge: str, budget: CaptureBudget) -> AbstractContextManager[Recorder]:
        """Record `bridge` for the `with` block."""


class Engine(Protocol):
    def network(self, spec: NetworkSpec, keep: bool = False) -> AbstractContextManager[str]:
        """An internal network for the `with` block, removed after it unless `keep`."""

    def container(
        self, spec: ContainerSpec, keep: bool = False
    ) -> AbstractContextManager[RunningContainer]:
        """A started container, force-removed when the block ends (however it ends) unless
        `keep`, which leaves it for a maintainer to inspect and `clean` to reap."""

    def accepts_tcp(self, address: str, port: int) -> bool:
        """True when a TCP connection from here to address:port succeeds."""

    def delete(self, address: str, port: int, path: str, timeout_s: float) -> str | None:
        """HTTP DELETE from here to address:port; None on `200`, else what went wrong."""

    def analyse(
        self,
        image: str,
        folder: Path,
        arguments: list[str],
        labels: Mapping[str, str],
        timeout_s: float = 120,
    ) -> str:
        """tshark's standard output for `arguments`, the files of `folder` at /cell; the
        container carries `labels` (the run's, so that `clean` finds one a crash left)."""


@dataclass(frozen=True)
class CaptureBudget:
    full_bytes: int = 64 << 20  # whole packets up to here, then headers only
    headers_bytes: int = 128  # how much of each packet is kept after that
    limit_bytes: int = 512 << 20  # nothing more is recorded after this
