"""Relays a browser's TLS key log as `KEYLOG:` lines (docs/contract.md section 5).

Firefox's NSS writes the secrets of every (D)TLS session, WebRTC's DTLS included, to
the file named by SSLKEYLOGFILE, in the NSS key log format the contract asks for. The
wrapper points that variable at a file of its own and prints each line as it appears,
so the orchestrator can decrypt the capture. Comment lines (`# ...`) are skipped.
"""

import asyncio
import sys
from pathlib import Path

POLL_S = 0.05


class KeyLogTail:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._task: asyncio.Task | None = None
        self.lines = 0

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._follow())

    def drain(self) -> None:
        """Print every complete line written so far."""
        try:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                data = file.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        for raw in complete:
            line = raw.decode("ascii", errors="replace").strip()
            if line and not line.startswith("#"):
                self.lines += 1
                print(f"KEYLOG: {line}", flush=True)

    async def _follow(self) -> None:
        while True:
            self.drain()
            await asyncio.sleep(POLL_S)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.drain()
        sys.stdout.flush()
