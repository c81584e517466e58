"""A pcap file → UDP datagrams and TCP segments, tolerant of a file cut short and of
packets kept as headers only (their original sizes survive in the IP/UDP headers)."""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import dpkt

ETH_IPV4, ETH_IPV6, ETH_VLAN = 0x0800, 0x86DD, 0x8100
PCAP_HEADER, RECORD_HEADER = 24, 16
PROTO_TCP, PROTO_UDP = 6, 17


class CaptureUnreadable(Exception):
    """The file is not a pcap at all."""


@dataclass(frozen=True)
class Datagram:
    time: float
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes  # what the capture kept (maybe only the start)
    size: int  # the datagram's real payload size, from its UDP header


@dataclass(frozen=True)
class Segment:
    time: float
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    flags: int
    payload: bytes


@dataclass(frozen=True)
class Packets:
    datagrams: tuple[Datagram, ...]
    segments: tuple[Segment, ...]
    damage: str | None = None  # why reading stopped early, if it did


def read_pcap(pcap: bytes) -> Packets:
    """Every UDP datagram and TCP segment; a file that ends inside a record is read up to
    there and says so."""
    datagrams: list[Datagram] = []
    segments: list[Segment] = []
    count, read = 0, PCAP_HEADER
    for time, frame, ip_at, end in frames(pcap):
        _sort(frame[ip_at:] if ip_at else b"", time, datagrams, segments)
        count, read = count + 1, end
    damage = None
    if read < len(pcap):
        damage = f"the capture is cut or damaged after packet {count}"
    return Packets(tuple(datagrams), tuple(segments), damage)


def byte_order(pcap: bytes) -> str:
    """The struct byte order of a pcap's record headers."""
    return "<" if pcap[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"


def frames(pcap: bytes) -> Iterator[tuple[float, bytes, int, int]]:
    """(time, frame, where its IP header starts or 0, where the record ends) for each
    whole record."""
    try:
        reader = dpkt.pcap.Reader(io.BytesIO(pcap[:PCAP_HEADER]))
    except (ValueError, dpkt.dpkt.NeedData, dpkt.dpkt.UnpackError) as error:
        raise CaptureUnreadable(f"not a pcap file ({error or 'empty'})") from None
    order = byte_order(pcap)
    nanoseconds = pcap[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    offset = PCAP_HEADER
    while offset + RECORD_HEADER <= len(pcap):
        seconds, fraction, kept, _ = struct.unpack(
            order + "IIII", pcap[offset : offset + RECORD_HEADER]
        )
        frame = pcap[offset + RECORD_HEADER : offset + RECORD_HEADER + kept]
        if len(frame) < kept:
            return
        offset += RECORD_HEADER + kept
        time = seconds + fraction / (1e9 if nanoseconds else 1e6)
        yield time, frame, _ip_offset(frame, reader.datalink()), offset


def _ip_offset(frame: bytes, datalink: int) -> int:
    """Where the IP header starts in a link-layer frame; 0 if it carries no IP."""
    if len(frame) < 18:
        return 0
    if datalink == dpkt.pcap.DLT_LINUX_SLL:
        kind, offset = struct.unpack("!H", frame[14:16])[0], 16
    else:
        kind, offset = struct.unpack("!H", frame[12:14])[0], 14
        if kind == ETH_VLAN:
            kind, offset = struct.unpack("!H", frame[16:18])[0], 18
    return offset if kind in (ETH_IPV4, ETH_IPV6) else 0


def udp_at(frame: bytes, ip_at: int) -> tuple[int, str, str] | None:
    """Where a frame's UDP header starts, and the IP source and destination."""
    ip = frame[ip_at:] if ip_at else b""
    if len(ip) >= 20 and ip[0] >> 4 == 4 and ip[9] == PROTO_UDP:
        at = ip_at + (ip[0] & 0x0F) * 4
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    elif len(ip) >= 40 and ip[0] >> 4 == 6 and ip[6] == PROTO_UDP:
        at = ip_at + 40
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
    else:
        return None
    return (at, src, dst) if len(frame) >= at + 8 else None


def _sort(ip: bytes, time: float, datagrams: list[Datagram], segments: list[Segment]) -> None:
    """Add the packet to the datagrams or segments if it is UDP or TCP over IPv4/IPv6."""
    if len(ip) < 20:
        return
    if ip[0] >> 4 == 4:
        header = (ip[0] & 0x0F) * 4
        proto = ip[9]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    elif ip[0] >> 4 == 6 and len(ip) >= 40:
        header, proto = 40, ip[6]
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
    else:
        return
    body = ip[header:]
    if proto == PROTO_UDP and len(body) >= 8:
        sport, dport, length = struct.unpack("!HHH", body[:6])
        datagrams.append(Datagram(time, src, dst, sport, dport, body[8:length], max(length - 8, 0)))
    elif proto == PROTO_TCP and len(body) >= 20:
        sport, dport, seq = struct.unpack("!HHI", body[:8])
        offset = (body[12] >> 4) * 4
        segments.append(Segment(time, src, dst, sport, dport, seq, body[13], body[offset:]))
