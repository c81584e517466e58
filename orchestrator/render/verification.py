"""A cell's wire evidence as the few lines a maintainer reads first (verification.txt)."""

from __future__ import annotations

from orchestrator.model import Verification
from orchestrator.render.evidence import evidence_lines


def verification_text(wire: Verification, test: str) -> str:
    return "\n".join([f"test case: {test}", *evidence_lines(wire), ""])
