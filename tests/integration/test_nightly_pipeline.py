"""The nightly workflow's steps, run here in order with real images and a real engine.

.github/workflows/nightly.yml cannot run on this machine, so every step it takes is a
CLI command, and this test takes the same steps: build, save and load the images,
run the shards, merge, report (markdown with the diff, JUnit, HTML and its
screenshot), update the README block and gate on the expectations.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image

from orchestrator.cli import main
from orchestrator.codec import load_results
from orchestrator.model import Outcome
from orchestrator.readme import END, START
from orchestrator.render.html import COLOURS
from tests.integration.conftest import REPO, SETTINGS, fixture, matrix, real

MATRIX = (
    SETTINGS.replace("screenshot: false", "screenshot: true")
    + f"  screenshot_context: {REPO / 'images/screenshot'}\n"
    + matrix(
        {"datachannel": 20},
        real("aiortc", "server: all"),
        fixture("crashing", "server: all"),
        fixture("failing", "client: all", "/fixtures/failing-client.sh"),
        fixture("liar", "client: all", "/fixtures/liar-client.sh {server_url}"),
    )
)
EXPECTED = {
    ("aiortc", "failing"): Outcome.FAILED,
    ("aiortc", "liar"): Outcome.UNVERIFIED,
    ("crashing", "failing"): Outcome.SERVER_ERROR,
    ("crashing", "liar"): Outcome.SERVER_ERROR,
}


def cli(matrix: Path, *args: str) -> int:
    return main(["-f", str(matrix), *args])


def latest(matrix: Path) -> Path:
    return (matrix.parent / "results/latest").resolve()


def test_the_nightly_steps_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX)
    tarball = tmp_path / "images.tar"
    assert cli(matrix, "build") == 0
    assert cli(matrix, "images", "save", str(tarball)) == 0
    assert cli(matrix, "images", "load", str(tarball)) == 0
    # base, capture, netkit (namespace holders), 4 peers, screenshot
    assert "loaded 8 images" in capsys.readouterr().out

    assert cli(matrix, "run", "--no-build") == 1  # every cell fails, on purpose
    whole = latest(matrix)
    shards = []
    for index in (1, 2, 3):
        assert cli(matrix, "run", "--no-build", "--no-screenshot", "--shard", f"{index}/3") == 1
        shards.append(latest(matrix))
    assert cli(matrix, "merge", *map(str, shards)) == 0
    merged = latest(matrix)

    unsharded, combined = load_results(whole), load_results(merged)
    assert {r.cell for r in combined.cells} == {r.cell for r in unsharded.cells}
    ran = [r for r in combined.cells if r.outcome is not Outcome.UNSUPPORTED]  # not N/A
    assert len(ran) == len(EXPECTED) == 4
    for result in ran:
        assert result.outcome is EXPECTED[(result.cell.server, result.cell.client)], result
        for path in result.log_paths.values():  # every shard's logs came along
            assert (merged / path).is_file(), path

    capsys.readouterr()
    assert cli(matrix, "report", str(merged), "--diff", str(whole)) == 0
    summary = capsys.readouterr().out
    assert "| **aiortc** | ❌ <sub>" not in summary  # failed cells have no connect time
    assert "No verdict or version changed." in summary

    junit = tmp_path / "junit.xml"
    assert cli(matrix, "report", str(merged), "--format", "junit", "-o", str(junit)) == 0
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "4"

    # every cell of the grid, the N/A ones (a client-only or server-only stack) included
    assert_every_cell_visible(whole / "results.png", expected_cells=len(unsharded.cells))

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{START}\n{END}\n")
    assert cli(matrix, "readme", str(merged), "--readme", str(readme)) == 0
    assert "| **crashing** | 💥 0/1 | 💥 0/1 |" in readme.read_text()  # by pair
    assert cli(matrix, "readme", str(whole), "--readme", str(readme)) == 0
    assert "verdicts unchanged" in capsys.readouterr().out

    (tmp_path / "expectations.yaml").write_text(
        "".join(
            f"datachannel/{server}/{client}:\n  outcome: {outcome.value}\n  reason: fixture\n"
            for (server, client), outcome in EXPECTED.items()
        )
    )
    assert cli(matrix, "run", "--no-build", "--no-screenshot", "--check-expectations") == 0
    document = json.loads((latest(matrix) / "results.json").read_text())
    records = [cell for cell in document["cells"] if cell["outcome"] != "unsupported"]
    assert len(records) == len(EXPECTED)
    assert all(cell["expected"]["reason"] == "fixture" for cell in records)


def assert_every_cell_visible(png: Path, expected_cells: int) -> None:
    """Count the coloured cell boxes headless Chromium drew (legend swatches are too small)."""
    colours = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in COLOURS.values()}
    with Image.open(png) as image:
        picture = image.convert("RGB")
    width, height = picture.size
    pixels = picture.load()
    assert pixels is not None
    seen = [[False] * width for _ in range(height)]
    boxes = 0
    for y in range(height):
        for x in range(width):
            if seen[y][x] or pixels[x, y] not in colours:
                continue
            area, queue = 0, deque([(x, y)])
            seen[y][x] = True
            while queue:
                px, py = queue.popleft()
                area += 1
                for nx, ny in ((px + 1, py), (px - 1, py), (px, py + 1), (px, py - 1)):
                    if (
                        0 <= nx < width
                        and 0 <= ny < height
                        and not seen[ny][nx]
                        and pixels[nx, ny] == pixels[px, py]
                    ):
                        seen[ny][nx] = True
                        queue.append((nx, ny))
            boxes += area > 1500
    assert boxes == expected_cells
