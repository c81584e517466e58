"""What the wire must show for each test case: the one place a test's evidence is
declared (rendered into docs/contract.md). A test case without a rule is an error.

Data channel tests list the messages that must cross (who sends, which PPID, which
bytes, whether the other side echoes them); media tests the media kinds whose RTP must
flow as an echo; session tests add checks on the signalling, the STUN credentials or
the DTLS sessions. verify.py decides at which proof level each is met.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.wire.decrypt import PPID_BINARY, PPID_BINARY_EMPTY, PPID_STRING

LARGE, HUGE = 65536, 262144
BULK_MESSAGES, BULK_SIZE = 1024, 16384
MANY_CHANNELS, UNORDERED_MESSAGES = 32, 100


class Level(StrEnum):
    """How strongly the capture backs a pass, strongest first (docs/contract.md 6)."""

    DECRYPTED = "decrypted"
    SIZED = "sized"
    ECHO_SHAPE = "echo-shape"
    RTP_ECHO = "rtp-echo"
    TRANSPORT = "transport"
    NONE = "none"


@dataclass(frozen=True)
class Send:
    """A message one side sends; the other side echoes it unless `echoed` is False."""

    sender: str  # "client" or "server"
    ppid: int
    data: bytes
    name: str  # how a report names it
    stream: int | None = None  # must cross on this SCTP stream
    echoed: bool = True


@dataclass(frozen=True)
class Plan:
    """The messages of one cell (they depend on the cell's payload and the client's
    report), and how many echoes must at least come back (unordered, lossy)."""

    sends: tuple[Send, ...]
    min_echoes: int | None = None
    unordered: bool = False
    negotiated_stream: int | None = None  # no DCEP at all; this stream both ways
    server_opens: str | None = None  # the server's DCEP OPEN, with this label


@dataclass(frozen=True)
class Media:
    kind: str  # "audio" or "video"
    codec: str  # "opus" or "VP8"


@dataclass(frozen=True)
class CellFacts:
    """What a rule needs to know about the cell beyond the capture."""

    payload: bytes
    min_echoes: int = UNORDERED_MESSAGES
    sizes: tuple[int, ...] = (LARGE,)  # datachannel-large: what the client says it tested
    media_duration_s: float = 0.0


PlanFor = Callable[[CellFacts], Plan]


@dataclass(frozen=True)
class Rule:
    test: str
    plan: PlanFor | None = None
    media: tuple[Media, ...] = ()
    session: tuple[str, ...] = ()  # names of the session checks in verify.py
    wire: str = ""  # one line for docs: what the capture must show
    legacy_echo: bool = False  # an original-contract client may be proven by echo-shape
    measures_goodput: bool = False


def repeat(payload: bytes, size: int) -> bytes:
    if not payload:
        return b""
    return (payload * (size // len(payload) + 1))[:size]


def _echo(payload: bytes, prefix: bytes = b"", name: str = "P") -> Send:
    return Send("client", PPID_STRING, prefix + payload, name)


def _datachannel(facts: CellFacts) -> Plan:
    return Plan((_echo(facts.payload),))


def _large(facts: CellFacts) -> Plan:
    sizes = [s for s in facts.sizes if s in (LARGE, HUGE)] or [LARGE]
    return Plan(tuple(_echo(repeat(facts.payload, s), name=f"{s} B") for s in sizes))


def _binary(facts: CellFacts) -> Plan:
    return Plan(
        (
            Send("client", PPID_BINARY, facts.payload, "P (binary)"),
            Send("client", PPID_BINARY_EMPTY, b"", "the empty message"),
            Send("client", PPID_BINARY, bytes(range(256)), "bytes 00..ff"),
        )
    )


def _unordered(facts: CellFacts) -> Plan:
    sends = tuple(
        _echo(facts.payload, f"{i:03d}:".encode(), f"message {i}")
        for i in range(UNORDERED_MESSAGES)
    )
    return Plan(sends, min_echoes=facts.min_echoes, unordered=True)


def _negotiated(facts: CellFacts) -> Plan:
    send = Send("client", PPID_STRING, facts.payload, "P", stream=7)
    return Plan((send,), negotiated_stream=7)


def _many(facts: CellFacts) -> Plan:
    return Plan(
        tuple(
            _echo(facts.payload, f"interop-{k}:".encode(), f"channel {k}")
            for k in range(MANY_CHANNELS)
        )
    )


def confirmation(payload: bytes) -> bytes:
    return b"CONFIRMED:" + hashlib.sha256(payload).hexdigest().encode()


def _server_open(facts: CellFacts) -> Plan:
    return Plan(
        (
            Send("server", PPID_STRING, facts.payload, "P from the server"),
            Send(
                "server", PPID_STRING, confirmation(facts.payload), "the confirmation", echoed=False
            ),
        ),
        server_opens="interop-server",
    )


def bulk_message(payload: bytes, index: int) -> bytes:
    return index.to_bytes(4, "big") + repeat(payload, BULK_SIZE - 4)


def _bulk(facts: CellFacts) -> Plan:
    return Plan(
        tuple(
            Send("client", PPID_BINARY, bulk_message(facts.payload, i), f"bulk message {i}")
            for i in range(BULK_MESSAGES)
        )
    )


def _twice(second: bytes) -> PlanFor:
    def plan(facts: CellFacts) -> Plan:
        return Plan((_echo(facts.payload), _echo(facts.payload, second, f"{second.decode()}P")))

    return plan


OPUS, VP8 = Media("audio", "opus"), Media("video", "VP8")
DC_ECHO = "the payload client→server, then its echo server→client"

RULES: dict[str, Rule] = {
    rule.test: rule
    for rule in (
        Rule(
            "peerconnection", wire="ICE checks answered both ways, encrypted DTLS from both peers"
        ),
        Rule("datachannel", _datachannel, wire=f"P as a string: {DC_ECHO}", legacy_echo=True),
        Rule(
            "datachannel-large", _large, wire="64 KiB (and 256 KiB if tested) as strings both ways"
        ),
        Rule(
            "datachannel-binary", _binary, wire="P, an empty and a 256-byte binary message echoed"
        ),
        Rule(
            "datachannel-unordered",
            _unordered,
            wire="100 unordered messages sent, at least MIN_ECHOES echoed intact",
        ),
        Rule("datachannel-negotiated", _negotiated, wire="P on stream 7 both ways, no DCEP at all"),
        Rule("datachannel-many", _many, wire="32 messages each echoed on its own stream"),
        Rule(
            "datachannel-server-open",
            _server_open,
            wire="DCEP OPEN from the server, P server→client→server, the confirmation",
        ),
        Rule(
            "datachannel-bulk",
            _bulk,
            wire="16 MiB of binary messages each way; goodput measured",
            measures_goodput=True,
        ),
        Rule("audio", media=(OPUS,), wire="Opus RTP of the answer's payload type, echoed"),
        Rule("video", media=(VP8,), wire="VP8 RTP of the answer's payload type, echoed"),
        Rule(
            "trickle",
            _datachannel,
            session=("offer-before-candidates",),
            wire=f"candidates PATCHed after the offer; {DC_ECHO}",
        ),
        Rule(
            "ice-restart",
            _twice(b"restart:"),
            session=("new-ice-credentials",),
            wire="two echoes on one channel; new ICE credentials checked between them",
        ),
        Rule(
            "renegotiation",
            _twice(b"renegotiated:"),
            media=(OPUS,),
            session=("renegotiated-offer",),
            wire="an echo, a second offer adding audio, echoed Opus, a second echo",
        ),
        Rule(
            "bundle-av-data",
            _datachannel,
            media=(OPUS, VP8),
            session=("one-transport",),
            wire="audio, video and the echo on one 5-tuple, three mids BUNDLEd",
        ),
        Rule(
            "reconnect",
            _twice(b"reconnect:"),
            session=("two-sessions",),
            wire="two DTLS sessions one after the other, an echo in each",
        ),
    )
}


def evidence_table() -> str:
    lines = [
        "| test case | the wire must show | strongest proof | fallback |",
        "| --- | --- | --- | --- |",
    ]
    for rule in RULES.values():
        strongest = "decrypted" if rule.plan else ("rtp-echo" if rule.media else "transport")
        fallback = "sized" if rule.plan else "—"
        if rule.legacy_echo:
            fallback += " (echo-shape for an original-contract client)"
        lines.append(f"| `{rule.test}` | {rule.wire} | {strongest} | {fallback} |")
    return "\n".join(lines)
