"""Server role: `POST /offer` and the session resource (docs/contract.md 3.1 and 3.2).

The wrapper owns HTTP: request checks, session URLs, entity tags and the status codes
for unknown sessions, bad content types and failed preconditions. The page owns the
peer connections and does the WebRTC part of each request (page/server.js).
"""

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass

from aiohttp import web
from pagelink import Page, PageGone

ANSWER_TIMEOUT_S = 15.0  # the page's reply to one request
SDPFRAG = "application/trickle-ice-sdpfrag"

log = logging.getLogger("peer")


def error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


@dataclass
class Session:
    id: str
    generation: int = 1

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.generation}"'


class SessionServer:
    """The HTTP side of the server role; every WebRTC step is a request to the page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sessions: dict[str, Session] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/offer", self.offer)
        app.router.add_route("*", "/session/{id}", self.session)

    async def ask(self, message: dict, what: str) -> dict:
        """The page's reply, or {ok: False, status, reason} if it has none in time."""
        started = time.monotonic()
        try:
            reply = await asyncio.wait_for(self.page.request(message), ANSWER_TIMEOUT_S)
        except TimeoutError:
            log.warning("%s: no reply from the page within %.0f s", what, ANSWER_TIMEOUT_S)
            return {
                "ok": False,
                "status": 504,
                "reason": f"the browser did not answer within {ANSWER_TIMEOUT_S:.0f} s",
            }
        except PageGone as gone:
            return {"ok": False, "status": 503, "reason": f"the browser is gone: {gone}"}
        log.info(
            "%s: %s in %.2f s",
            what,
            "done"
            if reply.get("ok")
            else f"refused ({reply.get('status')}: {reply.get('reason')})",
            time.monotonic() - started,
        )
        return reply

    async def offer(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            kind, sdp = body["type"], body["sdp"]
            if not isinstance(kind, str) or not isinstance(sdp, str):
                raise TypeError("type and sdp must be strings")
        except (ValueError, KeyError, TypeError) as problem:
            return error(400, f"not an RTCSessionDescriptionInit: {problem}")
        if kind != "offer":
            return error(400, f"expected type 'offer', got {kind!r}")
        session = Session(secrets.token_hex(6))
        log.info(
            "session %s: offer from %s (%d bytes of SDP)", session.id, request.remote, len(sdp)
        )
        log.debug("session %s: offer SDP:\n%s", session.id, sdp)
        reply = await self.ask(
            {"op": "offer", "session": session.id, "sdp": sdp}, f"session {session.id}: answer"
        )
        if not reply.get("ok"):
            return error(reply.get("status", 500), reply.get("reason", "no answer"))
        self.sessions[session.id] = session
        log.debug("session %s: answer SDP:\n%s", session.id, reply["sdp"])
        return web.json_response(
            {"type": "answer", "sdp": reply["sdp"]},
            headers={"Location": f"/session/{session.id}", "ETag": session.etag},
        )

    async def session(self, request: web.Request) -> web.StreamResponse:
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return error(404, "no such session (deleted or never made)")
        handler = {"PATCH": self.patch, "POST": self.renegotiate, "DELETE": self.delete}.get(
            request.method
        )
        if handler is None:
            return web.json_response(
                {"error": f"{request.method} is not implemented"},
                status=405,
                headers={"Allow": "PATCH, POST, DELETE"},
            )
        response = await handler(request, session)
        if response.status == 404:  # the page closed it (failed connection, lifetime)
            self.sessions.pop(session.id, None)
        return response

    async def patch(self, request: web.Request, session: Session) -> web.Response:
        if request.content_type != SDPFRAG:
            return error(415, f"expected {SDPFRAG}, got {request.content_type}")
        if_match = request.headers.get("If-Match", "").strip()
        restart = if_match == "*"
        if if_match and not restart and if_match != session.etag:
            return error(412, f"If-Match {if_match} is not the session's ETag {session.etag}")
        what = f"session {session.id}: {'ICE restart' if restart else 'trickle'}"
        frag = await request.text()
        log.debug("%s fragment:\n%s", what, frag)
        reply = await self.ask(
            {"op": "patch", "session": session.id, "frag": frag, "restart": restart}, what
        )
        if not reply.get("ok"):
            return error(reply.get("status", 500), reply.get("reason", "cannot apply"))
        if not reply.get("frag"):
            return web.Response(status=204, headers={"ETag": session.etag})
        if restart:
            session.generation += 1
        log.debug("%s reply fragment:\n%s", what, reply["frag"])
        return web.Response(
            text=reply["frag"], content_type=SDPFRAG, headers={"ETag": session.etag}
        )

    async def renegotiate(self, request: web.Request, session: Session) -> web.Response:
        if request.content_type != "application/sdp":
            return error(415, f"expected application/sdp, got {request.content_type}")
        sdp = await request.text()
        log.debug("session %s: renegotiation offer:\n%s", session.id, sdp)
        reply = await self.ask(
            {"op": "renegotiate", "session": session.id, "sdp": sdp},
            f"session {session.id}: renegotiation",
        )
        if not reply.get("ok"):
            return error(reply.get("status", 500), reply.get("reason", "cannot renegotiate"))
        session.generation += 1
        return web.Response(
            text=reply["sdp"], content_type="application/sdp", headers={"ETag": session.etag}
        )

    async def delete(self, request: web.Request, session: Session) -> web.Response:
        reply = await self.ask(
            {"op": "delete", "session": session.id}, f"session {session.id}: DELETE"
        )
        self.sessions.pop(session.id, None)
        if not reply.get("ok") and reply.get("status") != 404:
            return error(reply.get("status", 500), reply.get("reason", "cannot close"))
        return web.Response(status=200)
