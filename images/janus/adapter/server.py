"""The Janus image's server: Janus itself plus the contract's HTTP signalling on :8080.

Janus speaks its own API, not the contract's, so this adapter starts Janus (logging to
the same stdout), then turns `POST /offer` into Janus API calls over the WebSocket
transport on localhost: create a session, attach the echo plugin (echo.lua in Janus's
Lua plugin), send the offer, wait for the answer event. The session resource of
docs/contract.md §3.2 maps onto the same Janus session: trickle (Janus "trickle"),
ICE restart and renegotiation (a new offer), DELETE (detach + destroy).
"""

import asyncio
import hashlib
import json
import logging
import os
import random
import secrets
import signal
import sys

import janus_config
import sdpfrag
from aiohttp import web
from janus_api import JanusError, JanusPeer

log = logging.getLogger("adapter")
JANUS_WS = f"ws://127.0.0.1:{janus_config.WS_PORT}/"
SERVER_OPEN_LABEL = "interop-server"
# Test cases Janus cannot serve, with the reason the server answers them with.
UNSUPPORTED = {
    "datachannel-negotiated": (
        "Janus has no negotiated (out-of-band) data channels: it drops data on a "
        "stream no DCEP OPEN announced (sctp.c janus_sctp_handle_data_message)"
    ),
}


def payload_from_env() -> bytes:
    """P of contract §2.1: TEST_PAYLOAD, or 600-1000 printable ASCII bytes made up here."""
    hex_payload = os.environ.get("TEST_PAYLOAD", "")
    if hex_payload:
        return bytes.fromhex(hex_payload)
    return bytes(random.randint(0x21, 0x7E) for _ in range(random.randint(600, 1000)))


def new_etag() -> str:
    return f'"{secrets.token_hex(8)}"'


class PeerSession:
    """One client peer connection: its Janus session and its contract session resource."""

    def __init__(self, cell: dict):
        self.id = secrets.token_hex(6)
        self.etag = new_etag()
        self.cell = cell
        self.offer = ""
        self.answer = ""
        self.lock = asyncio.Lock()  # one negotiation at a time per Janus handle
        self.janus = JanusPeer(JANUS_WS, self._on_event)
        self._tasks: set[asyncio.Task] = set()

    async def start(self, offer: str) -> str:
        await self.janus.open()
        return await self.negotiate(offer)

    async def negotiate(self, offer: str) -> str:
        """Sends an offer (first, restart or renegotiation) and keeps offer and answer."""
        async with self.lock:
            answer = await self.janus.negotiate(offer, force_relay=self.cell["relay"])
            self.offer, self.answer = offer, answer
            return answer

    async def close(self):
        for task in self._tasks:
            task.cancel()
        await self.janus.close()

    def _spawn(self, coro):
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_event(self, event: dict):
        """Janus events without a transaction: PeerConnection state and plugin events."""
        kind = event.get("janus")
        if kind in ("webrtcup", "hangup", "detached", "timeout"):
            log.info("session %s: Janus %s %s", self.id, kind, event.get("reason", ""))
        if kind == "webrtcup" and self.cell["test_case"] == "datachannel-server-open":
            self._spawn(self._server_open())
        data = event.get("plugindata", {}).get("data", {})
        if data.get("event") == "data" and data.get("label") == SERVER_OPEN_LABEL:
            self._spawn(self._confirm(bytes.fromhex(data["hex"])))

    async def _server_open(self):
        """datachannel-server-open: Janus opens the channel (DCEP) and sends P on it."""
        await self.janus.plugin_request(
            {"request": "open", "label": SERVER_OPEN_LABEL, "hex": self.cell["payload"].hex()}
        )
        log.info("session %s: opened channel %s and sent P", self.id, SERVER_OPEN_LABEL)

    async def _confirm(self, echo: bytes):
        """Answers the client's echo with CONFIRMED:/MISMATCH: and its SHA-256."""
        verdict = "CONFIRMED:" if echo == self.cell["payload"] else "MISMATCH:"
        reply = verdict + hashlib.sha256(echo).hexdigest()
        log.info("session %s: echo of %d bytes, answering %s", self.id, len(echo), reply)
        await self.janus.plugin_request(
            {"request": "send", "label": SERVER_OPEN_LABEL, "hex": reply.encode().hex()}
        )


def janus_failure(exc: Exception, what: str, bad_input_status: int = 400) -> web.Response:
    """An error from Janus: the client's fault (bad SDP/candidate) or the server's."""
    if isinstance(exc, JanusError) and exc.bad_input:
        return text_error(bad_input_status, f"{what}: {exc}")
    return text_error(500, f"{what}: {exc!r}")


def text_error(status: int, reason: str) -> web.Response:
    log.info("HTTP %d: %s", status, reason)
    return web.Response(status=status, text=reason + "\n")


async def post_offer(request: web.Request) -> web.Response:
    """POST /offer (§3.1): JSON offer in, JSON answer out, with Location and ETag."""
    cell = request.app["cell"]
    if cell["test_case"] in UNSUPPORTED:
        return text_error(501, "UNSUPPORTED: " + UNSUPPORTED[cell["test_case"]])
    try:
        body = json.loads(await request.text())
        if body.get("type") != "offer" or not isinstance(body.get("sdp"), str):
            raise ValueError('expected {"type": "offer", "sdp": "..."}')
    except (ValueError, AttributeError) as exc:
        return text_error(400, f"bad offer: {exc}")
    peer = PeerSession(cell)
    try:
        answer = await peer.start(body["sdp"])
    except (TimeoutError, JanusError, ConnectionError, OSError) as exc:
        await peer.close()
        return janus_failure(exc, "Janus could not answer")
    request.app["sessions"][peer.id] = peer
    log.info("session %s: answered (Janus session %s)", peer.id, peer.janus.session_id)
    return web.json_response(
        {"type": "answer", "sdp": answer},
        headers={"Location": f"/session/{peer.id}", "ETag": peer.etag},
    )


def find_session(request: web.Request) -> PeerSession | None:
    return request.app["sessions"].get(request.match_info["sid"])


async def patch_session(request: web.Request) -> web.Response:
    """PATCH <session> (§3.2): trickle with If-Match: "<etag>", ICE restart with *."""
    peer = find_session(request)
    if peer is None:
        return text_error(404, "no such session")
    if request.content_type != "application/trickle-ice-sdpfrag":
        return text_error(415, "expected application/trickle-ice-sdpfrag")
    if_match = request.headers.get("If-Match", "").strip()
    if not if_match:
        return text_error(428, "If-Match is required")
    try:
        frag = sdpfrag.parse_ice(await request.text())
        if if_match == "*":
            return await ice_restart(peer, frag)
        if if_match.removeprefix("W/") != peer.etag:
            return text_error(412, f"entity tag {if_match} is not {peer.etag}")
        return await trickle(peer, frag)
    except sdpfrag.FragmentError as exc:
        return text_error(422, str(exc))
    except (TimeoutError, JanusError, ConnectionError) as exc:
        return janus_failure(exc, "Janus", bad_input_status=422)


async def trickle(peer: PeerSession, frag: sdpfrag.IceInfo) -> web.Response:
    """Hands the client's candidates to Janus; Janus's own are all in its answer."""
    current = sdpfrag.parse_ice(peer.offer).ufrag
    if frag.ufrag is not None and frag.ufrag != current:
        raise sdpfrag.FragmentError(f"ice-ufrag {frag.ufrag} is not the session's {current}")
    candidates, completed = sdpfrag.janus_candidates(frag, peer.offer)
    await peer.janus.trickle(candidates, completed)
    log.info(
        "session %s: trickled %d candidate(s)%s",
        peer.id,
        len(candidates),
        ", end-of-candidates" if completed else "",
    )
    return web.Response(status=204)


async def ice_restart(peer: PeerSession, frag: sdpfrag.IceInfo) -> web.Response:
    """ICE restart: the previous offer with the new credentials goes to Janus as a new
    offer; Janus restarts its agent (new local credentials) and answers."""
    if not frag.ufrag or not frag.pwd:
        raise sdpfrag.FragmentError("an ICE restart fragment needs ice-ufrag and ice-pwd")
    if frag.ufrag == sdpfrag.parse_ice(peer.offer).ufrag:
        raise sdpfrag.FragmentError("ICE restart with the current ice-ufrag")
    offer = sdpfrag.restart_offer(peer.offer, frag)
    answer = await peer.negotiate(offer)
    # Janus takes the candidates of a restart offer no more (its ICE processing has
    # started: "Component ... has already been set up"); trickled ones it does take.
    candidates, completed = sdpfrag.janus_candidates(frag, offer)
    await peer.janus.trickle(candidates, completed)
    peer.etag = new_etag()
    log.info(
        "session %s: ICE restarted (%d remote candidates), Janus ufrag %s",
        peer.id,
        len(candidates),
        sdpfrag.parse_ice(answer).ufrag,
    )
    return web.Response(
        status=200,
        body=sdpfrag.answer_fragment(answer, offer).encode(),
        content_type="application/trickle-ice-sdpfrag",
        headers={"ETag": peer.etag},
    )


async def post_session(request: web.Request) -> web.Response:
    """POST <session> (§3.2): renegotiation with a complete new offer."""
    peer = find_session(request)
    if peer is None:
        return text_error(404, "no such session")
    if request.content_type != "application/sdp":
        return text_error(415, "expected application/sdp")
    try:
        answer = await peer.negotiate(await request.text())
    except (TimeoutError, JanusError, ConnectionError) as exc:
        return janus_failure(exc, "Janus could not renegotiate")
    peer.etag = new_etag()
    log.info("session %s: renegotiated", peer.id)
    return web.Response(
        status=200,
        body=answer.encode(),
        content_type="application/sdp",
        headers={"ETag": peer.etag},
    )


async def delete_session(request: web.Request) -> web.Response:
    """DELETE <session>: Janus closes the peer connection and forgets the session."""
    peer = request.app["sessions"].pop(request.match_info["sid"], None)
    if peer is None:
        return text_error(404, "no such session")
    await peer.close()
    log.info("session %s: deleted", peer.id)
    return web.Response(status=200)


async def not_allowed(request: web.Request) -> web.Response:
    return web.Response(status=405, headers={"Allow": "PATCH, POST, DELETE"})


def make_app(cell: dict) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app["cell"] = cell
    app["sessions"] = {}
    app.router.add_post("/offer", post_offer)
    app.router.add_patch("/session/{sid}", patch_session)
    app.router.add_post("/session/{sid}", post_session)
    app.router.add_delete("/session/{sid}", delete_session)
    app.router.add_route("*", "/session/{sid}", not_allowed)
    app.on_shutdown.append(close_sessions)
    return app


async def close_sessions(app: web.Application):
    for peer in list(app["sessions"].values()):
        await peer.close()


async def start_janus(ice: janus_config.IceConfig) -> asyncio.subprocess.Process:
    """Writes the configuration and starts Janus; its output goes to our stdout."""
    interfaces = janus_config.cell_interfaces()
    conf = janus_config.write_all(ice, interfaces)
    log.info(
        "Janus ICE: interfaces %s, STUN %s, TURN %s, relay-only %s",
        interfaces,
        ice.stun,
        ice.turn and {k: v for k, v in ice.turn.items() if k != "pwd"},
        ice.relay_only,
    )
    for url, why in ice.ignored:
        log.warning("ICE server %s not used: %s", url, why)
    return await asyncio.create_subprocess_exec("janus", "-C", conf, "-F", janus_config.CONF_DIR)


async def wait_listening(port: int, janus: asyncio.subprocess.Process, seconds: float = 30):
    """Waits until Janus's WebSocket transport accepts connections."""
    for _ in range(int(seconds * 10)):
        if janus.returncode is not None:
            raise RuntimeError(f"Janus exited with {janus.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"Janus did not listen on {port} within {seconds} s")


def cell_from_env() -> dict:
    return {
        "test_case": os.environ.get("TEST_CASE", ""),
        "payload": payload_from_env(),
        "relay": os.environ.get("ICE_TRANSPORT_POLICY", "all") == "relay",
    }


async def main():
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("PEER_DEBUG") else logging.INFO,
        stream=sys.stdout,
        format="[adapter] %(asctime)s %(levelname)s %(message)s",
    )
    ice = janus_config.parse_ice(
        os.environ.get("ICE_SERVERS", "[]"), os.environ.get("ICE_TRANSPORT_POLICY", "all")
    )
    janus = await start_janus(ice)
    await wait_listening(janus_config.WS_PORT, janus)
    runner = web.AppRunner(make_app(cell_from_env()), access_log=log)
    await runner.setup()
    await web.TCPSite(runner, port=8080).start()
    log.info("listening on :8080 (TEST_CASE=%s)", os.environ.get("TEST_CASE", ""))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    janus_exit = asyncio.create_task(janus.wait())
    await asyncio.wait(
        [janus_exit, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    await runner.cleanup()
    if janus.returncode is None:
        janus.terminate()
        await janus.wait()
    log.info("Janus exited with %s", janus.returncode)
    return 0 if stop.is_set() else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
