"""The `direct` scenario: both peers on one network, host candidates only."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field

from orchestrator.config import SERVER_PORT
from orchestrator.network.slots import Fresh, Networks
from orchestrator.network.tools import Tools
from orchestrator.network.topology import (
    SERVER_ALIASES,
    CellNetwork,
    CellScope,
    Wiring,
    ice_environment,
)
from orchestrator.ports import Attachment
from orchestrator.wire.endpoints import Endpoints

SERVER_HOST, CLIENT_HOST = 70, 10


@dataclass(frozen=True)
class Direct:
    """Both peers on one network, host candidates only: the original matrix.

    With a holder image, each peer runs inside a namespace holder kept on the slot's
    network from cell to cell: a peer container then costs no network set-up of its own
    (Docker's per-container veth, DNS resolver and iptables work, about 0.2 core-seconds
    each on a 2-core machine)."""

    networks: Networks = field(default_factory=Fresh)
    holder_image: str | None = None
    keep: bool = False

    def up(self, scope: CellScope) -> Wiring:
        slot = self.networks.take(scope)
        network = slot.network
        server, client = network.host(SERVER_HOST), network.host(CLIENT_HOST)
        if self.holder_image is None:
            attachments = (
                Attachment(network.name, aliases=SERVER_ALIASES, ipv4=server),
                Attachment(network.name, ipv4=client),
            )
        else:
            attachments = slot.setup("direct", lambda tools: self._holders(scope, tools, network))
        return Wiring(
            server=attachments[0],
            client=attachments[1],
            server_url=f"http://{SERVER_ALIASES[0]}:{SERVER_PORT}/offer",
            server_host=SERVER_ALIASES[0],
            probe=(server, SERVER_PORT),
            bridge=network.bridge,
            endpoints=Endpoints(server=server, client=client),
            environment=ice_environment("direct"),
        )

    def _holders(
        self, scope: CellScope, stack: ExitStack, network: CellNetwork
    ) -> tuple[Attachment, Attachment]:
        assert self.holder_image is not None
        tools = Tools.on(scope, stack, network, self.holder_image, self.keep)
        server = tools.holder("server", SERVER_HOST, [], aliases=SERVER_ALIASES)
        client = tools.holder("client", CLIENT_HOST, [])
        tools.wait_ready()
        return Attachment(join=server), Attachment(join=client)
