"""Find a Docker engine, or install and start one where that is safe to do unasked.

On a fresh Debian machine run as root (CI, a throwaway VM) there is no engine at
all; there we install Debian's docker.io and start dockerd in the background.
Anywhere else we only say how to start Docker: touching a user's system services
is not ours to do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import DockerException

from orchestrator.engine.host import run_logged
from orchestrator.errors import EngineUnavailable

DOCKERD_LOG = Path("/var/log/webrtc-interop/dockerd.log")
APT_LOG = Path("/var/log/webrtc-interop/apt.log")
START_TIMEOUT_S = 90.0
INSTALL_TIMEOUT_S = 900.0
HOW_TO_START = (
    "no Docker engine answers at {where}; start it (e.g. `sudo systemctl start docker`, "
    "or open Docker Desktop) and try again"
)

Say = Callable[[str], None]


def answering_client(max_pool_size: int, timeout: int) -> docker.DockerClient | None:
    """A client whose engine answered a ping, or None."""
    try:
        client = docker.from_env(max_pool_size=max_pool_size, timeout=timeout)
        if client.api.base_url.startswith("http+docker://"):
            # A local socket takes no proxy: requests would otherwise read the proxy
            # variables of the environment again for every call (a tenth of our CPU).
            client.api.trust_env = False
        client.ping()
    except DockerException:
        return None
    return client


def may_provision() -> bool:
    """Only root on Debian with the default local socket gets an engine installed for it."""
    return (
        os.geteuid() == 0
        and Path("/etc/debian_version").exists()
        and shutil.which("apt-get") is not None
        and not os.environ.get("DOCKER_HOST")
    )


def ensure_engine(say: Say, max_pool_size: int = 16, timeout: int = 120) -> docker.DockerClient:
    """Return a client of an answering engine, provisioning one if allowed."""
    client = answering_client(max_pool_size, timeout)
    if client is not None:
        return client
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not may_provision():
        raise EngineUnavailable(HOW_TO_START.format(where=where))
    if shutil.which("dockerd") is None:
        say("no Docker engine here: installing Debian's docker.io (about a minute)")
        install_docker_io()
    say(f"starting dockerd in the background (log: {DOCKERD_LOG})")
    process = start_dockerd()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        client = answering_client(max_pool_size, timeout)
        if client is not None:
            return client
        if process.poll() is not None:
            raise EngineUnavailable(
                f"dockerd exited with code {process.returncode} at start; see {DOCKERD_LOG}"
            )
        time.sleep(0.5)
    raise EngineUnavailable(
        f"dockerd did not answer within {START_TIMEOUT_S:.0f}s; see {DOCKERD_LOG}"
    )


def install_docker_io() -> None:
    run_logged(
        (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", "docker.io", "iptables"],
        ),
        APT_LOG,
        INSTALL_TIMEOUT_S,
        EngineUnavailable,
        "could not install docker.io",
    )


def start_dockerd() -> subprocess.Popen[bytes]:
    """Start dockerd detached from our session so it outlives this process and Ctrl-C."""
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with DOCKERD_LOG.open("ab") as log:
        return subprocess.Popen(
            ["dockerd"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
