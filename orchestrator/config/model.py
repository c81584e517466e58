"""What matrix.yaml means, as frozen dataclasses: the only shape the rest of the code sees."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

from orchestrator.model import Cell, CellResult, Expectation, Outcome, Role
from orchestrator.ports import Limits

SERVER_PORT = 8080
DEFAULT_CLIENT_COMMAND = ("/client.sh", "{server_url}")
DEFAULT_SCENARIO = "direct"


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class, despite the name

    name: str
    timeout_s: float
    description: str
    default: bool = True  # part of the default run (`run` without --all)
    # The peers mostly wait on real-time media: half a peer slot unless a side is
    # heavy, started first (peerslots.py, serving.schedule).
    light: bool = False


@dataclass(frozen=True)
class Scenario:
    """A network the cells of some test cases also run on (docs/scenarios.md)."""

    name: str
    description: str
    tests: tuple[str, ...]  # the test cases that run in this scenario
    default: bool = True
    default_tests: tuple[str, ...] | None = None  # those of the default set (None: all)

    def tests_for(self, everything: bool) -> tuple[str, ...]:
        """The test cases this scenario runs: all of them, or the default set's."""
        if everything or self.default_tests is None:
            return self.tests
        return self.default_tests


@dataclass(frozen=True)
class Implementation:
    """One WebRTC stack: built from `build_context` or used as the prebuilt `image`."""

    name: str
    build_context: Path | None
    dockerfile: str | None
    image: str | None
    versions: tuple[tuple[str, str], ...]
    build_args: tuple[tuple[str, str], ...]
    server_tests: tuple[str, ...]
    client_tests: tuple[str, ...]
    server_command: tuple[str, ...] | None
    client_command: tuple[str, ...]
    description: str
    limits: Limits = field(default_factory=Limits)
    default: bool = True
    unsupported_scenarios: tuple[tuple[str, str], ...] = ()  # scenario, why not
    contract: str = "webrtc-interop"  # or "webrtc-echoes": the original contract, no payload
    # The server serves consecutive cells of one test case and scenario (contract 1.1).
    reuse_server: bool = False
    # Its peers keep a core busy whatever the test case (a browser): its cells take a
    # whole peer slot even in a light test case.
    heavy: bool = False

    def supports(self, role: Role, test: str) -> bool:
        return test in (self.server_tests if role is Role.SERVER else self.client_tests)

    def has_role(self, role: Role) -> bool:
        return bool(self.server_tests if role is Role.SERVER else self.client_tests)

    def scenario_refusal(self, scenario: str) -> str | None:
        """Why this stack cannot run in `scenario`, or None when it can."""
        return dict(self.unsupported_scenarios).get(scenario)

    def image_reference(self, prefix: str) -> str:
        return self.image or f"{prefix}/{self.name}:latest"

    def all_build_args(self) -> dict[str, str]:
        """Pinned versions become `<NAME>_VERSION` build args, next to the explicit ones."""
        pinned = {f"{arg_name(key)}_VERSION": value for key, value in self.versions}
        return {**pinned, **dict(self.build_args)}


@dataclass(frozen=True)
class Settings:
    jobs: int
    retries: int
    results_dir: Path
    server_ready_timeout_s: float
    build_timeout_s: float
    extra_ca_bundle: Path | None
    base_image: str
    base_context: Path
    image_prefix: str
    debian_mirror: str
    capture: bool
    capture_context: Path
    screenshot: bool
    screenshot_context: Path
    expectations: Path
    netkit_context: Path = Path("images/netkit")
    expectations_required: bool = False  # named in matrix.yaml: missing is an error
    limits: Limits = field(default_factory=Limits)

    def local_image(self, name: str) -> str:
        """The tag of an image this project builds: an implementation's, base's, a tool's."""
        return f"{self.image_prefix}/{name}:latest"


@dataclass(frozen=True)
class ExpectationRule:
    """One expectations.yaml entry: a pattern of cells and what they are known to do."""

    pattern: tuple[str, str, str, str]  # test, server, client, scenario; fnmatch globs
    expectation: Expectation

    @property
    def specificity(self) -> int:
        return sum(1 for part in self.pattern if not any(c in part for c in "*?["))

    def matches(self, cell: Cell) -> bool:
        names = (cell.test, cell.server, cell.client, cell.scenario)
        return all(fnmatchcase(name, part) for name, part in zip(names, self.pattern, strict=True))


@dataclass(frozen=True)
class Matrix:
    path: Path
    settings: Settings
    tests: tuple[TestCase, ...]
    implementations: tuple[Implementation, ...]
    scenarios: tuple[Scenario, ...] = ()
    expectations: tuple[ExpectationRule, ...] = field(default=())

    def explained(self, result: CellResult) -> CellResult:
        """The result with its entry from expectations.yaml attached; a cell that cannot
        run (N/A) has none, as no glob can make it pass or fail."""
        if result.outcome is Outcome.UNSUPPORTED:
            return replace(result, expected=None)
        return replace(result, expected=self.expected(result.cell, result.cause))

    def expected(self, cell: Cell, cause: str | None = None) -> Expectation | None:
        """The entry for the cell: one whose condition (`when`) is the cell's `cause`
        first, as that cause decides the cell whatever else is known of it; otherwise the
        most specific unconditional entry (the later one of equals)."""
        best: ExpectationRule | None = None
        for rule in self.expectations:
            condition = rule.expectation.condition
            if not rule.matches(cell) or (condition is not None and condition != cause):
                continue
            if best is None or _rank(rule) >= _rank(best):
                best = rule
        return None if best is None else best.expectation

    def implementation(self, name: str) -> Implementation:
        for implementation in self.implementations:
            if implementation.name == name:
                return implementation
        raise KeyError(name)

    def light(self, cell: Cell) -> bool:
        """The cell's peers mostly wait on real-time media: its test case is light and
        neither side's implementation is heavy (half a peer slot, peerslots.py)."""
        return self.light_server(cell) and not self.implementation(cell.client).heavy

    def light_server(self, cell: Cell) -> bool:
        """The cell's test case is light and its server is not heavy: what makes a batch
        of cells sharing that server light (serving.py), whatever their clients."""
        return self.test(cell.test).light and not self.implementation(cell.server).heavy

    def test(self, name: str) -> TestCase:
        for test in self.tests:
            if test.name == name:
                return test
        raise KeyError(name)

    def scenario(self, name: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise KeyError(name)

    @property
    def implementation_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.implementations)

    @property
    def test_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tests)

    @property
    def scenario_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.scenarios)


def arg_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", key).upper()


__all__ = [
    "DEFAULT_CLIENT_COMMAND",
    "DEFAULT_SCENARIO",
    "SERVER_PORT",
    "Cell",
    "Expectation",
    "ExpectationRule",
    "Implementation",
    "Matrix",
    "Outcome",
    "Scenario",
    "Settings",
    "TestCase",
]


def _rank(rule: ExpectationRule) -> tuple[bool, int]:
    return rule.expectation.condition is not None, rule.specificity
