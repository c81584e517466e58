"""Consoles that never mangle what the tool prints: on a terminal, rich's usual
rendering; anywhere else (a log file, CI, `| tee`), lines as long as they are."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console

UNWRAPPED_WIDTH = 100_000  # wide enough that nothing is ever wrapped or cut


def console_for(stream: TextIO | None = None) -> Console:
    stream = stream or sys.stdout
    if stream.isatty():
        return Console(file=stream, highlight=False)
    return Console(file=stream, highlight=False, soft_wrap=True, width=UNWRAPPED_WIDTH, emoji=False)
