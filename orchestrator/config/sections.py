"""The `tests:`, `scenarios:` and `implementations:` sections."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.config.fields import At, Source, suggestion, type_name
from orchestrator.config.model import (
    DEFAULT_CLIENT_COMMAND,
    DEFAULT_SCENARIO,
    Implementation,
    Scenario,
    TestCase,
)
from orchestrator.config.settings import read_limits
from orchestrator.imageref import is_valid
from orchestrator.model import Role
from orchestrator.network.kinds import SCENARIO_KINDS
from orchestrator.ports import Limits
from orchestrator.wire.rules import RULES

COMMAND_FIELDS = ("server_url", "server_host", "test")
BUILD_ARG_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COMPONENT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
# Tags the project gives its own images (<prefix>/<name>:latest): not implementation names.
RESERVED_NAMES = ("base", "capture", "screenshot", "netkit")
IMPLEMENTATION_KEYS = (
    "build",
    "dockerfile",
    "image",
    "versions",
    "build_args",
    "roles",
    "server_command",
    "client_command",
    "description",
    "limits",
    "default",
    "unsupported_scenarios",
    "contract",
    "reuse_server",
    "heavy",
)
CONTRACTS = ("webrtc-interop", "webrtc-echoes")
MAX_TEST_TIMEOUT_S = 1800.0


def read_tests(source: Source, value: Any) -> tuple[TestCase, ...]:
    at: At = ("tests",)
    if not isinstance(value, dict):
        raise source.fail(at, f"expected a mapping of test cases, got {type_name(value)}")
    tests = []
    for key, body in value.items():
        name = source.name(key, (*at, str(key)), "test case")
        here = (*at, name)
        if name not in RULES:
            raise source.fail(
                here,
                f"test case '{name}' has no evidence rule{suggestion(name, RULES)}: add what the "
                "wire must show to orchestrator/wire/rules.py",
            )
        raw = source.mapping(body, here, ("timeout", "description", "default", "light"))
        tests.append(
            TestCase(
                name=name,
                timeout_s=source.bounded(
                    raw.get("timeout", 30), (*here, "timeout"), float, 0, MAX_TEST_TIMEOUT_S, "s"
                ),
                description=source.text(raw.get("description", ""), (*here, "description")),
                default=source.flag(raw.get("default", True), (*here, "default")),
                light=source.flag(raw.get("light", False), (*here, "light")),
            )
        )
    return tuple(tests)


def read_scenarios(source: Source, value: Any, tests: tuple[str, ...]) -> tuple[Scenario, ...]:
    """Which network scenarios exist in this matrix; `direct` always does (every test)."""
    at: At = ("scenarios",)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise source.fail(at, f"expected a mapping of scenarios, got {type_name(value)}")
    scenarios = {DEFAULT_SCENARIO: Scenario(DEFAULT_SCENARIO, "one ideal network", tests)}
    for key, body in value.items():
        name = source.choice(key, (*at, str(key)), SCENARIO_KINDS, "scenario")
        here = (*at, name)
        raw = source.mapping(body, here, ("description", "tests", "default", "default_tests"))
        runs = source.names(raw.get("tests", "all"), (*here, "tests"), tests, "test case")
        default_tests = None
        if "default_tests" in raw:
            default_tests = source.names(
                raw["default_tests"], (*here, "default_tests"), runs, "test case of this scenario"
            )
        scenarios[name] = Scenario(
            name=name,
            description=source.text(
                raw.get("description", SCENARIO_KINDS[name]), (*here, "description")
            ),
            tests=runs,
            default=source.flag(raw.get("default", True), (*here, "default")),
            default_tests=default_tests,
        )
    return tuple(scenarios.values())


def read_implementations(
    source: Source,
    value: Any,
    tests: tuple[str, ...],
    scenarios: tuple[str, ...],
    limits: Limits,
) -> tuple[Implementation, ...]:
    if not isinstance(value, dict):
        raise source.fail(("implementations",), f"expected a mapping, got {type_name(value)}")
    return tuple(
        _implementation(source, key, body, tests, scenarios, limits) for key, body in value.items()
    )


def _implementation(
    source: Source,
    key: Any,
    body: Any,
    tests: tuple[str, ...],
    scenarios: tuple[str, ...],
    limits: Limits,
) -> Implementation:
    at: At = ("implementations", str(key))
    name = source.name(key, at, "implementation")
    if name in RESERVED_NAMES:
        raise source.fail(
            at, f"'{name}' is the name of one of the tool's own images; choose another name"
        )
    raw = source.mapping(body, at, IMPLEMENTATION_KEYS)
    context, dockerfile, image = _origin(source, raw, at)
    roles = source.mapping(raw.get("roles"), (*at, "roles"), tuple(r.value for r in Role))
    if not roles:
        raise source.fail((*at, "roles"), "declare at least one of 'server' or 'client'")
    role_tests = {
        role: source.names(roles.get(role.value), (*at, "roles", role.value), tests, "test case")
        for role in Role
    }

    def known_scenario(scenario: str, where: At) -> None:
        source.choice(scenario, where, scenarios, "scenario")

    refusals = source.string_map(
        raw.get("unsupported_scenarios"), (*at, "unsupported_scenarios"), known_scenario
    )
    return Implementation(
        name=name,
        build_context=context,
        dockerfile=dockerfile,
        image=image,
        versions=source.string_map(
            raw.get("versions"),
            (*at, "versions"),
            source.matching(COMPONENT_PATTERN, "component name"),
        ),
        build_args=source.string_map(
            raw.get("build_args"),
            (*at, "build_args"),
            source.matching(BUILD_ARG_PATTERN, "build argument name"),
        ),
        server_tests=role_tests[Role.SERVER],
        client_tests=role_tests[Role.CLIENT],
        server_command=source.command(
            raw.get("server_command"), (*at, "server_command"), COMMAND_FIELDS
        ),
        client_command=source.command(
            raw.get("client_command"), (*at, "client_command"), COMMAND_FIELDS
        )
        or DEFAULT_CLIENT_COMMAND,
        description=source.text(raw.get("description", ""), (*at, "description")),
        limits=read_limits(source, raw.get("limits"), (*at, "limits"), limits),
        default=source.flag(raw.get("default", True), (*at, "default")),
        unsupported_scenarios=refusals,
        contract=source.choice(
            raw.get("contract", CONTRACTS[0]), (*at, "contract"), CONTRACTS, "contract"
        ),
        reuse_server=source.flag(raw.get("reuse_server", False), (*at, "reuse_server")),
        heavy=source.flag(raw.get("heavy", False), (*at, "heavy")),
    )


def _origin(source: Source, raw: dict[str, Any], at: At) -> tuple[Any, str | None, str | None]:
    """Where the image comes from: a build context (and Dockerfile), or a prebuilt image."""
    if ("build" in raw) == ("image" in raw):
        raise source.fail(
            at, "needs exactly one of 'build' (a directory) or 'image' (a prebuilt image reference)"
        )
    if "image" in raw:
        if "dockerfile" in raw:
            raise source.fail((*at, "dockerfile"), "only meaningful with 'build'")
        image = source.text(raw["image"], (*at, "image"), "an image reference")
        if not is_valid(image):
            raise source.fail((*at, "image"), f"{image!r} is not a valid image reference")
        return None, None, image
    context = source.relative(source.text(raw["build"], (*at, "build"), "a directory path"))
    if not context.is_dir():
        raise source.fail((*at, "build"), f"{context} is not a directory")
    if "dockerfile" not in raw:
        if not (context / "Dockerfile").is_file():
            raise source.fail((*at, "build"), f"{context} has no Dockerfile")
        return context, None, None
    path = source.relative(
        source.text(raw["dockerfile"], (*at, "dockerfile"), "a file path")
    ).resolve()
    if not path.is_file():
        raise source.fail((*at, "dockerfile"), f"{path} is not a file")
    if not path.is_relative_to(context.resolve()):
        raise source.fail((*at, "dockerfile"), f"{path} is outside the build context {context}")
    return context, str(path.relative_to(context.resolve())), None
