"""The scenarios with something between the peers: NAT routers, a STUN/TURN server, loss,
a narrow link, IPv6 only. Everything sits on the cell's one network (topology.py says
why); the peers run inside namespace holders that set their routes first, so each peer
reaches the other only the way the scenario allows. Addresses in the cell's /24:

  .10  client            .1   router A, private side    .65  router A, public side
  .70  server (public)   .130 server behind router B    .129 router B, private side
  .80  STUN/TURN server  .66  router B, public side     .254 the host (readiness probe)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from orchestrator.config import SERVER_PORT
from orchestrator.network.slots import Fresh, Networks
from orchestrator.network.tls import TURN_NAME, Authority
from orchestrator.network.tools import Tools
from orchestrator.network.topology import CellNetwork, CellScope, Wiring, ice_environment
from orchestrator.ports import (
    Attachment,
    Privileges,
)
from orchestrator.wire.endpoints import Endpoints

TURN_PORT, TURN_SECURE_PORT = 3478, 443
ROUTER_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.eth0.send_redirects": "0",
}


@dataclass(frozen=True)
class Plan:
    """What stands between the peers in one scenario."""

    client_nat: str | None = None  # "cone" (endpoint-independent) or "symmetric"
    server_nat: str | None = None
    drop_client_udp: bool = False  # a corporate network: only TCP gets out
    loss: float = 0.0  # random drop probability each way
    rate_kbit: int | None = None  # a bottleneck, each way
    stun: bool = False
    turn: str | None = None  # "udp", "tcp" or "tls"
    relay_only: bool = False
    ipv6: bool = False
    paths: frozenset[str] = frozenset()  # what may carry the traffic (empty: anything)
    environment: Mapping[str, str] = field(default_factory=dict)  # test parameters


NATTED = frozenset({"srflx", "prflx"})
RELAYED = frozenset({"relay"})
PLANS: dict[str, Plan] = {
    "nat-client": Plan(client_nat="cone", stun=True, paths=NATTED),
    "nat-both": Plan(client_nat="cone", server_nat="cone", stun=True, paths=NATTED),
    "nat-symmetric": Plan(
        client_nat="symmetric", server_nat="symmetric", stun=True, turn="udp", paths=RELAYED
    ),
    "turn-udp": Plan(client_nat="cone", turn="udp", relay_only=True, paths=RELAYED),
    "turn-tcp": Plan(
        client_nat="cone", drop_client_udp=True, turn="tcp", relay_only=True, paths=RELAYED
    ),
    "turn-tls": Plan(
        client_nat="cone", drop_client_udp=True, turn="tls", relay_only=True, paths=RELAYED
    ),
    "lossy": Plan(client_nat="cone", loss=0.10, environment={"MIN_ECHOES": "50"}),
    "narrow": Plan(client_nat="cone", rate_kbit=150, environment={"MEDIA_DURATION": "15"}),
    "ipv6": Plan(ipv6=True, paths=frozenset({"host"})),
}


@dataclass(frozen=True)
class Routed:
    scenario: str
    image: str  # the netkit image: routers, holders, coturn
    authority: Authority | None = None  # for turn-tls
    networks: Networks = field(default_factory=Fresh)
    keep: bool = False

    @property
    def plan(self) -> Plan:
        return PLANS[self.scenario]

    def up(self, scope: CellScope) -> Wiring:
        plan = self.plan
        slot = self.networks.take(scope, ipv6=plan.ipv6)
        network = slot.network
        setup = slot.setup(
            self.scenario,
            lambda tools: self._build(scope, tools, network),
        )
        credentials = turn_credentials(setup.secret, scope.prefix)
        servers = _ice_servers(plan, plan.turn, network.host(80), *credentials)
        wiring = replace(
            setup.wiring,
            environment={
                **ice_environment(self.scenario, servers, plan.relay_only),
                **setup.wiring.environment,
            },
        )
        if plan.drop_client_udp:  # the server's own network lets UDP through
            udp = _ice_servers(plan, "udp", network.host(80), *credentials)
            own = ice_environment(self.scenario, udp, plan.relay_only)
            wiring = replace(wiring, server_environment={"ICE_SERVERS": own["ICE_SERVERS"]})
        return wiring

    def _build(self, scope: CellScope, stack: ExitStack, network: CellNetwork) -> Setup:
        """The scenario's tool containers on `network`, up and ready."""
        plan = self.plan
        builder = Builder.on(scope, stack, network, self.image, self.keep)
        secret = secrets.token_hex(16)
        extra: dict[str, str] = dict(plan.environment)
        if plan.stun or plan.turn:
            tls = None
            if plan.turn in ("tcp", "tls") and self.authority is not None:
                tls = self.authority.issue(network.host(80))
            if plan.turn == "tls" and self.authority is not None:
                extra["ICE_CA_PEM"] = self.authority.pem
            builder.turn_server(secret, tls)
            # `turns:` needs a name (Firefox refuses TLS to a bare address): peers in a
            # holder's namespace share its /etc/hosts, and Docker's DNS knows the alias.
            builder.hosts = ((TURN_NAME, network.host(80)),)
        if plan.ipv6:
            return Setup(_ipv6_wiring(builder, network, plan, extra), secret)
        if plan.client_nat:
            builder.router("a", 65, 1, 0, plan.client_nat, plan)
        if plan.server_nat:
            builder.router("b", 66, 129, 128, plan.server_nat, plan, forward_to=130)
        server_host = 130 if plan.server_nat else 70
        client = builder.holder("client", 10, client_routes(network, plan))
        server = builder.holder("server", server_host, server_routes(network, plan))
        builder.wait_ready()
        public = network.host(66) if plan.server_nat else network.host(70)
        endpoints = Endpoints(
            server=network.host(server_host),
            client=network.host(10),
            server_public=frozenset({network.host(66)}) if plan.server_nat else frozenset(),
            client_public=frozenset({network.host(65)}) if plan.client_nat else frozenset(),
            relay=frozenset({network.host(80)}) if plan.turn else frozenset(),
            client_leg_hidden=plan.drop_client_udp,
            relay_transport=plan.turn or "",
            paths=plan.paths,
        )
        wiring = Wiring(
            server=Attachment(join=server),
            client=Attachment(join=client),
            server_url=f"http://{public}:{SERVER_PORT}/offer",
            server_host=public,
            probe=(network.host(server_host), SERVER_PORT),
            bridge=network.bridge,
            endpoints=endpoints,
            environment=extra,
        )
        return Setup(wiring, secret)


@dataclass(frozen=True)
class Setup:
    """A scenario built on a network: the wiring every cell on it shares, and the TURN
    server's secret, from which each cell gets credentials of its own."""

    wiring: Wiring
    secret: str


def turn_credentials(secret: str, cell: str, valid_s: int = 3600) -> tuple[str, str]:
    """TURN REST API credentials (coturn's use-auth-secret): a username that names the
    cell and expires, and its HMAC-SHA1 under the server's secret as the password."""
    username = f"{int(time.time()) + valid_s}:{hashlib.sha256(cell.encode()).hexdigest()[:16]}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


IceServers = list[dict[str, str | list[str]]]


def _ice_servers(
    plan: Plan, turn: str | None, address: str, user: str, password: str
) -> IceServers:
    servers: IceServers = []
    if plan.stun:
        servers.append({"urls": [f"stun:{address}:{TURN_PORT}"]})
    if turn:
        url = {
            "udp": f"turn:{address}:{TURN_PORT}?transport=udp",
            "tcp": f"turn:{address}:{TURN_SECURE_PORT}?transport=tcp",
            "tls": f"turns:{TURN_NAME}:{TURN_SECURE_PORT}?transport=tcp",
        }[turn]
        servers.append({"urls": [url], "username": user, "credential": password})
    return servers


def client_routes(network: CellNetwork, plan: Plan) -> list[str]:
    if not plan.client_nat:
        return _only(network, "0/26")
    return [*_only(network, "0/26"), f"ip route replace default via {network.host(1)}"]


def server_routes(network: CellNetwork, plan: Plan) -> list[str]:
    if plan.server_nat:
        return [*_only(network, "128/26"), f"ip route replace default via {network.host(129)}"]
    if plan.client_nat:
        # A public host has a default route (Firefox gathers nothing without one); the
        # only router is the client's NAT, which forwards nothing unsolicited inward.
        return [*_only(network, "64/26"), f"ip route replace default via {network.host(65)}"]
    return [*_only(network, "64/26"), "ip route del default || true"]


def _only(network: CellNetwork, segment: str) -> list[str]:
    """Routes for one /26 of the cell (and the host, for the readiness probe) instead of
    the whole /24 Docker gave: the rest of the cell is reachable only through a router."""
    base = str(network.subnet.network_address).rsplit(".", 1)[0]
    start, length = segment.split("/")
    return [
        f"ip route del {network.subnet} dev eth0",
        f"ip route add {base}.{start}/{length} dev eth0",
        f"ip route add {network.host(254)}/32 dev eth0",
    ]


def _ipv6_wiring(
    builder: Builder, network: CellNetwork, plan: Plan, extra: dict[str, str]
) -> Wiring:
    """Both peers on the dual-stack network, IPv4 between them removed: only the host's
    address stays reachable over IPv4 (for the readiness probe)."""
    v4 = [
        f"ip route del {network.subnet} dev eth0",
        f"ip route add {network.host(254)}/32 dev eth0",
        "ip route del default || true",
    ]
    shows = "ip -6 -o addr show dev eth0 scope link | awk '{print \"link-local\", $4}'"
    client = builder.holder("client", 10, [*v4, shows], ipv6=True)
    server = builder.holder("server", 70, [*v4, shows], ipv6=True)
    builder.wait_ready()
    server6, client6 = network.host6(70), network.host6(10)
    linked = builder.link_local()
    return Wiring(
        server=Attachment(join=server),
        client=Attachment(join=client),
        server_url=f"http://[{server6}]:{SERVER_PORT}/offer",
        server_host=server6,
        probe=(network.host(70), SERVER_PORT),
        bridge=network.bridge,
        endpoints=Endpoints(
            server=server6,
            client=client6,
            paths=plan.paths,
            server_also=linked.get("server-netns", frozenset()),
            client_also=linked.get("client-netns", frozenset()),
        ),
        environment={**ice_environment("ipv6"), **extra},
    )


class Builder(Tools):
    """Starts the scenario's tool containers in the cell's ExitStack."""

    def router(
        self,
        side: str,
        public: int,
        private: int,
        segment: int,
        nat: str,
        plan: Plan,
        forward_to: int | None = None,
    ) -> None:
        commands = _router_commands(self.network, public, private, segment, nat, plan, forward_to)
        self.start(
            f"router-{side}",
            ["hold", *commands],
            public,
            Privileges(("NET_ADMIN",), ROUTER_SYSCTLS),
        )

    def turn_server(self, secret: str, tls: tuple[bytes, bytes] | None) -> None:
        address = self.network.host(80)
        command = [
            "turnserver", "-n", "--no-cli", "--log-file=stdout", "--simple-log",
            f"--listening-ip={address}", f"--relay-ip={address}",
            f"--listening-port={TURN_PORT}", "--min-port=49152", "--max-port=65535",
            "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=interop.test",
            "--fingerprint", "--no-multicast-peers",
            "--pidfile=/tmp/turnserver.pid", "--userdb=/tmp/turndb",
            "--allowed-peer-ip=198.18.0.0-198.19.255.255",
        ]  # fmt: skip
        files = {}
        if tls:
            # 443 takes TURN over TCP and over TLS alike (coturn tells them apart).
            files = {"/etc/turn/cert.pem": tls[0], "/etc/turn/key.pem": tls[1]}
            command += [
                f"--tls-listening-port={TURN_SECURE_PORT}",
                "--cert=/etc/turn/cert.pem",
                "--pkey=/etc/turn/key.pem",
                "--no-dtls",
            ]
        else:
            command += ["--no-tls", "--no-dtls"]
        self.start(
            "turn",
            command,
            80,
            Privileges(("NET_BIND_SERVICE",)),
            ready=b"Total General servers",  # once its listeners are up
            files=files,
            # Resolvers that skip /etc/hosts (Chromium's for TURN) ask Docker's DNS.
            aliases=(TURN_NAME,),
        )


def _router_commands(
    network: CellNetwork,
    public: int,
    private: int,
    segment: int,
    nat: str,
    plan: Plan,
    forward_to: int | None,
) -> list[str]:
    inside = f"{str(network.subnet.network_address).rsplit('.', 1)[0]}.{segment}/26"
    snat = f"SNAT --to-source {network.host(public)}" + (
        " --random-fully" if nat == "symmetric" else ""
    )
    commands = [
        f"ip addr add {network.host(private)}/24 dev eth0",
        f"iptables -t nat -A POSTROUTING -s {inside} ! -d {inside} -j {snat}",
        # Unsolicited packets to the public address are dropped before conntrack
        # confirms an entry for them: such an entry would take the port a later
        # outgoing flow must keep, and the NAT would stop mapping endpoint-independently
        # (what breaks hole punching on a plain Linux NAT).
        "iptables -A INPUT -m conntrack --ctstate NEW -j DROP",
        "iptables -P FORWARD DROP",
        "iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        f"iptables -A FORWARD -s {inside} -j ACCEPT",
    ]
    if forward_to is not None:
        target = network.host(forward_to)
        commands += [
            f"iptables -t nat -A PREROUTING -d {network.host(public)} -p tcp "
            f"--dport {SERVER_PORT} -j DNAT --to-destination {target}:{SERVER_PORT}",
            f"iptables -A FORWARD -d {target} -p tcp --dport {SERVER_PORT} -j ACCEPT",
        ]
    if plan.drop_client_udp:
        commands.append(f"iptables -I FORWARD -s {inside} -p udp -j DROP")
    if plan.loss:
        commands.append(
            f"iptables -I FORWARD -m statistic --mode random --probability {plan.loss} -j DROP"
        )
    if plan.rate_kbit:
        rate = f"{plan.rate_kbit}kbit"
        commands += [
            "tc qdisc add dev eth0 root handle 1: htb default 20",
            f"tc class add dev eth0 parent 1: classid 1:10 htb rate {rate} ceil {rate}",
            f"tc class add dev eth0 parent 1: classid 1:20 htb rate {rate} ceil {rate}",
            "tc qdisc add dev eth0 parent 1:10 handle 10: pfifo limit 50",
            "tc qdisc add dev eth0 parent 1:20 handle 20: pfifo limit 50",
            f"tc filter add dev eth0 parent 1: protocol ip u32 match ip dst {inside} flowid 1:10",
        ]
    return commands
