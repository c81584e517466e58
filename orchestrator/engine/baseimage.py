"""Make the upstream base image (e.g. `debian:trixie`) exist, with or without a registry.

Our Dockerfiles say `FROM debian:trixie` so they build unchanged anywhere Docker Hub
is reachable. Where it is not, we fill the tag in ourselves with debootstrap, so the
offline route is a fallback of the tooling rather than a fork of every Dockerfile.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from orchestrator.engine.daemon import may_provision
from orchestrator.engine.host import run_logged
from orchestrator.errors import EngineError

DEBOOTSTRAP_TIMEOUT_S = 900.0
DEBIAN_SOURCES = """\
Types: deb
URIs: {mirror}
Suites: {suite} {suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

Say = Callable[[str], None]


def ensure_upstream_base(
    client: docker.DockerClient, reference: str, mirror: str, log_path: Path, say: Say
) -> str:
    """Make `reference` available locally; return how: 'local', 'pulled' or 'bootstrapped'."""
    try:
        client.images.get(reference)
        return "local"
    except ImageNotFound:
        pass
    repository, _, tag = reference.partition(":")
    try:
        client.images.pull(repository, tag=tag or "latest")
        return "pulled"
    except APIError as error:
        say(f"cannot pull {reference} ({_first_line(error.explanation)}); bootstrapping it")
    if repository not in ("debian", "docker.io/library/debian") or not tag:
        raise EngineError(
            f"{reference} is not available and only debian:<suite> can be bootstrapped locally"
        )
    bootstrap_debian(client, reference, suite=tag, mirror=mirror, log_path=log_path)
    return "bootstrapped"


def bootstrap_debian(
    client: docker.DockerClient, reference: str, suite: str, mirror: str, log_path: Path
) -> None:
    """debootstrap a minbase rootfs and `docker import` it under `reference`."""
    debootstrap = _debootstrap_binary(log_path)
    with tempfile.TemporaryDirectory(prefix="webrtc-interop-rootfs-") as workdir:
        rootfs = Path(workdir) / "rootfs"
        _run([debootstrap, "--variant=minbase", suite, str(rootfs), mirror], log_path)
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
            DEBIAN_SOURCES.format(mirror=mirror, suite=suite)
        )
        tarball = Path(workdir) / "rootfs.tar"
        _run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], log_path)
        repository, _, tag = reference.partition(":")
        try:
            client.api.import_image_from_file(
                str(tarball),
                repository=repository,
                tag=tag,
                changes=['CMD ["bash"]', "LABEL org.webrtc-interop.bootstrapped=debootstrap"],
            )
        except APIError as error:
            raise EngineError(
                f"docker import of {reference} failed: {error.explanation}"
            ) from error


def _debootstrap_binary(log_path: Path) -> str:
    found = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
    )
    if found:
        return found
    if not may_provision():
        raise EngineError(
            "the base image cannot be pulled and debootstrap is not installed; "
            "install debootstrap (apt-get install debootstrap) or make the registry reachable"
        )
    run_logged(
        (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", "debootstrap"],
        ),
        log_path,
        DEBOOTSTRAP_TIMEOUT_S,
        EngineError,
        "could not install debootstrap",
    )
    return "/usr/sbin/debootstrap"


def _run(argv: list[str], log_path: Path) -> None:
    run_logged(
        [argv], log_path, DEBOOTSTRAP_TIMEOUT_S, EngineError, "could not bootstrap the base image"
    )


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no detail"
