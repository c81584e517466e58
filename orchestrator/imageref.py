"""Docker image references: checked once in the config, split the same way everywhere."""

from __future__ import annotations

import re

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    r"^(?:(?P<registry>(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::\d+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def is_valid(reference: str) -> bool:
    """Docker's reference grammar, e.g. `debian:trixie`, `host:5000/team/peer:1.2`."""
    found = _REFERENCE.match(reference)
    if not found:
        return False
    registry = found.group("registry")
    # Without a dot, a port or "localhost" the first part is a path component instead.
    return (
        registry is None
        or "." in registry
        or ":" in registry
        or registry == "localhost"
        or re.fullmatch(_COMPONENT, registry) is not None
    )


def split(reference: str) -> tuple[str, str]:
    """(repository, tag): the tag follows the last ':' after the last '/', default latest.

    `host:5000/x` has no tag; `host:5000/x:1.2` has tag 1.2; a digest reference is kept
    whole with an empty tag (pulled by digest).
    """
    if "@" in reference:
        return reference, ""
    name, colon, tag = reference.rpartition(":")
    if colon and "/" not in tag:
        return name, tag
    return reference, "latest"
