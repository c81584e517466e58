"""Where a cell's network comes from: a fresh one per cell, or a slot of the run's pool.

A slot is a network kept for the whole run, handed from cell to cell (once the cell's
own containers are gone: its ExitStack closes in that order), with the scenario set-up
built on it (routers, TURN server, namespace holders) kept too while the next cell is
of the same scenario. So a cell costs its two peers and nothing else, however much
network stands between them. Nothing a peer does can outlive it: peers have no
capability to change a route, a rule or a holder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from orchestrator.network.topology import CellNetwork, CellScope, open_network
from orchestrator.ports import Engine

T = TypeVar("T")


@dataclass
class Slot:
    network: CellNetwork
    stack: ExitStack  # where a slot's set-up lives
    shared: bool = False  # the set-up outlives the cell
    key: str | None = None
    value: Any = None

    def close(self) -> None:
        self.stack.close()

    def setup(self, key: str, build: Callable[[ExitStack], T]) -> T:
        """The set-up for `key` (a scenario), built once for as long as cells of that
        key follow each other on this slot."""
        if self.shared and self.key == key:
            return self.value  # type: ignore[no-any-return]
        if self.shared:
            self.stack.close()
            self.stack = ExitStack()
        self.key, self.value = key, build(self.stack)
        return self.value  # type: ignore[no-any-return]


class Networks(Protocol):
    def take(self, scope: CellScope, ipv6: bool = False) -> Slot:
        """A network for one cell, given back (or removed) when `stack` closes."""


@dataclass(frozen=True)
class Fresh:
    """A new network (and set-up) for every cell, e.g. kept for inspection."""

    keep: bool = False

    def take(self, scope: CellScope, ipv6: bool = False) -> Slot:
        network = open_network(
            scope.engine, scope.stack, scope.prefix, scope.labels, self.keep, ipv6=ipv6
        )
        return Slot(network, scope.stack)


@dataclass
class NetworkPool:
    """The run's slots: created as many as cells run at once, removed at the end."""

    engine: Engine
    run_id: str
    labels: Mapping[str, str]
    owned: list[ExitStack] = field(default_factory=list)  # per slot: its network and set-up
    free: list[Slot] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0

    def take(self, scope: CellScope, ipv6: bool = False) -> Slot:
        if ipv6:  # a dual-stack network of its own
            return Fresh().take(scope, ipv6=True)
        with self.lock:
            slot = self.free.pop() if self.free else None
            self.count += slot is None
            name = f"wi-{self.run_id}.network-{self.count}"
        if slot is None:
            own = ExitStack()
            network = open_network(self.engine, own, name, self.labels, False)
            slot = Slot(network, ExitStack(), shared=True)
            own.callback(slot.close)
            with self.lock:
                self.owned.append(own)
        scope.stack.callback(self._give_back, slot)
        return slot

    def _give_back(self, slot: Slot) -> None:
        with self.lock:
            self.free.append(slot)

    def __enter__(self) -> NetworkPool:
        return self

    def __exit__(self, *error: object) -> None:
        """Every slot removed at once: one after the other, a pool of eight took Docker
        about 3 s at the end of every run."""
        if not self.owned:
            return
        with ThreadPoolExecutor(len(self.owned), thread_name_prefix="pool-close") as closing:
            for done in [closing.submit(own.close) for own in self.owned]:
                done.result()
