"""The data channel messages a capture really carried, read with a peer's DTLS key log.

The DTLS records are decrypted here where plaintext.py can (DTLS 1.2, AEAD suites, every
tag verified), and the SCTP packets in them parsed by `sctp_chunks`. Otherwise tshark (a
well-kept dissector) decrypts them, dissects SCTP and DCEP (its `rtcdc` protocol); every
other DATA chunk's user data is its `data` layer. In tshark's JSON each packet lists its
SCTP chunks in order, and the payload layers in the same order, one per DATA chunk."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from orchestrator.wire.conversation import conversation_sender
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.plaintext import Plaintext, decrypt_conversations, master_secrets

KEYLOG_PREFIX = "KEYLOG: "
DATA, I_DATA = 0, 64
PPID_DCEP, PPID_STRING, PPID_BINARY, PPID_STRING_EMPTY, PPID_BINARY_EMPTY = 50, 51, 53, 56, 57
DCEP_OPEN = 0x03
FLAG_UNORDERED, FLAG_BEGIN, FLAG_END = 0x04, 0x02, 0x01
MAX_PACKETS = 5000  # enough for every test's messages; a bulk transfer's start
SCTP_HEADER, CHUNK_HEADER = 12, 4
# Heuristic SCTP payload dissectors that could misread a random payload.
HEURISTICS_OFF = ("sip_sctp", "nbap_sctp", "jxta_sctp")


@dataclass(frozen=True)
class Chunk:
    """One DATA or I-DATA chunk, as it crossed in one direction."""

    time: float
    sender: str  # "client" or "server"
    stream: int
    ppid: int
    tsn: int
    flags: int
    data: bytes

    @property
    def unordered(self) -> bool:
        return bool(self.flags & FLAG_UNORDERED)


@dataclass(frozen=True)
class Decrypted:
    """The data channel chunks a key log opened, and what read them."""

    chunks: tuple[Chunk, ...]
    reader: str  # who decrypted the records, for the verification's details


@dataclass(frozen=True)
class Message:
    """A whole data channel message (its fragments put back together)."""

    time: float  # when its last fragment crossed
    sender: str
    stream: int
    ppid: int
    data: bytes
    unordered: bool


@dataclass(frozen=True)
class ChannelOpen:
    time: float
    sender: str
    stream: int
    channel_type: int
    reliability: int
    label: str


def keylog_lines(*outputs: str) -> list[str]:
    """The NSS key log lines peers printed as `KEYLOG: ...` (docs/contract.md 5)."""
    lines = []
    for output in outputs:
        for raw in output.splitlines():
            line = raw.strip()
            if line.startswith(KEYLOG_PREFIX):
                entry = line[len(KEYLOG_PREFIX) :].strip()
                if entry and entry.split()[0].isupper() and len(entry.split()) == 3:
                    lines.append(entry)
    return list(dict.fromkeys(lines))


def read_here(conversation: bytes, lines: list[str], endpoints: Endpoints) -> Decrypted | None:
    """The chunks of a capture rewritten by one_conversation, decrypted here; None when
    only tshark can read it (plaintext.py says what it reads)."""
    records = decrypt_conversations(conversation, master_secrets(lines), endpoints, MAX_PACKETS)
    if records is None:
        return None
    return Decrypted(tuple(sctp_chunks(records)), "webrtc-interop (every AEAD tag verified)")


def tshark_arguments(pcap: str, keylog: str) -> list[str]:
    arguments = [
        "-r",
        pcap,
        "-o",
        f"tls.keylog_file:{keylog}",
        "-d",
        "dtls.port==1-65535,sctp",
        "-Y",
        "sctp",
        "-c",
        str(MAX_PACKETS),
        "-T",
        "json",
        "-x",
        "--no-duplicate-keys",
        # A packet seen on both sides of a NAT carries the same TSN twice: not a
        # retransmission, and its payload must be dissected both times.
        "-o",
        "sctp.tsn_analysis:FALSE",
        # DTLS a TURN server relays arrives in ChannelData or Data indications: when
        # both peers relay, that is the only form in which it reaches either of them.
        "--enable-heuristic",
        "dtls_stun",
    ]
    for heuristic in HEURISTICS_OFF:
        arguments += ["--disable-heuristic", heuristic]
    return arguments


def chunks(tshark_json: str, endpoints: Endpoints) -> list[Chunk]:
    """DATA chunks per direction, counted where they reach the receiving peer (or, rewritten
    by conversation.one_conversation, on the peers' one conversation)."""
    try:
        packets = json.loads(tshark_json or "[]")
    except ValueError:
        return []
    found: list[Chunk] = []
    for packet in packets if isinstance(packets, list) else []:
        layers = packet.get("_source", {}).get("layers", {})
        src, dst, time = _addresses(layers)
        udp = layers.get("udp") or {}
        udp = udp[0] if isinstance(udp, list) else udp
        ports = int(udp.get("udp.srcport", 0)), int(udp.get("udp.dstport", 0))
        sender = conversation_sender(src, *ports, endpoints) or endpoints.sender(src, dst)
        if sender is None:
            continue
        for holder in _sctp_holders(layers):
            found += _packet_chunks(holder, time, sender)
    return found


def sctp_chunks(records: list[Plaintext]) -> list[Chunk]:
    """The DATA (RFC 9260 3.3.1) and I-DATA (RFC 8260 2.1) chunks of decrypted SCTP
    packets; an I-DATA fragment other than the first carries no PPID (-1 here)."""
    found: list[Chunk] = []
    for record in records:
        packet = record.data
        offset = SCTP_HEADER
        while offset + CHUNK_HEADER <= len(packet):
            kind, flags, length = struct.unpack("!BBH", packet[offset : offset + CHUNK_HEADER])
            if length < CHUNK_HEADER:
                break
            value = packet[offset + CHUNK_HEADER : offset + length]
            if kind == DATA and len(value) >= 12:
                tsn, stream, _, ppid = struct.unpack("!IHHI", value[:12])
                data = value[12:]
            elif kind == I_DATA and len(value) >= 16:
                tsn, stream, _, _, ppid = struct.unpack("!IHHII", value[:16])
                ppid, data = (ppid if flags & FLAG_BEGIN else -1), value[16:]
            else:
                offset += (length + 3) & ~3
                continue
            found.append(Chunk(record.time, record.sender, stream, ppid, tsn, flags, data))
            offset += (length + 3) & ~3
    return found


def _sctp_holders(layers: dict[str, Any]) -> list[dict[str, Any]]:
    """The dicts that hold a packet's SCTP layers: the packet's own layers, or, for DTLS a
    TURN server relayed in a Send or Data indication, the STUN DATA attribute's subtree
    (tshark nests the dissection there)."""
    if "sctp" in layers:
        return [layers]
    found: list[dict[str, Any]] = []
    pending: list[Any] = [layers.get("stun")]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if "sctp" in item:
                found.append(item)
            else:
                pending += list(item.values())
        elif isinstance(item, list):
            pending += item
    return found


def _packet_chunks(layers: dict[str, Any], time: float, sender: str) -> list[Chunk]:
    data = iter(_as_list(layers.get("data")))
    dcep = iter(_as_list(layers.get("rtcdc_raw")))
    found = []
    for sctp in _as_list(layers.get("sctp")):
        for chunk in _as_list(sctp.get("sctp.chunk")):
            if chunk.get("sctp.chunk_type") not in (str(DATA), str(I_DATA)):
                continue
            ppid = int(chunk.get("sctp.data_payload_proto_id", -1))
            raw = next(dcep, None) if ppid == PPID_DCEP else next(data, None)
            if ppid == PPID_DCEP:
                payload = bytes.fromhex(raw[0]) if isinstance(raw, list) and raw else b""
            else:
                payload = bytes.fromhex(str((raw or {}).get("data.data", "")).replace(":", ""))
            found.append(
                Chunk(
                    time,
                    sender,
                    int(str(chunk.get("sctp.data_sid", "0")), 0),
                    ppid,
                    int(chunk.get("sctp.data_tsn_raw", chunk.get("sctp.data_tsn", 0))),
                    int(str(chunk.get("sctp.chunk_flags", "0")), 0),
                    payload,
                )
            )
    return found


def messages(found: list[Chunk]) -> list[Message]:
    """Whole messages: each stream's fragments in TSN order, from a B to an E flag."""
    whole: list[Message] = []
    groups: dict[tuple[str, int, bool], list[Chunk]] = {}
    for chunk in found:
        groups.setdefault((chunk.sender, chunk.stream, chunk.unordered), []).append(chunk)
    for (sender, stream, unordered), members in groups.items():
        pending: list[Chunk] = []
        for chunk in sorted(_unique(members), key=lambda c: c.tsn):
            if chunk.flags & FLAG_BEGIN:
                pending = []
            pending.append(chunk)
            if chunk.flags & FLAG_END and pending and pending[0].flags & FLAG_BEGIN:
                data = b"".join(c.data for c in pending)
                ppid = pending[0].ppid
                if ppid in (PPID_STRING_EMPTY, PPID_BINARY_EMPTY):
                    data = b""
                whole.append(Message(chunk.time, sender, stream, ppid, data, unordered))
                pending = []
    return sorted(whole, key=lambda m: m.time)


def channel_opens(found: list[Message]) -> list[ChannelOpen]:
    opens = []
    for message in found:
        data = message.data
        if message.ppid == PPID_DCEP and len(data) >= 12 and data[0] == DCEP_OPEN:
            channel_type, _, reliability, label_length, _ = struct.unpack("!BHIHH", data[1:12])
            label = data[12 : 12 + label_length].decode("utf-8", errors="replace")
            opens.append(
                ChannelOpen(
                    message.time, message.sender, message.stream, channel_type, reliability, label
                )
            )
    return opens


def _unique(members: list[Chunk]) -> list[Chunk]:
    """Retransmissions carry the same TSN: keep the first."""
    seen: dict[int, Chunk] = {}
    for chunk in members:
        seen.setdefault(chunk.tsn, chunk)
    return list(seen.values())


def _addresses(layers: dict[str, Any]) -> tuple[str, str, float]:
    ip = layers.get("ip") or layers.get("ipv6") or {}
    ip = ip[0] if isinstance(ip, list) else ip
    src = ip.get("ip.src") or ip.get("ipv6.src") or ""
    dst = ip.get("ip.dst") or ip.get("ipv6.dst") or ""
    frame = layers.get("frame", {})
    return str(src), str(dst), float(frame.get("frame.time_epoch", 0.0))


def _as_list(value: Any) -> list[Any]:
    """One layer or field, or several of them (tshark's --no-duplicate-keys lists repeats;
    a `_raw` value is itself a list [hex, position, length, ...])."""
    if value is None:
        return []
    if isinstance(value, list) and (not value or isinstance(value[0], dict | list)):
        return value
    return [value]
