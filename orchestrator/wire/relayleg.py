"""The client's leg to a TURN server over TCP or TLS, read from the stream's first bytes:
a TLS record (22, handshake) or a STUN message (first byte 0-3). coturn takes both on
one port, so a peer that speaks plain TCP to a `turns:` URL would otherwise pass."""

from __future__ import annotations

from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.packets import Segment

TLS_HANDSHAKE = 22


def relay_leg_gaps(segments: tuple[Segment, ...], endpoints: Endpoints) -> list[str]:
    """What is wrong with the client's TCP connections to the relay, for the transport
    the scenario asked for ("tcp" or "tls"); nothing when it asked for none."""
    wanted = endpoints.relay_transport
    if wanted not in ("tcp", "tls"):
        return []
    client = endpoints.own(of_client=True) | endpoints.client_public
    first: dict[tuple[str, int], tuple[int, bytes]] = {}
    for segment in segments:
        if segment.src in client and segment.dst in endpoints.relay and segment.payload:
            key = (segment.src, segment.sport)
            if key not in first or segment.seq < first[key][0]:
                first[key] = (segment.seq, segment.payload)
    if not first:
        return [f"the client never sent anything to the relay over TCP ({wanted} asked)"]
    kinds = {_kind(payload) for _, payload in first.values()}
    if wanted == "tls" and kinds != {"tls"}:
        return ["the client spoke plain TCP to the relay's TLS port (turns: asked)"]
    if wanted == "tcp" and kinds != {"stun"}:
        return ["the client's TCP connection to the relay did not carry plain STUN/TURN"]
    return []


def _kind(payload: bytes) -> str:
    if payload[0] == TLS_HANDSHAKE:
        return "tls"
    return "stun" if payload[0] <= 3 else "other"
