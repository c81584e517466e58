"""The client side of every test case (contract section 8), on top of a stack's `Peer`.

`run_client(env, new_peer)` runs TEST_CASE within the time budget and returns the exit
code; it prints exactly one verdict line. A stack only supplies `new_peer`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from . import messages as m
from .channels import ChannelPipe, Message
from .contract import (
    EXIT_FAILED,
    EXIT_PASSED,
    EXIT_UNSUPPORTED,
    Env,
    TestFailed,
    Unsupported,
    process_age,
    verdict,
)
from .keylog import flush_keylogs
from .media import await_media, check_bundle, print_negotiated
from .peer import Peer
from .sdp import (
    FragSection,
    SdpFrag,
    frag_from_sdp,
    ice_credentials,
    max_message_size,
    parse_sdpfrag,
    replace_ice,
)
from .signalling import Answer, Session, post_offer, require_session

log = logging.getLogger("client")
PeerFactory = Callable[[str], Peer]
CLOSE_TIMEOUT_S = 3.0


class Client:
    """One run of one test case: the peers made and the current step."""

    def __init__(self, env: Env, new_peer: PeerFactory) -> None:
        self.env = env
        self._new_peer = new_peer
        self.peers: list[Peer] = []
        self.offer_sdp = ""
        self.answer: Answer | None = None
        self.step = "starting"  # what the client waits for: the reason of a timeout

    def new_peer(self) -> Peer:
        peer = self._new_peer(f"pc{len(self.peers) + 1}")
        self.peers.append(peer)
        return peer

    async def connect(self, peer: Peer) -> Answer:
        """Non-trickle offer/answer through POST /offer, then wait for `connected`."""
        self.step = "ICE gathering for the offer"
        self.offer_sdp = await peer.create_offer()
        self.step = f"the answer to POST {self.env.server_url}"
        self.answer = await post_offer(self.env.server_url, self.offer_sdp)
        await peer.set_answer(self.answer.sdp)
        self.step = "the connection to reach connected"
        await peer.wait_connected()
        return self.answer

    @property
    def session(self) -> Session:
        assert self.answer is not None
        return require_session(self.answer)

    async def open(self, peer: Peer, pipe: ChannelPipe) -> None:
        self.step = f"data channel {pipe.label!r} to open"
        await peer.guard(pipe.wait_open())

    async def echo(self, peer: Peer, pipe: ChannelPipe, message: Message, what: str) -> None:
        """Send message and require its byte-exact echo, of the same type, as the next one."""
        self.step = f"the echo of {what} on {pipe.label!r}"
        pipe.send(message)
        check_echo(message, await peer.guard(pipe.receive()), what)

    async def close_all(self) -> None:
        """Close every peer, each within CLOSE_TIMEOUT_S: the verdict must not wait on it."""
        for peer in self.peers:
            peer.mark_closing()
            try:
                await asyncio.wait_for(peer.close(), CLOSE_TIMEOUT_S)
            except Exception as problem:  # closing is best effort once the verdict is known
                log.warning("closing %s: %s", peer.name, repr(problem))


def check_echo(sent: Message, got: Message, what: str) -> None:
    if type(sent) is not type(got):
        kinds = {str: "string", bytes: "binary"}
        raise TestFailed(
            f"the echo of {what} came back {kinds[type(got)]}, sent {kinds[type(sent)]}"
        )
    if sent != got:
        a, b = m.as_bytes(sent), m.as_bytes(got)
        first = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
        )
        raise TestFailed(
            f"the echo of {what} differs: sent {len(a)} bytes, got {len(b)}, "
            f"first difference at byte {first}"
        )


async def peerconnection(client: Client) -> str:
    peer = client.new_peer()
    peer.create_channel(m.LABEL)  # the m=application section; nothing is sent on it
    await client.connect(peer)
    return "peer connection reached connected (ICE and DTLS done)"


async def datachannel(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL)
    await client.connect(peer)
    await client.open(peer, pipe)
    await client.echo(peer, pipe, client.env.text, "P")
    return f"the {len(client.env.payload)}-byte string P came back unchanged"


async def datachannel_large(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL)
    answer = await client.connect(peer)
    remote, local = max_message_size(answer.sdp), max_message_size(client.offer_sdp)
    if remote < m.LARGE_SIZES[0]:
        raise TestFailed(f"server's max-message-size {remote} is below {m.LARGE_SIZES[0]}")
    sizes = [size for size in m.LARGE_SIZES if size <= min(remote, local)]
    verdict("SIZES", ",".join(str(size) for size in sizes))
    await client.open(peer, pipe)
    for size in sizes:
        message = m.repeat(client.env.payload, size).decode("ascii")
        await client.echo(peer, pipe, message, f"repeat(P, {size})")
    return (
        f"strings of {' and '.join(map(str, sizes))} bytes came back intact "
        f"(max-message-size: server {remote}, client {local})"
    )


async def datachannel_binary(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL)
    await client.connect(peer)
    await client.open(peer, pipe)
    sent = m.binary_messages(client.env.payload)
    names = ("P", "the empty message", "bytes 00..ff")
    for index, (message, name) in enumerate(zip(sent, names, strict=True)):
        try:
            pipe.send(message)
        except TestFailed as problem:
            before = f" (after sending {' and '.join(names[:index])})" if index else ""
            raise TestFailed(f"cannot send {name} as binary{before}: {problem}") from None
    for message, name in zip(sent, names, strict=True):
        client.step = f"the echo of {name} (binary) on {pipe.label!r}"
        check_echo(message, await peer.guard(pipe.receive()), f"{name} (binary)")
    return "P, an empty message and bytes 00..ff came back binary, in order, byte-exact"


async def datachannel_unordered(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL_UNORDERED, ordered=False, max_retransmits=0)
    await client.connect(peer)
    await client.open(peer, pipe)
    sent = m.unordered_messages(client.env.payload)
    for message in sent:
        pipe.send(message)
    echoed = await collect_unordered(peer, pipe, set(sent))
    verdict("ECHOED", f"{len(echoed)} of {len(sent)}")
    if len(echoed) < client.env.min_echoes:
        raise TestFailed(
            f"only {len(echoed)} of {len(sent)} messages came back "
            f"(MIN_ECHOES {client.env.min_echoes})"
        )
    return f"{len(echoed)} of {len(sent)} unordered messages came back intact"


async def collect_unordered(peer: Peer, pipe: ChannelPipe, sent: set[str]) -> set[str]:
    """Distinct echoes until all came back or 5 s passed; TestFailed on a foreign one."""
    echoed: set[str] = set()
    deadline = peer.loop.time() + m.UNORDERED_QUIET_S
    while len(echoed) < len(sent):
        try:
            message = await asyncio.wait_for(
                peer.guard(pipe.receive()), deadline - peer.loop.time()
            )
        except TimeoutError:
            break
        if message not in sent:
            raise TestFailed(
                f"an echo on {pipe.label!r} is none of the messages sent "
                f"({len(m.as_bytes(message))} bytes, {type(message).__name__})"
            )
        echoed.add(message)
    return echoed


async def datachannel_negotiated(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL_NEGOTIATED, negotiated_id=m.NEGOTIATED_ID)
    await client.connect(peer)
    await client.open(peer, pipe)
    await client.echo(peer, pipe, client.env.text, "P")
    return f"P came back on the negotiated channel (id {m.NEGOTIATED_ID}, no DCEP)"


async def datachannel_many(client: Client) -> str:
    peer = client.new_peer()
    pipes = [peer.create_channel(label) for label in m.many_labels()]
    await client.connect(peer)
    done: list[str] = []

    async def one(pipe: ChannelPipe) -> None:
        await pipe.wait_open()
        message = m.many_message(pipe.label, client.env.payload)
        pipe.send(message)
        check_echo(message, await pipe.receive(), f"{pipe.label}'s message")
        done.append(pipe.label)
        missing = [p.label for p in pipes if p.label not in done]
        client.step = f"{len(done)} of {len(pipes)} channels echoed; missing {missing[:4]}"

    client.step = f"0 of {len(pipes)} channels echoed"
    await peer.guard(asyncio.gather(*(one(pipe) for pipe in pipes)))
    return f"each of {len(pipes)} channels echoed its own message on itself"


async def datachannel_server_open(client: Client) -> str:
    peer = client.new_peer()
    peer.create_channel(m.LABEL_CLIENT)
    await client.connect(peer)
    client.step = f"the server to open {m.LABEL_SERVER!r}"
    pipe = await peer.guard(peer.remote_channels.get())
    if pipe.label != m.LABEL_SERVER:
        raise TestFailed(f"the server opened {pipe.label!r}, not {m.LABEL_SERVER!r}")
    await client.open(peer, pipe)
    client.step = f"the server's message on {pipe.label!r}"
    first = await peer.guard(pipe.receive())
    pipe.send(first)
    client.step = f"the server's confirmation on {pipe.label!r}"
    reply = await peer.guard(pipe.receive())
    expected = m.confirmation(m.as_bytes(first), m.as_bytes(first))
    if reply != expected:
        raise TestFailed(f"the server answered {str(reply)[:80]!r}, expected {expected!r}")
    if not isinstance(first, str):
        raise TestFailed("the server sent P as a binary message, not a string")
    if client.env.payload_given and m.as_bytes(first) != client.env.payload:
        raise TestFailed("the server's message is not TEST_PAYLOAD")
    return f"the server opened {pipe.label!r}, sent P and confirmed its echo"


async def datachannel_bulk(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL_BULK)
    await client.connect(peer)
    await client.open(peer, pipe)
    payload, start = client.env.payload, peer.loop.time()
    sent_hash, echoed = hashlib.sha256(), asyncio.ensure_future(receive_bulk(client, peer, pipe))
    for index in range(m.BULK_COUNT):
        message = m.bulk_message(index, payload)
        sent_hash.update(message)
        client.step = f"sending bulk message {index} (bufferedAmount {pipe.buffered_amount})"
        await peer.guard(pipe.drain(m.BULK_HIGH, m.BULK_LOW))
        if echoed.done():
            break
        pipe.send(message)
    echo_hash = await echoed
    seconds = peer.loop.time() - start
    total = m.BULK_COUNT * m.BULK_SIZE
    verdict(
        "BULK", f"bytes={total} messages={m.BULK_COUNT} sha256={echo_hash} seconds={seconds:.3f}"
    )
    if echo_hash != sent_hash.hexdigest():
        raise TestFailed(
            f"SHA-256 of the echoes {echo_hash} is not that of what was sent "
            f"{sent_hash.hexdigest()}"
        )
    return (
        f"16 MiB in {m.BULK_COUNT} messages came back in order ({total / seconds / 1e6:.2f} MB/s)"
    )


async def receive_bulk(client: Client, peer: Peer, pipe: ChannelPipe) -> str:
    """SHA-256 of the 1024 echoes, each checked for its type, size and index."""
    digest = hashlib.sha256()
    for index in range(m.BULK_COUNT):
        message = await peer.guard(pipe.receive())
        if not isinstance(message, bytes) or len(message) != m.BULK_SIZE:
            raise TestFailed(
                f"bulk echo {index} is a {type(message).__name__} of "
                f"{len(m.as_bytes(message))} bytes, not {m.BULK_SIZE} binary"
            )
        got = int.from_bytes(message[:4], "big")
        if got != index:
            raise TestFailed(f"bulk echo {index} carries index {got}: out of order or lost")
        digest.update(message)
        if index % 128 == 0:
            log.info("bulk: %d echoes back", index + 1)
    return digest.hexdigest()


async def media(client: Client, kind: str) -> str:
    peer = client.new_peer()
    peer.add_media(kind)
    answer = await client.connect(peer)
    print_negotiated(answer.sdp, [kind], with_kind=False)
    summary = await await_media(client, peer, [kind], with_kind=False)
    return f"echoed {kind}: {summary}"


async def audio(client: Client) -> str:
    return await media(client, "audio")


async def video(client: Client) -> str:
    return await media(client, "video")


async def trickle(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL)
    client.step = "the trickle offer"
    client.offer_sdp = await peer.create_offer(trickle=True)
    client.step = f"the answer to POST {client.env.server_url}"
    client.answer = await post_offer(client.env.server_url, client.offer_sdp)
    session = client.session
    await peer.set_answer(client.answer.sdp)
    sending = asyncio.ensure_future(send_candidates(client, peer, session))
    client.step = "the connection to reach connected"
    await race(peer.wait_connected(), sending)
    await client.open(peer, pipe)
    await race(client.echo(peer, pipe, client.env.text, "P"), sending)
    client.step = "the last candidates to be PATCHed"
    count = await sending
    return f"offer sent before gathering, {count} candidates trickled by PATCH, P echoed"


async def send_candidates(client: Client, peer: Peer, session: Session) -> int:
    """PATCH each gathered candidate, then end-of-candidates; apply what comes back."""
    offer = frag_from_sdp(client.offer_sdp)
    ufrag, pwd = offer.ufrag, offer.pwd
    m_lines = {section.mid: section.m_line for section in offer.sections}
    first_mid = offer.sections[0].mid
    count = 0
    while (candidate := await peer.next_local_candidate()) is not None:
        mid, line = candidate
        section = FragSection(m_lines.get(mid, m_lines[first_mid]), mid, [line])
        await apply_reply(
            peer, await session.trickle(SdpFrag(ufrag, pwd, "trickle", [section]).render())
        )
        count += 1
    end = FragSection(m_lines[first_mid], first_mid, [], end=True)
    await apply_reply(peer, await session.trickle(SdpFrag(ufrag, pwd, "trickle", [end]).render()))
    return count


async def apply_reply(peer: Peer, body: str | None) -> None:
    if body is not None:
        await peer.add_candidates(parse_sdpfrag(body))


async def race(main: Awaitable[object], side: asyncio.Future[object]) -> None:
    """Await main; fail at once if side fails first (side keeps running otherwise)."""
    task = asyncio.ensure_future(main)
    done, _ = await asyncio.wait({task, side}, return_when=asyncio.FIRST_COMPLETED)
    if side in done and side.exception() is not None and task not in done:
        task.cancel()
        side.result()
    await task


async def ice_restart(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL)
    answer = await client.connect(peer)
    session = client.session
    await client.open(peer, pipe)
    await client.echo(peer, pipe, client.env.text, "P")
    client.step = "the ICE-restart offer"
    offer = await peer.restart_ice_offer()
    old_ufrag, new_ufrag = ice_credentials(client.offer_sdp)[0], ice_credentials(offer)[0]
    if old_ufrag == new_ufrag:
        raise TestFailed(f"the restart offer kept ice-ufrag {old_ufrag}")
    client.offer_sdp = offer
    client.step = "the server's ICE-restart fragment"
    reply = parse_sdpfrag(await session.restart_ice(frag_from_sdp(offer).render()))
    await peer.set_answer(replace_ice(answer.sdp, reply))
    client.step = "the connection to be connected after the restart"
    await peer.wait_connected()
    await client.echo(peer, pipe, m.prefixed("restart:", client.env.payload), "restart:P")
    return (
        f"ICE restarted (ufrag {old_ufrag} -> {new_ufrag}, server {reply.ufrag}), "
        "P echoed before and after"
    )


async def renegotiation(client: Client) -> str:
    peer = client.new_peer()
    pipe = peer.create_channel(m.LABEL)
    await client.connect(peer)
    session = client.session
    await client.open(peer, pipe)
    await client.echo(peer, pipe, client.env.text, "P")
    peer.add_media("audio")
    client.step = "the renegotiation offer"
    client.offer_sdp = await peer.create_offer()
    client.step = "the server's answer to the renegotiation"
    answer = await session.renegotiate(client.offer_sdp)
    await peer.set_answer(answer)
    print_negotiated(answer, ["audio"], with_kind=False)
    summary = await await_media(client, peer, ["audio"], with_kind=False)
    await client.echo(peer, pipe, m.prefixed("renegotiated:", client.env.payload), "renegotiated:P")
    return f"audio added by renegotiation ({summary}), P echoed before and after"


async def bundle_av_data(client: Client) -> str:
    peer = client.new_peer()
    peer.add_media("audio")
    peer.add_media("video")
    pipe = peer.create_channel(m.LABEL)
    answer = await client.connect(peer)
    check_bundle(client.offer_sdp, answer.sdp)
    print_negotiated(answer.sdp, ["audio", "video"], with_kind=True)
    await client.open(peer, pipe)
    await client.echo(peer, pipe, client.env.text, "P")
    summary = await await_media(client, peer, ["audio", "video"], with_kind=True)
    return f"one BUNDLE transport: P echoed; {summary}"


async def reconnect(client: Client) -> str:
    first = client.new_peer()
    pipe = first.create_channel(m.LABEL)
    answer = await client.connect(first)
    await client.open(first, pipe)
    await client.echo(first, pipe, client.env.text, "P")
    first.mark_closing()
    await first.close()
    deleted = answer.session is not None
    if answer.session is not None:
        client.step = "DELETE of the session"
        await answer.session.delete()
    second = client.new_peer()
    pipe = second.create_channel(m.LABEL)
    await client.connect(second)
    await client.open(second, pipe)
    await client.echo(second, pipe, m.prefixed("reconnect:", client.env.payload), "reconnect:P")
    return (
        "P echoed, peer connection closed"
        + (", session deleted" if deleted else "")
        + ", reconnect:P echoed on a new one"
    )


TESTS: dict[str, Callable[[Client], Awaitable[str]]] = {
    "peerconnection": peerconnection,
    "datachannel": datachannel,
    "datachannel-large": datachannel_large,
    "datachannel-binary": datachannel_binary,
    "datachannel-unordered": datachannel_unordered,
    "datachannel-negotiated": datachannel_negotiated,
    "datachannel-many": datachannel_many,
    "datachannel-server-open": datachannel_server_open,
    "datachannel-bulk": datachannel_bulk,
    "audio": audio,
    "video": video,
    "trickle": trickle,
    "ice-restart": ice_restart,
    "renegotiation": renegotiation,
    "bundle-av-data": bundle_av_data,
    "reconnect": reconnect,
}


async def run_client(
    env: Env, new_peer: PeerFactory, unsupported: dict[str, str] | None = None
) -> int:
    """Run env.test_case; print its verdict as the last line; return the exit code.

    `unsupported` maps test cases the stack cannot do to the reason (exit 127).
    """
    reason = (unsupported or {}).get(env.test_case)
    if env.test_case not in TESTS or reason:
        verdict("UNSUPPORTED", f"{env.test_case}: {reason or 'unknown test case'}")
        return EXIT_UNSUPPORTED
    # The verdict must be out before TEST_TIMEOUT, start-up and closing included.
    budget = env.budget_s - process_age() - CLOSE_TIMEOUT_S
    client = Client(env, new_peer)
    try:
        kind, text = await outcome(client, budget)
    finally:
        await client.close_all()
        flush_keylogs()
    verdict(kind, f"{env.test_case}: {text}")
    return {"PASS": EXIT_PASSED, "UNSUPPORTED": EXIT_UNSUPPORTED}.get(kind, EXIT_FAILED)


async def outcome(client: Client, budget: float) -> tuple[str, str]:
    """(verdict kind, reason) of running the client's test case within budget seconds."""
    try:
        return "PASS", await asyncio.wait_for(TESTS[client.env.test_case](client), budget)
    except TimeoutError:
        state = client.peers[-1].state if client.peers else "no peer connection"
        return "FAIL", (
            f"no result within {budget:.0f}s, waiting for {client.step} (connection state {state})"
        )
    except Unsupported as problem:
        return "UNSUPPORTED", str(problem)
    except TestFailed as problem:
        return "FAIL", str(problem)
    except Exception as problem:  # a stack error is this test's failure, with its name
        log.exception("unexpected error")
        return "FAIL", f"{type(problem).__name__}: {problem} (while waiting for {client.step})"


def exit_with(code: int) -> None:
    """Leave at once after the verdict: a stack's teardown (threads, finalizers) can hang
    on a broken association, and the orchestrator waits for the process to end."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
