"""Whether media flowed as an echo: RTP of the payload type the answer negotiated (read
from the captured signalling, not from a peer's log) client→server and server→client,
the echo starting after the source and flowing while the source flows. RED (RFC 2198)
counts when the answer negotiates it next to the codec: Firefox sends VP8 inside RED
whenever `red`/`ulpfec` are negotiated, and SRTP hides which codec a RED block holds.
RTX, padding and FEC payload types are other payload types: not counted."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from orchestrator.wire.flows import Flows, Rtp
from orchestrator.wire.rules import Media
from orchestrator.wire.sdp import payload_types

MIN_SOURCE_PACKETS = 20  # the client's own media: about a second of it at least
MIN_ECHO_PACKETS = 40  # the contract's client waits for 50; a loaded capture may miss a
# few, and a re-encoding server may send more or fewer packets than it received
MAX_ECHO_GAP_S = 2.0  # the longest silence of the echo while its source still flows
LAST_WINDOW_S = 5.0  # with MEDIA_DURATION: the echo must still arrive in the last 5 s
# A browser echoing the remote track sends encoded silence as soon as its sender starts,
# before the first packet of the source arrives: a few frames (Chromium: 4 Opus frames,
# 60 ms), or for as long as a slow client takes to start (Firefox: up to ~2 s). Silence
# is tiny (Chromium's: 43-byte SRTP packets); more than MAX_LEAD_PACKETS bigger ones
# before the source are a stream of the server's own.
MAX_LEAD_PACKETS = 10
SILENCE_MAX_BYTES = 60


@dataclass(frozen=True)
class MediaEvidence:
    gaps: tuple[str, ...]
    details: tuple[str, ...]
    measures: tuple[tuple[str, float], ...]


def check_media(media: Media, answer: str | None, flows: Flows, duration_s: float) -> MediaEvidence:
    name = f"{media.kind} ({media.codec})"
    if answer is None:
        return MediaEvidence((f"{name}: no answer SDP in the captured signalling",), (), ())
    types = payload_types(answer, media.kind, media.codec)
    if not types:
        return MediaEvidence((f"{name}: the answer negotiates no {media.codec}",), (), ())
    red = payload_types(answer, media.kind, "red")
    types |= red
    sent = [p for p in flows.client_to_server.rtp if p.payload_type in types]
    back = [p for p in flows.server_to_client.rtp if p.payload_type in types]
    gaps = [
        f"{name}: only {len(packets)} RTP packets of payload type {_types(types)} {way}"
        for packets, way, needed in (
            (sent, "client→server", MIN_SOURCE_PACKETS),
            (back, "server→client", MIN_ECHO_PACKETS),
        )
        if len(packets) < needed
    ]
    if sent and back:
        gaps += _echo_pattern(name, sent, back, duration_s)
    measures = tuple(
        (f"{media.kind}_{way}_kbit_s", _kbit_s(packets))
        for packets, way in ((sent, "client_to_server"), (back, "server_to_client"))
        if packets
    )
    in_red = sum(1 for p in (*sent, *back) if p.payload_type in red)
    details = (
        f"{name}: payload type {_types(types)}; {len(sent)} RTP packets client→server, "
        f"{len(back)} back{f' ({in_red} in RED)' if in_red else ''}; "
        + ", ".join(
            f"{key.split('_', 1)[1].replace('_kbit_s', '')} {value:.0f} kbit/s"
            for key, value in measures
        ),
    )
    return MediaEvidence(tuple(gaps), details, measures)


def _echo_pattern(name: str, sent: list[Rtp], back: list[Rtp], duration_s: float) -> list[str]:
    gaps = []
    early = sum(1 for p in back if p.time <= sent[0].time and p.size > SILENCE_MAX_BYTES)
    if early > MAX_LEAD_PACKETS:
        gaps.append(f"{name}: {early} RTP packets came back before any was sent (not an echo)")
    source_end = sent[-1].time
    times = [p.time for p in back if p.time <= source_end]
    longest = max((b - a for a, b in pairwise(times)), default=0.0)
    if times:
        longest = max(longest, source_end - times[-1])  # the echo ended before its source
    if longest > MAX_ECHO_GAP_S:
        gaps.append(f"{name}: the echo stopped for {longest:.1f} s while media was still sent")
    if duration_s:
        if source_end - sent[0].time < duration_s - 1.0:
            gaps.append(
                f"{name}: media flowed {source_end - sent[0].time:.1f} s, {duration_s:g} s needed"
            )
        if not any(p.time >= source_end - LAST_WINDOW_S for p in back):
            gaps.append(f"{name}: no echo in the last {LAST_WINDOW_S:g} s of the media")
    return gaps


def _kbit_s(packets: list[Rtp]) -> float:
    span = packets[-1].time - packets[0].time
    if span <= 0:
        return 0.0
    return round(sum(p.size for p in packets) * 8 / span / 1000, 1)


def _types(types: set[int]) -> str:
    return "/".join(str(t) for t in sorted(types))
