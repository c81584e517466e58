"""Image preparation against a hand-written fake engine: order, arguments, failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config import load_matrix
from orchestrator.errors import EngineError, ImageBuildError
from orchestrator.images import ImageBuilder
from orchestrator.ports import BuildSpec
from tests.unit.conftest import VALID, WriteMatrix


@dataclass
class FakeImageEngine:
    failing: set[str] = field(default_factory=set)  # tags whose build fails
    present: dict[str, str] = field(default_factory=dict)  # reference -> image id
    pullable: set[str] = field(default_factory=set)
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)  # reference -> json
    built: list[BuildSpec] = field(default_factory=list)

    def ensure_upstream_base(
        self, reference: str, mirror: str, log_path: Path, say: Callable[[str], None]
    ) -> str:
        return "local"

    def build(
        self, spec: BuildSpec, log_path: Path, timeout_s: float, on_step: Callable[[str], None]
    ) -> str:
        self.built.append(spec)
        if spec.tag in self.failing:
            raise ImageBuildError("E: Unable to locate package nodejs")
        self.present[spec.tag] = f"sha256:{len(self.built)}"
        return self.present[spec.tag]

    def image_id(self, reference: str) -> str | None:
        return self.present.get(reference)

    def pull(self, reference: str) -> str | None:
        return "sha256:pulled" if reference in self.pullable else None

    def read_json_from_image(self, reference: str, path: str) -> dict[str, Any] | None:
        return self.versions.get(reference)


def builder(
    write_matrix: WriteMatrix,
    tmp_path: Path,
    engine: FakeImageEngine,
    text: str = VALID,
    **kwargs: bool,
) -> tuple[ImageBuilder, list[str]]:
    notes: list[str] = []
    matrix = load_matrix(write_matrix(text), environ={})
    return ImageBuilder(
        engine, matrix, tmp_path / "logs", notes.append, lambda _: None, **kwargs
    ), notes


def test_base_first_then_each_image_on_it_with_its_pins(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    bundle = tmp_path / "corp.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nX\n")
    engine = FakeImageEngine(
        pullable={"example.org/beta:2"},
        versions={"webrtc-interop/alpha:latest": {"alpha": "1.0", "python": "3.13"}},
    )
    text = VALID.replace('extra_ca_bundle: ""', f"extra_ca_bundle: {bundle}")
    images, notes = builder(write_matrix, tmp_path, engine, text)
    outcomes = images.prepare(["alpha", "beta"])
    base, alpha = engine.built
    assert base.tag == "webrtc-interop/base:latest"
    assert base.buildargs == {"DEBIAN_IMAGE": "debian:trixie"}
    assert base.extra_files == {"extra-ca/extra.pem": "-----BEGIN CERTIFICATE-----\nX\n"}
    assert alpha.buildargs == {"BASE_IMAGE": "webrtc-interop/base:latest", "ALPHA_VERSION": "1.0"}
    assert alpha.labels == {"org.webrtc-interop.implementation": "alpha"}
    assert alpha.cache_from == ()
    assert outcomes["alpha"].versions == (("alpha", "1.0"), ("python", "3.13"))
    assert outcomes["alpha"].build == "built"
    assert outcomes["beta"].build == "prebuilt"  # pulled, never built
    assert not [n for n in notes if n.startswith("warning")]


def test_a_pin_the_image_does_not_honour_is_a_warning(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeImageEngine(versions={"webrtc-interop/alpha:latest": {"alpha": "0.9"}})
    images, notes = builder(write_matrix, tmp_path, engine)
    outcome = images.prepare(["alpha"])["alpha"]
    assert dict(outcome.versions)["alpha"] == "0.9"  # what is really installed wins
    assert "warning: alpha: matrix.yaml pins alpha 1.0 but the image has 0.9" in notes


def test_a_failed_base_fails_every_built_image_but_not_prebuilt_ones(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeImageEngine(
        failing={"webrtc-interop/base:latest"}, present={"example.org/beta:2": "sha256:b"}
    )
    images, _ = builder(write_matrix, tmp_path, engine)
    outcomes = images.prepare(["alpha", "beta"])
    assert outcomes["alpha"].build == "failed"
    assert outcomes["alpha"].reason == "base image: E: Unable to locate package nodejs"
    assert outcomes["beta"].ok
    assert [spec.tag for spec in engine.built] == ["webrtc-interop/base:latest"]


def test_one_failed_build_does_not_stop_the_others(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    text = VALID + "  gamma:\n    build: images/alpha\n    roles: {server: all}\n"
    engine = FakeImageEngine(failing={"webrtc-interop/alpha:latest"})
    images, _ = builder(write_matrix, tmp_path, engine, text)
    outcomes = images.prepare(["alpha", "gamma"])
    assert outcomes["alpha"].reason == "image failed to build: E: Unable to locate package nodejs"
    assert outcomes["alpha"].log == tmp_path / "logs/alpha.log"
    assert outcomes["gamma"].ok


def test_a_prebuilt_image_that_cannot_be_found(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    images, _ = builder(write_matrix, tmp_path, FakeImageEngine())
    outcome = images.prepare(["beta"])["beta"]
    assert outcome.reason == "image example.org/beta:2 is not here and could not be pulled"


def test_no_build_uses_only_what_is_there(write_matrix: WriteMatrix, tmp_path: Path) -> None:
    engine = FakeImageEngine()
    images, _ = builder(write_matrix, tmp_path, engine)
    outcome = images.existing(["alpha"])["alpha"]
    assert (
        outcome.reason == "image webrtc-interop/alpha:latest is not built (run without --no-build)"
    )
    assert engine.built == []


def test_tool_images_fail_loudly_and_reuse_tags_when_asked(
    write_matrix: WriteMatrix, tmp_path: Path
) -> None:
    engine = FakeImageEngine(present={"webrtc-interop/base:latest": "sha256:base"})
    images, _ = builder(write_matrix, tmp_path, engine, cache_from_tags=True)
    assert images.prepare_tool("capture", tmp_path / "images/alpha") == (
        "webrtc-interop/capture:latest"
    )
    assert engine.built[0].cache_from == (
        "webrtc-interop/capture:latest",
        "webrtc-interop/base:latest",
    )
    engine.failing.add("webrtc-interop/screenshot:latest")
    with pytest.raises(EngineError, match="the screenshot image failed to build"):
        images.prepare_tool("screenshot", tmp_path / "images/alpha")
