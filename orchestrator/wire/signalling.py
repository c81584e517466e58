"""The HTTP signalling in the capture, reassembled: which offers, answers, trickled
candidates and session requests really crossed, read from the wire rather than from a
peer's log. Only what reached the server (and left it) counts, once."""

from __future__ import annotations

import json
from dataclasses import dataclass

from orchestrator.wire.packets import Segment

SYN = 0x02
RESET_PATH = "/sessions"  # DELETE ends a reused server's sessions between cells


@dataclass(frozen=True)
class Exchange:
    """One HTTP request to the server and its response (if the capture has it)."""

    time: float
    method: str
    path: str  # without the query (a reused server's offer URL carries the payload)
    headers: dict[str, str]
    body: bytes
    status: int | None
    response_headers: dict[str, str]
    response_body: bytes

    def sdp(self, of_response: bool) -> str | None:
        """The SDP of the request or response: a JSON description's `sdp`, or an
        `application/sdp` / sdpfrag body as it is."""
        body = self.response_body if of_response else self.body
        kind = (self.response_headers if of_response else self.headers).get("content-type", "")
        if "json" in kind or body.startswith(b"{"):
            try:
                description = json.loads(body)
            except ValueError:
                return None
            sdp = description.get("sdp") if isinstance(description, dict) else None
            return sdp if isinstance(sdp, str) else None
        if "sdp" in kind:
            return body.decode("utf-8", errors="replace")
        return None


def exchanges(segments: tuple[Segment, ...], server: frozenset[str], port: int) -> list[Exchange]:
    """Every request that reached the server (any of its addresses) on `port`, with its
    response, in time order."""
    streams: dict[tuple[str, int, str, int], list[Segment]] = {}
    for segment in segments:
        if (segment.dst in server and segment.dport == port) or (
            segment.src in server and segment.sport == port
        ):
            streams.setdefault((segment.src, segment.sport, segment.dst, segment.dport), []).append(
                segment
            )
    found: list[Exchange] = []
    for (src, sport, dst, dport), requests_part in streams.items():
        if dst not in server:
            continue
        responses_part = streams.get((dst, dport, src, sport), [])
        requests = _messages(_stream(requests_part), is_request=True)
        responses = _messages(_stream(responses_part), is_request=False)
        for index, (start, line, headers, body) in enumerate(requests):
            method, _, rest = line.partition(" ")
            path = rest.rsplit(" ", 1)[0].partition("?")[0]
            if path == RESET_PATH:
                continue  # the orchestrator's own request (contract 1.1), not the peers'
            status: int | None = None
            response_headers: dict[str, str] = {}
            response_body = b""
            if index < len(responses):
                status_line, response_headers, response_body = responses[index][1:]
                status = _status(status_line)
            found.append(
                Exchange(
                    start, method, path, headers, body, status, response_headers, response_body
                )
            )
    return sorted(found, key=lambda e: e.time)


def _stream(segments: list[Segment]) -> list[tuple[float, bytes]]:
    """The payload of one direction of a connection in sequence order, each piece with
    the time it was first seen; retransmissions dropped."""
    seen: dict[int, tuple[float, bytes]] = {}
    for segment in segments:
        if segment.payload and segment.seq not in seen:
            seen[segment.seq] = (segment.time, segment.payload)
    if not seen:
        return []
    base = min(seen)
    ordered = sorted(seen.items(), key=lambda item: (item[0] - base) & 0xFFFFFFFF)
    return [piece for _, piece in ordered]


def _messages(
    pieces: list[tuple[float, bytes]], is_request: bool
) -> list[tuple[float, str, dict[str, str], bytes]]:
    data = b"".join(payload for _, payload in pieces)
    starts = []
    offset = 0
    for time, payload in pieces:
        starts.append((offset, time))
        offset += len(payload)
    messages = []
    position = 0
    while position < len(data):
        end = data.find(b"\r\n\r\n", position)
        if end < 0:
            break
        head = data[position:end].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        try:
            body, position = _body(data, end + 4, headers)
        except ValueError:  # a broken chunk size: the rest is not HTTP we can read
            break
        time = next((t for o, t in reversed(starts) if o <= end), starts[0][1] if starts else 0.0)
        messages.append((time, head[0], headers, body))
    return messages


def _body(data: bytes, start: int, headers: dict[str, str]) -> tuple[bytes, int]:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        position = start
        while True:
            line_end = data.find(b"\r\n", position)
            if line_end < 0:
                return body, len(data)
            size = int(data[position:line_end].split(b";")[0] or b"0", 16)
            position = line_end + 2
            if size == 0:
                return body, position + 2
            body += data[position : position + size]
            position += size + 2
    length = int(headers.get("content-length", "0") or 0)
    return data[start : start + length], start + length


def _status(line: str) -> int | None:
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
