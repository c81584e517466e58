"""What the wire says happened in a cell: a pcap in, evidence per direction out (pure).

UDP payloads are told apart the way a WebRTC endpoint demultiplexes them
(RFC 7983, first byte): 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP. A verdict from a
client's exit code is only trusted when this evidence backs it.
"""

from __future__ import annotations

import io
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field, fields
from enum import StrEnum

import dpkt

from orchestrator.model import Traffic, Verification

STUN_MAGIC = 0x2112A442
STUN_BINDING_REQUEST = 0x0001
STUN_BINDING_SUCCESS = 0x0101
DTLS_CHANGE_CIPHER_SPEC, DTLS_HANDSHAKE, DTLS_APPLICATION_DATA = 20, 22, 23
DTLS12_HEADER = 13
MIN_RTP_EACH_WAY = 10


class Kind(StrEnum):
    STUN = "stun"
    DTLS = "dtls"
    RTP = "rtp"
    RTCP = "rtcp"
    OTHER = "other"


def demultiplex(payload: bytes) -> Kind:
    """RFC 7983 section 7 (with RFC 5761 for telling RTCP from RTP)."""
    if not payload:
        return Kind.OTHER
    first = payload[0]
    if first <= 3:
        return Kind.STUN
    if 20 <= first <= 63:
        return Kind.DTLS
    if 128 <= first <= 191:
        if len(payload) > 1 and 192 <= payload[1] <= 223:
            return Kind.RTCP
        return Kind.RTP
    return Kind.OTHER


TRAFFIC_COUNTS = tuple(f.name for f in fields(Traffic))


class _Tally:
    """Counts for one direction while reading; the names are Traffic's fields."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.first_encrypted_at: float | None = None

    def add(self, name: str, amount: int = 1) -> None:
        assert name in TRAFFIC_COUNTS, name
        self.counts[name] += amount

    def frozen(self) -> Traffic:
        return Traffic(**{name: self.counts[name] for name in TRAFFIC_COUNTS})


@dataclass
class _Evidence:
    client_to_server: _Tally = field(default_factory=_Tally)
    server_to_client: _Tally = field(default_factory=_Tally)
    client_checks_answered: bool = False  # a check the client sent got a success response
    server_checks_answered: bool = False
    first_check_at: float | None = None
    handshake_done_at: float | None = None  # both peers have sent encrypted DTLS records

    @property
    def connect_time_s(self) -> float | None:
        if self.first_check_at is None or self.handshake_done_at is None:
            return None
        return round(self.handshake_done_at - self.first_check_at, 4)

    def verification(self, test: str) -> Verification:
        c2s, s2c = self.client_to_server.frozen(), self.server_to_client.frozen()
        return Verification(
            missing=missing(
                test, self.client_checks_answered, self.server_checks_answered, c2s, s2c
            ),
            connect_time_s=self.connect_time_s,
            client_checks_answered=self.client_checks_answered,
            server_checks_answered=self.server_checks_answered,
            client_to_server=c2s,
            server_to_client=s2c,
        )


def missing(
    test: str,
    client_answered: bool,
    server_answered: bool,
    client_to_server: Traffic,
    server_to_client: Traffic,
) -> tuple[str, ...]:
    """What the test case needs to have seen on the wire but was not there."""
    gaps = []
    if not client_answered:
        gaps.append("no ICE check from the client was answered")
    if not server_answered:
        gaps.append("no ICE check from the server was answered")
    directions = (("client", client_to_server), ("server", server_to_client))
    for name, traffic in directions:
        if not traffic.dtls_encrypted_records:
            gaps.append(f"no encrypted DTLS record from the {name}")
    if test == "datachannel":
        for name, traffic in directions:
            if not traffic.dtls_application_records:
                gaps.append(f"no DTLS application data from the {name} after the handshake")
    if test in ("audio", "video"):
        for name, traffic in directions:
            if traffic.rtp_packets < MIN_RTP_EACH_WAY:
                gaps.append(f"only {traffic.rtp_packets} SRTP packets from the {name}")
    return tuple(gaps)


class CaptureUnreadable(Exception):
    """The capture file is not a pcap we can read."""


def verify(pcap: bytes, server_ip: str, client_ip: str | None, test: str) -> Verification:
    """What the UDP traffic between the two peers shows, against what `test` needs.

    Without `client_ip` (a client that exited before docker could be asked for its
    address), the client is whoever exchanged the most UDP with the server.
    """
    datagrams = _datagrams(pcap)
    if client_ip is None:
        peers = Counter(
            destination if source == server_ip else source
            for _, source, destination, _ in datagrams
            if server_ip in (source, destination)
        )
        client_ip = peers.most_common(1)[0][0] if peers else ""
    return _analyse(datagrams, server_ip, client_ip).verification(test)


Datagram = tuple[float, str, str, bytes]  # time, source, destination, UDP payload


def _datagrams(pcap: bytes) -> list[Datagram]:
    try:
        reader = dpkt.pcap.Reader(io.BytesIO(pcap))
    except (ValueError, dpkt.dpkt.NeedData) as error:
        raise CaptureUnreadable(f"not a pcap file: {error}") from None
    datagrams = []
    for timestamp, frame in reader:
        datagram = _udp(frame, reader.datalink())
        if datagram is not None:
            datagrams.append((timestamp, *datagram))
    return datagrams


def _analyse(datagrams: list[Datagram], server_ip: str, client_ip: str) -> _Evidence:
    evidence = _Evidence()
    pending_checks: dict[bytes, str] = {}  # STUN transaction id -> who asked
    for timestamp, source, destination, payload in datagrams:
        if {source, destination} != {server_ip, client_ip}:
            continue
        sender = "client" if source == client_ip else "server"
        tally = evidence.client_to_server if sender == "client" else evidence.server_to_client
        tally.add("packets")
        tally.add("bytes", len(payload))
        kind = demultiplex(payload)
        if kind is Kind.STUN:
            _stun(payload, sender, tally, evidence, pending_checks, timestamp)
        elif kind is Kind.DTLS:
            _dtls(payload, tally, evidence, timestamp)
        elif kind is Kind.RTP:
            tally.add("rtp_packets")
        elif kind is Kind.RTCP:
            tally.add("rtcp_packets")
    return evidence


def _udp(frame: bytes, datalink: int) -> tuple[str, str, bytes] | None:
    try:
        if datalink == dpkt.pcap.DLT_LINUX_SLL:
            packet = dpkt.sll.SLL(frame).data
        else:
            packet = dpkt.ethernet.Ethernet(frame).data
    except (dpkt.dpkt.UnpackError, IndexError):
        return None
    if isinstance(packet, dpkt.ip.IP) and isinstance(packet.data, dpkt.udp.UDP):
        return (socket.inet_ntoa(packet.src), socket.inet_ntoa(packet.dst), bytes(packet.data.data))
    if isinstance(packet, dpkt.ip6.IP6) and isinstance(packet.data, dpkt.udp.UDP):
        return (
            socket.inet_ntop(socket.AF_INET6, packet.src),
            socket.inet_ntop(socket.AF_INET6, packet.dst),
            bytes(packet.data.data),
        )
    return None


def _stun(
    payload: bytes,
    sender: str,
    tally: _Tally,
    evidence: _Evidence,
    pending: dict[bytes, str],
    timestamp: float,
) -> None:
    if len(payload) < 20:
        return
    message_type, _, magic = struct.unpack("!HHI", payload[:8])
    if magic != STUN_MAGIC:
        return
    transaction = payload[8:20]
    if message_type == STUN_BINDING_REQUEST:
        tally.add("stun_requests")
        pending[transaction] = sender
        if evidence.first_check_at is None:
            evidence.first_check_at = timestamp
    elif message_type == STUN_BINDING_SUCCESS:
        tally.add("stun_successes")
        asker = pending.get(transaction)
        if asker == "client" and sender == "server":
            evidence.client_checks_answered = True
        elif asker == "server" and sender == "client":
            evidence.server_checks_answered = True


def _dtls(payload: bytes, tally: _Tally, evidence: _Evidence, timestamp: float) -> None:
    """Walk every record of the datagram; DTLS 1.2 headers and DTLS 1.3 unified headers."""
    offset = 0
    while offset < len(payload):
        first = payload[offset]
        if first & 0xE0 == 0x20:  # DTLS 1.3 unified header: always an encrypted record
            length = _unified_length(payload, offset)
            if length is None:
                return
            header, body = length
            encrypted, application = True, evidence.handshake_done_at is not None
            offset += header + body
        elif first in (DTLS_CHANGE_CIPHER_SPEC, 21, DTLS_HANDSHAKE, DTLS_APPLICATION_DATA):
            if len(payload) < offset + DTLS12_HEADER:
                return
            epoch = struct.unpack("!H", payload[offset + 3 : offset + 5])[0]
            body = struct.unpack("!H", payload[offset + 11 : offset + 13])[0]
            encrypted = epoch > 0
            application = first == DTLS_APPLICATION_DATA
            if first == DTLS_HANDSHAKE:
                tally.add("dtls_handshake_records")
            offset += DTLS12_HEADER + body
        else:
            return
        if encrypted:
            tally.add("dtls_encrypted_records")
            if tally.first_encrypted_at is None:
                tally.first_encrypted_at = timestamp
                _maybe_handshake_done(evidence)
        if application:
            tally.add("dtls_application_records")


def _unified_length(payload: bytes, offset: int) -> tuple[int, int] | None:
    """(header size, body size) of a DTLS 1.3 record with a unified header (RFC 9147 4)."""
    first = payload[offset]
    header = 1 + (2 if first & 0x08 else 1) + (2 if first & 0x04 else 0)
    if first & 0x04:
        if len(payload) < offset + header:
            return None
        return header, struct.unpack("!H", payload[offset + header - 2 : offset + header])[0]
    return header, len(payload) - offset - header  # no length: the record fills the datagram


def _maybe_handshake_done(evidence: _Evidence) -> None:
    times = (
        evidence.client_to_server.first_encrypted_at,
        evidence.server_to_client.first_encrypted_at,
    )
    if evidence.handshake_done_at is None and None not in times:
        evidence.handshake_done_at = max(t for t in times if t is not None)
