"""The capture image's recorder (images/capture/record.py): the size budget and the count
of packets tcpdump's snapshot length cut, fed a pcap stream in arbitrary chunks."""

from __future__ import annotations

import importlib.util
import struct
from io import BytesIO
from pathlib import Path
from types import ModuleType

RECORD = Path(__file__).resolve().parents[2] / "images/capture/record.py"


def recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record", RECORD)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stream(*packets: tuple[int, int]) -> bytes:
    """A pcap stream of (captured length, original length) records."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for captured, original in packets:
        out += struct.pack("<IIII", 1, 0, captured, original) + b"x" * captured
    return out


def test_packets_the_snapshot_length_cut_are_counted_whatever_the_chunks() -> None:
    record = recorder()
    data = stream((100, 100), (record.SNAPLEN, 40000), (60, 60), (record.SNAPLEN, 20000))
    budget = record.Budget(1 << 20, 128, 1 << 22)
    out, rest = BytesIO(), b""
    for start in range(0, len(data), 777):
        rest = budget.feed(rest + data[start : start + 777], out)
    assert rest == b""
    assert budget.snapped == 2
    assert out.getvalue() == data  # within the budget every record is copied whole


def test_cutting_to_headers_after_the_budget_is_not_counted_as_snapped() -> None:
    record = recorder()
    budget = record.Budget(24 + 16 + 100, 20, 1 << 22)  # whole packets for one record only
    out = BytesIO()
    assert budget.feed(stream((100, 100), (100, 100), (100, 100)), out) == b""
    assert budget.snapped == 0
    assert budget.cut_at == 24 + 16 + 100
    assert len(out.getvalue()) == 24 + (16 + 100) + 2 * (16 + 20)
