"""One error hierarchy; each kind maps to the process exit code `main()` uses."""

from __future__ import annotations


class InteropError(Exception):
    """A failure the user can act on; printed as one line, never as a traceback."""

    exit_code = 1


class ConfigError(InteropError):
    """matrix.yaml, an expectations file or the command line asks for something invalid."""

    exit_code = 2


class EngineUnavailable(InteropError):
    """No Docker engine answers and none could be started."""

    exit_code = 3


class ResultsError(InteropError):
    """A results file to read is missing or not in the expected schema."""

    exit_code = 4


class BuildFailed(InteropError):
    """An image the user asked to build did not build (the `build` command only)."""

    exit_code = 5


class EngineError(InteropError):
    """The Docker engine refused or failed an operation on a resource of ours."""

    exit_code = 6


class InternalError(InteropError):
    """Something of ours failed in a way that makes the rest of the run pointless (our
    own disk full, a bug outside any one cell); partial results are kept."""

    exit_code = 70


class Interrupted(InteropError):
    """The user pressed Ctrl-C (or the process got SIGTERM); cleanup has run."""

    exit_code = 130


class ImageBuildError(Exception):
    """A Dockerfile failed; `reason` is the builder's last error line and the log's path.
    Not a user error on its own: it becomes that implementation's `build-error` cells.
    `unreachable`: it failed because a registry or package source was out of reach."""

    def __init__(self, reason: str, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable
