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
    paths: frozenset[str] = frozenset()  # what may carry the traffic (empty: anything)

    def faces(self, of_client: bool) -> frozenset[str]:
        """The sources a peer's traffic legitimately arrives from at the other peer: its
        own address, or (behind a NAT) its NAT's public one, or the relay."""
        own, public = (
            (self.client, self.client_public) if of_client else (self.server, self.server_public)
        )
        return (public or frozenset({own})) | self.relay
