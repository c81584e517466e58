"""A running container as a cell sees it: its exit (Docker's blocking `wait`), its
output (the head read as it comes, the tail from the log driver) and its address."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import requests
from docker.errors import DockerException, create_api_error_from_http_exception
from docker.models.containers import Container
from docker.utils.socket import frames_iter
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException, Timeout

from orchestrator.engine.errors import Health, unavailable
from orchestrator.errors import EngineUnavailable
from orchestrator.ports import Cancelled, Output

POLL_INTERVAL_S = 0.2
WAKE_INTERVAL_S = 0.1  # how soon a wait notices a cancelled run
WAIT_CALL_S = 300  # one `wait` call's bound; a container that runs on is asked again
HEAD_GRACE_S = 0.2  # how long the log follower may take to reach the end of the output


class DockerContainer:
    def __init__(
        self, container: Container, network: str | None, head: HeadReader, health: Health
    ) -> None:
        self.health = health
        self._container = container
        self._network = network
        self._address: str | None = None
        self._head = head
        self._exit = _ExitWatch(container)

    def address(self) -> str | None:
        if self._address is None and self._network:
            with self.health.guard("inspect a container"):
                self._container.reload()
            networks = self._container.attrs.get("NetworkSettings", {}).get("Networks", {})
            self._address = networks.get(self._network, {}).get("IPAddress") or None
        return self._address

    def exit_code(self) -> int | None:
        if not self._exit.done.is_set():
            return None
        if self._exit.gone is not None:  # the engine itself went away: the run ends
            self.health.lost = self.health.lost or self._exit.gone
            raise self.health.lost
        return self._exit.code

    def wait_exit(self, timeout_s: float, cancel: threading.Event) -> int | None:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if self._exit.done.wait(min(left, WAKE_INTERVAL_S)):
                return self.exit_code()
            if cancel.is_set():
                raise Cancelled
        return self.exit_code()

    def kill(self) -> None:
        self.health.quietly(self._container.kill)

    def wait_output(self, marker: bytes, timeout_s: float, cancel: threading.Event) -> bool:
        """Looks in the head the reader keeps (no Docker call); in the log driver's copy
        once the container stopped or the head is full."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if marker in self._head.so_far():
                return True
            stopped = self.exit_code() is not None
            if stopped or self._head.full():
                with self.health.guard("read a container's output"):
                    if marker in _logs(self._container):
                        return True
                if stopped:
                    return False
            if cancel.wait(POLL_INTERVAL_S):
                raise Cancelled
        return False

    def logs(self, since: float | None = None, until: float | None = None) -> Output:
        """The head the reader kept and the tail the log driver kept, joined without
        overlap; when neither holds the middle, a marker says so. With `since` or
        `until` (a server serving several cells), only what the log driver kept of that
        span, head and tail kept the same way."""
        if since is not None or until is not None:
            return self._span(since, until)
        head, head_is_all = self._head.finish()
        with self.health.guard("read a container's logs"):
            tail = _logs(self._container)
        half = self._head.limit
        if head_is_all and tail == head:  # a follow stream can also end at a log rotation
            return Output(head)
        if tail.startswith(head) and len(tail) <= 2 * half:
            return Output(tail)
        if tail.startswith(head):
            cut = len(tail) - 2 * half
            return Output(head + _marker(cut) + tail[-half:], True)
        return Output(head + _marker(None) + tail[-half:], True)

    def _span(self, since: float | None, until: float | None) -> Output:
        self._head.finish()
        with self.health.guard("read a container's logs"):
            text = _logs(self._container, since=since, until=until)
        half = self._head.limit
        if len(text) <= 2 * half:
            return Output(text)
        return Output(text[:half] + _marker(len(text) - 2 * half) + text[-half:], True)


def _logs(container: Container, since: float | None = None, until: float | None = None) -> bytes:
    """stdout and stderr as the log driver kept them. docker-py's `logs` first inspects
    the container to learn whether it has a TTY (ours never do): one call instead of
    two, and the frames are joined here."""
    query: dict[str, Any] = {"stdout": 1, "stderr": 1}
    if since is not None:
        query["since"] = since
    if until is not None:
        query["until"] = until
    api = container.client.api  # type: ignore[union-attr]
    url = f"{api.base_url}/v{api.api_version}/containers/{container.id}/logs"
    response = api.get(url, params=query, timeout=api.timeout)
    try:
        response.raise_for_status()
    except requests.HTTPError as error:
        create_api_error_from_http_exception(error)  # raises Docker's error for it
    return demultiplexed(response.content)


def demultiplexed(stream: bytes) -> bytes:
    """The payloads of Docker's multiplexed stream (8-byte header: the stream, three
    zero bytes, the payload's big-endian length), joined; a cut last frame is kept as
    far as it goes."""
    parts, at = [], 0
    while at + 8 <= len(stream):
        size = int.from_bytes(stream[at + 4 : at + 8], "big")
        parts.append(stream[at + 8 : at + 8 + size])
        at += 8 + size
    return b"".join(parts)


def _marker(cut: int | None) -> bytes:
    amount = f"{cut} bytes" if cut is not None else "an unknown amount"
    return f"\n[... webrtc-interop cut {amount} from the middle of this output ...]\n".encode()


class _ExitWatch:
    """A started container's exit code from one blocking `wait` call, which Docker
    answers when the container stops: no inspect call per poll (they were most of the
    orchestrator's Docker traffic). -1 when Docker cannot say (the container removed
    under us): it is not running either way; `gone` when the engine went away."""

    def __init__(self, container: Container) -> None:
        self.code: int | None = None
        self.gone: EngineUnavailable | None = None
        self.done = threading.Event()
        threading.Thread(target=self._watch, args=(container,), daemon=True).start()

    def _watch(self, container: Container) -> None:
        try:
            while True:
                try:
                    status = container.wait(timeout=WAIT_CALL_S)
                except (RequestsConnectionError, Timeout):
                    # Docker's socket reports the read timeout of a container that runs
                    # on (a server's long batch) as a ConnectionError: one inspection
                    # tells it from an engine that is gone (then it raises too).
                    container.reload()
                    continue
                self.code = int(status.get("StatusCode", -1))
                return
        except (DockerException, RequestException, OSError, ValueError, TypeError) as error:
            self.code = -1
            self.gone = unavailable(error)
        finally:
            self.done.set()


class HeadReader:
    """Keeps the first `limit` bytes of a container's output: the log driver keeps only
    the tail of a flood. It attaches before the container starts (Docker's attach with
    `logs`), so a peer that floods faster than a log follower could connect cannot
    rotate its first lines away unseen; at `limit` it hangs up, and Docker stops
    copying to it."""

    def __init__(self, container: Container, limit: int) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._ended = False
        self._socket: Any = container.attach_socket(
            params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 1}
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for _, chunk in frames_iter(self._socket, tty=False):  # type: ignore[no-untyped-call]
                self._chunks.append(bytes(chunk))
                self._size += len(chunk)
                if self._size >= self.limit:
                    return
            self._ended = True
        except (DockerException, RequestException, OSError, ValueError):
            return
        finally:
            self._hang_up()

    def _hang_up(self) -> None:
        with contextlib.suppress(Exception):
            self._socket._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._socket.close()

    def so_far(self) -> bytes:
        return b"".join(self._chunks)

    def full(self) -> bool:
        """The reader hung up at its limit (or lost the stream): it sees no more."""
        return not self._thread.is_alive() and not self._ended

    def finish(self) -> tuple[bytes, bool]:
        """(the head, whether it is the whole output so far). A container still running
        (a server at the end of its cell) is hung up on: the log driver's copy covers
        the rest."""
        self._thread.join(timeout=HEAD_GRACE_S)
        if self._thread.is_alive():
            self._hang_up()
            self._thread.join(timeout=HEAD_GRACE_S)
        return b"".join(self._chunks)[: self.limit], self._ended
