"""Writes Janus's configuration for one cell from the contract's environment.

Janus reads its STUN/TURN servers and interface choice only from janus.jcfg at start,
so the file is generated when the container starts (into /tmp: the image's root
filesystem is read-only). Janus holds one STUN and one TURN server: the first of each
kind in ICE_SERVERS is used, the rest are reported as ignored.
"""

import json
import os
import socket
from dataclasses import dataclass, field
from urllib.parse import parse_qs

CONF_DIR = "/tmp/janus"
MODULES = "/opt/janus-interop"  # plugins/, transports/, events/, loggers/ (symlinks)
WS_PORT = 8188
SDP_HELPERS = "/usr/share/janus/lua"  # janus-sdp.lua, shipped with Janus
ECHO_SCRIPT = "/opt/janus-interop/echo.lua"


@dataclass
class IceConfig:
    """What Janus will use of ICE_SERVERS / ICE_TRANSPORT_POLICY."""

    stun: tuple | None = None  # (host, port)
    turn: dict | None = None  # host, port, type (udp|tcp|tls), user, pwd
    relay_only: bool = False
    ignored: list = field(default_factory=list)  # (url, why)


def _split_url(url: str):
    """Splits 'turn:host:port?transport=tcp' into (scheme, host, port, query)."""
    scheme, _, rest = url.partition(":")
    rest, _, query = rest.partition("?")
    if rest.startswith("["):  # IPv6 literal
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = rest.partition(":")
    default = 5349 if scheme.lower() in ("turns", "stuns") else 3478
    return scheme.lower(), host, int(port) if port else default, parse_qs(query)


def parse_ice(servers_json: str, policy: str) -> IceConfig:
    """Maps RTCIceServer objects onto Janus's single STUN and single TURN slot."""
    ice = IceConfig(relay_only=(policy == "relay"))
    for server in json.loads(servers_json or "[]"):
        urls = server.get("urls", [])
        for url in [urls] if isinstance(urls, str) else urls:
            scheme, host, port, query = _split_url(url)
            if scheme == "stun":
                if ice.stun is None:
                    ice.stun = (host, port)
                else:
                    ice.ignored.append((url, "Janus takes one STUN server"))
            elif scheme in ("turn", "turns"):
                transport = query.get("transport", ["udp"])[0].lower()
                kind = "tls" if scheme == "turns" else transport
                if ice.turn is None:
                    ice.turn = {
                        "host": host,
                        "port": port,
                        "type": kind,
                        "user": server.get("username", ""),
                        "pwd": server.get("credential", ""),
                    }
                else:
                    ice.ignored.append((url, "Janus takes one TURN server"))
            else:
                ice.ignored.append((url, "unknown scheme"))
    return ice


def cell_interfaces() -> list[str]:
    """The container's network interfaces except loopback: the cell networks."""
    return sorted(name for _, name in socket.if_nameindex() if name != "lo")


def _quote(value) -> str:
    """A libconfig string literal."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def nat_section(ice: IceConfig, interfaces: list[str]) -> list[str]:
    """The nat: block: no STUN/TURN unless given, candidates on the cell interfaces only."""
    lines = [
        "full_trickle = false",  # answers carry every candidate (non-trickle)
        "ice_lite = false",
        "ice_tcp = false",  # Janus allows ICE-TCP only together with ICE-Lite
        "ignore_unreachable_ice_server = true",
        'ice_ignore_list = ""',  # nothing is ignored by name; the enforce list decides
    ]
    if interfaces:
        lines.append(f"ice_enforce_list = {_quote(','.join(interfaces))}")
    if ice.stun:
        lines += [f"stun_server = {_quote(ice.stun[0])}", f"stun_port = {ice.stun[1]}"]
    if ice.turn:
        turn = ice.turn
        lines += [
            f"turn_server = {_quote(turn['host'])}",
            f"turn_port = {turn['port']}",
            f"turn_type = {_quote(turn['type'])}",
            f"turn_user = {_quote(turn['user'])}",
            f"turn_pwd = {_quote(turn['pwd'])}",
        ]
    if ice.relay_only:
        lines.append("allow_force_relay = true")
    return lines


def janus_jcfg(ice: IceConfig, interfaces: list[str]) -> str:
    """janus.jcfg: only the modules of this image, logs to stdout without colours."""
    general = [
        f"configs_folder = {_quote(CONF_DIR)}",
        f"plugins_folder = {_quote(MODULES + '/plugins')}",
        f"transports_folder = {_quote(MODULES + '/transports')}",
        f"events_folder = {_quote(MODULES + '/events')}",
        f"loggers_folder = {_quote(MODULES + '/loggers')}",
        "log_to_stdout = true",
        f"debug_level = {int(os.environ.get('JANUS_DEBUG_LEVEL', '4'))}",
        "debug_timestamps = true",
        "debug_colors = false",
        "session_timeout = 60",
        'server_name = "webrtc-interop"',
    ]
    media = ["ipv6 = true", "ipv6_linklocal = false"]  # IPv6 candidates where the cell has it
    blocks = {
        "general": general,
        "certificates": [],
        "media": media,
        "nat": nat_section(ice, interfaces),
        "plugins": [],
        "transports": [],
        "loggers": [],
        "events": ["broadcast = false"],
    }
    return "".join(_block(name, body) for name, body in blocks.items())


def _block(name: str, body: list[str]) -> str:
    inner = "".join(f"\t{line}\n" for line in body)
    return f"{name}: {{\n{inner}}}\n"


def write_all(ice: IceConfig, interfaces: list[str]) -> str:
    """Writes every file Janus reads; returns the path of janus.jcfg."""
    os.makedirs(CONF_DIR, exist_ok=True)
    files = {
        "janus.jcfg": janus_jcfg(ice, interfaces),
        "janus.transport.websockets.jcfg": (
            _block(
                "general",
                [
                    'json = "compact"',
                    "ws = true",
                    f"ws_port = {WS_PORT}",
                    'ws_ip = "127.0.0.1"',
                    "wss = false",
                ],
            )
            + _block("admin", ["admin_ws = false", "admin_wss = false"])
        ),
        "janus.plugin.lua.jcfg": _block(
            "general", [f"path = {_quote(SDP_HELPERS)}", f"script = {_quote(ECHO_SCRIPT)}"]
        ),
    }
    for name, text in files.items():
        with open(os.path.join(CONF_DIR, name), "w", encoding="utf-8") as f:
            f.write(text)
    return os.path.join(CONF_DIR, "janus.jcfg")
