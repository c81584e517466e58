"""The cell's environment (docs/contract.md section 2), read once by the wrapper.

The page cannot read environment variables, so the wrapper parses them here and serves
the result to the page as JSON (`GET /config`). Invalid values are reported at start-up
instead of being guessed around: a peer that silently ignored a malformed ICE_SERVERS
would test something other than what the cell declares.
"""

import json
import os
import secrets
from dataclasses import asdict, dataclass

PAYLOAD_MIN, PAYLOAD_MAX = 600, 1000  # contract 2.1
PRINTABLE = range(0x21, 0x7F)  # '!' .. '~'


class BadEnvironment(Exception):
    pass


@dataclass(frozen=True)
class Environment:
    role: str
    test: str
    server_url: str
    payload: str  # P as an ASCII string
    payload_given: bool  # False: TEST_PAYLOAD was unset and P was made up here
    ice_servers: list
    ice_transport_policy: str
    ice_ca_pem: str
    media_duration: float
    min_echoes: int

    def for_page(self) -> dict:
        """What the page needs (the CA is installed by the wrapper, not the page)."""
        config = asdict(self)
        del config["ice_ca_pem"]
        return config


def make_payload() -> str:
    """A payload by the contract's rule, for a peer started without TEST_PAYLOAD."""
    length = PAYLOAD_MIN + secrets.randbelow(PAYLOAD_MAX - PAYLOAD_MIN + 1)
    return "".join(chr(secrets.choice(PRINTABLE)) for _ in range(length))


def parse_payload(raw: str) -> str:
    try:
        data = bytes.fromhex(raw)
    except ValueError as error:
        raise BadEnvironment(f"TEST_PAYLOAD is not hex: {error}") from error
    if not all(byte in PRINTABLE for byte in data):
        raise BadEnvironment("TEST_PAYLOAD has bytes outside '!'..'~'")
    return data.decode("ascii")


def parse_ice_servers(raw: str) -> list:
    """A JSON array of RTCIceServer dictionaries, passed to the page unchanged."""
    try:
        servers = json.loads(raw)
    except ValueError as error:
        raise BadEnvironment(f"ICE_SERVERS is not JSON: {error}") from error
    if not isinstance(servers, list) or not all(
        isinstance(server, dict) and "urls" in server for server in servers
    ):
        raise BadEnvironment(f"ICE_SERVERS is not an array of RTCIceServer objects: {raw[:200]}")
    return servers


def number(name: str, default: str, kind: type) -> float | int:
    raw = os.environ.get(name, "") or default
    try:
        value = kind(raw)
    except ValueError as error:
        raise BadEnvironment(f"{name}={raw!r} is not a number") from error
    if value < 0:
        raise BadEnvironment(f"{name}={raw!r} is negative")
    return value


def read(role: str, server_url: str = "") -> Environment:
    raw_payload = os.environ.get("TEST_PAYLOAD", "")
    policy = os.environ.get("ICE_TRANSPORT_POLICY", "") or "all"
    if policy not in ("all", "relay"):
        raise BadEnvironment(f"ICE_TRANSPORT_POLICY={policy!r} is neither 'all' nor 'relay'")
    return Environment(
        role=role,
        test=os.environ.get("TEST_CASE", "datachannel"),
        server_url=server_url or os.environ.get("SERVER_URL", ""),
        payload=parse_payload(raw_payload) if raw_payload else make_payload(),
        payload_given=bool(raw_payload),
        ice_servers=parse_ice_servers(os.environ.get("ICE_SERVERS", "") or "[]"),
        ice_transport_policy=policy,
        ice_ca_pem=os.environ.get("ICE_CA_PEM", ""),
        media_duration=number("MEDIA_DURATION", "0", float),
        min_echoes=int(number("MIN_ECHOES", "100", int)),
    )
