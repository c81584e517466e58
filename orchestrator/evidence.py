"""What the wire says happened in a cell: a pcap in, evidence per direction out (pure).

UDP payloads are told apart the way a WebRTC endpoint demultiplexes them
(RFC 7983, first byte): 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP. A verdict from a
client's exit code is only trusted when this evidence backs it.
"""

from __future__ import annotations

import io
import socket
import struct
from dataclasses import asdict, dataclass, field
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


@dataclass
class _Tally:
    """Counts for one direction (client → server, or server → client), while reading."""

    packets: int = 0
    bytes: int = 0
    stun_requests: int = 0
    stun_successes: int = 0
    dtls_handshake_records: int = 0
    dtls_encrypted_records: int = 0
    dtls_application_records: int = 0
    rtp_packets: int = 0
    rtcp_packets: int = 0
    first_encrypted_at: float | None = None

    def frozen(self) -> Traffic:
        counts = asdict(self)
        counts.pop("first_encrypted_at")
        return Traffic(**counts)


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

    def missing(self, test: str) -> list[str]:
        """What the test case needs to have seen on the wire but was not there."""
        c2s, s2c = self.client_to_server, self.server_to_client
        gaps = []
        if not self.client_checks_answered:
            gaps.append("no ICE check from the client was answered")
        if not self.server_checks_answered:
            gaps.append("no ICE check from the server was answered")
        for name, tally in (("client", c2s), ("server", s2c)):
            if not tally.dtls_encrypted_records:
                gaps.append(f"no encrypted DTLS record from the {name}")
        if test == "datachannel":
            for name, tally in (("client", c2s), ("server", s2c)):
                if not tally.dtls_application_records:
                    gaps.append(f"no DTLS application data from the {name} after the handshake")
        if test in ("audio", "video"):
            for name, tally in (("client", c2s), ("server", s2c)):
                if tally.rtp_packets < MIN_RTP_EACH_WAY:
                    gaps.append(f"only {tally.rtp_packets} SRTP packets from the {name}")
        return gaps

    def verification(self, test: str) -> Verification:
        return Verification(
            missing=tuple(self.missing(test)),
            connect_time_s=self.connect_time_s,
            client_checks_answered=self.client_checks_answered,
            server_checks_answered=self.server_checks_answered,
            client_to_server=self.client_to_server.frozen(),
            server_to_client=self.server_to_client.frozen(),
        )


class CaptureUnreadable(Exception):
    """The capture file is not a pcap we can read."""


def verify(pcap: bytes, server_ip: str, client_ip: str, test: str) -> Verification:
    """What the UDP traffic between the two peers shows, against what `test` needs."""
    return _analyse(pcap, server_ip, client_ip).verification(test)


def _analyse(pcap: bytes, server_ip: str, client_ip: str) -> _Evidence:
    try:
        reader = dpkt.pcap.Reader(io.BytesIO(pcap))
    except (ValueError, dpkt.dpkt.NeedData) as error:
        raise CaptureUnreadable(f"not a pcap file: {error}") from None
    evidence = _Evidence()
    pending_checks: dict[bytes, str] = {}  # STUN transaction id -> who asked
    for timestamp, frame in reader:
        datagram = _udp(frame, reader.datalink())
        if datagram is None:
            continue
        source, destination, payload = datagram
        if {source, destination} != {server_ip, client_ip}:
            continue
        sender = "client" if source == client_ip else "server"
        tally = evidence.client_to_server if sender == "client" else evidence.server_to_client
        tally.packets += 1
        tally.bytes += len(payload)
        kind = demultiplex(payload)
        if kind is Kind.STUN:
            _stun(payload, sender, tally, evidence, pending_checks, timestamp)
        elif kind is Kind.DTLS:
            _dtls(payload, tally, evidence, timestamp)
        elif kind is Kind.RTP:
            tally.rtp_packets += 1
        elif kind is Kind.RTCP:
            tally.rtcp_packets += 1
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
        tally.stun_requests += 1
        pending[transaction] = sender
        if evidence.first_check_at is None:
            evidence.first_check_at = timestamp
    elif message_type == STUN_BINDING_SUCCESS:
        tally.stun_successes += 1
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
                tally.dtls_handshake_records += 1
            offset += DTLS12_HEADER + body
        else:
            return
        if encrypted:
            tally.dtls_encrypted_records += 1
            if tally.first_encrypted_at is None:
                tally.first_encrypted_at = timestamp
                _maybe_handshake_done(evidence)
        if application:
            tally.dtls_application_records += 1


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
