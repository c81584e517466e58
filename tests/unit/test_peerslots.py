"""Weighted peer slots: a light cell takes half a slot, a full one is never starved."""

from __future__ import annotations

import threading
import time

import pytest

from orchestrator.peerslots import UNITS_PER_SLOT, PeerSlots

WAIT_S = 5.0


def test_two_light_cells_fit_in_one_slot_a_full_one_does_not_fit_beside_them() -> None:
    slots = PeerSlots(1)
    assert slots.acquire(1, timeout=0)
    assert slots.acquire(1, timeout=0)
    assert not slots.acquire(UNITS_PER_SLOT, timeout=0.05)
    slots.release(1)
    assert not slots.acquire(UNITS_PER_SLOT, timeout=0.05)
    slots.release(1)
    assert slots.acquire(UNITS_PER_SLOT, timeout=0)
    assert slots.free == 0


def test_a_waiter_that_gives_up_takes_nothing() -> None:
    slots = PeerSlots(2)
    assert slots.acquire(3, timeout=0)
    assert not slots.acquire(UNITS_PER_SLOT, timeout=0.05)
    assert slots.free == 1
    assert slots.acquire(1, timeout=0)


def test_a_full_cell_is_not_starved_by_light_ones() -> None:
    slots = PeerSlots(1)
    assert slots.acquire(1, timeout=0)
    granted = threading.Event()

    def full() -> None:
        if slots.acquire(UNITS_PER_SLOT, timeout=WAIT_S):
            granted.set()

    waiter = threading.Thread(target=full)
    waiter.start()
    deadline = time.monotonic() + WAIT_S
    while slots.waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    # Light cells may pass the waiting full one while a unit is free, PATIENCE times.
    passed = 0
    for _ in range(PeerSlots.PATIENCE + 2):
        if not slots.acquire(1, timeout=0.2):
            break
        passed += 1
        slots.release(1)
    assert passed == PeerSlots.PATIENCE
    assert not granted.is_set()
    slots.release(1)  # the first light cell ends: now the full one fits
    assert granted.wait(WAIT_S)
    waiter.join(WAIT_S)
    assert slots.free == 0


def test_a_demand_beyond_the_capacity_takes_all_of_it() -> None:
    slots = PeerSlots(1)
    assert slots.acquire(5, timeout=0)
    assert slots.free == 0
    slots.release(5)
    assert slots.free == UNITS_PER_SLOT


def test_no_slot_at_all_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="at least one peer slot"):
        PeerSlots(0)


def test_a_cancelled_waiter_gives_up_its_place() -> None:
    slots = PeerSlots(1)
    assert slots.acquire(UNITS_PER_SLOT, timeout=0)
    cancel = threading.Event()
    cancel.set()
    assert not slots.acquire(1, cancel=cancel)
    assert slots.waiting == 0
