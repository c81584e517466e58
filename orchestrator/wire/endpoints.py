"""Who is who on the wire: the addresses a topology gave the peers and everything
between them. The capture is read through this, one hop per direction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    server: str  # the server's own address
    client: str
    server_public: frozenset[str] = frozenset()  # the server's NAT as the client sees it
    client_public: frozenset[str] = frozenset()
    relay: frozenset[str] = frozenset()  # the TURN server's addresses
    client_leg_hidden: bool = False  # the client reaches the relay over TCP/TLS only
    relay_transport: str = ""  # how the client must reach the relay: "udp", "tcp", "tls"
    paths: frozenset[str] = frozenset()  # what may carry the traffic (empty: anything)
    server_also: frozenset[str] = frozenset()  # more addresses of its own (IPv6 link-local)
    client_also: frozenset[str] = frozenset()

    def own(self, of_client: bool) -> frozenset[str]:
        """Every address of the peer's own interface."""
        if of_client:
            return frozenset({self.client}) | self.client_also
        return frozenset({self.server}) | self.server_also

    def faces(self, of_client: bool) -> frozenset[str]:
        """The sources a peer's traffic legitimately arrives from at the other peer: its
        own addresses, or (behind a NAT) its NAT's public one, or the relay."""
        public = self.client_public if of_client else self.server_public
        return (public or self.own(of_client)) | self.relay

    def sender(self, src: str, dst: str) -> str | None:
        """'client' or 'server' for a packet seen at `src` → `dst`, counted once: where it
        reaches the receiving peer, or, when the client's leg to the relay is hidden in
        TCP/TLS, where the server's packet leaves toward the relay. None for any other
        hop (the same packet before a NAT, or between a peer and the relay)."""
        if dst in self.own(of_client=False) and src in self.faces(of_client=True):
            return "client"
        if self.client_leg_hidden:
            if src in self.own(of_client=False) and dst in self.relay:
                return "server"
        elif dst in self.own(of_client=True) and src in self.faces(of_client=False):
            return "server"
        return None
