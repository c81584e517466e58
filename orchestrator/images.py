"""Getting one image per implementation: the project base first, then each image on it.

A failed build costs that implementation's cells (`build-error`), never the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.config import Implementation, Matrix
from orchestrator.engine.client import DockerEngine, ImageBuildError
from orchestrator.errors import EngineError

VERSIONS_PATH = "/interop/versions.json"
IMAGE_LABEL = "org.webrtc-interop.implementation"


@dataclass(frozen=True)
class ImageOutcome:
    name: str
    image: str
    image_id: str | None
    versions: tuple[tuple[str, str], ...]
    build: str  # "built", "prebuilt" or "failed"
    reason: str = ""
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.build != "failed"


class ImageBuilder:
    def __init__(
        self,
        engine: DockerEngine,
        matrix: Matrix,
        log_dir: Path,
        note: Callable[[str], None],
        status: Callable[[str], None],
    ) -> None:
        self.engine = engine
        self.matrix = matrix
        self.settings = matrix.settings
        self.log_dir = log_dir
        self.note = note
        self.status = status

    @property
    def base_reference(self) -> str:
        return f"{self.settings.image_prefix}/base:latest"

    @property
    def capture_reference(self) -> str:
        return f"{self.settings.image_prefix}/capture:latest"

    def prepare_capture(self) -> str:
        """Build the packet recorder image; it is infrastructure, so failing stops the run."""
        if self.engine.image_id(self.base_reference) is None and self._build_base():
            raise EngineError("the base image failed to build, so the capture image cannot")
        log = self.log_dir / "capture.log"
        self.status("building the capture image")
        try:
            self.engine.build(
                self.settings.capture_context,
                None,
                self.capture_reference,
                {"BASE_IMAGE": self.base_reference},
                {},
                {IMAGE_LABEL: "capture"},
                log,
                self.settings.build_timeout_s,
                lambda step: self.status(f"capture: {step}"),
            )
        except ImageBuildError as error:
            raise EngineError(
                f"the capture image failed to build: {error.reason} (log: {log});"
                " --no-capture runs without wire verification"
            ) from None
        return self.capture_reference

    def prepare(self, names: Iterable[str]) -> dict[str, ImageOutcome]:
        """Build (or find) every named implementation's image; never raises for one image."""
        implementations = [self.matrix.implementation(n) for n in names]
        base_failure = None
        if any(i.build_context for i in implementations):
            base_failure = self._build_base()
        outcomes = {}
        for implementation in implementations:
            if implementation.build_context is None:
                outcome = self._prebuilt(implementation)
            elif base_failure:
                outcome = self._failed(
                    implementation, f"base image: {base_failure}", self.log_dir / "base.log"
                )
            else:
                outcome = self._build(implementation)
            outcomes[implementation.name] = outcome
            if outcome.ok:
                self._check_pins(implementation, outcome)
        return outcomes

    def existing(self, names: Iterable[str]) -> dict[str, ImageOutcome]:
        """Use the images already here, building nothing (`run --no-build`)."""
        outcomes = {}
        for name in names:
            implementation = self.matrix.implementation(name)
            reference = implementation.image_reference(self.settings.image_prefix)
            image_id = self.engine.image_id(reference)
            outcomes[name] = (
                self._ready(implementation, reference, image_id, "prebuilt", None)
                if image_id
                else self._failed(
                    implementation, f"image {reference} is not built (run without --no-build)", None
                )
            )
        return outcomes

    def _build_base(self) -> str | None:
        """Build the project base; the reason it failed, or None."""
        log = self.log_dir / "base.log"
        try:
            how = self.engine.ensure_upstream_base(
                self.settings.base_image, self.settings.debian_mirror, log, self.note
            )
            if how != "local":
                self.note(f"{self.settings.base_image}: {how}")
            extra_files = {}
            bundle = self.settings.extra_ca_bundle
            if bundle is not None:
                extra_files["extra-ca/extra.pem"] = bundle.read_text(
                    encoding="utf-8", errors="replace"
                )
            self.status("building base image")
            self.engine.build(
                self.settings.base_context,
                None,
                self.base_reference,
                {"DEBIAN_IMAGE": self.settings.base_image},
                extra_files,
                {IMAGE_LABEL: "base"},
                log,
                self.settings.build_timeout_s,
                lambda step: self.status(f"base: {step}"),
            )
        except (ImageBuildError, EngineError, OSError) as error:
            reason = error.reason if isinstance(error, ImageBuildError) else str(error)
            self.note(f"base image failed to build: {reason} (log: {log})")
            return reason
        self.note(f"base image ready ({self.base_reference})")
        return None

    def _build(self, implementation: Implementation) -> ImageOutcome:
        assert implementation.build_context is not None
        name = implementation.name
        reference = implementation.image_reference(self.settings.image_prefix)
        log = self.log_dir / f"{name}.log"
        self.status(f"building {name}")
        try:
            image_id = self.engine.build(
                implementation.build_context,
                implementation.dockerfile,
                reference,
                {"BASE_IMAGE": self.base_reference, **implementation.all_build_args()},
                {},
                {IMAGE_LABEL: name},
                log,
                self.settings.build_timeout_s,
                lambda step: self.status(f"{name}: {step}"),
            )
        except ImageBuildError as error:
            self.note(f"{name}: image failed to build: {error.reason} (log: {log})")
            return self._failed(implementation, f"image failed to build: {error.reason}", log)
        except EngineError as error:
            return self._failed(implementation, str(error), log)
        self.note(f"{name}: image ready ({reference})")
        return self._ready(implementation, reference, image_id, "built", log)

    def _prebuilt(self, implementation: Implementation) -> ImageOutcome:
        reference = implementation.image_reference(self.settings.image_prefix)
        try:
            image_id = self.engine.image_id(reference) or self.engine.pull(reference)
        except EngineError as error:
            return self._failed(implementation, str(error), None)
        if image_id is None:
            return self._failed(
                implementation, f"image {reference} is not here and could not be pulled", None
            )
        return self._ready(implementation, reference, image_id, "prebuilt", None)

    def _ready(
        self,
        implementation: Implementation,
        reference: str,
        image_id: str,
        build: str,
        log: Path | None,
    ) -> ImageOutcome:
        detected = self.engine.read_json_from_image(reference, VERSIONS_PATH) or {}
        versions = {
            **dict(implementation.versions),
            **{str(k): str(v) for k, v in detected.items()},
        }
        return ImageOutcome(
            implementation.name, reference, image_id, tuple(versions.items()), build, log=log
        )

    def _failed(
        self, implementation: Implementation, reason: str, log: Path | None
    ) -> ImageOutcome:
        return ImageOutcome(
            implementation.name,
            implementation.image_reference(self.settings.image_prefix),
            None,
            implementation.versions,
            "failed",
            reason,
            log,
        )

    def _check_pins(self, implementation: Implementation, outcome: ImageOutcome) -> None:
        found = dict(outcome.versions)
        for component, pinned in implementation.versions:
            if found.get(component, pinned) != pinned:
                self.note(
                    f"warning: {implementation.name}: matrix.yaml pins {component} "
                    f"{pinned} but the image has {found[component]}"
                )
