"""What the aiortc server and client share: contract constants and logging."""

import logging
import os
import sys

from aiortc import RTCConfiguration

EXIT_PASSED, EXIT_FAILED, EXIT_UNSUPPORTED = 0, 1, 127
PORT = 8080

# No STUN/TURN unless a test gives one: aiortc otherwise asks a public STUN server.
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])

log = logging.getLogger("peer")


def setup_logging() -> None:
    level = logging.DEBUG if os.environ.get("PEER_DEBUG") else logging.INFO
    logging.basicConfig(
        stream=sys.stdout, level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
