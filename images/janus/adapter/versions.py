"""Prints what this image really installed, for /interop/versions.json.

Read from dpkg and from the programs themselves, so nothing depends on the
architecture's library paths.
"""

import json
import platform
import re
import subprocess

import aiohttp

PACKAGES = ("libnice10", "libusrsctp2", "libsrtp2-1", "libssl3t64", "liblua5.3-0", "lua-cjson")


def dpkg_version(package: str) -> str | None:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or None


def janus_version() -> str:
    out = subprocess.run(["janus", "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Janus version: \d+ \(([^)]+)\)", out)
    return match.group(1) if match else out.strip()


# "janus" is the Debian package version, the one matrix.yaml pins (JANUS_VERSION).
versions = {"janus": dpkg_version("janus"), "janus-upstream": janus_version()}
versions.update({f"deb:{p}": v for p in PACKAGES if (v := dpkg_version(p))})
versions.update({"aiohttp": aiohttp.__version__, "python": platform.python_version()})
print(json.dumps(versions))
