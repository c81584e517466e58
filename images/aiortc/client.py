"""aiortc client of the peer contract (docs/contract.md).

Usage: client.py <server offer URL>; the test case comes from $TEST_CASE.
Exit 0 only when the test's condition was observed, 1 on failure or timeout,
127 for a test case this client does not know.
"""

import asyncio
import json
import logging
import os
import secrets
import sys
import time

import aiohttp
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media import MovingPatternTrack, ToneTrack
from peer import EXIT_FAILED, EXIT_PASSED, EXIT_UNSUPPORTED, NO_ICE_SERVERS, setup_logging

log = logging.getLogger("client")
POST_RETRY_S = 10.0


class TestFailed(Exception):
    pass


async def post_offer(url: str, pc: RTCPeerConnection) -> RTCSessionDescription:
    """POST the offer, retrying while the server is still starting."""
    offer = pc.localDescription
    payload = {"type": offer.type, "sdp": offer.sdp}
    give_up = time.monotonic() + POST_RETRY_S
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.post(url, json=payload) as response:
                    text = await response.text()
                    if response.status != 200:
                        raise TestFailed(f"server answered HTTP {response.status}: {text[:200]}")
                    body = json.loads(text)
                    return RTCSessionDescription(sdp=body["sdp"], type=body["type"])
            except aiohttp.ClientConnectionError as error:
                if time.monotonic() > give_up:
                    raise TestFailed(f"cannot reach {url}: {error}") from error
                await asyncio.sleep(0.25)


async def connect(url: str, pc: RTCPeerConnection) -> asyncio.Future[None]:
    """Offer/answer; the returned future resolves on connected and fails on failed/closed."""
    connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @pc.on("connectionstatechange")
    def on_state() -> None:
        log.info("connection state %s", pc.connectionState)
        if connected.done():
            return
        if pc.connectionState == "connected":
            connected.set_result(None)
        elif pc.connectionState in ("failed", "closed"):
            connected.set_exception(TestFailed(f"connection {pc.connectionState}"))

    await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate first
    answer = await post_offer(url, pc)
    log.info("got answer (%d bytes of SDP)", len(answer.sdp))
    await pc.setRemoteDescription(answer)
    return connected


async def peerconnection(url: str, pc: RTCPeerConnection) -> str:
    # A data channel gives the offer an m=application line, so there is a transport
    # to connect; nothing is sent on it.
    pc.createDataChannel("interop")
    await (await connect(url, pc))
    return "peer connection reached connected (ICE and DTLS done)"


async def datachannel(url: str, pc: RTCPeerConnection) -> str:
    token = secrets.token_hex(16)
    channel = pc.createDataChannel("interop")
    echoed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @channel.on("open")
    def on_open() -> None:
        log.info("data channel open, sending %s", token)
        channel.send(token)

    @channel.on("message")
    def on_message(message: object) -> None:
        log.info("received %r", message)
        if not echoed.done():
            echoed.set_result(message if isinstance(message, str) else repr(message))

    @channel.on("close")
    def on_close() -> None:
        if not echoed.done():
            echoed.set_exception(TestFailed("data channel closed before the echo came back"))

    connected = await connect(url, pc)
    await connected
    message = await echoed
    if message != token:
        raise TestFailed(f"echo mismatch: sent {token!r}, got {message!r}")
    return f"data channel echoed {token!r} unchanged"


# What an echoed stream must deliver to pass (docs/contract.md).
MEDIA = {
    # test: (track factory, codec mime type, RTP packets, decoded frames)
    "audio": (ToneTrack, "audio/opus", 50, 25),
    "video": (MovingPatternTrack, "video/VP8", 50, 10),
}


def negotiated_codec(sdp: str, kind: str) -> str:
    """'opus/48000/2 payload_type=111': the first format of the answer's m= line."""
    lines = sdp.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"m={kind} "):
            payload_type = line.split()[3]
            for attribute in lines[index + 1:]:
                if attribute.startswith("m="):
                    break
                if attribute.startswith(f"a=rtpmap:{payload_type} "):
                    return f"codec={attribute.split(' ', 1)[1]} payload_type={payload_type}"
            return f"codec=? payload_type={payload_type}"
    return "codec=none"


async def media(url: str, pc: RTCPeerConnection, test: str) -> str:
    track_class, mime_type, want_packets, want_frames = MEDIA[test]
    source = track_class()
    transceiver = pc.addTransceiver(source, direction="sendrecv")
    kind = source.kind
    transceiver.setCodecPreferences([
        codec for codec in RTCRtpSender.getCapabilities(kind).codecs
        if codec.mimeType.lower() in (mime_type.lower(), f"{kind}/rtx")
    ])
    frames = 0

    async def count_frames(track: MediaStreamTrack) -> None:
        nonlocal frames
        try:
            while True:
                await track.recv()
                frames += 1
        except MediaStreamError:
            pass

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        log.info("receiving the echoed %s track", track.kind)
        asyncio.ensure_future(count_frames(track))

    await (await connect(url, pc))
    print(f"NEGOTIATED: {negotiated_codec(pc.remoteDescription.sdp, kind)}", flush=True)
    packets = 0
    try:
        while packets < want_packets or frames < want_frames:
            await asyncio.sleep(0.5)
            packets = sum(stats.packetsReceived for stats in (await pc.getStats()).values()
                          if stats.type == "inbound-rtp" and stats.kind == kind)
            log.info("echoed so far: %d packets, %d frames", packets, frames)
    finally:
        print(f"RECEIVED: packets={packets} frames={frames}", flush=True)
    return f"echoed {kind}: {packets} RTP packets, {frames} decoded frames"


async def audio(url: str, pc: RTCPeerConnection) -> str:
    return await media(url, pc, "audio")


async def video(url: str, pc: RTCPeerConnection) -> str:
    return await media(url, pc, "video")


TESTS = {"peerconnection": peerconnection, "datachannel": datachannel, "audio": audio,
         "video": video}


async def run(url: str, test: str, budget_s: float) -> int:
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    try:
        detail = await asyncio.wait_for(TESTS[test](url, pc), budget_s)
    except TimeoutError:
        print(f"FAIL: {test}: no result within {budget_s:.0f}s "
              f"(connection state {pc.connectionState})", flush=True)
        return EXIT_FAILED
    except TestFailed as error:
        print(f"FAIL: {test}: {error}", flush=True)
        return EXIT_FAILED
    finally:
        await pc.close()
    print(f"PASS: {test}: {detail}", flush=True)
    return EXIT_PASSED


def main() -> int:
    setup_logging()
    if len(sys.argv) != 2:
        print("usage: client.py <server offer URL>", file=sys.stderr)
        return EXIT_FAILED
    test = os.environ.get("TEST_CASE", "datachannel")
    if test not in TESTS:
        print(f"UNSUPPORTED: test case {test!r} (known: {', '.join(TESTS)})", flush=True)
        return EXIT_UNSUPPORTED
    # Finish, with a verdict, well before the orchestrator's own kill deadline.
    budget = 0.8 * float(os.environ.get("TEST_TIMEOUT", "25"))
    return asyncio.run(run(sys.argv[1], test, budget))


if __name__ == "__main__":
    sys.exit(main())
