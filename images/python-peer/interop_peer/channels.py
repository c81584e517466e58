"""Data channels as the test logic sees them, on the asyncio side.

A stack adapter (aiortc, GStreamer, ...) wraps each of its data channels in a
`ChannelPipe` (and derives its peer connection from `peer.Peer`). The adapter feeds
events in with the `feed_*` methods, which are safe to call from any thread (GStreamer
signals arrive on its streaming threads); the test logic awaits them on the event loop,
in order. Adapters set each channel's bufferedAmountLowThreshold to BULK_LOW.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from .contract import TestFailed

log = logging.getLogger("channel")

Message = str | bytes
_CLOSED = object()  # end-of-stream marker in a pipe's queue


class ChannelClosed(TestFailed):
    pass


def call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object
) -> None:
    """Run callback on loop from any thread; drop it once the loop is gone (shutdown)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


class ChannelPipe:
    """One data channel: the stack's events in, the test's sends out."""

    def __init__(
        self,
        label: str,
        send: Callable[[Message], None],
        buffered_amount: Callable[[], int],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.label = label
        self._send = send
        self._buffered_amount = buffered_amount
        self._loop = loop or asyncio.get_running_loop()
        self._open = asyncio.Event()
        self._low = asyncio.Event()
        self._closed = False
        self._messages: asyncio.Queue[object] = asyncio.Queue()

    # The stack's side: any thread.
    def feed_open(self) -> None:
        call_soon(self._loop, self._open.set)

    def feed_message(self, message: Message) -> None:
        call_soon(self._loop, self._messages.put_nowait, message)

    def feed_low(self) -> None:
        call_soon(self._loop, self._low.set)

    def feed_close(self) -> None:
        call_soon(self._loop, self._on_close)

    def _on_close(self) -> None:
        self._closed = True
        self._messages.put_nowait(_CLOSED)
        self._open.set()
        self._low.set()

    # The test's side: the event loop.
    @property
    def is_open(self) -> bool:
        return self._open.is_set() and not self._closed

    async def wait_open(self) -> None:
        await self._open.wait()
        if self._closed:
            raise ChannelClosed(f"data channel {self.label!r} closed before it opened")

    async def receive(self) -> Message:
        """The next message; ChannelClosed once the channel closed and nothing is left."""
        item = await self._messages.get()
        if item is _CLOSED:
            self._messages.put_nowait(_CLOSED)
            raise ChannelClosed(f"data channel {self.label!r} closed")
        assert isinstance(item, (str, bytes))
        return item

    def send(self, message: Message) -> None:
        if self._closed:
            raise ChannelClosed(f"data channel {self.label!r} closed")
        self._send(message)

    @property
    def buffered_amount(self) -> int:
        return self._buffered_amount()

    async def drain(self, high: int, low: int) -> None:
        """Above `high` buffered bytes, wait for the stack's bufferedamountlow event.

        The stack must have set its bufferedAmountLowThreshold to `low` and call
        `feed_low()` when the amount falls to it.
        """
        self._low.clear()
        if self.buffered_amount <= high:
            return
        await self._low.wait()
        if self._closed:
            raise ChannelClosed(f"data channel {self.label!r} closed while draining (low={low})")
