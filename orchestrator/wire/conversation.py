"""The capture rewritten for decryption: one DTLS association, one 5-tuple.

A dissector keys DTLS sessions by 5-tuple. An association whose directions, or whose
handshake and data, took different ICE pairs, NAT legs or TURN framings (a peer that
sends through its own allocation but receives from the other's relay) is split over
several of them, and none holds a whole handshake. Rewritten here, every DTLS record on
a hop that touches a peer's own address, plain or inside ChannelData or a Send/Data
indication, goes straight between the peers' own addresses on a pair of fixed ports; a
record seen on several hops is then there several times, with the same TSNs. Each
association (a ClientHello with a new random: `reconnect` has two) gets its own pair of
ports, so that one session's handshake never lands in another's. Nothing else changes.
"""

from __future__ import annotations

import socket
import struct

from orchestrator.wire.demux import Kind, demultiplex, unwrap_turn
from orchestrator.wire.dtls import client_hello_random
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.packets import PCAP_HEADER, RECORD_HEADER, byte_order, frames, udp_at

CONVERSATION_PORTS = (40000, 40001)  # client, server; the next association +2, +2 ...
MAX_ASSOCIATIONS = 1000
UDP_HEADER = 8


def one_conversation(pcap: bytes, endpoints: Endpoints) -> bytes:
    """The capture with the peers' DTLS as one conversation per association (see the
    module's text)."""
    header = struct.Struct(byte_order(pcap) + "IIII")
    out = bytearray(pcap[:PCAP_HEADER])
    randoms: list[bytes] = []  # the ClientHello randoms seen, one per association
    for _, frame, ip_at, end in frames(pcap):
        start = end - len(frame) - RECORD_HEADER
        seconds, fraction, _, original = header.unpack_from(pcap, start)
        rewritten = _rewritten(frame, ip_at, endpoints, randoms)
        if rewritten is None:
            out += pcap[start:end]
            continue
        grown = len(rewritten) - len(frame)
        out += header.pack(seconds, fraction, len(rewritten), max(original + grown, 0))
        out += rewritten
    return bytes(out)


def conversation_sender(src: str, sport: int, dport: int, endpoints: Endpoints) -> str | None:
    """The sender of a datagram one_conversation rewrote, None for any other."""
    low, high = CONVERSATION_PORTS[0], CONVERSATION_PORTS[0] + 2 * MAX_ASSOCIATIONS
    if low <= sport < high and (sport - low) % 2 == 0 and dport == sport + 1:
        return "client" if src == endpoints.client else None
    if low <= dport < high and (dport - low) % 2 == 0 and sport == dport + 1:
        return "server" if src == endpoints.server else None
    return None


def _rewritten(
    frame: bytes, ip_at: int, endpoints: Endpoints, randoms: list[bytes]
) -> bytes | None:
    found = udp_at(frame, ip_at)
    if found is None:
        return None
    at, src, dst = found
    role = _role(endpoints, src, dst)
    payload = frame[at + UDP_HEADER :]
    dtls = payload if demultiplex(payload) is Kind.DTLS else unwrap_turn(payload)
    if role is None or dtls is None or demultiplex(dtls) is not Kind.DTLS:
        return None
    ip = bytearray(frame[ip_at:at])
    client, server = endpoints.client, endpoints.server
    if not _readdressed(ip, (client, server) if role == "client" else (server, client)):
        return None  # the peers' own addresses are of the other family
    random = client_hello_random(dtls)
    if random is not None and random not in randoms and len(randoms) < MAX_ASSOCIATIONS:
        randoms.append(random)
    shift = 2 * max(len(randoms) - 1, 0)
    ports = CONVERSATION_PORTS if role == "client" else CONVERSATION_PORTS[::-1]
    udp = struct.pack("!HHHH", ports[0] + shift, ports[1] + shift, UDP_HEADER + len(dtls), 0)
    _set_length(ip, UDP_HEADER + len(dtls))
    return frame[:ip_at] + bytes(ip) + udp + dtls


def _role(endpoints: Endpoints, src: str, dst: str) -> str | None:
    """Which peer sent a datagram on a hop that touches either peer's own address."""
    if src in endpoints.own(of_client=True) or dst in endpoints.own(of_client=False):
        return "client"
    if src in endpoints.own(of_client=False) or dst in endpoints.own(of_client=True):
        return "server"
    return None


def _readdressed(ip: bytearray, addresses: tuple[str, str]) -> bool:
    """Set an IP header's source and destination, if they are of its family."""
    v4 = ip[0] >> 4 == 4
    family, at, size = (socket.AF_INET, 12, 4) if v4 else (socket.AF_INET6, 8, 16)
    try:
        packed = b"".join(socket.inet_pton(family, a) for a in addresses)
    except OSError:
        return False
    ip[at : at + 2 * size] = packed
    return True


def _set_length(ip: bytearray, payload: int) -> None:
    """An IP header's length field for a new payload, and (IPv4) its checksum."""
    if ip[0] >> 4 != 4:
        ip[4:6] = struct.pack("!H", payload)
        return
    ip[2:4] = struct.pack("!H", len(ip) + payload)
    ip[10:12] = b"\0\0"
    total = sum(struct.unpack(f"!{len(ip) // 2}H", bytes(ip)))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    ip[10:12] = struct.pack("!H", ~total & 0xFFFF)
