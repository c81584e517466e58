"""The network scenarios a cell can run in; their names are part of the interface."""

from __future__ import annotations

SCENARIO_KINDS: dict[str, str] = {
    "direct": "both peers on one network, host candidates only",
    "nat-client": "the client behind a NAT (endpoint-independent mapping), STUN on offer",
    "nat-both": "both peers behind their own NAT; signalling through a port forward; STUN",
    "nat-symmetric": "both peers behind port-randomising NATs: only the TURN relay works",
    "turn-udp": "relay-only policy; TURN over UDP 3478",
    "turn-tcp": "relay-only policy; the client's network drops UDP; TURN over TCP 443",
    "turn-tls": "relay-only policy; the client's network drops UDP; TURN over TLS 443",
    "lossy": "10% random packet loss each way between the peers",
    "narrow": "a 150 kbit/s bottleneck between the peers",
    "ipv6": "the peers reach each other over IPv6 only",
}
