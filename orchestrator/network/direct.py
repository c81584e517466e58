"""The `direct` scenario: both peers on one network, host candidates only."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.config import SERVER_PORT
from orchestrator.network.slots import Fresh, Networks
from orchestrator.network.topology import SERVER_ALIASES, CellScope, Wiring, ice_environment
from orchestrator.ports import Attachment
from orchestrator.wire.endpoints import Endpoints


@dataclass(frozen=True)
class Direct:
    """Both peers on one network, host candidates only: the original matrix."""

    networks: Networks = field(default_factory=Fresh)

    def up(self, scope: CellScope) -> Wiring:
        network = self.networks.take(scope).network
        server, client = network.host(70), network.host(10)
        return Wiring(
            server=Attachment(network.name, aliases=SERVER_ALIASES, ipv4=server),
            client=Attachment(network.name, ipv4=client),
            server_url=f"http://{SERVER_ALIASES[0]}:{SERVER_PORT}/offer",
            server_host=SERVER_ALIASES[0],
            probe=(server, SERVER_PORT),
            bridge=network.bridge,
            endpoints=Endpoints(server=server, client=client),
            environment=ice_environment("direct"),
        )
