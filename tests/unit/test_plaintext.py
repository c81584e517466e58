"""DTLS decrypted here (orchestrator/wire/plaintext.py) on real captures of the matrix:
Pion against werift (AES-128-GCM) and Pion against Janus (ChaCha20-Poly1305), each
with the key log its peer printed."""

from __future__ import annotations

from pathlib import Path

from orchestrator.wire.conversation import one_conversation
from orchestrator.wire.decrypt import PPID_DCEP, Decrypted, channel_opens, messages, read_here
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.packets import RECORD_HEADER, frames, udp_at
from orchestrator.wire.plaintext import prf
from orchestrator.wire.rules import CellFacts
from orchestrator.wire.verify import Inputs, verify
from tests.unit.wirekit import CLIENT, SERVER, dtls, pcap_of, server_hello

DATA = Path(__file__).parent / "data"
GCM = Endpoints("198.19.154.70", "198.19.154.10")  # pion server, werift client
CHACHA = Endpoints("198.19.39.70", "198.19.39.10")  # janus server, pion client


def conversation(name: str, endpoints: Endpoints) -> tuple[bytes, list[str]]:
    pcap = (DATA / f"{name}.pcap").read_bytes()
    return one_conversation(pcap, endpoints), (DATA / f"{name}.keys").read_text().splitlines()


def test_the_prf_gives_the_published_tls_1_2_sha256_vector() -> None:
    out = prf(
        "sha256",
        bytes.fromhex("9bbe436ba940f017b17652849a71db35"),
        b"test label",
        bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"),
        100,
    )
    assert out.hex().startswith("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e6")
    assert out.hex().endswith("a48082d122ee42c5a72e5a5110fff70187347b66")


def test_aes_gcm_records_give_the_channel_and_the_echo() -> None:
    found = read_here(*conversation("dtls-gcm-datachannel", GCM), GCM)
    assert found is not None
    whole = messages(list(found.chunks))
    (opening,) = channel_opens(whole)
    assert (opening.sender, opening.label) == ("client", "interop")
    strings = [(m.sender, m.data) for m in whole if m.ppid == 51]
    assert [sender for sender, _ in strings] == ["client", "server"]
    assert len(strings[0][1]) == 931
    assert strings[0][1] == strings[1][1]


def test_chacha20_records_give_the_channel_open_and_its_ack() -> None:
    found = read_here(*conversation("dtls-chacha-open", CHACHA), CHACHA)
    assert found is not None
    dcep = [(m.sender, m.data[:1]) for m in messages(list(found.chunks)) if m.ppid == PPID_DCEP]
    assert dcep == [("client", b"\x03"), ("server", b"\x02")]


def test_what_is_decrypted_here_is_proof_of_the_payload() -> None:
    capture, lines = conversation("dtls-gcm-datachannel", GCM)
    found = read_here(capture, lines, GCM)
    assert found is not None
    payload = next(m.data for m in messages(list(found.chunks)) if m.ppid == 51)
    pcap = (DATA / "dtls-gcm-datachannel.pcap").read_bytes()
    honest = verify(Inputs(pcap, GCM, "datachannel", CellFacts(payload), decrypted=found))
    assert honest.proof == "decrypted", honest.missing
    assert any("decrypted by webrtc-interop" in d for d in honest.details)
    other = verify(Inputs(pcap, GCM, "datachannel", CellFacts(b"Y" * 931), decrypted=found))
    assert "P never crossed client→server [decrypted]" in other.missing


def test_a_wrong_master_secret_fails_the_tag_and_leaves_it_to_tshark() -> None:
    capture, lines = conversation("dtls-gcm-datachannel", GCM)
    label, random, secret = lines[0].split()
    wrong = f"{label} {random} {bytes(len(bytes.fromhex(secret))).hex()}"
    assert read_here(capture, [wrong], GCM) is None


def test_a_changed_byte_in_a_record_fails_its_tag() -> None:
    capture, lines = conversation("dtls-gcm-datachannel", GCM)
    changed = bytearray(capture)
    changed[_last_application_datagram_end(capture) - 1] ^= 0x01  # a byte of its tag
    assert read_here(capture, lines, GCM) is not None
    assert read_here(bytes(changed), lines, GCM) is None


def test_a_record_the_recorder_cut_short_is_skipped() -> None:
    capture, lines = conversation("dtls-gcm-datachannel", GCM)
    end = _last_application_datagram_end(capture)
    start = _record_start(capture, end)
    kept = int.from_bytes(capture[start + 8 : start + 12], "little")
    header = capture[start : start + 8] + (kept - 20).to_bytes(4, "little")
    cut = capture[:start] + header + capture[start + 12 : end - 20] + capture[end:]
    whole, shorter = read_here(capture, lines, GCM), read_here(cut, lines, GCM)
    assert whole is not None
    assert shorter is not None  # not a failed tag: the rest is still read here
    assert 0 < len(shorter.chunks) < len(whole.chunks)


def test_no_key_for_the_association_opens_nothing() -> None:
    capture, _ = conversation("dtls-gcm-datachannel", GCM)
    assert read_here(capture, [f"CLIENT_RANDOM {'ab' * 32} {'cd' * 48}"], GCM) == Decrypted(
        (), "webrtc-interop (every AEAD tag verified)"
    )


def test_a_suite_it_does_not_know_is_left_to_tshark() -> None:
    hello = dtls(22, 0, bytes([1, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 40]) + b"\xfe\xfd" + b"r" * 38)
    pcap = pcap_of(
        [
            (1.0, CLIENT, SERVER, hello),
            (1.1, SERVER, CLIENT, server_hello(0x1301)),
        ]
    )
    endpoints = Endpoints(SERVER, CLIENT)
    assert read_here(one_conversation(pcap, endpoints), ["CLIENT_RANDOM aa bb"], endpoints) is None


def _record_start(pcap: bytes, end: int) -> int:
    """Where the pcap record that ends at `end` starts."""
    return next(end - len(frame) - RECORD_HEADER for _, frame, _, e in frames(pcap) if e == end)


def _last_application_datagram_end(pcap: bytes) -> int:
    """Where the last datagram that starts with a DTLS application record ends."""
    last = 0
    for _, frame, ip_at, end in frames(pcap):
        found = udp_at(frame, ip_at)
        if found is not None and frame[found[0] + 8 : found[0] + 9] == b"\x17":
            last = end
    assert last
    return last
