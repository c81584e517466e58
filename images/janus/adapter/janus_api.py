"""A minimal client of the Janus API over its WebSocket transport on localhost.

One JanusPeer is one Janus session with one handle attached to the echo plugin: one
WebSocket each, so that closing it also lets Janus drop whatever was left behind.
Janus answers a request either at once ("success"/"error") or with an "ack" followed
by an "event" carrying the same transaction (plugin messages with a JSEP); both shapes
end in the same future here.
"""

import asyncio
import itertools
import json
import logging

import aiohttp

PLUGIN = "janus.plugin.lua"  # running echo.lua
KEEPALIVE_SECONDS = 20  # Janus's session_timeout is 60 s
log = logging.getLogger("adapter.janus")


class JanusError(Exception):
    """Janus refused a request; the message carries Janus's code and reason."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code

    @property
    def bad_input(self) -> bool:
        """Janus rejected what the client sent (SDP, candidate), not its own state."""
        return self.code in (JANUS_INVALID_SDP, JANUS_TRICKLE_INVALID_STREAM)


JANUS_INVALID_SDP = 465  # JANUS_ERROR_JSEP_INVALID_SDP (janus/apierror.h)
JANUS_TRICKLE_INVALID_STREAM = 466  # JANUS_ERROR_TRICKE_INVALID_STREAM


class JanusPeer:
    """One Janus session + handle: negotiation, trickle, plugin requests, teardown."""

    def __init__(self, url: str, on_event):
        self._url = url
        self._on_event = on_event  # callback(dict) for events without a transaction
        self._http = None
        self._ws = None
        self._pending: dict[str, tuple[asyncio.Future, bool]] = {}  # future, final on ack
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task] = []
        self.session_id = None
        self.handle_id = None

    async def open(self):
        """Connects, creates the Janus session and attaches the echo plugin."""
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(
            self._url, protocols=("janus-protocol",), max_msg_size=0
        )
        self._tasks.append(asyncio.create_task(self._read()))
        reply = await self._call({"janus": "create"})
        self.session_id = reply["data"]["id"]
        self._tasks.append(asyncio.create_task(self._keepalive()))
        reply = await self._call({"janus": "attach", "plugin": PLUGIN})
        self.handle_id = reply["data"]["id"]

    async def negotiate(self, sdp: str, *, force_relay: bool, timeout: float = 20.0) -> str:
        """Sends an offer to the plugin and returns Janus's answer SDP.

        trickle=True lets Janus take candidates later (PATCH); candidates already in
        the SDP are used either way, and Janus's answer always carries all of its own
        (half-trickle: full_trickle is off).
        """
        jsep = {"type": "offer", "sdp": sdp, "trickle": True}
        if force_relay:
            jsep["force_relay"] = True
        reply = await self._call(
            {
                "janus": "message",
                "handle_id": self.handle_id,
                "body": {"request": "offer"},
                "jsep": jsep,
            },
            timeout,
        )
        answer = reply.get("jsep")
        if not answer or answer.get("type") != "answer":
            data = reply.get("plugindata", {}).get("data", {})
            raise JanusError(f"no answer from the plugin: {data.get('error', data)}")
        return answer["sdp"]

    async def plugin_request(self, body: dict) -> dict:
        """A synchronous plugin request (open/send/keyframe); returns its data."""
        reply = await self._call({"janus": "message", "handle_id": self.handle_id, "body": body})
        data = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(str(data["error"]))
        return data

    async def trickle(self, candidates: list[dict], completed: bool):
        """Hands remote candidates (and end-of-candidates) to Janus."""
        if candidates:
            await self._call(
                {"janus": "trickle", "handle_id": self.handle_id, "candidates": candidates}
            )
        if completed:
            await self._call(
                {"janus": "trickle", "handle_id": self.handle_id, "candidate": {"completed": True}}
            )

    async def close(self):
        """Detaches and destroys the Janus session; never raises."""
        requests = []
        if self.handle_id is not None:
            requests.append({"janus": "detach", "handle_id": self.handle_id})
        if self.session_id is not None:
            requests.append({"janus": "destroy"})
        for request in requests:
            try:
                await self._call(request, timeout=5)
            except (TimeoutError, JanusError, ConnectionError) as exc:
                log.info("%s: %s", request["janus"], exc)
        for task in self._tasks:
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()

    async def _call(self, request: dict, timeout: float = 10.0) -> dict:
        """Sends one request and waits for its final reply.

        Janus's "ack" is the final reply to "trickle" and "keepalive"; to a plugin
        "message" it only says that the "event" with the result will follow.
        """
        transaction = str(next(self._ids))
        request = dict(request, transaction=transaction)
        if self.session_id is not None and request["janus"] != "create":
            request["session_id"] = self.session_id
        future = asyncio.get_running_loop().create_future()
        self._pending[transaction] = (future, request["janus"] in ("trickle", "keepalive"))
        try:
            await self._ws.send_str(json.dumps(request))
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(transaction, None)
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            raise JanusError(
                f"Janus error {error.get('code')}: {error.get('reason')}", error.get("code")
            )
        return reply

    async def _read(self):
        """Routes every message from Janus to its request or to the event callback."""
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            reply = json.loads(msg.data)
            log.debug("from Janus: %.300s", msg.data)
            pending = self._pending.get(reply.get("transaction"))
            if pending is None:
                self._dispatch_event(reply)
                continue
            future, final_on_ack = pending
            if reply.get("janus") == "ack" and not final_on_ack:
                continue  # an asynchronous plugin request: its "event" follows
            if not future.done():
                future.set_result(reply)
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("Janus closed the WebSocket"))

    def _dispatch_event(self, event: dict):
        """Hands an event to the callback; a failing callback must not stop the reader."""
        try:
            self._on_event(event)
        except Exception:
            log.exception("handling Janus event %.200s", event)

    async def _keepalive(self):
        """Keeps the Janus session alive while the peer connection lives."""
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            try:
                await self._call({"janus": "keepalive"})
            except (TimeoutError, JanusError, ConnectionError) as exc:
                log.warning("keepalive of session %s: %s", self.session_id, exc)
                return
