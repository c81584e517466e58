"""Print the versions this image really installed, for the orchestrator to record."""

import json
import platform
from importlib.metadata import version

from OpenSSL import SSL

NAMES = ("aiortc", "aioice", "aiohttp", "av", "pylibsrtp", "cryptography", "pyOpenSSL")
print(
    json.dumps(
        {
            "python": platform.python_version(),
            **{name.lower(): version(name) for name in NAMES},
            "openssl": SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode(),
        }
    )
)
