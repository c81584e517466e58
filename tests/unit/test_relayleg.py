"""The client's TCP/TLS leg to the relay must be what the scenario asked for."""

from __future__ import annotations

import pytest

from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.packets import Segment
from orchestrator.wire.relayleg import relay_leg_gaps

CLIENT, NAT, RELAY, SERVER = "10.0.0.10", "10.0.0.65", "10.0.0.80", "10.0.0.70"
CLIENT_HELLO = bytes.fromhex("160301") + bytes(60)
ALLOCATE = bytes.fromhex("0003 0000 2112a442") + bytes(12)


def endpoints(transport: str) -> Endpoints:
    return Endpoints(
        SERVER,
        CLIENT,
        client_public=frozenset({NAT}),
        relay=frozenset({RELAY}),
        client_leg_hidden=True,
        relay_transport=transport,
    )


def stream(*payloads: bytes, src: str = NAT) -> tuple[Segment, ...]:
    segments, seq = [Segment(0.0, src, RELAY, 40000, 443, 0, 0x02, b"")], 1
    for i, payload in enumerate(payloads):
        segments.append(Segment(0.1 * (i + 1), src, RELAY, 40000, 443, seq, 0x18, payload))
        seq += len(payload)
    return tuple(reversed(segments))  # order on the wire must not matter


@pytest.mark.parametrize(
    ("transport", "payloads", "gap"),
    [
        ("tls", (CLIENT_HELLO, b"\x17\x03\x03"), None),
        ("tls", (ALLOCATE,), "the client spoke plain TCP to the relay's TLS port (turns: asked)"),
        ("tcp", (ALLOCATE,), None),
        (
            "tcp",
            (CLIENT_HELLO,),
            "the client's TCP connection to the relay did not carry plain STUN/TURN",
        ),
        ("tls", (), "the client never sent anything to the relay over TCP (tls asked)"),
        ("udp", (), None),
    ],
)
def test_the_relay_leg_matches_the_scenario(
    transport: str, payloads: tuple[bytes, ...], gap: str | None
) -> None:
    gaps = relay_leg_gaps(stream(*payloads), endpoints(transport))
    assert gaps == ([gap] if gap else [])


def test_the_server_talking_to_the_relay_does_not_count_as_the_client() -> None:
    gaps = relay_leg_gaps(stream(CLIENT_HELLO, src=SERVER), endpoints("tls"))
    assert gaps == ["the client never sent anything to the relay over TCP (tls asked)"]
