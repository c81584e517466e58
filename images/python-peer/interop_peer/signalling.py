"""The client's side of the signalling (contract section 3): POST /offer and the session.

Every non-success answer becomes a TestFailed whose message quotes the status and the
start of the body, because that message is the cell's reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urljoin

from . import http
from .contract import POST_RETRY_S, TestFailed, Unsupported

log = logging.getLogger("signalling")
SDPFRAG = "application/trickle-ice-sdpfrag"
BODY_QUOTE = 200  # characters of an error body quoted in a reason


@dataclass
class Answer:
    """The server's answer to POST /offer, with its session resource if it has one."""

    sdp: str
    session: Session | None


def shown(url: str) -> str:
    """The URL for a failure line, without its query: a reused server's offer URL carries
    the cell's payload (contract 1.1), 1200-2000 hex digits that would crowd out why."""
    return url.split("?", 1)[0]


async def post_offer(url: str, sdp: str, retry_s: float = POST_RETRY_S) -> Answer:
    """POST the offer as JSON, retrying while the server is not listening yet."""
    give_up = time.monotonic() + retry_s
    body = json.dumps({"type": "offer", "sdp": sdp})
    while True:
        try:
            response = await http.request("POST", url, body, {"Content-Type": "application/json"})
        except http.HttpError as error:
            if not error.unreachable:
                raise TestFailed(f"POST {shown(url)}: {error}") from error
            if time.monotonic() > give_up:
                raise TestFailed(f"cannot reach {shown(url)}: {error}") from error
            await asyncio.sleep(0.25)
            continue
        if response.status != 200:
            raise TestFailed(
                f"POST {shown(url)}: HTTP {response.status}: {response.text[:BODY_QUOTE]}"
            )
        return Answer(_answer_sdp(url, response.text), _session(url, response))


def _answer_sdp(url: str, text: str) -> str:
    try:
        body = json.loads(text)
        if body["type"] != "answer" or not isinstance(body["sdp"], str):
            raise ValueError(f"type {body['type']!r}")
        return body["sdp"]
    except (ValueError, KeyError, TypeError) as error:
        raise TestFailed(
            f"POST {shown(url)}: not an answer ({error}): {text[:BODY_QUOTE]}"
        ) from None


def _session(url: str, response: http.Response) -> Session | None:
    location = response.header("Location")
    if not location:
        return None
    return Session(urljoin(url, location), response.header("ETag"))


class Session:
    """The session resource of contract section 3.2, as the client uses it."""

    def __init__(self, url: str, etag: str | None) -> None:
        self.url = url
        self.etag = etag

    async def trickle(self, fragment: str) -> str | None:
        """PATCH candidates; the server's own sdpfrag when it answers 200, else None."""
        headers = {"Content-Type": SDPFRAG, "If-Match": self.etag or "*"}
        status, text, _ = await self._request("PATCH", fragment, headers, (200, 204))
        return text if status == 200 and text.strip() else None

    async def restart_ice(self, fragment: str) -> str:
        """PATCH with If-Match: * (ICE restart); the server's new credentials as sdpfrag."""
        headers = {"Content-Type": SDPFRAG, "If-Match": "*"}
        _, text, etag = await self._request("PATCH", fragment, headers, (200,))
        self.etag = etag or self.etag
        return text

    async def renegotiate(self, offer_sdp: str) -> str:
        """POST a complete new offer (application/sdp); the complete answer."""
        headers = {"Content-Type": "application/sdp"}
        _, text, etag = await self._request("POST", offer_sdp, headers, (200,))
        self.etag = etag or self.etag
        return text

    async def delete(self) -> None:
        await self._request("DELETE", None, {}, (200, 204))

    async def _request(
        self, method: str, body: str | None, headers: dict[str, str], accept: tuple[int, ...]
    ) -> tuple[int, str, str | None]:
        try:
            response = await http.request(method, self.url, body, headers)
        except http.HttpError as error:
            raise TestFailed(f"{method} {self.url}: {error}") from error
        log.info("%s %s: HTTP %d", method, self.url, response.status)
        if response.status not in accept:
            raise TestFailed(
                f"{method} {self.url}: HTTP {response.status}: {response.text[:BODY_QUOTE]}"
            )
        return response.status, response.text, response.header("ETag")


def require_session(answer: Answer) -> Session:
    """The session resource, or UNSUPPORTED: the test needs one (contract section 8)."""
    if answer.session is None:
        raise Unsupported("server has no session resource (no Location in its answer)")
    return answer.session
