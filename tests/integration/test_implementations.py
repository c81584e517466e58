"""Real stacks against each other: one cross-library pair per test case, and browsers in
both roles. Pairs with a known, documented flake (docs/findings.md) are left out, so a
red test here means something changed."""

from __future__ import annotations

from orchestrator.model import Outcome
from orchestrator.results import RunResults
from tests.integration.conftest import RunFn, matrix, real

TIMEOUTS: dict[str, float] = {"peerconnection": 40, "datachannel": 40, "audio": 45, "video": 45}


def assert_all_passed_and_verified(results: RunResults) -> None:
    assert results.cells
    for result in results.cells:
        assert result.outcome is Outcome.PASSED, (result.cell, result.reason)
        assert result.verification is not None
        assert result.verification.verified, (result.cell, result.verification.missing)
        if result.cell.test in ("audio", "video"):
            assert result.media is not None
            assert (result.media.packets or 0) >= 50, (result.cell, result.media)


def test_library_pairs_across_languages_pass_every_test_case(run: RunFn) -> None:
    body = matrix(TIMEOUTS, *(real(n) for n in ("aiortc", "werift", "libdatachannel", "pion")))
    results, _ = run(body, servers=("pion", "libdatachannel"), clients=("werift", "aiortc"), jobs=2)
    assert len(results.cells) == 16  # 2 servers x 2 clients x 4 test cases
    assert_all_passed_and_verified(results)
    negotiated = {r.cell.test: r.media.codec for r in results.cells if r.media}
    assert "opus" in (negotiated["audio"] or "").lower()
    assert "vp8" in (negotiated["video"] or "").lower()


def test_browsers_as_server_and_as_client(run: RunFn) -> None:
    body = matrix(TIMEOUTS, *(real(n) for n in ("chromium", "firefox", "pion", "aiortc")))
    results, _ = run(
        body,
        servers=("chromium", "pion"),
        clients=("firefox", "aiortc"),
        tests=("datachannel", "video"),
        jobs=2,
    )
    assert len(results.cells) == 8
    assert_all_passed_and_verified(results)
    versions = {r.name: dict(r.versions) for r in results.implementations}
    assert versions["chromium"]["chromium"].split(".")[0].isdigit()
    assert "firefox-esr" in versions["firefox"]
