"""Telling WebRTC's protocols apart on one UDP port (RFC 7983, first byte): 0-3 STUN,
20-63 DTLS, 64-79 TURN ChannelData, 128-191 RTP or RTCP (RFC 5761: by the second byte).
TURN's framing (ChannelData, Send and Data indications) is taken off to reach what a
relay carries."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

STUN_MAGIC = 0x2112A442
BINDING_REQUEST, BINDING_SUCCESS = 0x0001, 0x0101
SEND_INDICATION, DATA_INDICATION = 0x0016, 0x0017  # RFC 8656 methods 6 and 7, class indication
ATTRIBUTE_USERNAME, ATTRIBUTE_DATA = 0x0006, 0x0013


class Kind(StrEnum):
    STUN = "stun"
    DTLS = "dtls"
    RTP = "rtp"
    RTCP = "rtcp"
    TURN_CHANNEL = "turn-channel"
    OTHER = "other"


def demultiplex(payload: bytes) -> Kind:
    if not payload:
        return Kind.OTHER
    first = payload[0]
    if first <= 3:
        return Kind.STUN
    if 20 <= first <= 63:
        return Kind.DTLS
    if 64 <= first <= 79:
        return Kind.TURN_CHANNEL
    if 128 <= first <= 191:
        if len(payload) > 1 and 192 <= payload[1] <= 223:
            return Kind.RTCP
        return Kind.RTP
    return Kind.OTHER


@dataclass(frozen=True)
class Stun:
    method: int  # the whole message type, e.g. BINDING_REQUEST
    transaction: bytes
    username: str | None


def parse_stun(payload: bytes) -> Stun | None:
    if len(payload) < 20:
        return None
    kind, length, magic = struct.unpack("!HHI", payload[:8])
    if magic != STUN_MAGIC:
        return None
    username = None
    for attribute, value in _attributes(payload[20 : 20 + length]):
        if attribute == ATTRIBUTE_USERNAME:
            username = value.decode("utf-8", errors="replace")
    return Stun(kind, payload[8:20], username)


def unwrap_turn(payload: bytes) -> bytes | None:
    """What a TURN ChannelData message or Send/Data indication carries, else None."""
    kind = demultiplex(payload)
    if kind is Kind.TURN_CHANNEL and len(payload) >= 4:
        length = struct.unpack("!H", payload[2:4])[0]
        return payload[4 : 4 + length]
    if kind is Kind.STUN:
        stun_type = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 0
        if stun_type in (SEND_INDICATION, DATA_INDICATION) and len(payload) >= 20:
            length = struct.unpack("!H", payload[2:4])[0]
            for attribute, value in _attributes(payload[20 : 20 + length]):
                if attribute == ATTRIBUTE_DATA:
                    return value
    return None


def inner_size(payload: bytes, size: int) -> int:
    """The size of what a TURN frame carries, from the frame's own length fields; for
    anything else the datagram's size."""
    if demultiplex(payload) is Kind.TURN_CHANNEL and len(payload) >= 4:
        return int(struct.unpack("!H", payload[2:4])[0])
    inner = unwrap_turn(payload)
    return len(inner) if inner is not None else size


def _attributes(body: bytes) -> list[tuple[int, bytes]]:
    found = []
    offset = 0
    while offset + 4 <= len(body):
        attribute, length = struct.unpack("!HH", body[offset : offset + 4])
        found.append((attribute, body[offset + 4 : offset + 4 + length]))
        offset += 4 + (length + 3) // 4 * 4
    return found
