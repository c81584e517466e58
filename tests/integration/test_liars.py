"""Lying clients on real aiortc: each exits 0 claiming success, and none may pass."""

from __future__ import annotations

from orchestrator.model import Outcome
from tests.integration.conftest import FIXTURES, RunFn, matrix, real

LIAR = "    build: {context}\n    build_args: {{PEER_IMAGE: webrtc-interop-test/aiortc:latest}}\n"


def liar(name: str, mode: str) -> str:
    return (
        f"  {name}:\n"
        + LIAR.format(context=FIXTURES / "liars")
        + "    roles: {client: all}\n"
        + f"    client_command: /opt/venv/bin/python /fixtures/liars.py {mode} {{server_url}}\n"
    )


MATRIX = matrix(
    {"datachannel": 25, "audio": 25},
    real("aiortc", "server: all"),
    "  mute:\n" + LIAR.format(context=FIXTURES / "liars") + "    roles: {server: all}\n",
    liar("after-answer", "exit-after-answer"),
    liar("silent", "silent"),
    liar("hit-and-run", "hit-and-run"),
    "  bogus:\n"
    f"    build: {FIXTURES / 'peers'}\n"
    "    roles: {client: all}\n"
    "    client_command: /fixtures/liar-client.sh {server_url}\n",
)
EXPECTED_MISSING = {
    # (server, client): what the capture reason must name
    ("aiortc", "bogus"): "no ICE check was answered either way",
    # it may still answer the server's checks (its ICE agent exists), but no DTLS ever
    ("aiortc", "after-answer"): "no encrypted DTLS record from the client",
    # datachannel: aiortc's server logs its keys, so the decrypted SCTP says P never came
    ("aiortc", "silent"): "P never crossed client→server",  # audio: "RTP packets"
    ("mute", "hit-and-run"): "echo",  # datachannel: no echo; audio: no RTP back
}


def test_every_lying_client_is_caught_by_the_wire(run: RunFn) -> None:
    results, _ = run(MATRIX, servers=("aiortc", "mute"), jobs=3)
    liars = [r for r in results.cells if (r.cell.server, r.cell.client) in EXPECTED_MISSING]
    assert len(liars) == 8, [r.cell for r in liars]
    for result in liars:
        assert result.exit_code == 0, (result.cell, result.reason)  # it really lied
        assert result.outcome is Outcome.UNVERIFIED, (result.cell, result.reason)
        wire = result.verification
        assert wire is not None
        assert wire.proof == "none"
        expected = EXPECTED_MISSING[(result.cell.server, result.cell.client)]
        if result.cell.test == "audio" and expected in ("P never crossed client→server", "echo"):
            expected = "RTP packets"
        assert any(expected in gap for gap in wire.missing), (result.cell, wire.missing)
