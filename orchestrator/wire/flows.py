"""The capture sorted into the two directions between the peers.

Each packet is counted once, where it reaches the receiving peer (dst = the peer's own
address, src = one of the other peer's faces: its address, its NAT, the relay), so a
packet seen twice on the bridge (before and after a NAT or a relay) counts once. When
the client's leg is hidden in TCP/TLS to a relay, its direction is read where it leaves
the server instead.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field, fields

from orchestrator.model import Traffic
from orchestrator.wire.demux import (
    BINDING_REQUEST,
    BINDING_SUCCESS,
    Kind,
    demultiplex,
    inner_size,
    parse_stun,
    unwrap_turn,
)
from orchestrator.wire.dtls import Record, records
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.packets import Datagram

TRAFFIC_COUNTS = tuple(f.name for f in fields(Traffic))
Flow = tuple[str, int, str, int]


@dataclass(frozen=True)
class AppRecord:
    time: float
    record: Record
    flow: Flow


@dataclass(frozen=True)
class Rtp:
    time: float
    payload_type: int
    ssrc: int
    size: int
    flow: Flow


@dataclass
class Direction:
    """Everything seen in one direction, in time order."""

    counts: Counter[str] = field(default_factory=Counter)
    app_records: list[AppRecord] = field(default_factory=list)
    rtp: list[Rtp] = field(default_factory=list)
    checks: list[tuple[float, str | None]] = field(default_factory=list)  # (time, USERNAME)
    sources: set[str] = field(default_factory=set)
    first_encrypted_at: float | None = None
    # DTLS 1.2 record sequence numbers by (flow, epoch, ServerHellos seen before)
    sequences: dict[tuple[Flow, int, int], set[int]] = field(default_factory=dict)

    def records_not_captured(self) -> int:
        """Encrypted DTLS 1.2 records whose sequence numbers the capture skipped: sent
        (a later number crossed) but not recorded."""
        return sum(max(seen) - min(seen) + 1 - len(seen) for seen in self.sequences.values())

    def traffic(self) -> Traffic:
        return Traffic(**{name: self.counts[name] for name in TRAFFIC_COUNTS})


@dataclass
class Flows:
    client_to_server: Direction = field(default_factory=Direction)
    server_to_client: Direction = field(default_factory=Direction)
    suite: int | None = None  # the DTLS cipher suite of the (last) ServerHello
    handshakes: list[float] = field(default_factory=list)  # times of each ServerHello
    client_checks_answered: bool = False
    server_checks_answered: bool = False
    first_check_at: float | None = None

    @property
    def connect_time_s(self) -> float | None:
        times = (self.client_to_server.first_encrypted_at, self.server_to_client.first_encrypted_at)
        if self.first_check_at is None or None in times:
            return None
        return round(max(t for t in times if t is not None) - self.first_check_at, 4)


def sort_flows(datagrams: tuple[Datagram, ...], endpoints: Endpoints) -> Flows:
    flows = Flows()
    pending: dict[bytes, str] = {}  # STUN transaction -> who asked
    for datagram in datagrams:
        sender = endpoints.sender(datagram.src, datagram.dst)
        if sender is None:
            continue
        direction = flows.client_to_server if sender == "client" else flows.server_to_client
        _add(flows, direction, sender, datagram, pending)
    return flows


def _add(
    flows: Flows, direction: Direction, sender: str, datagram: Datagram, pending: dict[bytes, str]
) -> None:
    payload, size = datagram.payload, datagram.size
    inner = unwrap_turn(payload)
    if inner is not None:
        payload, size = inner, inner_size(datagram.payload, datagram.size)
    direction.counts["packets"] += 1
    direction.counts["bytes"] += size
    direction.sources.add(datagram.src)
    flow = (datagram.src, datagram.sport, datagram.dst, datagram.dport)
    kind = demultiplex(payload)
    if kind is Kind.STUN:
        _stun(flows, direction, sender, datagram.time, payload, pending)
    elif kind is Kind.DTLS:
        _dtls(flows, direction, datagram.time, payload, flow)
    elif kind is Kind.RTP and len(payload) >= 12:
        direction.counts["rtp_packets"] += 1
        ssrc = struct.unpack("!I", payload[8:12])[0]
        direction.rtp.append(Rtp(datagram.time, payload[1] & 0x7F, ssrc, size, flow))
    elif kind is Kind.RTCP:
        direction.counts["rtcp_packets"] += 1


def _stun(
    flows: Flows,
    direction: Direction,
    sender: str,
    time: float,
    payload: bytes,
    pending: dict[bytes, str],
) -> None:
    stun = parse_stun(payload)
    if stun is None:
        return
    if stun.method == BINDING_REQUEST:
        direction.counts["stun_requests"] += 1
        direction.checks.append((time, stun.username))
        pending[stun.transaction] = sender
        if flows.first_check_at is None:
            flows.first_check_at = time
    elif stun.method == BINDING_SUCCESS:
        direction.counts["stun_successes"] += 1
        asker = pending.get(stun.transaction)
        if asker == "client" and sender == "server":
            flows.client_checks_answered = True
        elif asker == "server" and sender == "client":
            flows.server_checks_answered = True


def _dtls(flows: Flows, direction: Direction, time: float, payload: bytes, flow: Flow) -> None:
    for record in records(payload):
        if record.content_type == 22:
            direction.counts["dtls_handshake_records"] += 1
        if record.server_hello_suite is not None:
            flows.suite = record.server_hello_suite
            flows.handshakes.append(time)
        if record.encrypted:
            if record.sequence is not None:  # per association: a new ServerHello starts one
                key = (flow, record.epoch, len(flows.handshakes))
                direction.sequences.setdefault(key, set()).add(record.sequence)
            direction.counts["dtls_encrypted_records"] += 1
            if direction.first_encrypted_at is None:
                direction.first_encrypted_at = time
        if record.application and (record.content_type == 23 or flows.connect_time_s is not None):
            direction.counts["dtls_application_records"] += 1
            direction.app_records.append(AppRecord(time, record, flow))
