"""Command line: `webrtc-interop <command>` or `python -m orchestrator <command>`.

Every subcommand is one row of COMMANDS: its arguments and its handler. Only `main()`
turns errors into exit codes (README, "Exit codes"); user mistakes print one line,
never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from orchestrator import __version__
from orchestrator.cli_commands import COMMANDS, EXIT_OK
from orchestrator.console import console_for
from orchestrator.errors import ConfigError, InternalError, InteropError, Interrupted

__all__ = ["EXIT_OK", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a ConfigError like any other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webrtc-interop",
        description="Run WebRTC implementations against each other in Docker.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-f",
        "--file",
        type=Path,
        default=Path("matrix.yaml"),
        help="the matrix file (default: ./matrix.yaml)",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help)
        command.arguments(sub)
        sub.set_defaults(handler=command.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    console, errors = console_for(sys.stdout), console_for(sys.stderr)
    previous = _stop_on_signals()
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args, console)
        return code
    except InteropError as error:
        errors.print(f"error: {error}", markup=False)
        return error.exit_code
    except KeyboardInterrupt:
        errors.print("interrupted", markup=False)
        return Interrupted.exit_code
    except Exception as error:  # a bug of ours: one line, the traceback only on request
        errors.print(f"internal error: {type(error).__name__}: {error}", markup=False)
        if os.environ.get("WEBRTC_INTEROP_DEBUG"):
            errors.print(traceback.format_exc(), markup=False)
        return InternalError.exit_code
    finally:
        _restore(previous)


def _stop_on_signals() -> dict[signal.Signals, Any]:
    """SIGINT and SIGTERM both stop a run in an orderly way, even when the process was
    started in the background by a shell that set SIGINT to "ignore"."""
    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, _interrupt)
    return previous


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
