"""One symbol, label and colour per outcome, shared by every renderer."""

from __future__ import annotations

from orchestrator.model import Outcome

EMOJI = {
    Outcome.PASSED: "✅",
    Outcome.FAILED: "❌",
    Outcome.TIMEOUT: "⏱️",
    Outcome.UNSUPPORTED: "➖",
    Outcome.SERVER_ERROR: "💥",
    Outcome.BUILD_ERROR: "🧱",
    Outcome.INFRA_ERROR: "⚠️",
    Outcome.UNVERIFIED: "❓",
    Outcome.FLAKY: "🔁",
    Outcome.NOT_RUN: "⏸️",
}

# Terminal glyphs are single-width so grid columns stay aligned in every terminal.
GLYPH = {
    Outcome.PASSED: ("✔", "bold green"),
    Outcome.FAILED: ("✘", "bold red"),
    Outcome.TIMEOUT: ("T", "bold yellow"),
    Outcome.UNSUPPORTED: ("-", "dim"),
    Outcome.SERVER_ERROR: ("S", "bold magenta"),
    Outcome.BUILD_ERROR: ("B", "bold magenta"),
    Outcome.INFRA_ERROR: ("!", "bold magenta"),
    Outcome.UNVERIFIED: ("?", "bold yellow"),
    Outcome.FLAKY: ("~", "bold yellow"),
    Outcome.NOT_RUN: ("_", "dim"),
}

MEANING = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "failed",
    Outcome.TIMEOUT: "timeout (client killed)",
    Outcome.UNSUPPORTED: "not supported (declared, or client exit 127)",
    Outcome.SERVER_ERROR: "server error (exited, or never listened)",
    Outcome.BUILD_ERROR: "image failed to build",
    Outcome.INFRA_ERROR: "docker or orchestrator error",
    Outcome.UNVERIFIED: "client exited 0 but the capture does not show it (counts as failed)",
    Outcome.FLAKY: "failed, then passed on a retry (counts as failed)",
    Outcome.NOT_RUN: "not run: the run stopped before this cell",
}
