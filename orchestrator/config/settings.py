"""The `settings:` section: how runs behave, with sane bounds on every number."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.config.fields import At, Source
from orchestrator.config.model import Settings
from orchestrator.ports import Limits

CA_BUNDLE_ENV = "WEBRTC_INTEROP_CA_BUNDLE"
HOST_CA_ENVS = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
PREFIX_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._/-]*$")
MAX_JOBS = 64
MAX_RETRIES = 5
KEYS = (
    "jobs",
    "retries",
    "results_dir",
    "server_ready_timeout",
    "build_timeout",
    "extra_ca_bundle",
    "base_image",
    "base_context",
    "image_prefix",
    "debian_mirror",
    "capture",
    "capture_context",
    "screenshot",
    "screenshot_context",
    "expectations",
    "limits",
    "netkit_context",
)
LIMIT_KEYS = ("memory", "pids", "cpus", "tmpfs", "logs")


def read_settings(source: Source, value: Any, environ: Mapping[str, str]) -> Settings:
    at: At = ("settings",)
    raw = source.mapping(value, at, KEYS)

    def path(key: str, default: str) -> Path:
        return source.relative(source.text(raw.get(key, default), (*at, key), "a path"))

    prefix = source.text(raw.get("image_prefix", "webrtc-interop"), (*at, "image_prefix"))
    if not PREFIX_PATTERN.match(prefix):
        raise source.fail((*at, "image_prefix"), f"{prefix!r} is not a valid image repository")
    ca_setting = raw.get("extra_ca_bundle")
    if ca_setting is not None:
        source.text(ca_setting, (*at, "extra_ca_bundle"), "a file path")
    return Settings(
        jobs=source.bounded(raw.get("jobs", 4), (*at, "jobs"), int, 1, MAX_JOBS),
        retries=source.bounded(raw.get("retries", 0), (*at, "retries"), int, 0, MAX_RETRIES),
        results_dir=path("results_dir", "results"),
        server_ready_timeout_s=source.bounded(
            raw.get("server_ready_timeout", 20), (*at, "server_ready_timeout"), float, 0, 600, "s"
        ),
        build_timeout_s=source.bounded(
            raw.get("build_timeout", 1800), (*at, "build_timeout"), float, 0, 4 * 3600, "s"
        ),
        extra_ca_bundle=_ca_bundle(source, ca_setting, environ),
        base_image=source.text(raw.get("base_image", "debian:trixie"), (*at, "base_image")),
        base_context=path("base_context", "images/base"),
        image_prefix=prefix,
        debian_mirror=source.text(
            raw.get("debian_mirror", "http://deb.debian.org/debian"), (*at, "debian_mirror")
        ),
        capture=source.flag(raw.get("capture", True), (*at, "capture")),
        capture_context=path("capture_context", "images/capture"),
        screenshot=source.flag(raw.get("screenshot", True), (*at, "screenshot")),
        screenshot_context=path("screenshot_context", "images/screenshot"),
        expectations=path("expectations", "expectations.yaml"),
        netkit_context=path("netkit_context", "images/netkit"),
        expectations_required="expectations" in raw,
        limits=read_limits(source, raw.get("limits"), (*at, "limits"), Limits()),
    )


def read_limits(source: Source, value: Any, at: At, base: Limits) -> Limits:
    """`limits:` of settings (over the built-in defaults) or of one implementation (over
    the settings): only the keys given change."""
    raw = source.mapping(value, at, LIMIT_KEYS)
    return Limits(
        memory_bytes=source.size(raw["memory"], (*at, "memory"), 64 << 20, 64 << 30)
        if "memory" in raw
        else base.memory_bytes,
        pids=source.bounded(raw["pids"], (*at, "pids"), int, 16, 65536)
        if "pids" in raw
        else base.pids,
        cpus=source.bounded(raw["cpus"], (*at, "cpus"), float, 0.1, 64.0)
        if "cpus" in raw
        else base.cpus,
        tmpfs_bytes=source.size(raw["tmpfs"], (*at, "tmpfs"), 1 << 20, 16 << 30)
        if "tmpfs" in raw
        else base.tmpfs_bytes,
        log_bytes=source.size(raw["logs"], (*at, "logs"), 64 << 10, 1 << 30)
        if "logs" in raw
        else base.log_bytes,
    )


def _ca_bundle(source: Source, setting: str | None, environ: Mapping[str, str]) -> Path | None:
    """Explicit env var, then matrix.yaml, then the host's own bundle; '' turns it off."""
    if CA_BUNDLE_ENV in environ:
        chosen, origin = environ[CA_BUNDLE_ENV], f"${CA_BUNDLE_ENV}"
    elif setting is not None:
        chosen, origin = setting, "settings.extra_ca_bundle"
    else:
        chosen, origin = next(
            ((environ[k], f"${k}") for k in HOST_CA_ENVS if environ.get(k)), ("", "")
        )
    if not chosen:
        return None
    bundle = Path(chosen) if os.path.isabs(chosen) else source.relative(chosen)
    if not bundle.is_file():
        raise source.fail(
            ("settings", "extra_ca_bundle"), f"CA bundle {bundle} (from {origin}) is not a file"
        )
    return bundle
