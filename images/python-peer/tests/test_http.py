"""The client's HTTP against a hand-written server that answers with canned bytes."""

import asyncio
import socket

import pytest
from interop_peer.http import HttpError, request

SDP_JSON = b'{"type": "answer", "sdp": "v=0"}'


def answer_with(raw: bytes, close: bool = True):
    """Runs `request` against a server that reads the request and writes `raw`; returns
    (the response or the error, the request the server read)."""

    async def main(method, url_path, body, headers):
        seen = bytearray()

        async def serve(reader, writer):
            seen.extend(await reader.readuntil(b"\r\n\r\n"))
            length = [
                int(line.split(b":")[1])
                for line in seen.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if length:
                seen.extend(await reader.readexactly(length[0]))
            writer.write(raw)
            await writer.drain()
            if close:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            result = await asyncio.wait_for(
                request(method, f"http://127.0.0.1:{port}{url_path}", body, headers), 5
            )
        except HttpError as error:
            result = error
        finally:
            server.close()
        return result, bytes(seen)

    return lambda method="POST", url_path="/offer", body="{}", headers=None: asyncio.run(
        main(method, url_path, body, headers)
    )


def test_a_content_length_body_and_the_request_as_sent():
    call = answer_with(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLocation: /session/1\r\n"
        b'ETag: "e1"\r\nContent-Length: %d\r\n\r\n%s' % (len(SDP_JSON), SDP_JSON),
        close=False,  # the body's length, not the end of the connection, ends it
    )
    response, sent = call("POST", "/offer?payload=41", '{"a": 1}', {"Content-Type": "x/y"})
    assert (response.status, response.text) == (200, SDP_JSON.decode())
    assert response.header("location") == "/session/1"
    assert response.header("ETag") == '"e1"'
    head, _, body = sent.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /offer?payload=41 HTTP/1.1"
    assert b"Content-Length: 8" in lines
    assert b"Content-Type: x/y" in lines
    assert b"Connection: close" in lines
    assert body == b'{"a": 1}'


def test_a_chunked_body_with_an_extension_and_a_trailer():
    response, _ = answer_with(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        close=False,
    )()
    assert response.text == "hello, world"


def test_a_body_that_ends_with_the_connection_and_an_empty_204():
    response, _ = answer_with(b"HTTP/1.0 400 Bad Request\r\n\r\nno offer")()
    assert (response.status, response.text) == (400, "no offer")
    response, sent = answer_with(b"HTTP/1.1 204 No Content\r\n\r\n", close=False)(
        "DELETE", "/session/1", None
    )
    assert (response.status, response.text) == (204, "")
    assert b"Content-Length" not in sent


@pytest.mark.parametrize(
    "raw",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort",  # cut body
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunk size
    ],
)
def test_an_answer_that_is_not_complete_http_is_an_error_but_not_unreachable(raw):
    error, _ = answer_with(raw)()
    assert isinstance(error, HttpError)
    assert not error.unreachable


def test_a_port_nobody_listens_on_is_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed
    with pytest.raises(HttpError) as failure:
        asyncio.run(request("POST", f"http://127.0.0.1:{port}/offer", "{}"))
    assert failure.value.unreachable


def test_only_plain_http_urls():
    with pytest.raises(HttpError, match="not an http:// URL"):
        asyncio.run(request("GET", "https://example.invalid/offer"))
