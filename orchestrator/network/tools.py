"""The tool containers a scenario starts on a cell's network: routers, a TURN server,
and the namespace holders the peers run in.

A holder is a network namespace kept from cell to cell on a pooled network: a peer
joins it instead of getting a network endpoint of its own, which costs Docker a veth
pair, its DNS resolver set-up and a round of iptables work per container.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Self

from orchestrator.errors import EngineError
from orchestrator.network.topology import CellNetwork, CellScope
from orchestrator.ports import (
    ROLE_LABEL,
    RUN_LABEL,
    Attachment,
    ContainerSpec,
    Engine,
    Limits,
    Privileges,
    RunningContainer,
)

READY_TIMEOUT_S = 20.0
TOOL_LIMITS = Limits(memory_bytes=256 << 20, pids=128, cpus=1.0, tmpfs_bytes=64 << 20)
PEER_SYSCTLS = {
    "net.ipv4.conf.all.accept_redirects": "0",
    # A holder outlives its peers: no TIME_WAIT left by one cell's server may stop the
    # next cell's server from binding 8080 (a server without SO_REUSEADDR would fail).
    "net.ipv4.tcp_max_tw_buckets": "0",
}


@dataclass
class Tools:
    """Starts tool containers in an ExitStack (a cell's, or a pooled slot's)."""

    engine: Engine
    stack: ExitStack
    network: CellNetwork
    prefix: str
    labels: Mapping[str, str]
    image: str
    keep: bool
    cancel: threading.Event
    started: list[tuple[str, RunningContainer, bytes]] = field(default_factory=list)
    hosts: tuple[tuple[str, str], ...] = ()  # names the peers' namespaces resolve

    @classmethod
    def on(
        cls, scope: CellScope, stack: ExitStack, network: CellNetwork, image: str, keep: bool
    ) -> Self:
        """Tools for `network`, labelled with the run only: they may outlive the cell
        that starts them (a pooled slot keeps them for the next cell)."""
        labels = {k: v for k, v in scope.labels.items() if k == RUN_LABEL}
        return cls(scope.engine, stack, network, network.name, labels, image, keep, scope.cancel)

    def start(
        self,
        role: str,
        command: Sequence[str],
        host: int | None,
        privileges: Privileges,
        ready: bytes = b"ready",
        environment: Mapping[str, str] | None = None,
        files: Mapping[str, bytes] | None = None,
        ipv6: bool = False,
        aliases: tuple[str, ...] = (),
        hosts: tuple[tuple[str, str], ...] = (),
    ) -> str:
        name = f"{self.prefix}.{role}"
        spec = ContainerSpec(
            name=name,
            image=self.image,
            attachment=Attachment(
                self.network.name,
                aliases=aliases,
                ipv4=self.network.host(host) if host is not None else None,
                ipv6=self.network.host6(host) if ipv6 and host is not None else None,
                hosts=hosts,
            ),
            labels={**self.labels, ROLE_LABEL: role},
            command=tuple(command),
            environment=dict(environment or {}),
            limits=TOOL_LIMITS,
            privileges=privileges,
            files=dict(files or {}),
        )
        container = self.stack.enter_context(self.engine.container(spec, self.keep))
        self.started.append((role, container, ready))
        return name

    def holder(
        self,
        role: str,
        host: int,
        routes: list[str],
        ipv6: bool = False,
        aliases: tuple[str, ...] = (),
    ) -> str:
        """A namespace for a peer: its routes set, then no capability left."""
        return self.start(
            f"{role}-netns",
            ["hold", *routes],
            host,
            Privileges(("NET_ADMIN", "SETPCAP"), PEER_SYSCTLS),
            environment={"HOLD_DROP": "1"},
            ipv6=ipv6,
            aliases=aliases,
            hosts=self.hosts,
        )

    def link_local(self) -> dict[str, frozenset[str]]:
        """The IPv6 link-local addresses the holders printed ("link-local fe80::…/64"):
        peers may use them as host candidates too."""
        found: dict[str, frozenset[str]] = {}
        for role, container, _ in self.started:
            lines = container.logs().text.decode(errors="replace").splitlines()
            found[role] = frozenset(
                line.split()[1].split("/")[0] for line in lines if line.startswith("link-local ")
            )
        return found

    def wait_ready(self) -> None:
        for role, container, marker in self.started:
            if not container.wait_output(marker, READY_TIMEOUT_S, self.cancel):
                raise EngineError(f"the scenario's {role} did not come up")
