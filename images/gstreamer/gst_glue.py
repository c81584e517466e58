"""GStreamer plumbing for the asyncio side: the GLib thread, promises, SDP, ICE servers.

webrtcbin calls back from its own threads; everything here hands results to the asyncio
loop with `call_soon_threadsafe`, so the test logic never runs on a GStreamer thread.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402
from interop_peer.channels import call_soon  # noqa: E402
from interop_peer.contract import Env, IceServer  # noqa: E402

__all__ = ["GLib", "Gst", "GstSdp", "GstWebRTC"]  # the versions chosen above, for the others
log = logging.getLogger("gst")


@functools.cache
def start_glib() -> threading.Thread:
    """Gst.init and one GLib main loop thread for bus watches and GLib timeouts (once).

    GStreamer's own debug messages (GST_DEBUG, ERROR level in the image) go through
    Python's logging, so that they keep their place among the peer's lines and the
    verdict stays the last line; the recent ones explain a failed connection.
    """
    Gst.init(None)
    Gst.debug_remove_log_function(None)
    Gst.debug_add_log_function(_log_gstreamer, None)
    thread = threading.Thread(target=GLib.MainLoop().run, name="glib", daemon=True)
    thread.start()
    return thread


_recent_errors: collections.deque[str] = collections.deque(maxlen=5)
_gst_log = logging.getLogger("gstreamer")


def _log_gstreamer(
    category: Gst.DebugCategory,
    level: Gst.DebugLevel,
    file: str,
    function: str,
    line: int,
    _: object,
    message: Gst.DebugMessage,
    *__: object,
) -> None:
    text = f"{category.get_name()} {file}:{line}:{function}: {message.get()}"
    _gst_log.log(logging.ERROR if level <= Gst.DebugLevel.ERROR else logging.INFO, "%s", text)
    if level <= Gst.DebugLevel.ERROR:
        _recent_errors.append(message.get() or "")


def recent_errors() -> str:
    """GStreamer's last ERROR messages, e.g. OpenSSL's reason for a failed handshake."""
    return " | ".join(dict.fromkeys(_recent_errors))


def promise(
    loop: asyncio.AbstractEventLoop,
    extract: Callable[[Gst.Structure | None], Any] = lambda _: None,
) -> tuple[Gst.Promise, asyncio.Future[Any]]:
    """A Gst.Promise whose reply, passed through `extract` on GStreamer's thread (the
    reply only lives there), resolves an asyncio future; an `error` field fails it."""
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, problem: Exception | None) -> None:
        if not future.done():
            if problem is None:
                future.set_result(result)
            else:
                future.set_exception(problem)

    def changed(done: Gst.Promise) -> None:
        reply = done.get_reply()
        try:
            if reply is not None and reply.has_field("error"):
                raise ValueError(str(reply.get_value("error")))
            call_soon(loop, settle, extract(reply), None)
        except Exception as problem:  # delivered to the awaiting coroutine
            call_soon(loop, settle, None, problem)

    return Gst.Promise.new_with_change_func(changed), future


def description(kind: str, sdp: str) -> GstWebRTC.WebRTCSessionDescription:
    """A session description from SDP text; ValueError if GStreamer cannot parse it."""
    result, message = GstSdp.SDPMessage.new_from_text(sdp)
    if result != GstSdp.SDPResult.OK:
        raise ValueError(f"GStreamer cannot parse the SDP ({result.value_nick})")
    sdp_type = {"offer": GstWebRTC.WebRTCSDPType.OFFER, "answer": GstWebRTC.WebRTCSDPType.ANSWER}[
        kind
    ]
    return GstWebRTC.WebRTCSessionDescription.new(sdp_type, message)


def sdp_text(reply: Gst.Structure | None, field: str) -> str:
    """The SDP of the description in a create-offer/answer promise reply."""
    if reply is None or not reply.has_field(field):
        raise ValueError(f"webrtcbin gave no {field}")
    return reply.get_value(field).sdp.as_text()


def caps(text: str) -> Gst.Caps:
    return Gst.Caps.from_string(text)


def configure_ice(webrtc: Gst.Element, env: Env) -> None:
    """Exactly the cell's ICE servers and policy (webrtcbin has no default STUN server).

    webrtcbin takes one STUN server (`stun-server`, stun://host:port) and any number of
    TURN servers (`add-turn-server`, turn(s)://user:pass@host:port?transport=...).
    """
    policy = (
        GstWebRTC.WebRTCICETransportPolicy.RELAY
        if env.ice_transport_policy == "relay"
        else GstWebRTC.WebRTCICETransportPolicy.ALL
    )
    webrtc.set_property("ice-transport-policy", policy)
    stun = [url for server in env.ice_servers for url in server.urls if url.startswith("stun:")]
    if stun:
        webrtc.set_property("stun-server", "stun://" + stun[0][len("stun:") :])
        if len(stun) > 1:
            log.warning("webrtcbin takes one STUN server; ignoring %s", stun[1:])
    for server in env.ice_servers:
        for url in server.urls:
            if url.startswith(("turn:", "turns:")):
                added = webrtc.emit("add-turn-server", turn_uri(url, server))
                log.info("TURN server %s: %s", url, "added" if added else "REFUSED by webrtcbin")
    log.info(
        "ICE servers %s, transport policy %s",
        [url for s in env.ice_servers for url in s.urls] or "none",
        env.ice_transport_policy,
    )


def turn_uri(url: str, server: IceServer) -> str:
    """An RTCIceServer TURN URL (RFC 7065) in webrtcbin's form, credentials inside.

    RFC 7065's default transport for `turn:` is UDP; webrtcbin would try UDP and TCP
    without a `transport`, so the default is written out.
    """
    scheme, rest = url.split(":", 1)
    address, _, query = rest.partition("?")
    if scheme == "turn" and "transport=" not in query:
        query = "transport=udp"
    user = urllib.parse.quote(server.username or "", safe="")
    password = urllib.parse.quote(server.credential or "", safe="")
    return f"{scheme}://{user}:{password}@{address}" + (f"?{query}" if query else "")


def enum_nick(value: Any) -> str:
    """'connected' for GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED, etc."""
    return str(value.value_nick)
