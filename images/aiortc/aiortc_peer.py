"""aiortc peer of the contract (docs/contract.md), both roles.

  aiortc_peer.py server         POST /offer and the session resource on :8080
  aiortc_peer.py client [URL]   runs $TEST_CASE against URL (default $SERVER_URL)

The test logic and the HTTP side are the shared `interop_peer` package; this file maps
its `Peer` interface onto aiortc's RTCPeerConnection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.rtcdatachannel import RTCDataChannel
from aiortc.sdp import candidate_from_sdp
from interop_peer.channels import ChannelPipe
from interop_peer.contract import Env, Unsupported
from interop_peer.entry import run_peer
from interop_peer.messages import BULK_LOW
from interop_peer.peer import Peer
from interop_peer.sdp import SdpFrag
from media import MovingPatternTrack, ToneTrack

log = logging.getLogger("aiortc-peer")
CA_FILE = Path("/tmp/ice-ca.pem")

# What aiortc cannot do as a client, with the evidence (README.md has the details).
UNSUPPORTED = {
    "trickle": "aiortc gathers every candidate inside setLocalDescription() and has no "
    "icecandidate event, so it cannot send its offer before gathering completes",
    "ice-restart": "aiortc has no restartIce() and createOffer() takes no iceRestart option",
}
SOURCES = {"audio": (ToneTrack, "audio/opus"), "video": (MovingPatternTrack, "video/vp8")}


def configuration(env: Env) -> RTCConfiguration:
    """Exactly the cell's ICE servers and policy: never aiortc's default public STUN server."""
    servers = [
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in env.ice_servers
    ]
    # aiortc uses the first STUN and the first TURN URL only (rtcicetransport.connection_kwargs).
    log.info(
        "ICE servers %s, transport policy %s",
        [url for s in env.ice_servers for url in s.urls] or "none",
        env.ice_transport_policy,
    )
    policy = (
        RTCIceTransportPolicy.RELAY
        if env.ice_transport_policy == "relay"
        else RTCIceTransportPolicy.ALL
    )
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def wrap(channel: RTCDataChannel) -> ChannelPipe:
    """A ChannelPipe fed by an aiortc data channel's events."""
    pipe = ChannelPipe(
        channel.label, send=channel.send, buffered_amount=lambda: channel.bufferedAmount
    )
    channel.bufferedAmountLowThreshold = BULK_LOW
    channel.on("open", pipe.feed_open)
    channel.on("message", pipe.feed_message)
    channel.on("close", pipe.feed_close)
    channel.on("bufferedamountlow", pipe.feed_low)
    if channel.readyState == "open":  # remote channels are announced open
        pipe.feed_open()
    return pipe


class AiortcPeer(Peer):
    """One RTCPeerConnection. As a server it sends every received track back through a
    MediaRelay (aiortc decodes and re-encodes: it cannot forward RTP as is)."""

    def __init__(self, name: str, env: Env) -> None:
        super().__init__(name)
        self.role = env.role
        self.pc = RTCPeerConnection(configuration(env))
        self.relay = MediaRelay()
        self.frames: dict[str, int] = {"audio": 0, "video": 0}
        self.counters: set[asyncio.Future[None]] = set()
        self.pc.on("connectionstatechange", lambda: self.feed_state(self.pc.connectionState))
        self.pc.on("datachannel", lambda channel: self.feed_channel(wrap(channel)))
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if self.role == "server":
            log.info("%s: %s track received, echoing it back", self.name, track.kind)
            self.pc.addTrack(self.relay.subscribe(track))
        else:
            log.info("%s: receiving the echoed %s track", self.name, track.kind)
            self.counters.add(asyncio.ensure_future(self._count_frames(track)))

    async def _count_frames(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames[track.kind] += 1
        except MediaStreamError:
            pass

    def create_channel(
        self,
        label: str,
        *,
        ordered: bool = True,
        max_retransmits: int | None = None,
        negotiated_id: int | None = None,
    ) -> ChannelPipe:
        return wrap(
            self.pc.createDataChannel(
                label,
                ordered=ordered,
                maxRetransmits=max_retransmits,
                negotiated=negotiated_id is not None,
                id=negotiated_id,
            )
        )

    def add_media(self, kind: str) -> None:
        track_class, mime_type = SOURCES[kind]
        transceiver = self.pc.addTransceiver(track_class(), direction="sendrecv")
        transceiver.setCodecPreferences(
            [
                codec
                for codec in RTCRtpSender.getCapabilities(kind).codecs
                if codec.mimeType.lower() in (mime_type, f"{kind}/rtx")
            ]
        )

    async def create_offer(self, trickle: bool = False) -> str:
        if trickle:
            raise Unsupported(UNSUPPORTED["trickle"])
        await self.pc.setLocalDescription(await self.pc.createOffer())  # gathers first
        return self.pc.localDescription.sdp

    async def set_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def media_counts(self, kind: str) -> tuple[int, int | None]:
        packets = sum(
            stats.packetsReceived
            for stats in (await self.pc.getStats()).values()
            if stats.type == "inbound-rtp" and stats.kind == kind
        )
        return packets, self.frames[kind]

    async def set_offer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))

    async def create_answer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createAnswer())  # gathers first
        return self.pc.localDescription.sdp

    async def add_candidates(self, frag: SdpFrag) -> SdpFrag | None:
        """Apply trickled candidates; our answer already carried all of ours (None: 204)."""
        for mid, line in frag.candidates():
            candidate = candidate_from_sdp(line.split(":", 1)[1])
            candidate.sdpMid = mid
            await self.pc.addIceCandidate(candidate)
        if frag.ended():
            await self.pc.addIceCandidate(None)
        return None

    async def restart_ice(self, frag: SdpFrag) -> SdpFrag:
        raise Unsupported(UNSUPPORTED["ice-restart"])

    async def renegotiate(self, sdp: str) -> str:
        await self.set_offer(sdp)
        return await self.create_answer()

    async def close(self) -> None:
        await self.pc.close()


def install_ca(pem: str | None) -> None:
    """ICE_CA_PEM: the CA of the TURN server's TLS certificate.

    aioice opens turns: connections with asyncio's default SSL context, which OpenSSL
    builds from $SSL_CERT_FILE at connection time.
    """
    if pem:
        CA_FILE.write_text(pem)
        os.environ["SSL_CERT_FILE"] = str(CA_FILE)


def prepare(env: Env) -> None:
    install_ca(env.ice_ca_pem)
    if os.environ.get("PEER_DEBUG"):
        logging.getLogger("aiortc").setLevel(logging.DEBUG)


def main() -> int:
    return run_peer(AiortcPeer, UNSUPPORTED, prepare)


if __name__ == "__main__":
    sys.exit(main())
