"""The media tests' client checks (contract `audio`, `video`, `renegotiation`, `bundle-av-data`).

The stack counts what came back (`Peer.media_counts`); this module decides when that is
enough and prints the `NEGOTIATED:` and `RECEIVED:` lines.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .contract import TestFailed, verdict
from .messages import MEDIA_FRAMES, MEDIA_PACKETS, MEDIA_RECENT_S
from .sdp import attribute, mids, negotiated_codec, split_sections

if TYPE_CHECKING:
    from .client import Client
    from .peer import Peer

CODECS = {"audio": "opus/48000", "video": "vp8/90000"}
POLL_S = 0.5

Counts = tuple[int, "int | None"]  # RTP packets, decoded frames (None: the stack does not decode)


def print_negotiated(answer_sdp: str, kinds: list[str], with_kind: bool) -> None:
    """`NEGOTIATED:` per kind; TestFailed if the answer rejected a kind or chose another codec."""
    for kind in kinds:
        codec = negotiated_codec(answer_sdp, kind)
        if codec is None:
            raise TestFailed(f"the answer has no accepted {kind} section")
        verdict("NEGOTIATED", (f"kind={kind} " if with_kind else "") + codec.line())
        if not codec.name.lower().startswith(CODECS[kind]):
            raise TestFailed(
                f"the answer negotiated {codec.name} for {kind}, "
                f"not the only codec offered ({CODECS[kind]})"
            )


def check_bundle(offer_sdp: str, answer_sdp: str) -> None:
    """Every offered section must be in the answer's BUNDLE group."""
    session, _ = split_sections(answer_sdp)
    group = (attribute(session, "group") or "").split()
    bundled = set(group[1:]) if group[:1] == ["BUNDLE"] else set()
    missing = [mid for mid in mids(offer_sdp) if mid not in bundled]
    if missing:
        raise TestFailed(
            f"the answer does not BUNDLE mid(s) {', '.join(missing)} "
            f"(a=group:{' '.join(group) or 'none'})"
        )


def enough(counts: dict[str, Counts]) -> bool:
    """Every kind has its 50 packets and, where the stack decodes, its frames."""
    return all(
        packets >= MEDIA_PACKETS and (frames is None or frames >= MEDIA_FRAMES[kind])
        for kind, (packets, frames) in counts.items()
    )


def media_done(
    counts: dict[str, Counts], elapsed: float, duration: float, since_rise: dict[str, float]
) -> bool:
    """The contract's media condition: enough echoes, for MEDIA_DURATION, still arriving."""
    if not enough(counts) or elapsed < duration:
        return False
    return duration <= 0 or all(age <= MEDIA_RECENT_S for age in since_rise.values())


def describe(kind: str, counts: Counts, with_kind: bool) -> str:
    packets, frames = counts
    prefix = f"kind={kind} " if with_kind else ""
    return f"{prefix}packets={packets} frames={'-' if frames is None else frames}"


async def await_media(client: Client, peer: Peer, kinds: list[str], with_kind: bool) -> str:
    """Poll the stack's counts until media_done; print `RECEIVED:` per kind in any case."""
    loop, duration = peer.loop, client.env.media_duration_s
    start = loop.time()
    counts: dict[str, Counts] = {kind: (0, None) for kind in kinds}
    last_rise = {kind: start for kind in kinds}
    try:
        while True:
            client.step = "echoed media: " + ", ".join(
                describe(kind, counts[kind], True) for kind in kinds
            )
            await peer.guard(asyncio.sleep(POLL_S))
            now = loop.time()
            for kind in kinds:
                fresh = await peer.media_counts(kind)
                if fresh[0] > counts[kind][0]:
                    last_rise[kind] = now
                counts[kind] = fresh
            ages = {kind: now - last_rise[kind] for kind in kinds}
            if media_done(counts, now - start, duration, ages):
                break
    finally:
        for kind in kinds:
            verdict("RECEIVED", describe(kind, counts[kind], with_kind))
    return "; ".join(describe(kind, counts[kind], True) for kind in kinds) + (
        f" after {duration:g}s" if duration else ""
    )
