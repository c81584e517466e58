"""matrix.yaml → frozen dataclasses; the only package that reads YAML.

Every problem is reported as one line: the file, the line, the key path, what is wrong
and, for a misspelt key or name, the closest valid one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from orchestrator.config.expectations import load_expectations
from orchestrator.config.fields import At, suggestion
from orchestrator.config.model import (
    DEFAULT_CLIENT_COMMAND,
    DEFAULT_SCENARIO,
    SERVER_PORT,
    ExpectationRule,
    Implementation,
    Matrix,
    Scenario,
    Settings,
    TestCase,
)
from orchestrator.config.sections import read_implementations, read_scenarios, read_tests
from orchestrator.config.settings import CA_BUNDLE_ENV, read_settings
from orchestrator.config.source import read_source
from orchestrator.errors import ConfigError
from orchestrator.imageref import is_valid

SECTIONS = ("settings", "tests", "scenarios", "implementations")

__all__ = [
    "CA_BUNDLE_ENV",
    "DEFAULT_CLIENT_COMMAND",
    "DEFAULT_SCENARIO",
    "SERVER_PORT",
    "ExpectationRule",
    "Implementation",
    "Matrix",
    "Scenario",
    "Settings",
    "TestCase",
    "load_matrix",
    "suggestion",
    "with_images",
]


def load_matrix(path: Path, environ: Mapping[str, str] | None = None) -> Matrix:
    """Read and validate a matrix file (and its expectations); ConfigError on any problem."""
    environ = os.environ if environ is None else environ
    data, source = read_source(path, "matrix file")
    top = source.mapping(data, (), SECTIONS)
    for required in ("tests", "implementations"):
        if not top.get(required):
            raise source.fail((), f"missing required section '{required}'")
    settings = read_settings(source, top.get("settings"), environ)
    tests = read_tests(source, top["tests"])
    test_names = tuple(t.name for t in tests)
    scenarios = read_scenarios(source, top.get("scenarios"), test_names)
    implementations = read_implementations(
        source,
        top["implementations"],
        test_names,
        tuple(s.name for s in scenarios),
        settings.limits,
    )
    tools: list[tuple[bool, Path, At]] = [
        (settings.capture, settings.capture_context, ("settings", "capture_context")),
        (settings.screenshot, settings.screenshot_context, ("settings", "screenshot_context")),
        (
            any(i.build_context for i in implementations),
            settings.base_context,
            ("settings", "base_context"),
        ),
    ]
    for wanted, context, at in tools:
        if wanted:
            source.context(context, at)
    matrix = Matrix(path, settings, tests, implementations, scenarios)
    expectations = settings.expectations
    if not expectations.exists() and not settings.expectations_required:
        return matrix
    return replace(matrix, expectations=load_expectations(expectations, matrix))


def with_images(matrix: Matrix, overrides: Iterable[tuple[str, str]]) -> Matrix:
    """The matrix with some implementations run from a given image instead of their build:
    how a library's CI puts its development build into the grid (`run --image NAME=REF`)."""
    replaced = dict(overrides)
    for name, reference in replaced.items():
        if name not in matrix.implementation_names:
            raise ConfigError(
                f"--image: unknown implementation '{name}'"
                f"{suggestion(name, matrix.implementation_names)}"
            )
        if not is_valid(reference):
            raise ConfigError(f"--image: {reference!r} is not a valid image reference")
    return replace(
        matrix,
        implementations=tuple(
            replace(i, image=replaced[i.name], build_context=None, dockerfile=None)
            if i.name in replaced
            else i
            for i in matrix.implementations
        ),
    )
