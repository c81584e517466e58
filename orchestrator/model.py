"""The vocabulary shared by planner, runner, results and renderers: plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    SERVER = "server"
    CLIENT = "client"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"
    SERVER_ERROR = "server-error"
    BUILD_ERROR = "build-error"
    INFRA_ERROR = "infra-error"
    UNVERIFIED = "unverified"  # client exited 0, but the capture does not back it
    FLAKY = "flaky"  # failed, then passed on a retry: never shown as a plain pass
    NOT_RUN = "not-run"  # the run stopped (Ctrl-C, engine gone) before this cell ran

    @property
    def is_failure(self) -> bool:
        """Outcomes that make `run` exit 1; `unsupported` is a declaration, not a failure."""
        return self not in (Outcome.PASSED, Outcome.UNSUPPORTED)


# What a cell known to be flaky may show without that being news: it passes on some
# runs and fails on others. A crash, a build failure or an unverified pass still is.
FLAKY_COVERS = frozenset({Outcome.PASSED, Outcome.FLAKY, Outcome.FAILED, Outcome.TIMEOUT})

# Client exit codes of the peer contract (docs/contract.md).
EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_UNSUPPORTED = 127


@dataclass(frozen=True, order=True)
class Cell:
    """One grid cell: a test case run with one server image and one client image, on one
    network scenario."""

    test: str
    server: str
    client: str
    scenario: str = "direct"

    @property
    def slug(self) -> str:
        """The cell's path under a run's logs/: unique, because names never contain `_`
        (so `a-b__c` and `a__b-c` differ) and each name is a path segment of its own."""
        return f"{self.scenario}/{self.test}/{self.server}__{self.client}"

    @property
    def key(self) -> str:
        """How expectations.yaml and messages name the cell."""
        where = "" if self.scenario == "direct" else f"@{self.scenario}"
        return f"{self.test}/{self.server}/{self.client}{where}"


@dataclass(frozen=True)
class PlannedCell:
    """A cell, and why it will not run when a side did not declare its test case or
    cannot run in its scenario (such cells are never started; the grid shows ➖)."""

    cell: Cell
    refusal: str | None = None


@dataclass(frozen=True)
class Traffic:
    """UDP between the two peers in one direction, as the capture saw it."""

    packets: int = 0
    bytes: int = 0
    stun_requests: int = 0
    stun_successes: int = 0
    dtls_handshake_records: int = 0
    dtls_encrypted_records: int = 0
    dtls_application_records: int = 0
    rtp_packets: int = 0
    rtcp_packets: int = 0


@dataclass(frozen=True)
class Verification:
    """The wire's account of a cell: what the test needed to see and did not."""

    missing: tuple[str, ...]
    connect_time_s: float | None
    client_checks_answered: bool
    server_checks_answered: bool
    client_to_server: Traffic
    server_to_client: Traffic
    proof: str = "none"  # the level that backed the verdict (docs/contract.md 6)
    details: tuple[str, ...] = ()  # the facts behind it, for the report
    measures: tuple[tuple[str, float], ...] = ()  # goodput, bitrates: named numbers
    path: str | None = None  # host, srflx, prflx or relay: what carried the traffic

    @property
    def verified(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class MediaReport:
    """What a media client said was negotiated and what came back (its NEGOTIATED:/RECEIVED:
    lines); None fields were not reported."""

    codec: str | None = None
    payload_type: int | None = None
    packets: int | None = None
    frames: int | None = None  # None also when the stack does not decode ("frames=-")


# Conditions an expectation may be limited to. `source-unreachable`: the image could not
# be built because a registry or package source it needs is out of reach from here.
SOURCE_UNREACHABLE = "source-unreachable"
CONDITIONS = (SOURCE_UNREACHABLE,)


@dataclass(frozen=True)
class Expectation:
    """A checked-in, explained verdict for a cell that is known not to pass; with a
    `condition`, it holds only where that condition is the cell's cause."""

    outcome: Outcome
    reason: str
    condition: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One try at a retried cell, kept with its own logs."""

    outcome: Outcome
    reason: str
    exit_code: int | None
    duration_s: float
    logs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    outcome: Outcome
    reason: str
    exit_code: int | None = None
    duration_s: float = 0.0
    logs: tuple[tuple[str, str], ...] = field(default=())
    verification: Verification | None = None
    media: MediaReport | None = None
    expected: Expectation | None = None
    attempts: tuple[Attempt, ...] = ()  # only for retried cells, first attempt first
    cause: str | None = None  # e.g. SOURCE_UNREACHABLE for a build-error; see CONDITIONS
    timings: tuple[tuple[str, float], ...] = ()  # seconds per lifecycle step

    @property
    def as_expected(self) -> bool:
        """The outcome is the one the expectations file records for this cell (for a cell
        known to be flaky: any pass or plain failure)."""
        if self.expected is None:
            return False
        if self.expected.outcome is Outcome.FLAKY:
            return self.outcome in FLAKY_COVERS
        return self.expected.outcome is self.outcome

    @property
    def deviates(self) -> bool:
        """A new failure, or an expected failure that now passes (`--check-expectations`)."""
        if self.expected is None:
            return self.outcome.is_failure
        if self.expected.outcome is Outcome.FLAKY:
            return self.outcome not in FLAKY_COVERS
        return self.outcome.is_failure != self.expected.outcome.is_failure

    @property
    def log_paths(self) -> dict[str, str]:
        return dict(self.logs)
