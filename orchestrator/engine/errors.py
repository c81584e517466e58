"""Docker's and requests' exceptions, translated once into the project's own errors.

An engine that stops answering (daemon stopped, socket gone, API timeout) is
`EngineUnavailable`: the run cannot go on. An operation the engine refused is
`EngineError`: it costs one cell.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from docker.errors import APIError, DockerException
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException, Timeout

from orchestrator.errors import EngineError, EngineUnavailable


def unavailable(error: BaseException) -> EngineUnavailable | None:
    """The EngineUnavailable an exception means, or None if the engine still answers."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, Timeout):
            return EngineUnavailable("the Docker engine stopped answering (API timeout)")
        if isinstance(seen, RequestsConnectionError | ConnectionError | FileNotFoundError):
            return EngineUnavailable(
                "the Docker engine went away (its socket refuses connections or is gone)"
            )
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, DockerException) and "Error while fetching server API" in str(error):
        return EngineUnavailable("the Docker engine went away (cannot reach its API)")
    return None


def translate(error: BaseException, what: str) -> EngineUnavailable | EngineError:
    """The project's error for an exception raised while trying to `what`."""
    gone = unavailable(error)
    if gone is not None:
        return gone
    detail = error.explanation if isinstance(error, APIError) and error.explanation else error
    return EngineError(f"cannot {what}: {detail}")


class Health:
    """Whether the engine still answers, shared by every object talking to it: once it
    is known to be gone, further calls fail at once instead of each waiting for its own
    timeout, so a run ends quickly and cleanup does not hang."""

    def __init__(self) -> None:
        self.lost: EngineUnavailable | None = None

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Around engine calls: their failure as EngineUnavailable or EngineError."""
        if self.lost is not None:
            raise self.lost
        try:
            yield
        except (DockerException, RequestException, OSError) as error:
            translated = translate(error, what)
            if isinstance(translated, EngineUnavailable):
                self.lost = translated
            raise translated from None

    def quietly(self, action: Callable[[], object]) -> None:
        """A cleanup call: its failure must not mask the error that got us here (`clean`
        reaps what this misses); skipped once the engine is gone."""
        if self.lost is not None:
            return
        try:
            action()
        except (DockerException, RequestException, OSError) as error:
            gone = unavailable(error)
            if gone is not None:
                self.lost = gone
