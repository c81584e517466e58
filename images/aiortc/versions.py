"""Print the versions this image really installed, for the orchestrator to record."""

import json
import platform
from importlib.metadata import version

NAMES = ("aiortc", "aioice", "aiohttp", "av", "pylibsrtp", "cryptography")
print(json.dumps({"python": platform.python_version(), **{n: version(n) for n in NAMES}}))
