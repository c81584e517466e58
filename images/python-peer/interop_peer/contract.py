"""The peer contract's fixed parts (docs/contract.md): exit codes, environment, output lines.

Every Python peer reads its cell's configuration through `Env.from_environ()` and prints
its verdict through `verdict()`, so the lines the orchestrator parses are written in one
place only.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .messages import make_payload

EXIT_PASSED, EXIT_FAILED, EXIT_UNSUPPORTED = 0, 1, 127
PORT = 8080
POST_RETRY_S = 10.0  # clients retry the offer POST this long while the server starts
DEFAULT_TIMEOUT_S = 30.0
BUDGET_SHARE = 0.8  # a client gives its verdict within this share of TEST_TIMEOUT

# The test cases of contract section 8, in its order.
TESTS = (
    "peerconnection",
    "datachannel",
    "datachannel-large",
    "datachannel-binary",
    "datachannel-unordered",
    "datachannel-negotiated",
    "datachannel-many",
    "datachannel-server-open",
    "datachannel-bulk",
    "audio",
    "video",
    "trickle",
    "ice-restart",
    "renegotiation",
    "bundle-av-data",
    "reconnect",
)


class TestFailed(Exception):
    """The test's condition was not observed; the message becomes the `FAIL:` reason."""


class Unsupported(Exception):
    """The stack cannot do this; the message becomes the `UNSUPPORTED:` reason (exit 127)."""


@dataclass(frozen=True)
class IceServer:
    """One RTCIceServer of ICE_SERVERS, its `urls` always a tuple."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class Env:
    """A cell's configuration, as contract section 2 gives it to both peers."""

    role: str = "client"
    test_case: str = "datachannel"
    server_url: str = "http://server:8080/offer"
    timeout_s: float = DEFAULT_TIMEOUT_S
    payload: bytes = field(default_factory=make_payload)
    payload_given: bool = False
    ice_servers: tuple[IceServer, ...] = ()
    ice_transport_policy: str = "all"
    ice_ca_pem: str | None = None
    min_echoes: int = 100
    media_duration_s: float = 0.0
    scenario: str = "direct"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Env:
        """Parse the contract's variables; raise ValueError naming the malformed one."""
        environ = os.environ if environ is None else environ
        hex_payload = environ.get("TEST_PAYLOAD", "")
        policy = environ.get("ICE_TRANSPORT_POLICY", "all") or "all"
        if policy not in ("all", "relay"):
            raise ValueError(f"ICE_TRANSPORT_POLICY must be 'all' or 'relay', not {policy!r}")
        return cls(
            role=environ.get("ROLE", "client"),
            test_case=environ.get("TEST_CASE", "datachannel"),
            server_url=environ.get("SERVER_URL", "http://server:8080/offer"),
            timeout_s=_number(environ, "TEST_TIMEOUT", DEFAULT_TIMEOUT_S),
            payload=parse_payload(hex_payload) if hex_payload else make_payload(),
            payload_given=bool(hex_payload),
            ice_servers=parse_ice_servers(environ.get("ICE_SERVERS", "") or "[]"),
            ice_transport_policy=policy,
            ice_ca_pem=environ.get("ICE_CA_PEM") or None,
            min_echoes=int(_number(environ, "MIN_ECHOES", 100)),
            media_duration_s=_number(environ, "MEDIA_DURATION", 0.0),
            scenario=environ.get("NETWORK_SCENARIO", "direct"),
        )

    @property
    def budget_s(self) -> float:
        """How long a client may take: its verdict must be in the log before the kill."""
        return BUDGET_SHARE * self.timeout_s

    @property
    def text(self) -> str:
        """P as a string (it is printable ASCII, contract section 2.1)."""
        return self.payload.decode("ascii")


def process_age() -> float:
    """Seconds since this process started (Linux /proc), 0 if unknown.

    The orchestrator's TEST_TIMEOUT clock starts with the container, so a client's own
    budget must subtract its start-up (imports of a media stack take seconds under load).
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "")
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} is not a number: {raw!r}") from None


def parse_payload(hex_text: str, name: str = "TEST_PAYLOAD") -> bytes:
    """P's bytes from hex; refuse anything outside contract section 2.1.

    `name` is where the hex came from (the variable, or a reused server's `payload`
    query parameter, section 1.1), so that the error names it.
    """
    try:
        payload = bytes.fromhex(hex_text)
    except ValueError:
        raise ValueError(f"{name} is not hex") from None
    if not 600 <= len(payload) <= 1000 or any(not 0x21 <= b <= 0x7E for b in payload):
        raise ValueError(f"{name} is not 600-1000 printable ASCII bytes ({len(payload)})")
    return payload


def parse_ice_servers(text: str) -> tuple[IceServer, ...]:
    """ICE_SERVERS, a JSON array of RTCIceServer dictionaries."""
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ValueError(f"ICE_SERVERS is not JSON: {error}") from None
    if not isinstance(raw, list):
        raise ValueError("ICE_SERVERS is not a JSON array")
    servers = []
    for entry in raw:
        urls = entry.get("urls") if isinstance(entry, dict) else None
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not all(isinstance(url, str) for url in urls):
            raise ValueError(f"ICE_SERVERS entry without urls: {entry!r}")
        servers.append(IceServer(tuple(urls), entry.get("username"), entry.get("credential")))
    return tuple(servers)


def verdict(kind: str, text: str) -> None:
    """Print one contract output line (`PASS`, `FAIL`, `NEGOTIATED`, ...) on its own line.

    One write with its newline: `print` writes the newline separately, so a log line from
    another thread (the key log follower's) could land between text and newline.
    """
    one_line = " ".join(str(text).split())
    sys.stdout.write(f"{kind}: {one_line}\n")
    sys.stdout.flush()


def setup_logging() -> None:
    """Log to stdout next to the verdict lines; PEER_DEBUG=1 turns on the stacks' debug logs."""
    level = logging.DEBUG if os.environ.get("PEER_DEBUG") else logging.INFO
    logging.basicConfig(
        stream=sys.stdout,
        level=level,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
