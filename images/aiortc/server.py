"""aiortc echo server of the peer contract (docs/contract.md).

POST /offer takes an RTCSessionDescriptionInit and returns the answer once ICE
gathering is complete (no trickle). Every data channel echoes each message back on
itself; every received media track is sent back on the same transceiver.
"""

import asyncio
import json
import logging

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from peer import NO_ICE_SERVERS, PORT, setup_logging

log = logging.getLogger("server")
MAX_PEER_LIFETIME_S = 300.0
peers: set[RTCPeerConnection] = set()
relay = MediaRelay()


async def offer(request: web.Request) -> web.Response:
    try:
        body = json.loads(await request.text())
        description = RTCSessionDescription(sdp=body["sdp"], type=body["type"])
    except (ValueError, KeyError, TypeError) as error:
        return web.json_response({"error": f"not an RTCSessionDescriptionInit: {error}"},
                                 status=400)
    if description.type != "offer":
        return web.json_response({"error": f"expected type 'offer', got {description.type!r}"},
                                 status=400)
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    peer_id = f"peer{id(pc) % 100000}"
    peers.add(pc)
    log.info("%s: offer from %s", peer_id, request.remote)

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        log.info("%s: connection state %s", peer_id, pc.connectionState)
        if pc.connectionState in ("failed", "closed"):
            await close(pc)

    @pc.on("datachannel")
    def on_datachannel(channel) -> None:  # type: ignore[no-untyped-def]
        log.info("%s: data channel %r opened by the client", peer_id, channel.label)

        @channel.on("message")
        def on_message(message) -> None:  # type: ignore[no-untyped-def]
            log.info("%s: echoing %d-byte message on %r", peer_id, len(message), channel.label)
            channel.send(message)

    @pc.on("track")
    def on_track(track) -> None:  # type: ignore[no-untyped-def]
        log.info("%s: %s track received, echoing it back", peer_id, track.kind)
        pc.addTrack(relay.subscribe(track))

    try:
        await pc.setRemoteDescription(description)
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as error:  # a bad offer must never take the server down
        log.warning("%s: rejected offer: %s", peer_id, error)
        await close(pc)
        return web.json_response({"error": f"cannot answer this offer: {error}"}, status=400)
    asyncio.get_running_loop().call_later(
        MAX_PEER_LIFETIME_S, lambda: asyncio.ensure_future(close(pc))
    )
    answer = pc.localDescription
    log.info("%s: answered", peer_id)
    return web.json_response({"type": answer.type, "sdp": answer.sdp})


async def close(pc: RTCPeerConnection) -> None:
    if pc in peers:
        peers.discard(pc)
        await pc.close()


async def on_shutdown(_: web.Application) -> None:
    await asyncio.gather(*(pc.close() for pc in list(peers)))


def main() -> None:
    setup_logging()
    app = web.Application()
    app.router.add_post("/offer", offer)
    app.on_shutdown.append(on_shutdown)
    web.run_app(app, host="0.0.0.0", port=PORT, print=lambda _: log.info("listening on %d", PORT))


if __name__ == "__main__":
    main()
