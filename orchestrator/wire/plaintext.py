"""DTLS 1.2 application data decrypted here, with the master secrets of the peers' key
log (NSS `CLIENT_RANDOM` lines), for the AEAD cipher suites WebRTC stacks negotiate.

Every record's tag is checked, so a plaintext this module returns is the one the
sender encrypted: a mistake in the key schedule fails the tag, it cannot yield other
bytes. Anything it does not read (DTLS 1.3, a CBC suite, a later epoch, a tag that does
not verify) makes `decrypt_conversations` return None, and the caller asks tshark.

Input is the capture as conversation.one_conversation rewrote it: each association on
its own pair of ports, client port even, its records straight between the peers.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from orchestrator.wire.conversation import conversation_sender
from orchestrator.wire.dtls import (
    APPLICATION_DATA,
    CLIENT_HELLO,
    HANDSHAKE,
    HANDSHAKE_HEADER,
    HEADER_12,
    SERVER_HELLO,
    Record,
    records,
)
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.packets import frames, udp_at

UDP_HEADER = 8
TAG = 16
EXTENSION_SUPPORTED_VERSIONS = 43
DTLS_1_2 = 0xFEFD


@dataclass(frozen=True)
class Suite:
    """What a cipher suite needs here: its AEAD, key and fixed IV sizes, PRF hash."""

    aead: str  # "gcm", "chacha" or "ccm8"
    key_bytes: int
    hash_name: str  # of the TLS 1.2 PRF

    @property
    def fixed_iv(self) -> int:
        return 12 if self.aead == "chacha" else 4

    @property
    def explicit_nonce(self) -> int:
        return 0 if self.aead == "chacha" else 8

    @property
    def tag(self) -> int:
        return 8 if self.aead == "ccm8" else TAG


SUITES = {
    0xC02B: Suite("gcm", 16, "sha256"),  # ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    0xC02F: Suite("gcm", 16, "sha256"),  # ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0xC02C: Suite("gcm", 32, "sha384"),  # ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    0xC030: Suite("gcm", 32, "sha384"),  # ECDHE_RSA_WITH_AES_256_GCM_SHA384
    0xCCA9: Suite("chacha", 32, "sha256"),  # ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    0xCCA8: Suite("chacha", 32, "sha256"),  # ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    0xC0AE: Suite("ccm8", 16, "sha256"),  # ECDHE_ECDSA_WITH_AES_128_CCM_8
    0xC0AF: Suite("ccm8", 32, "sha256"),  # ECDHE_ECDSA_WITH_AES_256_CCM_8
}


class Unreadable(Exception):
    """Something this module does not decrypt: tshark has to."""


@dataclass(frozen=True)
class Plaintext:
    """One decrypted application data record."""

    time: float
    sender: str  # "client" or "server"
    data: bytes


@dataclass
class _Association:
    """One DTLS association of the rewritten capture, keyed by its client port."""

    client_random: bytes | None = None
    dtls_client: str | None = None  # which peer sent the ClientHello (often the answerer)
    server_random: bytes | None = None
    suite: Suite | None = None
    keys: _Keys | None = None


Cipher = AESGCM | ChaCha20Poly1305 | AESCCM


@dataclass(frozen=True)
class _Keys:
    suite: Suite
    dtls_client: str | None  # the peer whose records the client write key encrypts
    client: tuple[Cipher, bytes]  # the client's write key as a cipher, its fixed IV
    server: tuple[Cipher, bytes]


def master_secrets(lines: list[str]) -> dict[bytes, bytes]:
    """Client random -> master secret, from NSS key log lines."""
    secrets: dict[bytes, bytes] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "CLIENT_RANDOM":
            try:
                secrets[bytes.fromhex(parts[1])] = bytes.fromhex(parts[2])
            except ValueError:
                continue
    return secrets


def decrypt_conversations(
    pcap: bytes, secrets: dict[bytes, bytes], endpoints: Endpoints, max_frames: int
) -> list[Plaintext] | None:
    """Every application data record of the rewritten capture's associations, in
    capture order, within its first `max_frames` frames; None when tshark must read it."""
    associations: dict[int, _Association] = {}
    found: list[Plaintext] = []
    try:
        for number, (time, frame, ip_at, _) in enumerate(frames(pcap)):
            if number >= max_frames:
                break
            for sender, port, record, raw in _records(frame, ip_at, endpoints):
                association = associations.setdefault(port, _Association())
                found += _read(association, time, sender, record, raw, secrets)
    except Unreadable:
        return None
    return found


def _records(
    frame: bytes, ip_at: int, endpoints: Endpoints
) -> Iterator[tuple[str, int, Record, bytes]]:
    """(sender, the association's client port, record, its bytes) for each DTLS 1.2
    record of a rewritten datagram."""
    located = udp_at(frame, ip_at)
    if located is None:
        return
    at, src, _ = located
    sport, dport = struct.unpack("!HH", frame[at : at + 4])
    sender = conversation_sender(src, sport, dport, endpoints)
    if sender is None:
        return
    port = sport if sender == "client" else dport
    datagram = frame[at + UDP_HEADER :]
    for record in records(datagram):
        if record.unified:
            raise Unreadable("a DTLS 1.3 record")
        end = record.start + HEADER_12 + record.length
        yield sender, port, record, datagram[record.start : end]


def _read(
    association: _Association,
    time: float,
    sender: str,
    record: Record,
    raw: bytes,
    secrets: dict[bytes, bytes],
) -> list[Plaintext]:
    if record.epoch == 0:
        if record.content_type == HANDSHAKE:
            _handshake(association, sender, raw[HEADER_12:])
        return []
    if record.epoch > 1:
        raise Unreadable("a second epoch (renegotiation)")
    if record.content_type != APPLICATION_DATA:
        return []  # Finished, alerts: not data
    if len(raw) < HEADER_12 + record.length:
        return []  # cut short by the recorder's budget: no tag to check
    if association.keys is None:
        association.keys = _keys(association, secrets)
        if association.keys is None:
            return []  # no ServerHello seen, or no key for it: nothing to read
    return [Plaintext(time, sender, _open(association.keys, sender, raw))]


def _handshake(association: _Association, sender: str, body: bytes) -> None:
    """Note the randoms and the suite from the plaintext hellos (first fragments)."""
    offset = 0
    while offset + HANDSHAKE_HEADER <= len(body):
        kind = body[offset]
        fragment_offset = int.from_bytes(body[offset + 6 : offset + 9], "big")
        fragment_length = int.from_bytes(body[offset + 9 : offset + 12], "big")
        message = body[offset + HANDSHAKE_HEADER : offset + HANDSHAKE_HEADER + fragment_length]
        if fragment_offset == 0 and len(message) >= 34:
            if kind == CLIENT_HELLO:
                association.client_random = message[2:34]
                association.dtls_client = sender
            elif kind == SERVER_HELLO:
                _server_hello(association, message)
        offset += HANDSHAKE_HEADER + fragment_length


def _server_hello(association: _Association, message: bytes) -> None:
    if message[:2] != DTLS_1_2.to_bytes(2, "big"):
        raise Unreadable("a DTLS version other than 1.2")
    association.server_random = message[2:34]
    session = message[34] if len(message) > 34 else 0
    at = 35 + session
    if len(message) < at + 2:
        raise Unreadable("a ServerHello cut before its cipher suite")
    suite = struct.unpack("!H", message[at : at + 2])[0]
    if suite not in SUITES:
        raise Unreadable(f"cipher suite 0x{suite:04X}")
    if _negotiates_other_version(message[at + 3 :]):
        raise Unreadable("a DTLS 1.3 ServerHello")
    association.suite = SUITES[suite]
    association.keys = None


def _negotiates_other_version(extensions_block: bytes) -> bool:
    if len(extensions_block) < 2:
        return False
    end = 2 + struct.unpack("!H", extensions_block[:2])[0]
    offset = 2
    while offset + 4 <= min(end, len(extensions_block)):
        kind, length = struct.unpack("!HH", extensions_block[offset : offset + 4])
        if kind == EXTENSION_SUPPORTED_VERSIONS:
            return True
        offset += 4 + length
    return False


def _keys(association: _Association, secrets: dict[bytes, bytes]) -> _Keys | None:
    """The write keys and IVs (RFC 5246 6.3; AEAD suites have no MAC keys)."""
    suite, client_random = association.suite, association.client_random
    if suite is None or client_random is None or association.server_random is None:
        return None
    master = secrets.get(client_random)
    if master is None:
        return None
    size = 2 * (suite.key_bytes + suite.fixed_iv)
    block = prf(
        suite.hash_name,
        master,
        b"key expansion",
        association.server_random + client_random,
        size,
    )
    key, iv = suite.key_bytes, suite.fixed_iv
    return _Keys(
        suite,
        association.dtls_client,
        client=(_cipher(suite, block[:key]), block[2 * key : 2 * key + iv]),
        server=(_cipher(suite, block[key : 2 * key]), block[2 * key + iv : 2 * key + 2 * iv]),
    )


def _cipher(suite: Suite, key: bytes) -> Cipher:
    if suite.aead == "chacha":
        return ChaCha20Poly1305(key)
    return AESGCM(key) if suite.aead == "gcm" else AESCCM(key, tag_length=8)


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, size: int) -> bytes:
    """TLS 1.2's PRF (RFC 5246 section 5): P_hash(secret, label + seed)."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < size:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + seed, hash_name).digest()
    return out[:size]


def _open(keys: _Keys, sender: str, record: bytes) -> bytes:
    """The record's plaintext, its tag verified (RFC 5288, RFC 7905, RFC 6655)."""
    suite = keys.suite
    cipher, fixed_iv = keys.client if sender == keys.dtls_client else keys.server
    sequence = record[3:11]  # epoch and sequence number: DTLS's seq_num
    body = record[HEADER_12:]
    explicit = body[: suite.explicit_nonce]
    ciphertext = body[suite.explicit_nonce :]
    length = len(ciphertext) - suite.tag
    if length < 0:
        raise Unreadable("a record shorter than its tag")
    aad = sequence + record[0:3] + struct.pack("!H", length)
    if suite.aead == "chacha":
        padded = bytes(4) + sequence
        nonce = bytes(a ^ b for a, b in zip(fixed_iv, padded, strict=True))
    else:
        nonce = fixed_iv + explicit
    try:
        return cipher.decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise Unreadable("a record whose tag does not verify") from None
