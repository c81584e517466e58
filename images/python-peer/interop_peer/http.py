"""The client's HTTP/1.1: one request per connection on asyncio streams.

Signalling is a handful of plain-HTTP requests; aiohttp's client cost an aiortc client
about 0.16 CPU-seconds of imports at every start (its connector builds a TLS context),
a sixth of what the whole client spends. Bodies come by Content-Length, chunked or
until the server closes; cancelling the awaiting task closes the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD_LINES = 100


class HttpError(Exception):
    """No complete HTTP answer: `unreachable` when not even a connection was made."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class Response:
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


async def request(
    method: str, url: str, body: str | bytes | None = None, headers: dict[str, str] | None = None
) -> Response:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise HttpError(f"not an http:// URL: {url}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    except OSError as error:
        raise HttpError(str(error) or type(error).__name__, unreachable=True) from error
    try:
        data = body.encode() if isinstance(body, str) else body or b""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
        if body is not None or method in ("POST", "PATCH", "PUT"):
            lines.append(f"Content-Length: {len(data)}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()
        return await _response(reader, method)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
        raise HttpError(f"{type(error).__name__}: {error}") from error
    finally:
        writer.close()


async def _response(reader: asyncio.StreamReader, method: str) -> Response:
    status_line = (await reader.readline()).decode("latin-1").strip()
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/") or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP status line: {status_line[:80]!r}")
    status = int(rest[:3])
    headers: dict[str, str] = {}
    for _ in range(MAX_HEAD_LINES):
        line = (await reader.readline()).decode("latin-1").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ValueError(f"more than {MAX_HEAD_LINES} header lines")
    if method == "HEAD" or status in (204, 304) or status < 200:
        content = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        content = await _chunks(reader)
    elif "content-length" in headers:
        content = await reader.readexactly(int(headers["content-length"]))
    else:
        content = await reader.read()
    return Response(status, content.decode("utf-8", errors="replace"), headers)


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readline()).split(b";")[0].strip(), 16):
        parts.append(await reader.readexactly(size))
        await reader.readline()
    while (await reader.readline()).strip():  # trailer fields
        pass
    return b"".join(parts)
