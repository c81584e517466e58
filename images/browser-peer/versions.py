"""Print the versions this image really installed, for the orchestrator to record.

Usage: versions.py <browser> [requested version]. Browsers come from Debian, whose
mirror only keeps the current package: a requested version is documentation, and a
different installed version is reported (on stderr) rather than failing the build.
"""

import json
import platform
import re
import subprocess
import sys
from importlib.metadata import version

import browsers


def main() -> None:
    browser = browsers.BROWSERS[sys.argv[1]]
    requested = sys.argv[2] if len(sys.argv) > 2 else ""
    # e.g. "Chromium 150.0.7815.65 built on Debian ..." / "Mozilla Firefox 140.5.0esr"
    banner = subprocess.run(
        [browser.binary, "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**browser.env, "HOME": "/tmp", "PATH": "/usr/bin:/bin"},
    )
    match = re.search(r"\d+(\.\d+)+\w*", banner.stdout)
    if not match:
        sys.exit(
            f"cannot read the version from {browser.binary} --version: "
            f"{banner.stdout!r} {banner.stderr!r}"
        )

    def deb(name: str) -> str:
        return subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True, check=True
        ).stdout

    package = deb(browser.package)
    if requested and not match.group(0).startswith(requested):
        print(
            f"warning: {browser.package} {requested} was requested, {package} is what Debian "
            "has (its mirror keeps only the current version)",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                browser.package: match.group(0),
                f"{browser.package}-deb": package,
                **{f"{name}-deb": deb(name) for name in browser.sidecar_packages},
                "python": platform.python_version(),
                "aiohttp": version("aiohttp"),
            }
        )
    )


if __name__ == "__main__":
    main()
