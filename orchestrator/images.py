"""Getting one image per implementation: the project base first, then each image on it.

A failed build costs that implementation's cells (`build-error`), never the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.config import Implementation, Matrix
from orchestrator.errors import EngineError, ImageBuildError
from orchestrator.model import SOURCE_UNREACHABLE
from orchestrator.ports import BuildSpec, ImageEngine
from orchestrator.text import clean_line

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
    cause: str | None = None  # SOURCE_UNREACHABLE: a registry or package source was out of reach

    @property
    def ok(self) -> bool:
        return self.build != "failed"


class ImageBuilder:
    def __init__(
        self,
        engine: ImageEngine,
        matrix: Matrix,
        log_dir: Path,
        note: Callable[[str], None],
        status: Callable[[str], None],
        cache_from_tags: bool = False,
    ) -> None:
        self.engine = engine
        self.cache_from_tags = cache_from_tags
        self.matrix = matrix
        self.settings = matrix.settings
        self.log_dir = log_dir
        self.note = note
        self.status = status

    @property
    def base_reference(self) -> str:
        return self.settings.local_image("base")

    def prepare_tool(self, name: str, context: Path) -> str:
        """Build a tool image (the packet recorder, the screenshot browser) on the base.

        Tools are infrastructure, not implementations: a failure raises instead of
        becoming a cell outcome.
        """
        if self.engine.image_id(self.base_reference) is None and self._build_base():
            raise EngineError(f"the base image failed to build, so the {name} image cannot")
        reference = self.settings.local_image(name)
        log = self.log_dir / f"{name}.log"
        try:
            self._build_image(
                name,
                BuildSpec(context, reference, buildargs={"BASE_IMAGE": self.base_reference}),
                log,
            )
        except ImageBuildError as error:
            raise EngineError(f"the {name} image failed to build: {error.reason}") from None
        return reference

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
                outcome = self._failed_here(
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
                _ready(self.engine, implementation, reference, image_id, "prebuilt", None)
                if image_id
                else _failed(
                    implementation,
                    reference,
                    f"image {reference} is not built (run without --no-build)",
                    None,
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
            self._build_image(
                "base",
                BuildSpec(
                    self.settings.base_context,
                    self.base_reference,
                    buildargs={"DEBIAN_IMAGE": self.settings.base_image},
                    extra_files=extra_files,
                ),
                log,
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
        try:
            image_id = self._build_image(
                name,
                BuildSpec(
                    implementation.build_context,
                    reference,
                    dockerfile=implementation.dockerfile,
                    buildargs={
                        "BASE_IMAGE": self.base_reference,
                        **implementation.all_build_args(),
                    },
                ),
                log,
            )
        except ImageBuildError as error:
            self.note(f"{name}: image failed to build: {error.reason}")
            if error.unreachable:
                return self._failed_here(
                    implementation,
                    f"cannot be built here, a registry or package source is unreachable: "
                    f"{error.reason}",
                    log,
                    SOURCE_UNREACHABLE,
                )
            return self._failed_here(implementation, f"image failed to build: {error.reason}", log)
        except EngineError as error:
            return self._failed_here(implementation, str(error), log)
        self.note(f"{name}: image ready ({reference})")
        return _ready(self.engine, implementation, reference, image_id, "built", log)

    def _build_image(self, name: str, spec: BuildSpec, log: Path) -> str:
        """Every build goes through here: progress, our label, and the image's own tag as a
        cache source when asked (after `images load` in CI, so nothing is rebuilt)."""
        self.status(f"building {name}")
        spec = replace(
            spec,
            labels={**spec.labels, IMAGE_LABEL: name},
            cache_from=(spec.tag, self.base_reference) if self.cache_from_tags else (),
        )
        return self.engine.build(
            spec, log, self.settings.build_timeout_s, lambda step: self.status(f"{name}: {step}")
        )

    def _prebuilt(self, implementation: Implementation) -> ImageOutcome:
        reference = implementation.image_reference(self.settings.image_prefix)
        try:
            image_id = self.engine.image_id(reference) or self.engine.pull(reference)
        except EngineError as error:
            return self._failed_here(implementation, str(error), None)
        if image_id is None:
            return self._failed_here(
                implementation, f"image {reference} is not here and could not be pulled", None
            )
        return _ready(self.engine, implementation, reference, image_id, "prebuilt", None)

    def _failed_here(
        self,
        implementation: Implementation,
        reason: str,
        log: Path | None,
        cause: str | None = None,
    ) -> ImageOutcome:
        reference = implementation.image_reference(self.settings.image_prefix)
        return _failed(implementation, reference, reason, log, cause)

    def _check_pins(self, implementation: Implementation, outcome: ImageOutcome) -> None:
        found = dict(outcome.versions)
        for component, pinned in implementation.versions:
            if found.get(component, pinned) != pinned:
                self.note(
                    f"warning: {implementation.name}: matrix.yaml pins {component} "
                    f"{pinned} but the image has {found[component]}"
                )


def _ready(
    engine: ImageEngine,
    implementation: Implementation,
    reference: str,
    image_id: str,
    build: str,
    log: Path | None,
) -> ImageOutcome:
    """An image to run, with the versions it says it has over the pinned ones."""
    detected = engine.read_json_from_image(reference, VERSIONS_PATH) or {}
    versions = {
        **dict(implementation.versions),
        **{clean_line(str(k), 60): clean_line(str(v), 120) for k, v in detected.items()},
    }
    return ImageOutcome(
        implementation.name, reference, image_id, tuple(versions.items()), build, log=log
    )


def _failed(
    implementation: Implementation,
    reference: str,
    reason: str,
    log: Path | None,
    cause: str | None = None,
) -> ImageOutcome:
    return ImageOutcome(
        implementation.name,
        reference,
        None,
        implementation.versions,
        "failed",
        reason,
        log,
        cause,
    )
