"""The evidence engine on hand-made captures: each proof level passes an honest cell and
fails the lie it exists to catch."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

import dpkt
import pytest

from orchestrator.model import Outcome, Verification
from orchestrator.outcomes import reconcile
from orchestrator.wire import datachecks
from orchestrator.wire.conversation import conversation_sender, one_conversation
from orchestrator.wire.decrypt import (
    Decrypted,
    Message,
    channel_opens,
    chunks,
    keylog_lines,
    messages,
)
from orchestrator.wire.demux import Kind, demultiplex, unwrap_turn
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.packets import read_pcap
from orchestrator.wire.rules import RULES, CellFacts, confirmation, evidence_table
from orchestrator.wire.signalling import exchanges
from orchestrator.wire.verify import Inputs, verify
from tests.unit.wirekit import (
    CLIENT,
    GATEWAY,
    SERVER,
    TcpSegment,
    app_record,
    association,
    dtls,
    handshake,
    http,
    pcap_of,
    response,
    rtp,
    sctp_size,
    stun,
)

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = b"Q" * 700
ENDPOINTS = Endpoints(SERVER, CLIENT)


def check(
    packets: list[tuple[float, str, str, bytes]],
    test: str = "datachannel",
    tcp: list[TcpSegment] | None = None,
) -> Verification:
    return verify(Inputs(pcap_of(packets, tcp), ENDPOINTS, test, CellFacts(PAYLOAD)))


def echo(size: int, at: float = 2.0) -> list[tuple[float, str, str, bytes]]:
    return [
        (at, CLIENT, SERVER, app_record(sctp_size(size))),
        (at + 0.01, SERVER, CLIENT, app_record(sctp_size(size))),
    ]


@pytest.mark.parametrize(
    ("first_bytes", "kind"),
    [
        (b"\x00\x01", Kind.STUN),
        (b"\x16\xfe", Kind.DTLS),
        (b"\x2f", Kind.DTLS),
        (b"\x40\x00", Kind.TURN_CHANNEL),
        (b"\x80\x6f", Kind.RTP),
        (b"\x80\xc8", Kind.RTCP),
        (b"", Kind.OTHER),
    ],
)
def test_demultiplexing_follows_rfc_7983(first_bytes: bytes, kind: Kind) -> None:
    assert demultiplex(first_bytes) is kind


def test_turn_channel_data_is_unwrapped() -> None:
    assert unwrap_turn(b"\x40\x00\x00\x03abc\x00") == b"abc"


@pytest.mark.parametrize("message_type", [b"\x00\x16", b"\x00\x17"])  # Send, Data indication
def test_turn_indications_are_unwrapped(message_type: bytes) -> None:
    peer = bytes.fromhex("0020 0008 0001 e2a1 e112a643")  # XOR-PEER-ADDRESS
    data = bytes.fromhex("0013 0003") + b"abc\x00"  # DATA, padded to 4 bytes
    body = peer + data
    header = message_type + len(body).to_bytes(2, "big") + bytes.fromhex("2112a442") + bytes(12)
    assert unwrap_turn(header + body) == b"abc"


def test_a_stun_error_response_is_not_unwrapped() -> None:
    data = bytes.fromhex("0013 0003") + b"abc\x00"
    header = b"\x01\x17" + len(data).to_bytes(2, "big") + bytes.fromhex("2112a442") + bytes(12)
    assert unwrap_turn(header + data) is None


def test_the_payload_echoed_at_its_size_is_a_sized_pass() -> None:
    wire = check(handshake() + association() + echo(len(PAYLOAD)))
    assert wire.verified, wire.missing
    assert wire.proof == "sized"
    assert wire.connect_time_s == pytest.approx(0.040)
    assert any("700-byte messages: 1 carried client→server, 1 back" in d for d in wire.details)


def test_a_client_that_connects_but_never_sends_the_payload_is_unverified() -> None:
    wire = check(handshake() + association())  # set-up traffic both ways, no payload
    assert not wire.verified
    assert wire.missing == (
        "0 of 1 client→server records carry 700-byte messages [sized]",
        "0 of 1 echoes of 700-byte messages [sized]",
    )
    outcome, reason = reconcile(Outcome.PASSED, "echoed", wire)
    assert outcome is Outcome.UNVERIFIED
    assert "700-byte" in reason


def test_a_payload_the_server_never_echoed_is_unverified() -> None:
    sent_only = [(2.0, CLIENT, SERVER, app_record(sctp_size(len(PAYLOAD))))]
    wire = check(handshake() + association() + sent_only)
    assert wire.missing == ("0 of 1 echoes of 700-byte messages [sized]",)


def test_a_reply_before_the_message_is_no_echo() -> None:
    backwards = [
        (2.0, SERVER, CLIENT, app_record(sctp_size(len(PAYLOAD)))),
        (2.1, CLIENT, SERVER, app_record(sctp_size(len(PAYLOAD)))),
    ]
    assert not check(handshake() + association() + backwards).verified


def test_a_sack_bundled_with_the_echo_still_fits() -> None:
    bundled = [
        (2.0, CLIENT, SERVER, app_record(sctp_size(len(PAYLOAD)))),
        (2.01, SERVER, CLIENT, app_record(sctp_size(len(PAYLOAD)) + 16)),
    ]
    assert check(handshake() + association() + bundled).verified


def bundles(per_record: int, records: int, size: int) -> list[tuple[float, str, str, bytes]]:
    """Records each carrying `per_record` DATA chunks of `size` bytes, and their echoes."""
    plaintext = 12 + per_record * (16 + (size + 3) // 4 * 4)
    return [
        (2.0 + i / 100 + back / 1000, *((SERVER, CLIENT) if back else (CLIENT, SERVER)), r)
        for i in range(records)
        for back, r in ((0, app_record(plaintext)), (1, app_record(plaintext)))
    ]


def test_messages_bundled_several_to_a_record_are_counted_each() -> None:
    facts = CellFacts(b"Q" * 296)  # "000:" + payload: 300-byte messages
    packets = handshake() + association() + bundles(4, 25, 300)
    wire = verify(Inputs(pcap_of(packets), ENDPOINTS, "datachannel-unordered", facts))
    assert wire.verified, wire.missing
    assert any("300-byte messages: 100 carried client→server, 100 back" in d for d in wire.details)


def test_bundles_too_small_for_every_message_are_unverified() -> None:
    facts = CellFacts(b"Q" * 296)
    packets = handshake() + association() + bundles(2, 20, 300)
    wire = verify(Inputs(pcap_of(packets), ENDPOINTS, "datachannel-unordered", facts))
    assert len(wire.missing) == 2  # each way: 40 messages' worth and set-up, not 100
    for gap, way in zip(wire.missing, ("client→server", "server→client"), strict=True):
        assert re.fullmatch(
            rf"only 1\d{{4}} bytes of SCTP {way}, the messages need 30000 \[sized\]", gap
        )


def test_messages_packed_across_full_packets_are_proven_by_their_total() -> None:
    """dcsctp fills each packet, the end of one message next to the start of the next:
    no record has a message's size, but the bytes each way hold all 100 of them."""
    facts = CellFacts(b"Q" * 296)
    full = [
        (2.0 + i / 100 + back / 1000, *((SERVER, CLIENT) if back else (CLIENT, SERVER)), r)
        for i in range(26)
        for back, r in ((0, app_record(1188)), (1, app_record(1188)))
    ]
    wire = verify(
        Inputs(
            pcap_of(handshake() + association() + full), ENDPOINTS, "datachannel-unordered", facts
        )
    )
    assert wire.verified, wire.missing
    assert any(d.startswith("packed: 31") for d in wire.details), wire.details
    short = [p for p in full if p[0] < 2.2]  # 20 packets each way: 23760 bytes and set-up
    wire = verify(
        Inputs(
            pcap_of(handshake() + association() + short), ENDPOINTS, "datachannel-unordered", facts
        )
    )
    assert any(
        re.fullmatch(
            r"only 24\d{3} bytes of SCTP client→server, the messages need 30000 \[sized\]", g
        )
        for g in wire.missing
    ), wire.missing


def test_an_original_contract_client_is_proven_by_the_echo_shape() -> None:
    token = echo(32)  # a 32-character token of its own choosing
    packets = handshake() + association() + token
    facts = CellFacts(PAYLOAD)
    pcap = pcap_of(packets)
    modern = verify(Inputs(pcap, ENDPOINTS, "datachannel", facts))
    assert not modern.verified  # a current client must send the orchestrator's payload
    old = verify(Inputs(pcap, ENDPOINTS, "datachannel", facts, client_follows_old_contract=True))
    assert old.verified, old.missing
    assert old.proof == "echo-shape"


def test_handshake_only_is_enough_for_peerconnection_only() -> None:
    assert check(handshake(), "peerconnection").verified
    assert check(handshake(), "peerconnection").proof == "transport"
    assert not check(handshake(), "datachannel").verified


def test_a_liar_that_never_connected_has_no_evidence() -> None:
    wire = check([], "peerconnection")
    assert wire.missing == (
        "no ICE check was answered either way",
        "no encrypted DTLS record from the client",
        "no encrypted DTLS record from the server",
    )
    assert wire.proof == "none"


def test_traffic_of_other_hosts_and_both_nat_hops_count_once() -> None:
    noise = [(0.5, GATEWAY, SERVER, app_record(sctp_size(len(PAYLOAD))))]
    wire = check(noise + handshake() + association() + echo(len(PAYLOAD)))
    assert wire.client_to_server.stun_requests == 1
    nat = Endpoints(SERVER, CLIENT, client_public=frozenset({"198.18.7.65"}))
    inside = [(t, CLIENT, SERVER, p) for t, s, d, p in handshake() if s == CLIENT]  # hop 1
    outside = [(t + 0.0001, "198.18.7.65", SERVER, p) for t, s, d, p in handshake() if s == CLIENT]
    back = [(t, SERVER, CLIENT, p) for t, s, d, p in handshake() if s == SERVER]
    wire = verify(Inputs(pcap_of(inside + outside + back), nat, "peerconnection", CellFacts(b"")))
    assert wire.verified, wire.missing
    assert wire.client_to_server.stun_requests == 1  # counted where it reached the server
    assert wire.path == "srflx"


@pytest.mark.parametrize("cut", [0, 10, 100, 700])
def test_a_damaged_capture_is_unverified_with_a_reason_never_a_crash(cut: int) -> None:
    whole = pcap_of(handshake() + association() + echo(len(PAYLOAD)))
    wire = verify(Inputs(whole[:cut], ENDPOINTS, "datachannel", CellFacts(PAYLOAD)))
    assert not wire.verified
    assert re.search(r"capture (unreadable|is cut)", " ".join(wire.missing)), wire.missing


def test_truncated_packets_keep_their_real_sizes() -> None:
    pcap = pcap_of(echo(len(PAYLOAD)))
    packets = read_pcap(pcap)
    assert packets.datagrams[0].size == len(app_record(sctp_size(len(PAYLOAD))))


def media_call(payload_type: int = 111, echo_from: float = 2.2, count: int = 60) -> list:  # type: ignore[type-arg]
    sent = [(2.0 + i * 0.02, CLIENT, SERVER, rtp(payload_type)) for i in range(count)]
    back = [(echo_from + i * 0.02, SERVER, CLIENT, rtp(payload_type)) for i in range(count)]
    return handshake() + sent + back


def signalling(sdp_answer: str) -> list[TcpSegment]:
    offer = http("POST", "/offer", json.dumps({"type": "offer", "sdp": "v=0\r\n"}).encode())
    answer = response(200, json.dumps({"type": "answer", "sdp": sdp_answer}).encode())
    return [
        (0.9, CLIENT, SERVER, 40000, 8080, 1000, offer),
        (0.95, SERVER, CLIENT, 8080, 40000, 5000, answer),
    ]


AUDIO_ANSWER = (
    "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\n"
)


def test_echoed_media_of_the_negotiated_type_is_an_rtp_echo() -> None:
    wire = check(media_call(), "audio", tcp=signalling(AUDIO_ANSWER))
    assert wire.verified, wire.missing
    assert wire.proof == "rtp-echo"
    assert dict(wire.measures)["audio_client_to_server_kbit_s"] > 0


def test_media_of_another_payload_type_does_not_count() -> None:
    wire = check(media_call(payload_type=110), "audio", tcp=signalling(AUDIO_ANSWER))
    assert "audio (opus): only 0 RTP packets of payload type 63/111 client→server" in wire.missing


def test_media_inside_negotiated_red_counts() -> None:
    wire = check(media_call(payload_type=63), "audio", tcp=signalling(AUDIO_ANSWER))
    assert wire.verified, wire.missing
    assert any("in RED)" in detail for detail in wire.details)


def test_media_without_the_answer_in_the_capture_is_unverified() -> None:
    assert check(media_call(), "audio").missing == (
        "audio (opus): no answer SDP in the captured signalling",
    )


def test_media_returned_before_it_was_sent_is_not_an_echo() -> None:
    wire = check(media_call(echo_from=1.5), "audio", tcp=signalling(AUDIO_ANSWER))
    assert "audio (opus): 26 RTP packets came back before any was sent (not an echo)" in (
        wire.missing
    )


def test_a_few_frames_of_silence_before_the_echo_are_tolerated() -> None:
    wire = check(media_call(echo_from=1.94), "audio", tcp=signalling(AUDIO_ANSWER))
    assert wire.verified, wire.missing  # 4 packets, as Chromium sends before the echo


def test_seconds_of_encoded_silence_before_a_slow_source_are_no_stream_of_its_own() -> None:
    """Chromium echoing Firefox: 43-byte silence packets for as long as Firefox takes to
    send; bigger packets that early would be the server's own stream."""
    silent = [(1.0 + i * 0.02, SERVER, CLIENT, rtp(111, 43)) for i in range(50)] + media_call()
    assert check(silent, "audio", tcp=signalling(AUDIO_ANSWER)).verified
    loud = [(1.0 + i * 0.02, SERVER, CLIENT, rtp(111, 90)) for i in range(50)] + media_call()
    assert "audio (opus): 50 RTP packets came back before any was sent (not an echo)" in (
        check(loud, "audio", tcp=signalling(AUDIO_ANSWER)).missing
    )


def test_an_echo_that_stalls_while_media_flows_fails() -> None:
    packets = media_call()
    stalled = [p for p in packets if not (p[1] == SERVER and 2.5 < p[0] < 5.0)]
    stalled += [(3.3 + i * 0.02, CLIENT, SERVER, rtp(111)) for i in range(150)]
    wire = check(stalled, "audio", tcp=signalling(AUDIO_ANSWER))
    assert any("the echo stopped for" in gap for gap in wire.missing), wire.missing


DECRYPTED = (Path(__file__).parent / "data" / "tshark-datachannel.json").read_text()
REAL = Endpoints("198.19.250.70", "198.19.250.10")
TOKEN = b"03550487b12f7d15784b846bfb7dc91f"  # what that real client sent
TSHARK_READ = Decrypted(tuple(chunks(DECRYPTED, REAL)), "tshark")


def test_decrypted_sctp_gives_the_messages_and_the_channel() -> None:
    found = messages(chunks(DECRYPTED, REAL))
    strings = [(m.sender, m.data) for m in found if m.ppid == 51]
    assert strings == [("client", TOKEN), ("server", TOKEN)]
    (opening,) = channel_opens(found)
    assert (opening.sender, opening.label, opening.channel_type) == ("client", "interop", 0)


def test_decryption_is_the_whole_truth() -> None:
    empty = pcap_of([])
    honest = verify(Inputs(empty, REAL, "datachannel", CellFacts(TOKEN), decrypted=TSHARK_READ))
    assert honest.proof == "none"  # an empty pcap: no transport evidence...
    assert all("[decrypted]" not in gap for gap in honest.missing)  # ...but the payload crossed
    other = verify(Inputs(empty, REAL, "datachannel", CellFacts(b"X" * 32), decrypted=TSHARK_READ))
    assert "P never crossed client→server [decrypted]" in other.missing


def test_key_log_lines_are_picked_from_either_peer() -> None:
    client = "noise\nKEYLOG: CLIENT_RANDOM aa bb\nKEYLOG: garbage\n"
    server = "KEYLOG: CLIENT_RANDOM aa bb\nKEYLOG: CLIENT_RANDOM cc dd\n"
    assert keylog_lines(client, server) == ["CLIENT_RANDOM aa bb", "CLIENT_RANDOM cc dd"]


def test_server_open_expects_the_confirmation_format() -> None:
    plan = RULES["datachannel-server-open"].plan
    assert plan is not None
    sends = plan(CellFacts(b"abc")).sends
    assert (
        sends[-1].data
        == b"CONFIRMED:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert confirmation(b"abc") == sends[-1].data


def test_every_test_case_in_the_matrix_has_a_rule_and_the_contract_shows_them() -> None:
    matrix = (ROOT / "matrix.yaml").read_text()
    tests = re.findall(r"^  ([a-z0-9-]+):\n    timeout:", matrix, flags=re.MULTILINE)
    assert set(tests) <= set(RULES)
    contract = (ROOT / "docs/contract.md").read_text()
    block = contract.split("<!-- evidence-table:start -->")[1].split("<!-- evidence-table:end -->")[
        0
    ]
    assert block.strip() == evidence_table().strip(), "run scripts/render_contract.py"


def test_a_hidden_client_leg_is_read_where_the_server_sends_toward_the_relay() -> None:
    hidden = Endpoints(
        server="10.0.0.70",
        client="10.0.0.10",
        relay=frozenset({"10.0.0.80"}),
        client_leg_hidden=True,
    )
    assert hidden.sender("10.0.0.80", "10.0.0.70") == "client"
    assert hidden.sender("10.0.0.70", "10.0.0.80") == "server"
    assert hidden.sender("10.0.0.80", "10.0.0.10") is None  # not seen over TLS anyway
    visible = replace(hidden, client_leg_hidden=False)
    assert visible.sender("10.0.0.70", "10.0.0.80") is None  # counted on arrival instead
    assert visible.sender("10.0.0.80", "10.0.0.10") == "server"


def test_sctp_inside_turn_data_indications_is_read() -> None:
    """A real capture (Firefox server relaying through Send/Data indications, Pion client,
    nat-symmetric): tshark nests the decrypted SCTP under the STUN DATA attribute."""
    relayed = (Path(__file__).parent / "data" / "tshark-relayed.json").read_text()
    endpoints = Endpoints(
        "198.19.85.130",
        "198.19.85.10",
        server_public=frozenset({"198.19.85.66"}),
        client_public=frozenset({"198.19.85.65"}),
        relay=frozenset({"198.19.85.80"}),
    )
    found = [(m.sender, len(m.data)) for m in messages(chunks(relayed, endpoints)) if m.ppid == 51]
    assert found == [("client", 807), ("server", 807)]


def test_one_conversation_joins_the_hops_of_an_association() -> None:
    """The client's records leave for the server's NAT, the server's reach the client from
    it or inside a relay's ChannelData: one 5-tuple between the peers' own addresses
    after, so a dissector sees one DTLS session; STUN and hops that touch neither peer
    stay as they were."""
    endpoints = Endpoints(SERVER, CLIENT, server_public=frozenset({GATEWAY}))
    elsewhere, relay = "198.18.7.99", "198.18.7.80"
    record = app_record(100)
    channel_data = b"\x40\x00" + len(record).to_bytes(2, "big") + record
    packets = [
        (1.0, CLIENT, GATEWAY, record),
        (1.1, GATEWAY, CLIENT, record),
        (1.2, CLIENT, GATEWAY, stun(0x0001, b"t" * 12)),
        (1.3, GATEWAY, elsewhere, record),
        (1.4, relay, CLIENT, channel_data),
    ]
    rewritten = one_conversation(pcap_of(packets), endpoints)
    seen = read_pcap(rewritten).datagrams
    assert [(d.src, d.sport, d.dst, d.dport) for d in seen] == [
        (CLIENT, 40000, SERVER, 40001),
        (SERVER, 40001, CLIENT, 40000),
        (CLIENT, 50000, GATEWAY, 50001),
        (GATEWAY, 50000, elsewhere, 50001),
        (SERVER, 40001, CLIENT, 40000),
    ]
    assert seen[4].payload == record  # unwrapped
    assert seen[4].size == len(record)
    assert conversation_sender(SERVER, 40001, 40000, endpoints) == "server"
    assert conversation_sender(GATEWAY, 40001, 40000, endpoints) is None
    for _, frame in dpkt.pcap.Reader(io.BytesIO(rewritten)):
        ip = dpkt.ethernet.Ethernet(frame).data
        checksum = ip.sum
        ip.sum = 0
        assert dpkt.ip.IP(bytes(ip)).sum == checksum  # dpkt computes it afresh


def test_unordered_messages_may_start_ordered_but_not_go_back() -> None:
    """RFC 8832 section 6: an opener sends ordered until the ACK has arrived; a message
    queued before it may cross later, but after unordered ones an ordered one is wrong."""
    plan = RULES["datachannel-unordered"].plan
    assert plan is not None

    def sent(at: float, unordered: bool) -> Message:
        return Message(at, "client", 1, 51, b"000:" + PAYLOAD, unordered)

    early = [sent(0.9, False), sent(1.1, False), sent(1.2, True)]
    gaps = datachecks.decrypted(plan(CellFacts(PAYLOAD)), early, []).gaps
    assert not any("U bit" in gap for gap in gaps)
    late = [sent(1.1, True), sent(1.2, False), sent(1.3, True)]
    gaps = datachecks.decrypted(plan(CellFacts(PAYLOAD)), late, []).gaps
    assert (
        "1 of the client's messages went ordered (U bit clear) after it had sent unordered "
        "ones on the channel" in gaps
    )


def test_records_the_capture_skipped_are_named_not_blamed_on_the_peers() -> None:
    """The server's records 2 and 3 never reached the recording (its sequence numbers
    skip them), so the missing echo may have crossed unseen; the reason says so."""
    sent = [(2.0, CLIENT, SERVER, app_record(sctp_size(len(PAYLOAD)), sequence=1))]
    back = [(2.01 + n / 100, SERVER, CLIENT, app_record(40, sequence=n)) for n in (1, 4)]
    wire = check(handshake() + association() + sent + back)
    assert wire.missing == (
        "0 of 1 echoes of 700-byte messages [sized]",
        "the capture lacks 2 of the server's DTLS records (their sequence numbers were "
        "skipped): what is missing may have crossed unrecorded",
    )
    assert check(handshake() + association() + echo(len(PAYLOAD))).verified


def client_hello(random: bytes) -> bytes:
    body = b"\xfe\xfd" + random + b"\x00"
    header = bytes([1]) + len(body).to_bytes(3, "big") + b"\0\0" + b"\0\0\0"
    return dtls(22, 0, header + len(body).to_bytes(3, "big") + body)


def test_each_association_gets_its_own_conversation() -> None:
    """`reconnect`: a second ClientHello with a new random starts a second association on
    new ports; a retransmitted ClientHello (same random) does not."""
    packets = [
        (1.0, SERVER, CLIENT, client_hello(b"a" * 32)),
        (1.1, SERVER, CLIENT, client_hello(b"a" * 32)),
        (1.2, CLIENT, SERVER, app_record(100)),
        (2.0, SERVER, CLIENT, client_hello(b"b" * 32)),
        (2.1, CLIENT, SERVER, app_record(100)),
    ]
    seen = read_pcap(one_conversation(pcap_of(packets), ENDPOINTS)).datagrams
    assert [(d.sport, d.dport) for d in seen] == [
        (40001, 40000),
        (40001, 40000),
        (40000, 40001),
        (40003, 40002),
        (40002, 40003),
    ]
    assert conversation_sender(CLIENT, 40002, 40003, ENDPOINTS) == "client"
    assert conversation_sender(SERVER, 40003, 40002, ENDPOINTS) == "server"


def test_the_offer_path_drops_its_query_and_the_orchestrators_delete_is_not_signalling() -> None:
    offer = http(
        "POST", "/offer?payload=2a2b", json.dumps({"type": "offer", "sdp": "v=0"}).encode()
    )
    reset = http("DELETE", "/sessions", b"")
    gateway = "198.18.0.254"
    segments = [
        (0.9, CLIENT, SERVER, 40000, 8080, 1000, offer),
        (0.95, SERVER, CLIENT, 8080, 40000, 5000, response(200, b"{}")),
        (3.0, gateway, SERVER, 41000, 8080, 7000, reset),
        (3.1, SERVER, gateway, 8080, 41000, 9000, response(200, b"")),
    ]
    found = exchanges(read_pcap(pcap_of([], segments)).segments, frozenset({SERVER}), 8080)
    assert [(e.method, e.path, e.status) for e in found] == [("POST", "/offer", 200)]
