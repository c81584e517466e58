"""What a server does on each peer connection, per test case (contract section 8).

Every channel the client opens echoes each message back on itself, with its type; in
`datachannel-negotiated` the server also creates channel 7 before answering; in
`datachannel-server-open` it opens `interop-server`, sends P and confirms the echo.
Media echo is the stack's own business (it happens below the data channel layer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

from .channels import ChannelClosed, ChannelPipe
from .contract import Env
from .messages import (
    BULK_HIGH,
    BULK_LOW,
    LABEL_NEGOTIATED,
    LABEL_SERVER,
    NEGOTIATED_ID,
    as_bytes,
    confirmation,
)
from .peer import Peer

log = logging.getLogger("behaviour")
LOGGED_MESSAGES = 3  # per channel, then only every 256th: bulk sends 1024


class ServerBehaviour:
    """The test case's server side on one peer connection, as asyncio tasks."""

    def __init__(self, env: Env, peer: Peer) -> None:
        self.env = env
        self.peer = peer
        self.tasks: set[asyncio.Task[None]] = set()

    def before_answer(self) -> None:
        """Run between applying the offer and answering it."""
        if self.env.test_case == "datachannel-negotiated":
            pipe = self.peer.create_channel(LABEL_NEGOTIATED, negotiated_id=NEGOTIATED_ID)
            self._spawn(self.echo(pipe))

    def start(self) -> None:
        self._spawn(self._accept_channels())
        if self.env.test_case == "datachannel-server-open":
            self._spawn(self.server_open())

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: %s", self.peer.name, task.exception())

    async def _accept_channels(self) -> None:
        while True:
            pipe = await self.peer.remote_channels.get()
            log.info("%s: data channel %r opened by the client", self.peer.name, pipe.label)
            self._spawn(self.echo(pipe))

    async def echo(self, pipe: ChannelPipe) -> None:
        """Send every message back on its channel, pausing while too much is buffered."""
        count = 0
        try:
            while True:
                message = await pipe.receive()
                if count < LOGGED_MESSAGES or count % 256 == 0:
                    kind = "string" if isinstance(message, str) else "binary"
                    log.info(
                        "%s: echoing %s message #%d (%d bytes) on %r",
                        self.peer.name,
                        kind,
                        count,
                        len(as_bytes(message)),
                        pipe.label,
                    )
                count += 1
                pipe.send(message)
                await pipe.drain(BULK_HIGH, BULK_LOW)
        except ChannelClosed:
            log.info("%s: %r closed after %d messages", self.peer.name, pipe.label, count)

    async def server_open(self) -> None:
        """datachannel-server-open: open a channel, send P, confirm the client's echo."""
        await self.peer.wait_connected()
        pipe = self.peer.create_channel(LABEL_SERVER)
        await self.peer.guard(pipe.wait_open())
        log.info("%s: %r open, sending P", self.peer.name, pipe.label)
        pipe.send(self.env.text)
        echo = await self.peer.guard(pipe.receive())
        answer = confirmation(as_bytes(echo), self.env.payload)
        log.info(
            "%s: %s echo received, answering %s",
            self.peer.name,
            "string" if isinstance(echo, str) else "binary (sent as string)",
            answer.split(":")[0],
        )
        pipe.send(answer)
