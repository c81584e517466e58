"""An image built from unchanged sources is not built again; any change rebuilds it."""

from __future__ import annotations

import contextlib
from pathlib import Path

from docker.errors import DockerException

from orchestrator.engine.client import DockerEngine
from orchestrator.ports import BuildSpec

TAG = "webrtc-interop-test/digest:latest"


def test_unchanged_sources_are_not_built_again(engine: DockerEngine, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nARG NOTE\nCOPY a.txt /a.txt\n")
    (context / "a.txt").write_text("one\n")
    spec = BuildSpec(context, TAG, buildargs={"NOTE": "x"}, labels={"org.webrtc-interop.run": "t"})
    log = tmp_path / "build.log"
    built: list[str] = []

    def build(spec: BuildSpec) -> str:
        built.append(engine.build(spec, log, 120, lambda step: None))
        return built[-1]

    try:
        first = build(spec)
        assert "Step 1/" in log.read_text()
        assert build(spec) == first
        assert "already built from these sources" in log.read_text()
        (context / "a.txt").write_text("two\n")
        changed = build(spec)
        assert changed != first
        assert "Step 1/" in log.read_text()
        assert build(BuildSpec(context, TAG, buildargs={"NOTE": "y"})) != changed
    finally:
        for image in {TAG, *built}:
            with contextlib.suppress(DockerException):
                engine.client.images.remove(image, force=True)
