"""DockerContainer's waits against a hand-made container: Docker's blocking `wait` gives the
exit code, and no state is asked for by polling."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest
from docker.errors import NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError

from orchestrator.engine import container as container_module
from orchestrator.engine.container import DockerContainer, demultiplexed
from orchestrator.engine.errors import Health
from orchestrator.errors import EngineUnavailable
from orchestrator.ports import Cancelled


class FakeContainer:
    """Stops at `exits_at` with `code`; `wait` blocks like Docker's until then (or, when
    its timeout comes first, raises the ConnectionError Docker's socket raises for a
    read timeout). Counts the calls; `engine_gone` makes every call fail."""

    def __init__(
        self,
        exits_at: float,
        code: int = 0,
        wait_error: Exception | None = None,
        engine_gone: bool = False,
    ):
        self.exits_at = exits_at
        self.code = code
        self.wait_error = wait_error
        self.engine_gone = engine_gone
        self.waits = 0
        self.reloads = 0
        self.log_calls = 0

    def wait(self, timeout: float) -> dict[str, Any]:
        self.waits += 1
        if self.wait_error is not None:
            raise self.wait_error
        left = self.exits_at - time.monotonic()
        if left > timeout:
            time.sleep(timeout)
            raise RequestsConnectionError("UnixHTTPConnectionPool: Read timed out.")
        time.sleep(max(left, 0))
        return {"StatusCode": self.code, "Error": None}

    def reload(self) -> None:
        self.reloads += 1
        if self.engine_gone:
            raise RequestsConnectionError("the socket refuses connections")

    def logs(self, **_: Any) -> bytes:
        self.log_calls += 1
        return b""


class FakeHead:
    def __init__(self, text: bytes = b"") -> None:
        self.text = text

    def so_far(self) -> bytes:
        return self.text

    def full(self) -> bool:
        return False


def watched(container: FakeContainer, head: FakeHead | None = None) -> DockerContainer:
    return DockerContainer(cast(Any, container), None, cast(Any, head or FakeHead()), Health())


def test_the_exit_code_comes_from_one_wait_call_without_inspecting() -> None:
    container = FakeContainer(exits_at=time.monotonic() + 0.3, code=3)
    running = watched(container)
    assert running.exit_code() is None
    started = time.monotonic()
    assert running.wait_exit(10, threading.Event()) == 3
    assert time.monotonic() - started < 0.5
    assert running.exit_code() == 3
    assert (container.waits, container.reloads) == (1, 0)


def test_a_container_that_outlives_one_wait_call_is_waited_for_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(container_module, "WAIT_CALL_S", 0.1)
    container = FakeContainer(exits_at=time.monotonic() + 0.35, code=0)
    assert watched(container).wait_exit(10, threading.Event()) == 0
    assert container.waits >= 3


def test_no_exit_within_the_timeout_is_none_and_a_cancel_ends_the_wait() -> None:
    running = watched(FakeContainer(exits_at=time.monotonic() + 60))
    started = time.monotonic()
    assert running.wait_exit(0.3, threading.Event()) is None
    assert 0.3 <= time.monotonic() - started < 1
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(Cancelled):
        running.wait_exit(10, cancel)


def test_a_container_docker_no_longer_knows_has_stopped() -> None:
    running = watched(FakeContainer(0, wait_error=NotFound("no such container")))
    assert running.wait_exit(5, threading.Event()) == -1


def test_a_ready_line_is_found_in_the_head_without_asking_docker() -> None:
    container = FakeContainer(exits_at=time.monotonic() + 60)
    running = watched(container, FakeHead(b"starting\nrecorder ready\n"))
    assert running.wait_output(b"recorder ready", 5, threading.Event())
    assert (container.log_calls, container.reloads) == (0, 0)


def test_docker_log_frames_are_joined_and_a_cut_frame_kept_as_far_as_it_goes() -> None:
    def frame(stream: int, payload: bytes) -> bytes:
        return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload

    joined = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"")
    assert demultiplexed(joined) == b"out\nerr\n"
    assert demultiplexed(joined + frame(1, b"partial line")[:-4]) == b"out\nerr\npartial "
    assert demultiplexed(b"\x01\x00") == b""


def test_an_engine_that_went_away_ends_the_run_rather_than_the_cell() -> None:
    gone = RequestsConnectionError("the socket refuses connections")
    running = watched(FakeContainer(0, wait_error=gone, engine_gone=True))
    with pytest.raises(EngineUnavailable):
        running.wait_exit(5, threading.Event())
