from __future__ import annotations

import pytest

from orchestrator.model import MediaReport, Outcome
from orchestrator.outcomes import Observation, classify, last_line, media_report


def seen(client_exit: int | None, output: str = "", server_exit: int | None = None) -> Observation:
    return Observation("datachannel", client_exit, server_exit, 30.0, output)


@pytest.mark.parametrize(
    ("observation", "outcome", "reason"),
    [
        (seen(0, "x\nPASS: datachannel: echoed 'ab'\n"), Outcome.PASSED, "echoed 'ab'"),
        (seen(0), Outcome.PASSED, "client exited 0"),
        (seen(1, "FAIL: datachannel: SCTP never opened\n\n"), Outcome.FAILED, "SCTP never opened"),
        (seen(1), Outcome.FAILED, "client exited 1 without saying why"),
        (
            seen(2, "Traceback...\nValueError: bad sdp"),
            Outcome.FAILED,
            "client exited with code 2; client: ValueError: bad sdp",
        ),
        (seen(127, "UNSUPPORTED: no audio here"), Outcome.UNSUPPORTED, "no audio here"),
        (
            seen(None, "connecting"),
            Outcome.TIMEOUT,
            "client still running after 30s, killed; client: connecting",
        ),
        (
            seen(1, "FAIL: refused", server_exit=139),
            Outcome.SERVER_ERROR,
            "server exited with code 139 while the client ran; client: refused",
        ),
        # A server that stops after a passing client did its job.
        (seen(0, "PASS: ok", server_exit=0), Outcome.PASSED, "ok"),
        # 127 means "not supported" even if the server died meanwhile.
        (
            seen(127, "", server_exit=1),
            Outcome.UNSUPPORTED,
            "client exited 127: test case not supported",
        ),
    ],
)
def test_classify(observation: Observation, outcome: Outcome, reason: str) -> None:
    assert classify(observation) == (outcome, reason)


def test_last_line_is_cut_to_one_short_line() -> None:
    line = last_line("FAIL: " + "x" * 500)
    assert len(line) == 200
    assert line.endswith("…")


def test_unsupported_is_not_a_failure_but_timeout_is() -> None:
    assert not Outcome.UNSUPPORTED.is_failure
    assert not Outcome.PASSED.is_failure
    assert all(o.is_failure for o in Outcome if o not in (Outcome.PASSED, Outcome.UNSUPPORTED))


def test_media_lines_are_parsed_from_the_client_output() -> None:
    output = (
        "log\nNEGOTIATED: codec=opus/48000/2 payload_type=111\n"
        "RECEIVED: packets=12 frames=-\nRECEIVED: packets=57 frames=-\nFAIL: x\n"
    )
    assert media_report(output) == MediaReport("opus/48000/2", 111, 57, None)
    assert media_report("PASS: connected") is None
