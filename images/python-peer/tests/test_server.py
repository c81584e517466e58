"""The server's HTTP side for a reused server (contract section 1.1), against fake peers.

`?payload=` on POST /offer sets the session's P, and DELETE /sessions ends every session.
These tests need aiohttp (the images have it; the project's venv may not).
"""

import asyncio
import hashlib

import pytest

pytest.importorskip("aiohttp")

from aiohttp.test_utils import TestClient, TestServer
from interop_peer import contract
from interop_peer import server as server_module
from interop_peer.channels import ChannelPipe
from interop_peer.contract import Env
from interop_peer.messages import LABEL_SERVER
from interop_peer.peer import Peer
from interop_peer.server import SignallingServer
from interop_peer.signalling import post_offer

ENV_P = b"!" * 600
QUERY_P = bytes(range(0x21, 0x7F)) * 7  # 658 printable bytes, not ENV_P
OFFER = {
    "type": "offer",
    "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n",
}


class FakePeer(Peer):
    """Answers any offer, connects at once, opens channels at once and records sends."""

    def __init__(self, name: str, close_s: float = 0.0) -> None:
        super().__init__(name)
        self.close_s = close_s
        self.closed = False
        self.sent: asyncio.Queue[tuple[str, str | bytes]] = asyncio.Queue()
        self.channels: dict[str, ChannelPipe] = {}

    async def set_offer(self, sdp: str) -> None:
        self.feed_state("connected")

    async def create_answer(self) -> str:
        return OFFER["sdp"]

    def create_channel(self, label, *, ordered=True, max_retransmits=None, negotiated_id=None):
        pipe = ChannelPipe(label, lambda message: self.sent.put_nowait((label, message)), int)
        pipe.feed_open()
        self.channels[label] = pipe
        return pipe

    async def close(self) -> None:
        self.mark_closing()
        await asyncio.sleep(self.close_s)
        self.closed = True


class Harness:
    """A SignallingServer on a test port, and every peer it made."""

    def __init__(self, test_case: str = "datachannel-server-open", close_s: float = 0.0) -> None:
        self.env = Env.from_environ({"TEST_CASE": test_case, "TEST_PAYLOAD": ENV_P.hex()})
        self.close_s = close_s
        self.peers: list[FakePeer] = []

    def new_peer(self, name: str) -> Peer:
        peer = FakePeer(name, self.close_s)
        self.peers.append(peer)
        return peer

    async def __aenter__(self) -> TestClient:
        self.server = SignallingServer(self.env, self.new_peer)
        self.client = TestClient(TestServer(self.server.app))
        await self.client.start_server()
        return self.client

    async def __aexit__(self, *_: object) -> None:
        await self.client.close()


async def first_send(peer: FakePeer) -> tuple[str, str | bytes]:
    return await asyncio.wait_for(peer.sent.get(), 2.0)


def run(test):
    """Run an async test body (the suite has no pytest asyncio plugin)."""
    return asyncio.run(test())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"?payload={QUERY_P.hex()}&other=ignored", QUERY_P),
        ("", ENV_P),
        ("?other=ignored", ENV_P),
    ],
)
def test_server_open_sends_and_checks_the_sessions_p(query, expected):
    async def test():
        harness = Harness()
        async with harness as client:
            response = await client.post(f"/offer{query}", json=OFFER)
            assert response.status == 200
            peer = harness.peers[0]
            assert await first_send(peer) == (LABEL_SERVER, expected.decode())
            peer.channels[LABEL_SERVER].feed_message(expected.decode())
            verdict = "CONFIRMED:" + hashlib.sha256(expected).hexdigest()
            assert await first_send(peer) == (LABEL_SERVER, verdict)

    run(test)


def test_the_environments_p_is_a_mismatch_for_a_session_with_its_own():
    async def test():
        harness = Harness()
        async with harness as client:
            assert (await client.post(f"/offer?payload={QUERY_P.hex()}", json=OFFER)).status == 200
            peer = harness.peers[0]
            await first_send(peer)
            peer.channels[LABEL_SERVER].feed_message(ENV_P.decode())
            assert (await first_send(peer))[1] == "MISMATCH:" + hashlib.sha256(ENV_P).hexdigest()

    run(test)


@pytest.mark.parametrize(
    "value",
    ["zz", "41" * 10, "20" * 700, "7f" * 600, "21" * 1001, ""],
)
def test_an_invalid_payload_parameter_is_a_400_and_makes_no_peer(value):
    async def test():
        harness = Harness()
        async with harness as client:
            response = await client.post(f"/offer?payload={value}", json=OFFER)
            assert response.status == 400
            assert "payload" in (await response.json())["error"]
            assert harness.peers == []

    run(test)


def test_delete_sessions_closes_every_peer_and_forgets_its_session():
    async def test():
        harness = Harness(test_case="datachannel")
        async with harness as client:
            locations = []
            for _ in range(2):
                response = await client.post("/offer", json=OFFER)
                locations.append(response.headers["Location"])
            response = await client.delete("/sessions")
            assert response.status == 200
            assert [peer.closed for peer in harness.peers] == [True, True]
            for location in locations:
                assert (await client.delete(location)).status == 404
                assert (await client.post(location, data="v=0")).status == 404
            assert (await client.post("/offer", json=OFFER)).status == 200
            assert not harness.peers[2].closed

    run(test)


def test_delete_sessions_with_none_open_answers_200():
    async def test():
        async with Harness() as client:
            assert (await client.delete("/sessions")).status == 200

    run(test)


def test_delete_sessions_answers_within_its_bound(monkeypatch):
    monkeypatch.setattr(server_module, "CLOSE_ALL_TIMEOUT_S", 0.1)

    async def test():
        harness = Harness(test_case="datachannel", close_s=5.0)
        async with harness as client:
            await client.post("/offer", json=OFFER)
            response = await asyncio.wait_for(client.delete("/sessions"), 2.0)
            assert response.status == 500
            assert "still closing" in (await response.json())["error"]

    run(test)


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "PUT"])
def test_other_methods_on_sessions_are_405(method):
    async def test():
        async with Harness() as client:
            response = await client.request(method, "/sessions")
            assert response.status == 405
            assert response.headers["Allow"] == "DELETE"

    run(test)


def test_a_clients_failure_line_leaves_the_payload_out_of_the_offer_url():
    """A refused offer's reason names the server and the status, not 1200+ hex digits."""
    async def test():
        harness = Harness()
        async with harness as client:
            url = str(client.make_url("/offer")) + f"?payload={'zz' * 700}"
            with pytest.raises(contract.TestFailed) as failure:
                await post_offer(url, OFFER["sdp"], retry_s=0)
            message = str(failure.value)
            assert "HTTP 400" in message
            assert "zz" not in message
            assert message.startswith(f"POST {client.make_url('/offer')}: ")

    run(test)
