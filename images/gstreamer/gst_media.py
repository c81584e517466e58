"""Media for the GStreamer peer: generated sources and counters (client), RTP echo (server).

The client sends a 440 Hz tone as Opus and a moving test pattern as VP8, each on a
sendrecv transceiver, and counts the echoed RTP packets of the negotiated payload type
at webrtcbin's source pad, and the frames its decoder produces. The server sends what it
receives back on the same transceiver: depayloaded and payloaded again, so the frames
are the client's own but the RTP stream (SSRC, sequence numbers) is the server's.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass

from gst_glue import Gst, GstWebRTC, caps
from interop_peer.sdp import split_sections

log = logging.getLogger("gst-media")


@dataclass(frozen=True)
class Codec:
    """What one media kind uses: the source, the RTP caps and the (de)payloaders."""

    encoding: str  # as in GStreamer caps and the rtpmap
    clock_rate: int
    channels: str  # the rtpmap's encoding parameters ("" for none)
    payload_type: int  # what the client offers
    source: str  # gst-launch description up to the encoder
    depayloader: str
    payloader: str
    decoder: str


CODECS = {
    "audio": Codec(
        "OPUS",
        48000,
        "2",  # RFC 7587: always opus/48000/2
        111,
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.25 ! audioconvert ! "
        "audioresample ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20",
        "rtpopusdepay",
        "rtpopuspay",
        "opusdec",
    ),
    "video": Codec(
        "VP8",
        90000,
        "",
        96,
        "videotestsrc is-live=true pattern=ball ! "
        "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! "
        "vp8enc deadline=1 keyframe-max-dist=30",
        "rtpvp8depay",
        "rtpvp8pay",
        "vp8dec",
    ),
}
KINDS = {GstWebRTC.WebRTCKind.AUDIO: "audio", GstWebRTC.WebRTCKind.VIDEO: "video"}


def rtp_caps(kind: str, payload_type: int, ssrc: int | None = None) -> Gst.Caps:
    """RTP caps of the kind's codec; with an ssrc, webrtcbin signals it (a=ssrc)."""
    codec = CODECS[kind]
    text = (
        f"application/x-rtp,media={kind},encoding-name={codec.encoding},"
        f"clock-rate={codec.clock_rate},payload={payload_type}"
    )
    if codec.channels:  # without it webrtcbin writes "OPUS/48000", which Chromium rejects
        text += f",encoding-params=(string){codec.channels}"
    return caps(text + (f",ssrc=(uint){ssrc}" if ssrc is not None else ""))


def add_chain(
    pipeline: Gst.Pipeline, description: str, link: Gst.Pad, upstream: bool = False
) -> Gst.Bin:
    """A bin from a gst-launch description (ghost pads for its free ends), linked to
    `link` (our src pad to it, or with upstream=True its pad to our sink) before it
    starts, so that no buffer meets an unlinked pad."""
    chain = Gst.parse_bin_from_description(description, True)
    pipeline.add(chain)
    ours = chain.get_static_pad("sink" if upstream else "src")
    result = link.link(ours) if upstream else ours.link(link)
    if result != Gst.PadLinkReturn.OK:
        pipeline.remove(chain)
        raise RuntimeError(f"cannot link {description!r}: {result.value_nick}")
    chain.sync_state_with_parent()
    return chain


def transceivers(webrtc: Gst.Element) -> list[GstWebRTC.WebRTCRTPTransceiver]:
    """webrtcbin's transceivers, by index (get-transceivers' GArray is not iterable)."""
    found = []
    while (transceiver := webrtc.emit("get-transceiver", len(found))) is not None:
        found.append(transceiver)
    return found


def offered_codec(offer_sdp: str, mline: int) -> tuple[str, int] | None:
    """(encoding name, payload type) of the first format of m-line `mline`."""
    _, media = split_sections(offer_sdp)
    if mline >= len(media):
        return None
    fields = media[mline][0].split()
    if len(fields) < 4:
        return None
    prefix = f"a=rtpmap:{fields[3]} "
    rtpmap = next((line[len(prefix) :] for line in media[mline] if line.startswith(prefix)), "")
    return rtpmap.split("/")[0].upper(), int(fields[3])


class Media:
    """The media side of one webrtcbin; pad callbacks run on GStreamer threads."""

    def __init__(self, pipeline: Gst.Pipeline, webrtc: Gst.Element, role: str) -> None:
        self.pipeline = pipeline
        self.webrtc = webrtc
        self.role = role
        self.lock = threading.Lock()
        self.packets = {"audio": 0, "video": 0}
        self.frames = {"audio": 0, "video": 0}
        self.payload_types: dict[str, int] = {}  # client: what the answer negotiated
        self.echo_inputs: dict[int, Gst.Bin] = {}  # server: m-line -> its echo chain

    # Client: sources and counting.
    def add_source(self, kind: str) -> None:
        """A generated stream on a new sendrecv transceiver offering only this codec.

        Its SSRC is fixed and in the caps, so that the offer signals it (a=ssrc) even
        before the first buffer: webrtcbin routes an unsignaled SSRC to the bundle's
        first m-line (README.md, findings).
        """
        codec, ssrc = CODECS[kind], secrets.randbits(32)
        wanted = rtp_caps(kind, codec.payload_type, ssrc)
        pad = self.webrtc.request_pad(self.webrtc.get_pad_template("sink_%u"), None, wanted)
        pad.props.transceiver.set_property("codec-preferences", wanted)
        add_chain(
            self.pipeline,
            f"{codec.source} ! {codec.payloader} pt={codec.payload_type} ssrc={ssrc} mtu=1200",
            pad,
        )

    def counts(self, kind: str) -> tuple[int, int]:
        with self.lock:
            return self.packets[kind], self.frames[kind]

    def on_pad(self, pad: Gst.Pad) -> None:
        """pad-added: an incoming RTP stream; counted (client) or echoed (server)."""
        if pad.direction != Gst.PadDirection.SRC:
            return
        transceiver = pad.props.transceiver
        kind = KINDS.get(transceiver.props.kind) if transceiver else None
        log.info(
            "incoming %s stream on %s (m-line %s)",
            kind,
            pad.get_name(),
            transceiver.props.mlineindex if transceiver else "?",
        )
        if kind is None:
            self._discard(pad)
        elif self.role == "server":
            self._echo(pad, transceiver.props.mlineindex)
        else:
            self._count(pad, kind)

    def _count(self, pad: Gst.Pad, kind: str) -> None:
        codec = CODECS[kind]
        pad.add_probe(Gst.PadProbeType.BUFFER, self._packet_probe, kind)
        chain = add_chain(
            self.pipeline,
            f"queue ! {codec.depayloader} ! {codec.decoder} "
            "name=decoder ! fakesink sync=false async=false",
            pad,
            upstream=True,
        )
        chain.get_by_name("decoder").get_static_pad("src").add_probe(
            Gst.PadProbeType.BUFFER, self._frame_probe, kind
        )

    def _packet_probe(self, _: Gst.Pad, info: Gst.PadProbeInfo, kind: str) -> Gst.PadProbeReturn:
        header = info.get_buffer().extract_dup(0, 2)
        payload_type = header[1] & 0x7F if len(header) == 2 else -1
        if payload_type == self.payload_types.get(kind):
            with self.lock:
                self.packets[kind] += 1
        return Gst.PadProbeReturn.OK

    def _frame_probe(self, _: Gst.Pad, __: Gst.PadProbeInfo, kind: str) -> Gst.PadProbeReturn:
        with self.lock:
            self.frames[kind] += 1
        return Gst.PadProbeReturn.OK

    # Server: echo.
    def prepare_echo(self, offer_sdp: str) -> None:
        """Make every new audio/video transceiver of the offer sendrecv, echoing itself.

        Runs after set-remote-description and before create-answer, so that the answer
        is sendrecv with the offer's first codec (Opus or VP8) and payload type.
        """
        for transceiver in transceivers(self.webrtc):
            mline, kind = transceiver.props.mlineindex, KINDS.get(transceiver.props.kind)
            if mline < 0 or mline in self.echo_inputs or kind is None:
                continue
            codec = offered_codec(offer_sdp, mline)
            if codec is None or codec[0] != CODECS[kind].encoding:
                log.warning("m-line %d: cannot echo %s (first codec %s)", mline, kind, codec)
                continue
            self._echo_chain(transceiver, mline, kind, codec[1])

    def _echo_chain(
        self, transceiver: GstWebRTC.WebRTCRTPTransceiver, mline: int, kind: str, payload_type: int
    ) -> None:
        # The echo's SSRC is chosen here so that the answer can signal it: webrtcbin
        # writes a=ssrc for an ssrc in the codec preferences, and a receiving webrtcbin
        # needs that to tell BUNDLEd streams apart (see README.md, findings).
        ssrc = secrets.randbits(32)
        transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)
        transceiver.set_property("codec-preferences", rtp_caps(kind, payload_type, ssrc))
        codec = CODECS[kind]
        pad = self.webrtc.request_pad_simple(f"sink_{mline}")
        if pad is None:
            raise RuntimeError(f"webrtcbin gave no sink pad for m-line {mline}")
        self.echo_inputs[mline] = add_chain(
            self.pipeline,
            f"queue ! {codec.depayloader} ! {codec.payloader} "
            f"pt={payload_type} ssrc={ssrc} mtu=1200",
            pad,
        )
        log.info("m-line %d: echoing %s with payload type %d", mline, kind, payload_type)

    def _echo(self, pad: Gst.Pad, mline: int) -> None:
        chain = self.echo_inputs.get(mline)
        sink = chain.get_static_pad("sink") if chain else None
        if sink is None or sink.is_linked():
            self._discard(pad)
        else:
            pad.link(sink)

    def _discard(self, pad: Gst.Pad) -> None:
        add_chain(self.pipeline, "fakesink sync=false async=false", pad, upstream=True)
