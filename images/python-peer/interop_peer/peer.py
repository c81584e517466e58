"""What the test logic needs from a stack's peer connection.

A stack derives its peer connection wrapper from `Peer`: the state bookkeeping is here,
the stack implements the methods its roles use. A method the stack cannot do keeps its
default, which raises Unsupported (exit 127 in a client, HTTP 501 in a server).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from .channels import ChannelPipe, call_soon
from .contract import TestFailed, Unsupported
from .sdp import SdpFrag

log = logging.getLogger("peer")
T = TypeVar("T")


class Peer:
    """One peer connection. Its adapter calls `feed_state()` with the standard
    RTCPeerConnectionState names and `feed_channel()` for channels the remote side opened."""

    def __init__(self, name: str = "peer") -> None:
        self.name = name
        self.loop = asyncio.get_running_loop()
        self.state = "new"
        self._connected = asyncio.Event()
        self.failed: asyncio.Future[None] = self.loop.create_future()
        # Retrieved here so that a failure nobody waited for logs no asyncio warning.
        self.failed.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.remote_channels: asyncio.Queue[ChannelPipe] = asyncio.Queue()

    # Both roles.
    def create_channel(
        self,
        label: str,
        *,
        ordered: bool = True,
        max_retransmits: int | None = None,
        negotiated_id: int | None = None,
    ) -> ChannelPipe:
        raise Unsupported("this stack cannot create data channels")

    async def close(self) -> None:
        raise NotImplementedError

    # Client role.
    def add_media(self, kind: str) -> None:
        """A sendrecv transceiver of kind ("audio": Opus, "video": VP8) with a generated source."""
        raise Unsupported(f"this stack cannot send {kind}")

    async def create_offer(self, trickle: bool = False) -> str:
        """Create and apply an offer; return it once gathering completed (trickle: at once)."""
        raise NotImplementedError

    async def next_local_candidate(self) -> tuple[str, str] | None:
        """Trickle: the next gathered (mid, "candidate:...") ; None when gathering is complete."""
        raise Unsupported("this stack cannot trickle its candidates")

    async def set_answer(self, sdp: str) -> None:
        raise NotImplementedError

    async def restart_ice_offer(self) -> str:
        """Restart ICE; create and apply the new offer; return it with its candidates."""
        raise Unsupported("this stack cannot restart ICE")

    async def media_counts(self, kind: str) -> tuple[int, int | None]:
        """RTP packets of the echoed kind received so far, and decoded frames (None: no decoder)."""
        raise Unsupported(f"this stack cannot receive {kind}")

    # Server role.
    async def set_offer(self, sdp: str) -> None:
        raise NotImplementedError

    async def create_answer(self) -> str:
        """Create and apply the answer; return it once gathering completed."""
        raise NotImplementedError

    async def add_candidates(self, frag: SdpFrag) -> SdpFrag | None:
        """Apply remote candidates; return local ones the remote side has not seen, if any."""
        raise Unsupported("this stack cannot take trickled candidates")

    async def restart_ice(self, frag: SdpFrag) -> SdpFrag:
        """Server side of an ICE restart: the client's new credentials in, ours out."""
        raise Unsupported("this stack cannot restart ICE")

    async def renegotiate(self, sdp: str) -> str:
        """Apply a new offer on the existing connection; return the complete answer."""
        raise Unsupported("this stack cannot renegotiate")

    # State bookkeeping: adapters feed it from any thread.
    def feed_state(self, state: str) -> None:
        call_soon(self.loop, self._on_state, state)

    def feed_channel(self, pipe: ChannelPipe) -> None:
        call_soon(self.loop, self.remote_channels.put_nowait, pipe)

    def feed_error(self, reason: str) -> None:
        """The stack reported an error that ends the connection: the failure's reason."""
        call_soon(self.loop, self._on_error, reason)

    def _on_error(self, reason: str) -> None:
        if not self.failed.done():
            self.failed.set_exception(TestFailed(reason))
        self._on_state("failed")

    def _on_state(self, state: str) -> None:
        if state == self.state:
            return
        log.info("%s: connection state %s", self.name, state)
        self.state = state
        if state == "connected":
            self._connected.set()
        else:
            self._connected.clear()
        if state in ("failed", "closed") and not self.failed.done():
            self.failed.set_exception(TestFailed(f"connection {state}"))

    async def wait_connected(self) -> None:
        """Return once connected; TestFailed if the connection fails or closes first."""
        await self.guard(self._connected.wait())

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await awaitable, but fail as soon as the connection fails or closes."""
        task = asyncio.ensure_future(awaitable)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no warning
        done, _ = await asyncio.wait({task, self.failed}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        self.failed.result()  # raises the TestFailed
        raise TestFailed(f"{self.name}: peer connection closed")

    def mark_closing(self) -> None:
        """We close on purpose: a later `closed` state is no failure of anything waiting."""
        if not self.failed.done():
            self.failed.set_result(None)
