"""The server's HTTP side (contract section 3): POST /offer and the session resource.

A stack supplies a factory of its `Peer`s; this module does the HTTP, the entity tags
and the error statuses, and starts the test case's server behaviour (behaviour.py) on
every peer connection. A bad request gets a 4xx and never takes the server down. For a
server reused across cells (contract section 1.1) each offer may carry its cell's P as
`?payload=<hex>`, and `DELETE /sessions` ends every session between cells.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aiohttp import web

from .behaviour import ServerBehaviour
from .contract import PORT, Env, Unsupported, parse_payload
from .peer import Peer
from .sdp import SdpFrag, parse_sdpfrag, split_sections
from .signalling import SDPFRAG

log = logging.getLogger("server")
ANSWER_TIMEOUT_S = 20.0  # one offer (or renegotiation) must be answered within this
PEER_LIFETIME_S = 300.0  # a forgotten peer connection is closed after this
CLOSE_ALL_TIMEOUT_S = 4.0  # DELETE /sessions must answer within 5 s (contract section 1.1)


PeerFactory = Callable[[str], Peer]


def new_etag() -> str:
    return f'"{secrets.token_hex(8)}"'


@dataclass
class SessionEntry:
    peer: Peer
    behaviour: ServerBehaviour
    etag: str = field(default_factory=new_etag)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def check_offer(sdp: str) -> None:
    """Refuse what is no offer at all (some stacks answer even an empty text)."""
    if not sdp.startswith("v=0") or not split_sections(sdp)[1]:
        raise ValueError("the offer is no SDP with at least one m= section")


def error(status: int, reason: str) -> web.Response:
    log.warning("HTTP %d: %s", status, reason)
    return web.json_response({"error": reason}, status=status)


class SignallingServer:
    """The aiohttp application: one server container, any number of peer connections."""

    def __init__(self, env: Env, new_peer: PeerFactory) -> None:
        self.env = env
        self.new_peer = new_peer
        self.sessions: dict[str, SessionEntry] = {}
        self.app = web.Application()
        self.app.router.add_post("/offer", self.offer)
        session = self.app.router.add_resource("/session/{id}")
        session.add_route("PATCH", self.patch)
        session.add_route("POST", self.renegotiate)
        session.add_route("DELETE", self.delete)
        self.app.router.add_route("DELETE", "/sessions", self.delete_all)  # else 405 + Allow
        self.app.on_shutdown.append(self.shutdown)

    async def offer(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
            if body["type"] != "offer" or not isinstance(body["sdp"], str):
                raise ValueError(f"expected type 'offer', got {body['type']!r}")
            check_offer(body["sdp"])
        except (ValueError, KeyError, TypeError) as problem:
            return error(400, f"not an RTCSessionDescriptionInit offer: {problem}")
        try:
            env = self._session_env(request)
        except ValueError as problem:
            return error(400, f"bad query parameter: {problem}")
        session_id = secrets.token_hex(6)
        peer = self.new_peer(f"peer-{session_id}")
        source = "the payload parameter" if env is not self.env else "the environment"
        log.info("%s: offer from %s, P from %s", peer.name, request.remote, source)
        behaviour = ServerBehaviour(env, peer)
        try:
            answer = await asyncio.wait_for(
                self._answer(peer, behaviour, body["sdp"]), ANSWER_TIMEOUT_S
            )
        except Exception as problem:  # any stack error is this offer's, not the server's
            await peer.close()
            return error(400, f"cannot answer this offer: {type(problem).__name__}: {problem}")
        entry = SessionEntry(peer, behaviour)
        self.sessions[session_id] = entry
        behaviour.start()
        asyncio.get_running_loop().call_later(
            PEER_LIFETIME_S, lambda: asyncio.ensure_future(self._forget(session_id))
        )
        log.info("%s: answered", peer.name)
        return web.json_response(
            {"type": "answer", "sdp": answer},
            headers={"Location": f"/session/{session_id}", "ETag": entry.etag},
        )

    def _session_env(self, request: web.Request) -> Env:
        """The session's Env: a reused server serves several cells, each with its own P,
        which comes as the offer's `payload` parameter (contract section 1.1)."""
        hex_payload = request.query.get("payload")
        if hex_payload is None:
            return self.env
        payload = parse_payload(hex_payload, "payload")
        return replace(self.env, payload=payload, payload_given=True)

    @staticmethod
    async def _answer(peer: Peer, behaviour: ServerBehaviour, sdp: str) -> str:
        await peer.set_offer(sdp)
        behaviour.before_answer()
        return await peer.create_answer()

    def _entry(self, request: web.Request) -> SessionEntry | None:
        return self.sessions.get(request.match_info["id"])

    async def patch(self, request: web.Request) -> web.Response:
        entry = self._entry(request)
        if entry is None:
            return error(404, "no such session")
        if request.content_type != SDPFRAG:
            return error(415, f"expected {SDPFRAG}, got {request.content_type}")
        if_match = request.headers.get("If-Match")
        if if_match is None:
            return error(428, "PATCH needs If-Match")
        try:
            frag = parse_sdpfrag(await request.text())
        except ValueError as problem:
            return error(422, str(problem))
        async with entry.lock:
            if if_match.strip() == "*":
                return await self._restart(entry, frag)
            if if_match.strip() != entry.etag:
                return error(412, f"If-Match {if_match} is not the current {entry.etag}")
            return await self._trickle(entry, frag)

    async def _trickle(self, entry: SessionEntry, frag: SdpFrag) -> web.Response:
        try:
            own = await entry.peer.add_candidates(frag)
        except ValueError as problem:
            return error(422, f"cannot apply the candidates: {problem}")
        if own is None:
            return web.Response(status=204)
        return web.Response(status=200, text=own.render(), content_type=SDPFRAG)

    async def _restart(self, entry: SessionEntry, frag: SdpFrag) -> web.Response:
        if frag.ufrag is None or frag.pwd is None:
            return error(422, "an ICE restart fragment needs ice-ufrag and ice-pwd")
        try:
            own = await asyncio.wait_for(entry.peer.restart_ice(frag), ANSWER_TIMEOUT_S)
        except Unsupported as problem:
            return error(501, f"cannot restart ICE: {problem}")
        except (ValueError, TimeoutError) as problem:
            return error(422, f"cannot restart ICE: {type(problem).__name__}: {problem}")
        entry.etag = new_etag()
        return web.Response(
            status=200, text=own.render(), content_type=SDPFRAG, headers={"ETag": entry.etag}
        )

    async def renegotiate(self, request: web.Request) -> web.Response:
        entry = self._entry(request)
        if entry is None:
            return error(404, "no such session")
        if request.content_type != "application/sdp":
            return error(415, f"expected application/sdp, got {request.content_type}")
        offer = await request.text()
        try:
            check_offer(offer)
        except ValueError as problem:
            return error(400, str(problem))
        async with entry.lock:
            try:
                answer = await asyncio.wait_for(entry.peer.renegotiate(offer), ANSWER_TIMEOUT_S)
            except Unsupported as problem:
                return error(501, f"cannot renegotiate: {problem}")
            except Exception as problem:  # the offer's fault or the stack's: not fatal
                return error(422, f"cannot apply this offer: {type(problem).__name__}: {problem}")
            entry.etag = new_etag()
        log.info("%s: renegotiated", entry.peer.name)
        return web.Response(
            status=200, text=answer, content_type="application/sdp", headers={"ETag": entry.etag}
        )

    async def delete(self, request: web.Request) -> web.Response:
        session_id = request.match_info["id"]
        if session_id not in self.sessions:
            return error(404, "no such session")
        await self._forget(session_id)
        return web.Response(status=200)

    async def delete_all(self, _: web.Request) -> web.Response:
        """End every session, so that a reused server's next cell meets nothing of this one."""
        closing = [asyncio.ensure_future(self._forget(sid)) for sid in list(self.sessions)]
        problem = await self._wait_closed(closing) if closing else None
        if problem is not None:
            return error(500, f"DELETE /sessions: {problem}")
        log.info("DELETE /sessions: closed %d peer connection(s)", len(closing))
        return web.Response(status=200)

    @staticmethod
    async def _wait_closed(closing: list[asyncio.Task[None]]) -> str | None:
        """Why not every peer connection closed in time, or None: the answer is bounded."""
        done, pending = await asyncio.wait(closing, timeout=CLOSE_ALL_TIMEOUT_S)
        if pending:
            return f"{len(pending)} of {len(closing)} peer connection(s) still closing"
        failed = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
        if failed:
            return f"closing {len(failed)} peer connection(s) failed: {failed[0]!r}"
        return None

    async def _forget(self, session_id: str) -> None:
        entry = self.sessions.pop(session_id, None)
        if entry is not None:
            log.info("%s: session ended", entry.peer.name)
            entry.behaviour.stop()
            await entry.peer.close()

    async def shutdown(self, _: web.Application) -> None:
        for session_id in list(self.sessions):
            await self._forget(session_id)


def serve(env: Env, new_peer: PeerFactory) -> None:
    """Listen on 8080, IPv4 and IPv6 (the `ipv6` scenario), until killed."""
    server = SignallingServer(env, new_peer)
    web.run_app(
        server.app,
        host=["0.0.0.0", "::"],
        port=PORT,
        print=lambda _: log.info("listening on %d (test case %s)", PORT, env.test_case),
    )
