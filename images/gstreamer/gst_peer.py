"""GStreamer webrtcbin peer of the contract (docs/contract.md), both roles.

  gst_peer.py server         POST /offer and the session resource on :8080
  gst_peer.py client [URL]   runs $TEST_CASE against URL (default $SERVER_URL)

One pipeline with one webrtcbin per peer connection. The test logic and the HTTP side
are the shared `interop_peer` package; this file maps its `Peer` interface onto
webrtcbin's action signals, and its events back onto the asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading

from gst_glue import (
    GLib,
    Gst,
    GstWebRTC,
    configure_ice,
    description,
    enum_nick,
    promise,
    recent_errors,
    sdp_text,
    start_glib,
)
from gst_media import Media
from interop_peer.channels import ChannelPipe, Message, call_soon
from interop_peer.contract import Env, TestFailed
from interop_peer.entry import run_peer
from interop_peer.messages import BULK_LOW
from interop_peer.peer import Peer
from interop_peer.sdp import SdpFrag, mids, negotiated_codec

log = logging.getLogger("gst-peer")
CLOSE_TIMEOUT_S = 3.0
FAILURE_DETAIL_S = 0.5  # how long a failure waits for GStreamer's explanation
SETTLE_S = 1.0  # at most, for the remote to show it finished DTLS before we stop

# What webrtcbin cannot do, with the evidence (README.md has the details).
UNSUPPORTED = {
    "ice-restart": "webrtcbin cannot restart ICE: create-offer ignores its options "
    "(gstwebrtcbin.c: 'TODO: use the options argument') and reuses the "
    "previous ice-ufrag/ice-pwd ('FIXME: deal with ICE restarts')",
}


def send(channel: GstWebRTC.WebRTCDataChannel, message: Message) -> None:
    """Send through webrtcbin's API; an empty message is its NULL (the *_EMPTY PPIDs)."""
    try:
        if isinstance(message, str):
            channel.send_string_full(message or None)
        else:
            channel.send_data_full(GLib.Bytes.new(message) if message else None)
    except GLib.Error as problem:
        kind = "string" if isinstance(message, str) else "binary"
        raise TestFailed(
            f"webrtcbin cannot send a {len(message)}-byte {kind} message on "
            f"{channel.props.label!r}: {problem.message}"
        ) from None


def wrap(channel: GstWebRTC.WebRTCDataChannel, loop: asyncio.AbstractEventLoop) -> ChannelPipe:
    """A ChannelPipe fed by a webrtcbin data channel's signals (GStreamer threads)."""
    pipe = ChannelPipe(
        channel.props.label,
        send=lambda message: send(channel, message),
        buffered_amount=lambda: channel.props.buffered_amount,
        loop=loop,
    )
    channel.props.buffered_amount_low_threshold = BULK_LOW
    channel.connect("on-open", lambda _: pipe.feed_open())
    channel.connect("on-close", lambda _: pipe.feed_close())
    channel.connect(
        "on-error",
        lambda _, error: (log.warning("data channel %r: %s", pipe.label, error), pipe.feed_close()),
    )
    channel.connect(
        "on-message-string", lambda _, text: pipe.feed_message("" if text is None else text)
    )
    channel.connect(
        "on-message-data",
        lambda _, data: pipe.feed_message(b"" if data is None else data.get_data()),
    )
    channel.connect("on-buffered-amount-low", lambda _: pipe.feed_low())
    if channel.props.ready_state == GstWebRTC.WebRTCDataChannelState.OPEN:
        pipe.feed_open()
    return pipe


class GstPeer(Peer):
    """One webrtcbin in its own pipeline, bundle-policy max-bundle."""

    def __init__(self, name: str, env: Env) -> None:
        super().__init__(name)
        self.pipeline = Gst.Pipeline.new(name)
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        configure_ice(self.webrtc, env)
        self.pipeline.add(self.webrtc)
        self.media = Media(self.pipeline, self.webrtc, env.role)
        self.local_candidates: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue()
        self.gathered = asyncio.Event()
        self.remote_sdp = ""
        self._connect_signals()
        self.pipeline.set_state(Gst.State.PLAYING)

    def _connect_signals(self) -> None:
        webrtc = self.webrtc
        webrtc.connect(
            "on-ice-candidate",
            lambda _, mline, candidate: call_soon(self.loop, self._on_candidate, mline, candidate),
        )
        webrtc.connect("notify::connection-state", lambda *_: self._on_connection_state())
        webrtc.connect(
            "notify::ice-connection-state",
            lambda *_: log.info(
                "%s: ICE connection state %s",
                self.name,
                enum_nick(webrtc.props.ice_connection_state),
            ),
        )
        webrtc.connect(
            "on-data-channel", lambda _, channel: self.feed_channel(wrap(channel, self.loop))
        )
        webrtc.connect("pad-added", lambda _, pad: self.media.on_pad(pad))
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_bus_error)
        bus.connect(
            "message::warning",
            lambda _, message: log.warning("%s: %s", self.name, message.parse_warning()[0].message),
        )

    def _on_connection_state(self) -> None:
        state = enum_nick(self.webrtc.props.connection_state)
        if state == "failed":
            call_soon(self.loop, self._fail_soon, "connection failed")
        else:
            self.feed_state(state)

    def _fail_soon(self, what: str) -> None:
        """Fail after a moment, with the error GStreamer logs or posts just after it."""

        def fail() -> None:
            errors = recent_errors()
            self.feed_error(f"{what}; GStreamer: {errors}" if errors else what)

        self.loop.call_later(FAILURE_DETAIL_S, fail)

    def _on_bus_error(self, _: Gst.Bus, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        log.error("%s: %s (%s)", self.name, error.message, debug)
        detail = (debug or "").rsplit(":\n", 1)[-1].strip()  # e.g. "Failed to send data"
        what = f"GStreamer error from {message.src.get_name()}: {error.message} ({detail})"
        call_soon(self.loop, self._fail_soon, what)

    def _on_candidate(self, mline: int, candidate: str) -> None:
        """webrtcbin signals the end of gathering with an empty candidate."""
        if candidate:
            self.local_candidates.put_nowait((mline, candidate))
        elif not self.gathered.is_set():
            self.gathered.set()
            self.local_candidates.put_nowait(None)

    async def _apply(self, action: str, kind: str, sdp: str) -> None:
        done, future = promise(self.loop)
        self.webrtc.emit(action, description(kind, sdp), done)
        await self.guard(future)

    async def _create(self, kind: str) -> str:
        done, future = promise(self.loop, lambda reply: sdp_text(reply, kind))
        self.webrtc.emit(f"create-{kind}", None, done)
        sdp = await self.guard(future)
        await self._apply("set-local-description", kind, sdp)
        return str(sdp)

    async def _complete_local(self) -> str:
        """The local description once gathering ended (its candidates merged in)."""
        await self.guard(self.gathered.wait())
        return str(self.webrtc.props.local_description.sdp.as_text())

    def create_channel(
        self,
        label: str,
        *,
        ordered: bool = True,
        max_retransmits: int | None = None,
        negotiated_id: int | None = None,
    ) -> ChannelPipe:
        options = f"options, ordered=(boolean){str(ordered).lower()}"
        if max_retransmits is not None:
            options += f", max-retransmits=(int){max_retransmits}"
        if negotiated_id is not None:
            options += f", negotiated=(boolean)true, id=(int){negotiated_id}"
        channel = self.webrtc.emit(
            "create-data-channel", label, Gst.Structure.new_from_string(options)
        )
        if channel is None:
            raise TestFailed(f"webrtcbin refused to create data channel {label!r} ({options})")
        return wrap(channel, self.loop)

    def add_media(self, kind: str) -> None:
        self.media.add_source(kind)

    async def create_offer(self, trickle: bool = False) -> str:
        sdp = await self._create("offer")
        return sdp if trickle else await self._complete_local()

    async def next_local_candidate(self) -> tuple[str, str] | None:
        item = await self.guard(self.local_candidates.get())
        if item is None:
            return None
        mline, candidate = item
        known = mids(self.webrtc.props.local_description.sdp.as_text())
        return known[mline] if mline < len(known) else str(mline), candidate

    async def set_answer(self, sdp: str) -> None:
        await self._apply("set-remote-description", "answer", sdp)
        self.remote_sdp = sdp
        for kind in ("audio", "video"):
            codec = negotiated(sdp, kind)
            if codec is not None:
                self.media.payload_types[kind] = codec

    async def media_counts(self, kind: str) -> tuple[int, int | None]:
        return self.media.counts(kind)

    async def set_offer(self, sdp: str) -> None:
        await self._apply("set-remote-description", "offer", sdp)
        self.remote_sdp = sdp
        self.media.prepare_echo(sdp)

    async def create_answer(self) -> str:
        await self._create("answer")
        return await self._complete_local()

    async def add_candidates(self, frag: SdpFrag) -> SdpFrag | None:
        """Apply trickled candidates; our answer already carried all of ours (None: 204)."""
        known = mids(self.remote_sdp)
        for mid, candidate in frag.candidates():
            self.webrtc.emit(
                "add-ice-candidate", known.index(mid) if mid in known else 0, candidate
            )
        for mid in frag.ended():
            self.webrtc.emit("add-ice-candidate", known.index(mid) if mid in known else 0, "")
        return None

    async def renegotiate(self, sdp: str) -> str:
        await self.set_offer(sdp)
        return await self.create_answer()

    async def close(self) -> None:
        """Stop the pipeline from a daemon thread: a wedged webrtcbin cannot hold us up."""
        self.mark_closing()
        await self._settle()
        stopped = self.loop.create_future()

        def stop() -> None:
            self.pipeline.set_state(Gst.State.NULL)
            call_soon(self.loop, lambda: stopped.done() or stopped.set_result(None))

        threading.Thread(target=stop, name=f"stop-{self.name}", daemon=True).start()
        try:
            await asyncio.wait_for(stopped, CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("%s: pipeline did not stop within %gs", self.name, CLOSE_TIMEOUT_S)

    async def _settle(self) -> None:
        """Wait, at most SETTLE_S, until the SCTP association is up: the remote got our
        last DTLS flight. As the DTLS server webrtcbin reports `connected` once that
        flight is queued in dtlsenc, not sent; stopping the pipeline at once has dropped
        it, and the remote never connected (docs/findings.md)."""
        sctp = self.webrtc.props.sctp_transport
        if self.state != "connected" or sctp is None:
            return
        deadline = self.loop.time() + SETTLE_S
        connected = GstWebRTC.WebRTCSCTPTransportState.CONNECTED
        while sctp.props.state != connected and self.loop.time() < deadline:
            await asyncio.sleep(0.02)


def negotiated(sdp: str, kind: str) -> int | None:
    codec = negotiated_codec(sdp, kind)
    return codec.payload_type if codec else None


def main() -> int:
    return run_peer(GstPeer, UNSUPPORTED, lambda env: start_glib())


if __name__ == "__main__":
    sys.exit(main())
