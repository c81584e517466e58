"""DockerContainer.wait_exit against a hand-made container: how often Docker is asked."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from orchestrator.engine.cells import DockerContainer
from orchestrator.engine.errors import Health


class FakeContainer:
    """Reports running until `exits_at`; counts the state queries."""

    def __init__(self, exits_at: float) -> None:
        self.exits_at = exits_at
        self.reloads = 0
        self.attrs: dict[str, Any] = {}

    def reload(self) -> None:
        self.reloads += 1
        running = time.monotonic() < self.exits_at
        self.attrs = {"State": {"Running": running, "ExitCode": 0 if not running else -1}}


class FakeHead:
    def __init__(self) -> None:
        self.ended = threading.Event()


def waiting(container: FakeContainer, head: FakeHead) -> DockerContainer:
    return DockerContainer(cast(Any, container), None, cast(Any, head), Health())


def test_the_state_is_asked_at_once_when_the_output_ends() -> None:
    container, head = FakeContainer(exits_at=0.0), FakeHead()
    head.ended.set()
    started = time.monotonic()
    assert waiting(container, head).wait_exit(10, threading.Event()) == 0
    assert time.monotonic() - started < 0.2
    assert container.reloads == 1


def test_a_container_that_closed_its_output_but_runs_on_is_asked_now_and_then() -> None:
    """Output closed, process still running for 2 s: after the settling checks (about
    1 s) Docker is asked every STATE_POLL_S, not every WAKE_INTERVAL_S."""
    container, head = FakeContainer(exits_at=time.monotonic() + 2.0), FakeHead()
    head.ended.set()
    assert waiting(container, head).wait_exit(10, threading.Event()) == 0
    assert container.reloads < 60  # 50 settling checks, then one every 0.5 s
