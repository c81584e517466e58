"""Peer output is hostile text: whatever a peer prints or reports passes through here
before it becomes a reason, a version or a log excerpt in any report."""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean_line(text: str, limit: int = 300) -> str:
    """One printable line: escape sequences removed, control characters and line breaks
    made spaces, at most `limit` characters (an ellipsis marks a cut)."""
    text = ANSI.sub("", text)
    text = CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell: no markup, no HTML, no column breaks."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", clean_line(text, limit=len(text) + 1))
