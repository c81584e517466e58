"""YAML text → plain data plus the line of every key path. The only YAML reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from orchestrator.config.fields import At, Source
from orchestrator.errors import ConfigError


def read_source(path: Path, what: str = "file") -> tuple[Any, Source]:
    """The file's data and a Source for located errors; any problem is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read ({error})") from None
    data, lines = parse_yaml(text, path)
    return data, Source(path, lines)


def parse_yaml(text: str, path: Path) -> tuple[Any, dict[At, int]]:
    """Plain data plus the line of every key path; duplicate keys are errors, not overwrites."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    lines: dict[At, int] = {}
    if node is None:
        return None, lines
    try:
        return _plain(node, (), lines, path), lines
    except yaml.YAMLError as error:  # e.g. a bad !!tag inside an otherwise valid file
        raise ConfigError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None


def _plain(node: yaml.Node, at: At, lines: dict[At, int], path: Path) -> Any:
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
