"""Commands the docker layer runs on the host itself: apt-get, debootstrap, tar."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from orchestrator.errors import InteropError


def run_logged(
    commands: Sequence[Sequence[str]],
    log_path: Path,
    timeout_s: float,
    error: type[InteropError],
    what: str,
) -> None:
    """Run each command in turn, all output appended to `log_path`; the first failure
    raises `error` naming `what` could not be done and where the log is."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with log_path.open("ab") as log:
        for argv in commands:
            try:
                subprocess.run(
                    list(argv),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    check=True,
                    timeout=timeout_s,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as cause:
                raise error(f"{what}: `{' '.join(argv)}` failed; see {log_path}") from cause
