"""Print the versions this image really installed, for the orchestrator to record.

Usage: versions.py [requested GStreamer version]. Debian's mirror keeps only the current
trixie packages: a requested version is documentation, and a different installed one is
reported on stderr rather than failing the build (the orchestrator warns as well).
"""

import json
import platform
import subprocess
import sys
from importlib.metadata import version

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

PACKAGES = ("gstreamer1.0-plugins-bad", "gstreamer1.0-nice", "libssl3t64", "python3-gi")


def deb(name: str) -> str:
    return subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True, check=True
    ).stdout


def main() -> None:
    Gst.init(None)
    gstreamer = ".".join(str(part) for part in Gst.version()[:3])
    requested = sys.argv[1] if len(sys.argv) > 1 else ""
    if requested and gstreamer != requested:
        print(
            f"warning: GStreamer {requested} was requested, Debian installed {gstreamer}",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "gstreamer": gstreamer,
                "libnice": deb("libnice10").split("-")[0],
                **{f"{name}-deb": deb(name) for name in PACKAGES},
                "python": platform.python_version(),
                "aiohttp": version("aiohttp"),
            }
        )
    )


if __name__ == "__main__":
    main()
