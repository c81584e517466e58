"""matrix.yaml → frozen dataclasses. The only module that reads YAML.

Every problem is reported as one line: the file, the line, the key path, what is
wrong and, for a misspelt key or name, the closest valid one.
"""

from __future__ import annotations

import difflib
import os
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from orchestrator.errors import ConfigError
from orchestrator.model import Cell, Expectation, Outcome, Role

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
BUILD_ARG_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COMMAND_FIELDS = ("server_url", "server_host", "test")
CA_BUNDLE_ENV = "WEBRTC_INTEROP_CA_BUNDLE"
HOST_CA_ENVS = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
DEFAULT_CLIENT_COMMAND = ("/client.sh", "{server_url}")
SERVER_PORT = 8080

Path_ = tuple[str | int, ...]
T = TypeVar("T")


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class, despite the name

    name: str
    timeout_s: float
    description: str


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

    def supports(self, role: Role, test: str) -> bool:
        return test in (self.server_tests if role is Role.SERVER else self.client_tests)

    def has_role(self, role: Role) -> bool:
        return bool(self.server_tests if role is Role.SERVER else self.client_tests)

    def image_reference(self, prefix: str) -> str:
        return self.image or f"{prefix}/{self.name}:latest"

    def all_build_args(self) -> dict[str, str]:
        """Pinned versions become `<NAME>_VERSION` build args, next to the explicit ones."""
        pinned = {f"{_arg_name(key)}_VERSION": value for key, value in self.versions}
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

    def local_image(self, name: str) -> str:
        """The tag of an image this project builds: an implementation's, base's, a tool's."""
        return f"{self.image_prefix}/{name}:latest"


@dataclass(frozen=True)
class Matrix:
    path: Path
    settings: Settings
    tests: tuple[TestCase, ...]
    implementations: tuple[Implementation, ...]
    expectations: tuple[tuple[Cell, Expectation], ...] = ()

    def expected(self, cell: Cell) -> Expectation | None:
        return dict(self.expectations).get(cell)

    def implementation(self, name: str) -> Implementation:
        for implementation in self.implementations:
            if implementation.name == name:
                return implementation
        raise KeyError(name)

    def test(self, name: str) -> TestCase:
        for test in self.tests:
            if test.name == name:
                return test
        raise KeyError(name)

    @property
    def implementation_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.implementations)

    @property
    def test_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tests)


def with_images(matrix: Matrix, overrides: Iterable[tuple[str, str]]) -> Matrix:
    """The matrix with some implementations run from a given image instead of their build:
    how a library's CI puts its development build into the grid (`run --image NAME=REF`)."""
    replaced = dict(overrides)
    for name in replaced:
        if name not in matrix.implementation_names:
            raise ConfigError(
                f"--image: unknown implementation '{name}'"
                f"{suggestion(name, matrix.implementation_names)}"
            )
    return replace(
        matrix,
        implementations=tuple(
            replace(i, image=replaced[i.name], build_context=None, dockerfile=None)
            if i.name in replaced
            else i
            for i in matrix.implementations
        ),
    )


def suggestion(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_matrix(path: Path, environ: Mapping[str, str] | None = None) -> Matrix:
    """Read and validate a matrix file; raise ConfigError with one line on any problem."""
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read ({error})") from None
    data, lines = parse_yaml(text, path)
    matrix = _Reader(path, lines).matrix(data, environ)
    expectations = matrix.settings.expectations
    if not expectations.exists():
        return matrix
    return replace(matrix, expectations=load_expectations(expectations, matrix))


def load_expectations(path: Path, matrix: Matrix) -> tuple[tuple[Cell, Expectation], ...]:
    """`test/server/client: {outcome, reason}` entries, checked against the matrix's names.

    A `*` in a position means every name there; an entry without `*` wins over one with.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read ({error})") from None
    data, lines = parse_yaml(text, path)
    reader = _Reader(path, lines)
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise reader.fail((), f"expected a mapping of cells, got {_type_name(data)}")
    outcomes = tuple(o.value for o in Outcome if o is not Outcome.PASSED)
    general: dict[Cell, Expectation] = {}
    specific: dict[Cell, Expectation] = {}
    for key, body in data.items():
        at: Path_ = (str(key),)
        parts = str(key).split("/")
        if len(parts) != 3:
            raise reader.fail(at, "a cell is written test/server/client")
        names = []
        for name, known, what in zip(
            parts,
            (matrix.test_names, matrix.implementation_names, matrix.implementation_names),
            ("test case", "implementation", "implementation"),
            strict=True,
        ):
            if name != "*" and name not in known:
                raise reader.fail(at, f"unknown {what} '{name}'{suggestion(name, known)}")
            names.append(known if name == "*" else (name,))
        raw = reader.mapping(body, at, ("outcome", "reason"))
        outcome = reader.typed(raw.get("outcome"), (*at, "outcome"), str, "an outcome")
        if outcome not in outcomes:
            raise reader.fail(
                (*at, "outcome"),
                f"'{outcome}' is not an expected outcome"
                f"{suggestion(outcome, outcomes)}; one of: {', '.join(outcomes)}",
            )
        reason = reader.typed(raw.get("reason"), (*at, "reason"), str, "a reason")
        if not reason.strip():
            raise reader.fail((*at, "reason"), "say why: the reason is what the report shows")
        expectation = Expectation(Outcome(outcome), " ".join(reason.split()))
        target = general if "*" in parts else specific
        for test in names[0]:
            for server in names[1]:
                for client in names[2]:
                    target[Cell(test, server, client)] = expectation
    return tuple({**general, **specific}.items())


def parse_yaml(text: str, path: Path) -> tuple[Any, dict[Path_, int]]:
    """Plain data plus the line of every key path; duplicate keys are errors, not overwrites."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    return _plain(node, (), lines, path), lines


def _plain(node: yaml.Node, at: Path_, lines: dict[Path_, int], path: Path) -> Any:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{path}:{key_node.start_mark.line + 1}: keys must be scalars")
            key = _scalar(key_node)
            if key in result:
                dotted = ".".join(str(p) for p in (*at, key))
                raise ConfigError(f"{path}:{key_node.start_mark.line + 1}: {dotted}: duplicate key")
            result[key] = _plain(value_node, (*at, str(key)), lines, path)
            lines[(*at, str(key))] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*at, index), lines, path) for index, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _arg_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", key).upper()


class _Reader:
    """Walks the plain data, turning each section into dataclasses with located errors."""

    def __init__(self, path: Path, lines: dict[Path_, int]) -> None:
        self.path = path
        self.lines = lines

    def fail(self, at: Path_, message: str) -> ConfigError:
        line = next(
            (self.lines[at[:n]] for n in range(len(at), -1, -1) if at[:n] in self.lines), None
        )
        where = f"{self.path}:{line}" if line else str(self.path)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).lstrip(".")
        return ConfigError(f"{where}: {dotted or 'top level'}: {message}")

    def mapping(self, value: Any, at: Path_, allowed: Iterable[str]) -> dict[str, Any]:
        allowed = tuple(allowed)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(at, f"expected a mapping, got {_type_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(at, f"keys must be strings, got {key!r}")
            if key not in allowed:
                raise self.fail(
                    (*at, key),
                    f"unknown key{suggestion(key, allowed)}; allowed: " + ", ".join(allowed),
                )
        return value

    def typed(self, value: Any, at: Path_, kind: type[T], label: str) -> T:
        # bool is an int in Python; a YAML `yes` where a number belongs is a mistake.
        if isinstance(value, bool) and kind is not bool:
            raise self.fail(at, f"expected {label}, got a boolean")
        if kind is float and isinstance(value, int):
            return float(value)  # type: ignore[return-value]
        if not isinstance(value, kind):
            raise self.fail(at, f"expected {label}, got {_type_name(value)}")
        return value

    def positive(self, value: Any, at: Path_, kind: type[T], label: str) -> T:
        number = self.typed(value, at, kind, label)
        if number <= 0:  # type: ignore[operator]
            raise self.fail(at, f"must be greater than 0, got {number}")
        return number

    def at_least_zero(self, value: Any, at: Path_) -> int:
        number = self.typed(value, at, int, "an integer")
        if number < 0:
            raise self.fail(at, f"must be 0 or more, got {number}")
        return number

    def name(self, value: Any, at: Path_, what: str) -> str:
        text = self.typed(value, at, str, f"a {what} name")
        if not NAME_PATTERN.match(text):
            raise self.fail(
                at, f"{what} name {text!r} must be 1-40 of a-z, 0-9 and '-', starting alphanumeric"
            )
        return text

    def string_map(
        self, value: Any, at: Path_, check_key: Callable[[str, Path_], None]
    ) -> tuple[tuple[str, str], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self.fail(at, f"expected a mapping of strings, got {_type_name(value)}")
        pairs = []
        for key, item in value.items():
            check_key(str(key), (*at, str(key)))
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.fail((*at, str(key)), f"expected a string, got {_type_name(item)}")
            pairs.append((str(key), str(item)))
        return tuple(pairs)

    def matrix(self, data: Any, environ: Mapping[str, str]) -> Matrix:
        top = self.mapping(data, (), ("settings", "tests", "implementations"))
        for required in ("tests", "implementations"):
            if not top.get(required):
                raise self.fail((), f"missing required section '{required}'")
        settings = self.settings(top.get("settings"), environ)
        tests = self.tests(top["tests"])
        test_names = tuple(t.name for t in tests)
        raw = top["implementations"]
        if not isinstance(raw, dict):
            raise self.fail(("implementations",), f"expected a mapping, got {_type_name(raw)}")
        implementations = tuple(
            self.implementation(name, value, test_names) for name, value in raw.items()
        )
        if settings.capture:
            self.context(settings.capture_context, ("settings", "capture_context"))
        if settings.screenshot:
            self.context(settings.screenshot_context, ("settings", "screenshot_context"))
        if any(i.build_context for i in implementations):
            self.context(settings.base_context, ("settings", "base_context"))
        return Matrix(self.path, settings, tests, implementations)

    def context(self, directory: Path, at: Path_) -> None:
        if not (directory / "Dockerfile").is_file():
            raise self.fail(at, f"{directory} is not a build context with a Dockerfile")

    def settings(self, value: Any, environ: Mapping[str, str]) -> Settings:
        at: Path_ = ("settings",)
        keys = (
            "jobs",
            "retries",
            "results_dir",
            "server_ready_timeout",
            "build_timeout",
            "extra_ca_bundle",
            "base_image",
            "base_context",
            "image_prefix",
            "debian_mirror",
            "capture",
            "capture_context",
            "screenshot",
            "screenshot_context",
            "expectations",
        )
        raw = self.mapping(value, at, keys)
        root = self.path.parent
        ca_setting = raw.get("extra_ca_bundle")
        if ca_setting is not None:
            self.typed(ca_setting, (*at, "extra_ca_bundle"), str, "a file path")
        prefix = self.typed(
            raw.get("image_prefix", "webrtc-interop"), (*at, "image_prefix"), str, "a string"
        )
        if not re.match(r"^[a-z0-9][a-z0-9._/-]*$", prefix):
            raise self.fail((*at, "image_prefix"), f"{prefix!r} is not a valid image repository")
        return Settings(
            jobs=self.positive(raw.get("jobs", 4), (*at, "jobs"), int, "an integer"),
            retries=self.at_least_zero(raw.get("retries", 0), (*at, "retries")),
            results_dir=root
            / self.typed(
                raw.get("results_dir", "results"), (*at, "results_dir"), str, "a directory path"
            ),
            server_ready_timeout_s=self.positive(
                raw.get("server_ready_timeout", 20), (*at, "server_ready_timeout"), float, "seconds"
            ),
            build_timeout_s=self.positive(
                raw.get("build_timeout", 1800), (*at, "build_timeout"), float, "seconds"
            ),
            extra_ca_bundle=self.ca_bundle(ca_setting, environ),
            base_image=self.typed(
                raw.get("base_image", "debian:trixie"),
                (*at, "base_image"),
                str,
                "an image reference",
            ),
            base_context=root
            / self.typed(
                raw.get("base_context", "images/base"),
                (*at, "base_context"),
                str,
                "a directory path",
            ),
            image_prefix=prefix,
            debian_mirror=self.typed(
                raw.get("debian_mirror", "http://deb.debian.org/debian"),
                (*at, "debian_mirror"),
                str,
                "a URL",
            ),
            capture=self.typed(raw.get("capture", True), (*at, "capture"), bool, "true or false"),
            screenshot=self.typed(
                raw.get("screenshot", True), (*at, "screenshot"), bool, "true or false"
            ),
            screenshot_context=root
            / self.typed(
                raw.get("screenshot_context", "images/screenshot"),
                (*at, "screenshot_context"),
                str,
                "a directory path",
            ),
            expectations=root
            / self.typed(
                raw.get("expectations", "expectations.yaml"),
                (*at, "expectations"),
                str,
                "a file path",
            ),
            capture_context=root
            / self.typed(
                raw.get("capture_context", "images/capture"),
                (*at, "capture_context"),
                str,
                "a directory path",
            ),
        )

    def ca_bundle(self, setting: str | None, environ: Mapping[str, str]) -> Path | None:
        """Explicit env var, then matrix.yaml, then the host's own bundle; '' turns it off."""
        if CA_BUNDLE_ENV in environ:
            chosen, source = environ[CA_BUNDLE_ENV], f"${CA_BUNDLE_ENV}"
        elif setting is not None:
            chosen, source = setting, "settings.extra_ca_bundle"
        else:
            chosen, source = next(
                ((environ[k], f"${k}") for k in HOST_CA_ENVS if environ.get(k)), ("", "")
            )
        if not chosen:
            return None
        bundle = (self.path.parent / chosen) if not os.path.isabs(chosen) else Path(chosen)
        if not bundle.is_file():
            raise self.fail(
                ("settings", "extra_ca_bundle"), f"CA bundle {bundle} (from {source}) is not a file"
            )
        return bundle

    def tests(self, value: Any) -> tuple[TestCase, ...]:
        at: Path_ = ("tests",)
        if not isinstance(value, dict):
            raise self.fail(at, f"expected a mapping of test cases, got {_type_name(value)}")
        tests = []
        for key, body in value.items():
            name = self.name(key, (*at, str(key)), "test case")
            raw = self.mapping(body, (*at, name), ("timeout", "description"))
            tests.append(
                TestCase(
                    name=name,
                    timeout_s=self.positive(
                        raw.get("timeout", 30), (*at, name, "timeout"), float, "seconds"
                    ),
                    description=self.typed(
                        raw.get("description", ""), (*at, name, "description"), str, "a string"
                    ),
                )
            )
        return tuple(tests)

    def implementation(self, key: Any, body: Any, tests: tuple[str, ...]) -> Implementation:
        at: Path_ = ("implementations", str(key))
        name = self.name(key, at, "implementation")
        raw = self.mapping(
            body,
            at,
            (
                "build",
                "dockerfile",
                "image",
                "versions",
                "build_args",
                "roles",
                "server_command",
                "client_command",
                "description",
            ),
        )
        if ("build" in raw) == ("image" in raw):
            raise self.fail(
                at,
                "needs exactly one of 'build' (a directory) or 'image' "
                "(a prebuilt image reference)",
            )
        context, dockerfile = None, None
        if "build" in raw:
            context = self.path.parent / self.typed(
                raw["build"], (*at, "build"), str, "a directory path"
            )
            dockerfile = self.dockerfile(raw.get("dockerfile"), context, (*at, "dockerfile"))
        elif "dockerfile" in raw:
            raise self.fail((*at, "dockerfile"), "only meaningful with 'build'")
        image = (
            self.typed(raw["image"], (*at, "image"), str, "an image reference")
            if "image" in raw
            else None
        )
        roles = self.mapping(raw.get("roles"), (*at, "roles"), tuple(r.value for r in Role))
        if not roles:
            raise self.fail((*at, "roles"), "declare at least one of 'server' or 'client'")
        role_tests = {
            role: self.role_tests(roles.get(role.value), (*at, "roles", role.value), tests)
            for role in Role
        }

        def build_arg_key(key: str, where: Path_) -> None:
            if not BUILD_ARG_PATTERN.match(key):
                raise self.fail(where, f"{key!r} is not a valid build argument name")

        def version_key(key: str, where: Path_) -> None:
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", key):
                raise self.fail(where, f"{key!r} is not a valid component name")

        return Implementation(
            name=name,
            build_context=context,
            dockerfile=dockerfile,
            image=image,
            versions=self.string_map(raw.get("versions"), (*at, "versions"), version_key),
            build_args=self.string_map(raw.get("build_args"), (*at, "build_args"), build_arg_key),
            server_tests=role_tests[Role.SERVER],
            client_tests=role_tests[Role.CLIENT],
            server_command=self.command(raw.get("server_command"), (*at, "server_command")),
            client_command=self.command(raw.get("client_command"), (*at, "client_command"))
            or DEFAULT_CLIENT_COMMAND,
            description=self.typed(
                raw.get("description", ""), (*at, "description"), str, "a string"
            ),
        )

    def dockerfile(self, value: Any, context: Path, at: Path_) -> str | None:
        """The Dockerfile's path inside the context; None means the context's own Dockerfile."""
        if not context.is_dir():
            raise self.fail((*at[:-1], "build"), f"{context} is not a directory")
        if value is None:
            if not (context / "Dockerfile").is_file():
                raise self.fail((*at[:-1], "build"), f"{context} has no Dockerfile")
            return None
        path = (self.path.parent / self.typed(value, at, str, "a file path")).resolve()
        if not path.is_file():
            raise self.fail(at, f"{path} is not a file")
        if not path.is_relative_to(context.resolve()):
            raise self.fail(at, f"{path} is outside the build context {context}")
        return str(path.relative_to(context.resolve()))

    def role_tests(self, value: Any, at: Path_, tests: tuple[str, ...]) -> tuple[str, ...]:
        if value is None:
            return ()
        if value == "all":
            return tests
        if not isinstance(value, list):
            raise self.fail(at, f"expected a list of test cases or 'all', got {_type_name(value)}")
        seen: list[str] = []
        for index, item in enumerate(value):
            test = self.typed(item, (*at, index), str, "a test case name")
            if test not in tests:
                raise self.fail(
                    (*at, index),
                    f"unknown test case '{test}'"
                    f"{suggestion(test, tests)}; defined: {', '.join(tests)}",
                )
            if test in seen:
                raise self.fail((*at, index), f"test case '{test}' is listed twice")
            seen.append(test)
        return tuple(seen)

    def command(self, value: Any, at: Path_) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            parts = value.split()
        elif isinstance(value, list) and all(isinstance(p, str) for p in value):
            parts = list(value)
        else:
            raise self.fail(at, "expected a command: a string or a list of strings")
        if not parts:
            raise self.fail(at, "the command is empty")
        for part in parts:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(part) if f is not None]
            except ValueError as error:
                raise self.fail(at, f"bad placeholder in {part!r}: {error}") from None
            for field in fields:
                if field not in COMMAND_FIELDS:
                    raise self.fail(
                        at,
                        f"unknown placeholder {{{field}}}"
                        f"{suggestion(field, COMMAND_FIELDS)}; known: "
                        + ", ".join(f"{{{f}}}" for f in COMMAND_FIELDS),
                    )
        return tuple(parts)


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)
