"""DTLS records as the capture shows them: content type, epoch, sizes, and the cipher
suite from the ServerHello, so a record's length says how much plaintext it carries."""

from __future__ import annotations

import struct
from dataclasses import dataclass

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
HEADER_12 = 13
CLIENT_HELLO, SERVER_HELLO = 1, 2
HANDSHAKE_HEADER = 12  # type, length, message sequence, fragment offset and length

# Record overhead beyond the 13-byte header, by cipher suite (DTLS 1.2): an AEAD's
# explicit nonce and tag. CBC suites add an IV, a MAC and 1-16 bytes of padding.
GCM_OVERHEAD, CHACHA_OVERHEAD, CCM8_OVERHEAD = 8 + 16, 16, 8 + 8
CBC_SUITES = {0xC009, 0xC00A, 0xC013, 0xC014, 0x002F, 0x0035}
CHACHA_SUITES = {0xCCA8, 0xCCA9}
CCM8_SUITES = {0xC0AE, 0xC0AF}


@dataclass(frozen=True)
class Record:
    content_type: int  # 23 = application data; 0 for a DTLS 1.3 unified-header record
    epoch: int
    length: int  # the record's body length (ciphertext with nonce, tag, padding)
    unified: bool = False  # a DTLS 1.3 record with the unified header (always encrypted)
    server_hello_suite: int | None = None
    sequence: int | None = None  # the 48-bit record sequence number (DTLS 1.2 headers)
    start: int = 0  # where the record begins in its datagram

    @property
    def encrypted(self) -> bool:
        return self.unified or self.epoch > 0

    @property
    def application(self) -> bool:
        return self.content_type == APPLICATION_DATA or (self.unified and self.length > 0)


def records(payload: bytes) -> list[Record]:
    """Every record of a datagram (DTLS 1.2 headers and DTLS 1.3 unified headers)."""
    found: list[Record] = []
    offset = 0
    while offset < len(payload):
        first = payload[offset]
        if first & 0xE0 == 0x20:
            header = 1 + (2 if first & 0x08 else 1) + (2 if first & 0x04 else 0)
            if first & 0x04:
                if len(payload) < offset + header:
                    break
                body = struct.unpack("!H", payload[offset + header - 2 : offset + header])[0]
            else:
                body = len(payload) - offset - header
            found.append(Record(0, 1, body, unified=True, start=offset))
            offset += header + body
        elif first in (CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA):
            if len(payload) < offset + HEADER_12:
                break
            epoch = struct.unpack("!H", payload[offset + 3 : offset + 5])[0]
            sequence = int.from_bytes(payload[offset + 5 : offset + 11], "big")
            body = struct.unpack("!H", payload[offset + 11 : offset + 13])[0]
            suite = None
            if first == HANDSHAKE and epoch == 0:
                suite = _server_hello_suite(payload[offset + HEADER_12 : offset + HEADER_12 + body])
            found.append(
                Record(
                    first, epoch, body, server_hello_suite=suite, sequence=sequence, start=offset
                )
            )
            offset += HEADER_12 + body
        else:
            break
    return found


def _server_hello_suite(handshake: bytes) -> int | None:
    """The cipher suite of a ServerHello: 12-byte DTLS handshake header, version (2),
    random (32), session id (length-prefixed), then the suite."""
    if len(handshake) < HANDSHAKE_HEADER or handshake[0] != SERVER_HELLO:
        return None
    body = handshake[HANDSHAKE_HEADER:]
    if len(body) < 35:
        return None
    session_length = body[34]
    start = 35 + session_length
    if len(body) < start + 2:
        return None
    return int(struct.unpack("!H", body[start : start + 2])[0])


def client_hello_random(datagram: bytes) -> bytes | None:
    """The random of a datagram's leading ClientHello, or of its first fragment (the
    fragment offset is at bytes 6-8 of the handshake header; then version 2, random 32),
    else None: a new random starts a new association."""
    hello = datagram[HEADER_12:]
    if datagram[:1] != bytes([HANDSHAKE]) or datagram[3:5] != b"\0\0":
        return None
    if len(hello) < HANDSHAKE_HEADER + 2 + 32 or hello[0] != CLIENT_HELLO:
        return None
    if hello[6:9] != b"\0\0\0":
        return None
    return hello[HANDSHAKE_HEADER + 2 : HANDSHAKE_HEADER + 2 + 32]


def plaintext_range(record: Record, suite: int | None) -> tuple[int, int]:
    """The smallest and largest plaintext a record of this length can carry."""
    if record.unified:
        return max(record.length - 17, 0), max(record.length - 17, 0)  # tag 16 + type 1
    if suite in CBC_SUITES:
        body = record.length - 16 - 20  # IV and SHA-1 MAC
        return max(body - 16, 0), max(body - 1, 0)
    if suite in CHACHA_SUITES:
        return max(record.length - CHACHA_OVERHEAD, 0), max(record.length - CHACHA_OVERHEAD, 0)
    if suite in CCM8_SUITES:
        return max(record.length - CCM8_OVERHEAD, 0), max(record.length - CCM8_OVERHEAD, 0)
    return max(record.length - GCM_OVERHEAD, 0), max(record.length - GCM_OVERHEAD, 0)
