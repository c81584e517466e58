"""Peer slots with weights: how many cells may have their peers running at once.

`jobs` counts CPU-bound cells. A cell whose peers mostly wait on real-time media (an
audio or video echo: the client sends for about as long as 50 packets take) keeps a
core busy a fraction of the time, so it takes half a slot; the cores stay busy while
several of them wait on their media.
"""

from __future__ import annotations

import threading
import time

UNITS_PER_SLOT = 2  # a light cell takes one unit, a full one two
CANCEL_POLL_S = 0.1  # how soon a waiter notices its cancel event


class PeerSlots:
    """A counting semaphore whose takers ask for one or more units.

    Waiters are served in arrival order as far as they fit: a waiter that needs more
    units than are free does not block a later one that fits, but once it has been
    passed over PATIENCE times nobody passes it any more, so a full cell is never
    starved by a stream of light ones.
    """

    PATIENCE = 4

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("at least one peer slot")
        self.capacity = slots * UNITS_PER_SLOT
        self._free = self.capacity
        self._lock = threading.Condition()
        self._queue: list[_Waiter] = []

    def acquire(
        self, units: int, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> bool:
        """Take `units` (at most the capacity); False when `timeout` seconds passed or
        `cancel` was set first. The waiter keeps its place in the queue meanwhile."""
        units = min(units, self.capacity)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            waiter = _Waiter(units)
            self._queue.append(waiter)
            while not self._grant(waiter):
                left = CANCEL_POLL_S if deadline is None else deadline - time.monotonic()
                if left <= 0 or (cancel is not None and cancel.is_set()):
                    self._queue.remove(waiter)
                    self._lock.notify_all()  # a later waiter may fit now that this one left
                    return False
                self._lock.wait(min(left, CANCEL_POLL_S))
            return True

    def release(self, units: int) -> None:
        with self._lock:
            self._free += min(units, self.capacity)
            self._lock.notify_all()

    @property
    def free(self) -> int:
        with self._lock:
            return self._free

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._queue)

    def _grant(self, waiter: _Waiter) -> bool:
        """Called with the lock held: whether `waiter` may take its units now."""
        for earlier in self._queue:
            if earlier is waiter:
                break
            if earlier.passed >= self.PATIENCE:
                return False  # it waited long enough: everyone behind it waits
        if waiter.units > self._free:
            return False
        for earlier in self._queue:
            if earlier is waiter:
                break
            earlier.passed += 1
        self._queue.remove(waiter)
        self._free -= waiter.units
        return True


class _Waiter:
    def __init__(self, units: int) -> None:
        self.units = units
        self.passed = 0
