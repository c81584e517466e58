"""The image-facing half of the Docker adapter: build, find, pull, save and load images."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.images import Image
from docker.utils.build import create_archive, exclude_paths
from requests.exceptions import RequestException

from orchestrator.engine.baseimage import ensure_upstream_base
from orchestrator.engine.cells import file_from_container
from orchestrator.engine.errors import Health, translate, unavailable
from orchestrator.errors import EngineError, ImageBuildError
from orchestrator.imageref import split
from orchestrator.ports import BuildSpec

Say = Callable[[str], None]
DIGEST_LABEL = "org.webrtc-interop.build-digest"  # the sources an image was built from
IMAGE_TRANSFER_TIMEOUT_S = 900  # one save or load of every image of a run
# What a builder says when a registry or package source cannot be reached at all.
UNREACHABLE = re.compile(
    r"no such host|dial tcp|connection refused|i/o timeout|network is unreachable|"
    r"TLS handshake timeout|Temporary failure resolving|Could not resolve|"
    r"pull access denied|manifest unknown|failed to resolve|Unable to connect",
    re.IGNORECASE,
)


class DockerImages:
    client: docker.DockerClient
    health: Health

    def ensure_upstream_base(self, reference: str, mirror: str, log_path: Path, say: Say) -> str:
        return ensure_upstream_base(self.client, reference, mirror, log_path, say)

    def build(
        self, spec: BuildSpec, log_path: Path, timeout_s: float, on_step: Callable[[str], None]
    ) -> str:
        """Build `spec`; return the image id.

        The whole build log goes to `log_path` as it streams (kept on failure: the error
        names it); `on_step` gets each `Step n/m` line so a long build shows progress.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        files = _context_files(spec.context)
        digest = self._digest(spec, files)
        current = self._built_from(spec.tag, digest)
        if current is not None:
            log_path.write_text(f"{spec.tag}: already built from these sources ({digest})\n")
            return current
        labels = {**spec.labels, DIGEST_LABEL: digest}
        with (
            _context_archive(spec.context, files, spec.extra_files) as archive,
            log_path.open("w") as log,
        ):
            try:
                stream = self.client.api.build(
                    fileobj=archive,
                    custom_context=True,
                    dockerfile=spec.dockerfile,
                    tag=spec.tag,
                    buildargs=dict(spec.buildargs),
                    labels=labels,
                    cache_from=list(spec.cache_from) or None,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    timeout=int(timeout_s),
                )
                image_id = _follow_build(stream, log, time.monotonic() + timeout_s, on_step)
            except (APIError, DockerException, RequestException) as error:
                gone = unavailable(error)
                if gone is not None:
                    raise gone from None
                log.write(f"ERROR: {error}\n")
                raise _build_error(str(error), log_path) from error
        image_id = image_id or self.image_id(spec.tag)
        if image_id is None:
            raise ImageBuildError(f"the builder reported no image (log: {log_path})")
        return image_id

    def _digest(self, spec: BuildSpec, files: list[str]) -> str:
        """What the build depends on: the context's files, the Dockerfile, the build
        arguments and labels, and the images the arguments name (the base)."""
        hashed = hashlib.sha256()
        named = {
            key: self.image_id(value)
            for key, value in spec.buildargs.items()
            if key.endswith("IMAGE")
        }
        recipe = [spec.dockerfile, sorted(spec.buildargs.items()), sorted(spec.labels.items())]
        hashed.update(json.dumps([*recipe, sorted(named.items())]).encode())
        for name in files:
            hashed.update(f"\0{name}\0".encode())
            with contextlib.suppress(OSError):  # not a regular file: its name counts
                hashed.update((spec.context / name).read_bytes())
        for name, text in sorted(spec.extra_files.items()):
            hashed.update(f"\0{name}\0{text}".encode())
        return hashed.hexdigest()

    def _built_from(self, reference: str, digest: str) -> str | None:
        """The image's id if it was built from exactly these sources: Docker would only
        find every step in its cache, after reading the whole context."""
        image = self._image(reference)
        if image is None:
            return None
        labels = image.attrs.get("Config", {}).get("Labels") or {}
        return str(image.id) if labels.get(DIGEST_LABEL) == digest else None

    def image_id(self, reference: str) -> str | None:
        image = self._image(reference)
        return None if image is None else str(image.id)

    def _image(self, reference: str) -> Image | None:
        try:
            return self.client.images.get(reference)
        except ImageNotFound:
            return None
        except (DockerException, RequestException) as error:
            raise translate(error, f"inspect image {reference}") from None

    def save_images(self, references: list[str], path: Path) -> None:
        """One tar of several images (shared layers once), like `docker save a b c`."""
        # docker-py's public get_image takes a single name; the endpoint takes several.
        api: Any = self.client.api
        try:
            with self.health.guard(f"save images to {path}"):
                # Docker 20.10 exports every layer before the first byte: no 30-s API timeout.
                response = api._get(
                    api._url("/images/get"),
                    params={"names": references},
                    stream=True,
                    timeout=IMAGE_TRANSFER_TIMEOUT_S,
                )
                api._raise_for_status(response)
                with path.open("wb") as tarball:
                    for chunk in response.iter_content(chunk_size=2 << 20):
                        tarball.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def load_images(self, path: Path) -> list[str]:
        """Load a tar written by `save_images`; return the tags it brought."""
        with self.health.guard(f"load images from {path}"), path.open("rb") as tarball:
            api: Any = self.client.api  # load_image is untyped in the stubs
            response = api._post(
                api._url("/images/load"),
                data=tarball,
                stream=True,
                timeout=IMAGE_TRANSFER_TIMEOUT_S,
            )
            events = list(api._stream_helper(response, decode=True))
        failures = [e["error"] for e in events if "error" in e]
        if failures:
            raise EngineError(f"cannot load images from {path}: {failures[0]}")
        return [
            e["stream"].split("Loaded image: ", 1)[1].strip()
            for e in events
            if "Loaded image: " in e.get("stream", "")
        ]

    def pull(self, reference: str) -> str | None:
        """Pull a prebuilt image; None when the registry cannot provide it."""
        repository, tag = split(reference)
        try:
            return str(self.client.images.pull(repository, tag=tag or None).id)
        except (APIError, DockerException) as error:
            gone = unavailable(error)
            if gone is not None:
                raise gone from None
            return None

    def read_json_from_image(self, reference: str, path: str) -> dict[str, Any] | None:
        """A JSON file baked into an image, read without running it (None if absent)."""
        with self.health.guard(f"read {path} from {reference}"):
            container = self.client.containers.create(reference, command=["true"])
        try:
            content = file_from_container(container, path)
            data = json.loads(content) if content is not None else None
        except (NotFound, APIError, ValueError, tarfile.TarError):
            return None
        finally:
            with contextlib.suppress(DockerException, RequestException):
                container.remove(force=True)
        return data if isinstance(data, dict) else None


def _follow_build(
    stream: Iterator[Mapping[str, Any]], log: Any, deadline: float, on_step: Callable[[str], None]
) -> str | None:
    image_id = None
    for chunk in stream:
        if "stream" in chunk:
            text = chunk["stream"]
            log.write(text)
            log.flush()
            if text.startswith("Step "):
                on_step(text.strip())
        if "error" in chunk:
            log.write(f"ERROR: {chunk['error']}\n")
            raise _build_error(chunk["error"], Path(log.name))
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        if time.monotonic() > deadline:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            raise ImageBuildError(f"build took longer than allowed (log: {log.name})")
    return str(image_id) if image_id else None


def _build_error(text: str, log_path: Path) -> ImageBuildError:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1][:300] if lines else "unknown error"
    return ImageBuildError(f"{last} (log: {log_path})", unreachable=bool(UNREACHABLE.search(text)))


def _context_files(context: Path) -> list[str]:
    """The context's files as Docker sends them (.dockerignore applied), sorted."""
    ignore = context / ".dockerignore"
    patterns = (
        [
            line.strip()
            for line in ignore.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        if ignore.exists()
        else []
    )
    return sorted(exclude_paths(str(context), patterns))


@contextlib.contextmanager
def _context_archive(
    context: Path, files: list[str], extra_files: Mapping[str, str]
) -> Iterator[Any]:
    archive = create_archive(str(context), files=files, extra_files=list(extra_files.items()))
    try:
        archive.seek(0)
        yield archive
    finally:
        archive.close()
