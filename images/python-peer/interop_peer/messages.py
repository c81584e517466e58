"""The messages of each test case, derived from the payload P (contract sections 2.1 and 8).

Pure functions only: both peers of a cell compute the same bytes from the same P, and
the orchestrator looks for exactly these bytes in the decrypted capture.
"""

from __future__ import annotations

import hashlib
import secrets

PAYLOAD_MIN, PAYLOAD_MAX = 600, 1000
PRINTABLE = bytes(range(0x21, 0x7F))

LARGE_SIZES = (65536, 262144)
DEFAULT_MAX_MESSAGE_SIZE = 65536  # RFC 8841 §6: what an absent a=max-message-size means

UNORDERED_COUNT = 100
UNORDERED_QUIET_S = 5.0  # wait this long after the last send for stragglers

MANY_CHANNELS = 32
NEGOTIATED_ID = 7

BULK_COUNT = 1024
BULK_SIZE = 16384
BULK_LOW = 262144  # bufferedAmountLowThreshold
BULK_HIGH = 1048576  # pause sending above this bufferedAmount

MEDIA_PACKETS = 50
MEDIA_FRAMES = {"audio": 25, "video": 10}
MEDIA_RECENT_S = 5.0  # with MEDIA_DURATION, echoes must still arrive in the last 5 s

LABEL = "interop"
LABEL_UNORDERED = "interop-unordered"
LABEL_NEGOTIATED = "interop-negotiated"
LABEL_CLIENT = "interop-client"
LABEL_SERVER = "interop-server"
LABEL_BULK = "interop-bulk"


def make_payload() -> bytes:
    """A fresh P by the contract's rule, for a peer started without TEST_PAYLOAD."""
    length = PAYLOAD_MIN + secrets.randbelow(PAYLOAD_MAX - PAYLOAD_MIN + 1)
    return bytes(secrets.choice(PRINTABLE) for _ in range(length))


def repeat(payload: bytes, size: int) -> bytes:
    """`repeat(P, n)`: P repeated and cut to exactly n bytes."""
    return (payload * (size // len(payload) + 1))[:size]


def sha256hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prefixed(prefix: str, payload: bytes) -> str:
    """`prefix + P` as a string message (restart:, renegotiated:, reconnect:)."""
    return prefix + payload.decode("ascii")


def binary_messages(payload: bytes) -> list[bytes]:
    """datachannel-binary: P, an empty message, and the 256 byte values in order."""
    return [payload, b"", bytes(range(256))]


def unordered_messages(payload: bytes) -> list[str]:
    """datachannel-unordered: `"%03d:" % i + P` for i = 0..99."""
    text = payload.decode("ascii")
    return [f"{i:03d}:{text}" for i in range(UNORDERED_COUNT)]


def many_labels() -> list[str]:
    return [f"{LABEL}-{k}" for k in range(MANY_CHANNELS)]


def many_message(label: str, payload: bytes) -> str:
    """datachannel-many: channel `interop-k` sends `"interop-" + k + ":" + P`."""
    return f"{label}:{payload.decode('ascii')}"


def bulk_message(index: int, payload: bytes) -> bytes:
    """datachannel-bulk: i as 4 bytes big-endian, then repeat(P, 16380)."""
    return index.to_bytes(4, "big") + repeat(payload, BULK_SIZE - 4)


def confirmation(echo: bytes, payload: bytes) -> str:
    """datachannel-server-open: the server's answer to the client's echo of P."""
    word = "CONFIRMED" if echo == payload else "MISMATCH"
    return f"{word}:{sha256hex(echo)}"


def as_bytes(message: str | bytes) -> bytes:
    return message.encode("utf-8") if isinstance(message, str) else message
