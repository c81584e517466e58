"""Field validators shared by every section reader: one place that knows how to say
what is wrong with a value, where, and what was probably meant."""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.errors import ConfigError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SIZE_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$", re.IGNORECASE)
SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

At = tuple[str | int, ...]
T = TypeVar("T")
Number = TypeVar("Number", int, float)


def suggestion(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def type_name(value: Any) -> str:
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


@dataclass(frozen=True)
class Source:
    """A YAML file's path and the line of every key path in it, for located errors."""

    path: Path
    lines: dict[At, int]

    def fail(self, at: At, message: str) -> ConfigError:
        line = next(
            (self.lines[at[:n]] for n in range(len(at), -1, -1) if at[:n] in self.lines), None
        )
        where = f"{self.path}:{line}" if line else str(self.path)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).lstrip(".")
        return ConfigError(f"{where}: {dotted or 'top level'}: {message}")

    def relative(self, text: str) -> Path:
        """A path written in the file, relative to the file's folder."""
        return self.path.parent / text

    # -- shapes ---------------------------------------------------------------------

    def mapping(self, value: Any, at: At, allowed: Iterable[str]) -> dict[str, Any]:
        """A mapping whose keys are all among `allowed` (None reads as empty)."""
        allowed = tuple(allowed)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(at, f"expected a mapping, got {type_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(at, f"keys must be strings, got {key!r}")
            if key not in allowed:
                raise self.fail(
                    (*at, key),
                    f"unknown key{suggestion(key, allowed)}; allowed: " + ", ".join(allowed),
                )
        return value

    def typed(self, value: Any, at: At, kind: type[T], label: str) -> T:
        # bool is an int in Python; a YAML `yes` where a number belongs is a mistake.
        if isinstance(value, bool) and kind is not bool:
            raise self.fail(at, f"expected {label}, got a boolean")
        if kind is float and isinstance(value, int):
            return float(value)  # type: ignore[return-value]
        if not isinstance(value, kind):
            raise self.fail(at, f"expected {label}, got {type_name(value)}")
        return value

    def text(self, value: Any, at: At, label: str = "a string") -> str:
        return self.typed(value, at, str, label)

    def flag(self, value: Any, at: At) -> bool:
        return self.typed(value, at, bool, "true or false")

    def bounded(
        self, value: Any, at: At, kind: type[Number], low: Number, high: Number, unit: str = ""
    ) -> Number:
        """A number in [low, high]; `low` itself is excluded for seconds (0 s is no time)."""
        label = "seconds" if unit == "s" else ("an integer" if kind is int else "a number")
        number = self.typed(value, at, kind, label)
        exclusive = unit == "s" and low == 0
        if (number <= low if exclusive else number < low) or number > high:
            low_text = f"greater than {low:g}" if exclusive else f"at least {low:g}"
            raise self.fail(at, f"must be {low_text} and at most {high:g}{unit}, got {number:g}")
        return number

    def size(self, value: Any, at: At, low: int, high: int) -> int:
        """Bytes, written as a number or with a unit: 512m, 1g, 64k, 4096."""
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail(at, f"expected a size like 512m or 1g, got {type_name(value)}")
        found = SIZE_PATTERN.match(str(value).strip())
        if not found:
            raise self.fail(at, f"expected a size like 512m or 1g, got {value!r}")
        number = int(float(found.group(1)) * SIZE_UNITS[found.group(2).lower()])
        if not low <= number <= high:
            raise self.fail(at, f"must be between {_bytes(low)} and {_bytes(high)}, got {value}")
        return number

    def name(self, value: Any, at: At, what: str) -> str:
        text = self.typed(value, at, str, f"a {what} name")
        if not NAME_PATTERN.match(text):
            raise self.fail(
                at, f"{what} name {text!r} must be 1-40 of a-z, 0-9 and '-', starting alphanumeric"
            )
        return text

    def choice(self, value: Any, at: At, known: Iterable[str], what: str) -> str:
        """One of `known`, with the closest one suggested otherwise."""
        known = tuple(known)
        text = self.typed(value, at, str, f"a {what} name")
        if text not in known:
            raise self.fail(
                at, f"unknown {what} '{text}'{suggestion(text, known)}; known: {', '.join(known)}"
            )
        return text

    def names(self, value: Any, at: At, known: tuple[str, ...], what: str) -> tuple[str, ...]:
        """A list of names from `known` without repeats, or 'all' for every one."""
        if value is None:
            return ()
        if value == "all":
            return known
        if not isinstance(value, list):
            raise self.fail(at, f"expected a list of {what}s or 'all', got {type_name(value)}")
        seen: list[str] = []
        for index, item in enumerate(value):
            name = self.choice(item, (*at, index), known, what)
            if name in seen:
                raise self.fail((*at, index), f"{what} '{name}' is listed twice")
            seen.append(name)
        return tuple(seen)

    def string_map(
        self, value: Any, at: At, check_key: Callable[[str, At], None]
    ) -> tuple[tuple[str, str], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self.fail(at, f"expected a mapping of strings, got {type_name(value)}")
        pairs = []
        for key, item in value.items():
            check_key(str(key), (*at, str(key)))
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.fail((*at, str(key)), f"expected a string, got {type_name(item)}")
            pairs.append((str(key), str(item)))
        return tuple(pairs)

    def matching(self, pattern: re.Pattern[str], what: str) -> Callable[[str, At], None]:
        """A key checker for `string_map`: every key must match `pattern`."""

        def check(key: str, at: At) -> None:
            if not pattern.match(key):
                raise self.fail(at, f"{key!r} is not a valid {what}")

        return check

    def command(self, value: Any, at: At, fields: tuple[str, ...]) -> tuple[str, ...] | None:
        """A command as a string or list; `{placeholders}` must be among `fields`."""
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
                found = [f for _, f, _, _ in string.Formatter().parse(part) if f is not None]
            except ValueError as error:
                raise self.fail(at, f"bad placeholder in {part!r}: {error}") from None
            for field in found:
                if field not in fields:
                    raise self.fail(
                        at,
                        f"unknown placeholder {{{field}}}{suggestion(field, fields)}; known: "
                        + ", ".join(f"{{{f}}}" for f in fields),
                    )
        return tuple(parts)

    def context(self, directory: Path, at: At) -> Path:
        """A Docker build context: a directory with a Dockerfile."""
        if not directory.is_dir():
            raise self.fail(at, f"{directory} is not a directory")
        if not (directory / "Dockerfile").is_file():
            raise self.fail(at, f"{directory} is not a build context with a Dockerfile")
        return directory


def _bytes(number: int) -> str:
    for unit, size in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if number >= size and number % size == 0:
            return f"{number // size}{unit}"
    return str(number)
