"""`KEYLOG:` lines (contract section 5) from a stack that writes an NSS key log file.

OpenSSL-based stacks hand their DTLS secrets to a key-log callback; the Python peers
let it append to the file named by SSLKEYLOGFILE (the convention of browsers, curl and
Python's ssl module) and this module prints each new line of that file as it appears.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from .contract import verdict

POLL_S = 0.02  # a new secret is printed within this of being written


class KeylogFollower:
    """Prints the lines appended to one key log file, from a daemon thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="keylog", daemon=True).start()

    def _run(self) -> None:
        while True:
            self.flush()
            time.sleep(POLL_S)

    def flush(self) -> None:
        """Print every complete line not printed yet (also called before a verdict)."""
        with self._lock:
            try:
                with self.path.open("rb") as log:
                    log.seek(self._offset)
                    data = log.read()
            except FileNotFoundError:
                return
            complete = data[: data.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode("ascii", "replace").splitlines():
                if line.strip() and not line.startswith("#"):
                    verdict("KEYLOG", line.strip())


_followers: list[KeylogFollower] = []


def follow_keylog(path: str | None = None) -> KeylogFollower | None:
    """Follow SSLKEYLOGFILE (or path) if set."""
    path = path or os.environ.get("SSLKEYLOGFILE")
    if not path:
        return None
    follower = KeylogFollower(Path(path))
    _followers.append(follower)
    return follower


def flush_keylogs() -> None:
    """Print pending key log lines now, so that none comes after the verdict."""
    for follower in _followers:
        follower.flush()
