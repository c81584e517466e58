from __future__ import annotations

import io
import socket
import struct

import dpkt
import pytest

from orchestrator.evidence import CaptureUnreadable, Kind, demultiplex, verify
from orchestrator.model import Outcome
from orchestrator.outcomes import reconcile

SERVER, CLIENT, GATEWAY = "172.18.0.2", "172.18.0.3", "172.18.0.1"
Packet = tuple[float, str, str, bytes]


def pcap_of(packets: list[Packet]) -> bytes:
    """A real pcap file, as tcpdump writes it, of UDP datagrams."""
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out)
    for timestamp, source, destination, payload in packets:
        udp = dpkt.udp.UDP(sport=50000, dport=50001, data=payload)
        udp.ulen = len(udp)
        ip = dpkt.ip.IP(
            src=socket.inet_aton(source),
            dst=socket.inet_aton(destination),
            p=dpkt.ip.IP_PROTO_UDP,
            data=udp,
        )
        ip.len = len(ip)
        frame = dpkt.ethernet.Ethernet(
            src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip
        )
        writer.writepkt(bytes(frame), ts=timestamp)
    return out.getvalue()


def stun(kind: int, transaction: bytes) -> bytes:
    return struct.pack("!HHI", kind, 0, 0x2112A442) + transaction


def dtls(content_type: int, epoch: int, body: bytes = b"x" * 16) -> bytes:
    return struct.pack("!BHH6sH", content_type, 0xFEFD, epoch, b"\0" * 6, len(body)) + body


HANDSHAKE, APPLICATION, CCS = 22, 23, 20


def exchange(app_data: bool = True) -> list[Packet]:
    """Checks answered both ways, a full DTLS 1.2 handshake, optionally data both ways."""
    packets: list[Packet] = [
        (1.000, CLIENT, SERVER, stun(0x0001, b"c" * 12)),
        (1.001, SERVER, CLIENT, stun(0x0101, b"c" * 12)),
        (1.002, SERVER, CLIENT, stun(0x0001, b"s" * 12)),
        (1.003, CLIENT, SERVER, stun(0x0101, b"s" * 12)),
        (1.010, CLIENT, SERVER, dtls(HANDSHAKE, 0)),
        (1.020, SERVER, CLIENT, dtls(HANDSHAKE, 0) + dtls(HANDSHAKE, 0)),  # two records
        (1.030, CLIENT, SERVER, dtls(HANDSHAKE, 0) + dtls(CCS, 0, b"\x01") + dtls(HANDSHAKE, 1)),
        (1.040, SERVER, CLIENT, dtls(CCS, 0, b"\x01") + dtls(HANDSHAKE, 1)),
    ]
    if app_data:
        packets += [
            (1.050, CLIENT, SERVER, dtls(APPLICATION, 1)),
            (1.060, SERVER, CLIENT, dtls(APPLICATION, 1)),
        ]
    return packets


@pytest.mark.parametrize(
    ("first_bytes", "kind"),
    [
        (b"\x00\x01", Kind.STUN),
        (b"\x16\xfe", Kind.DTLS),
        (b"\x2f", Kind.DTLS),
        (b"\x80\x6f", Kind.RTP),
        (b"\x80\xc8", Kind.RTCP),
        (b"\x40", Kind.OTHER),
        (b"", Kind.OTHER),
    ],
)
def test_demultiplexing_follows_rfc_7983(first_bytes: bytes, kind: Kind) -> None:
    assert demultiplex(first_bytes) is kind


def test_a_complete_data_channel_exchange_is_verified() -> None:
    wire = verify(pcap_of(exchange()), SERVER, CLIENT, "datachannel")
    assert wire.verified, wire.missing
    assert wire.client_checks_answered
    assert wire.server_checks_answered
    assert wire.connect_time_s == pytest.approx(0.040)  # first check 1.000, both encrypted 1.040
    assert wire.client_to_server.dtls_handshake_records == 3
    assert wire.server_to_client.dtls_handshake_records == 3
    assert wire.client_to_server.dtls_encrypted_records == 2
    assert wire.client_to_server.dtls_application_records == 1
    assert wire.client_to_server.packets == 5
    assert wire.server_to_client.packets == 5


def test_handshake_without_data_is_enough_for_peerconnection_only() -> None:
    pcap = pcap_of(exchange(app_data=False))
    assert verify(pcap, SERVER, CLIENT, "peerconnection").verified
    assert verify(pcap, SERVER, CLIENT, "datachannel").missing == (
        "no DTLS application data from the client after the handshake",
        "no DTLS application data from the server after the handshake",
    )


def test_a_liar_that_never_connected_has_no_evidence() -> None:
    wire = verify(pcap_of([]), SERVER, CLIENT, "peerconnection")
    assert not wire.verified
    assert wire.missing == (
        "no ICE check from the client was answered",
        "no ICE check from the server was answered",
        "no encrypted DTLS record from the client",
        "no encrypted DTLS record from the server",
    )
    assert wire.connect_time_s is None
    outcome, reason = reconcile(Outcome.PASSED, "connected", wire)
    assert outcome is Outcome.UNVERIFIED
    assert reason.startswith("client exited 0 but no ICE check from the client was answered")


def test_unanswered_checks_are_named() -> None:
    packets = [p for p in exchange() if p[3][:2] != b"\x01\x01" or p[1] != SERVER]
    wire = verify(pcap_of(packets), SERVER, CLIENT, "datachannel")
    assert wire.missing == ("no ICE check from the client was answered",)


def test_traffic_of_other_hosts_is_ignored() -> None:
    noise = [
        (0.5, GATEWAY, SERVER, stun(0x0001, b"g" * 12)),
        (0.6, SERVER, GATEWAY, stun(0x0101, b"g" * 12)),
    ]
    wire = verify(pcap_of(noise + exchange()), SERVER, CLIENT, "datachannel")
    assert wire.client_to_server.stun_requests == 1
    assert wire.connect_time_s == pytest.approx(0.040)


def test_dtls_13_unified_header_records_count_as_encrypted() -> None:
    unified = bytes([0x2C]) + b"\x00\x01" + struct.pack("!H", 20) + b"e" * 20  # C=0 S=1 L=1
    packets = [
        *exchange(app_data=False)[:4],
        (1.01, CLIENT, SERVER, dtls(HANDSHAKE, 0)),
        (1.02, SERVER, CLIENT, dtls(HANDSHAKE, 0) + unified),
        (1.03, CLIENT, SERVER, unified),
        (1.04, CLIENT, SERVER, unified),
        (1.05, SERVER, CLIENT, unified),
    ]
    wire = verify(pcap_of(packets), SERVER, CLIENT, "datachannel")
    assert wire.verified, wire.missing
    assert wire.server_to_client.dtls_encrypted_records == 2
    assert wire.connect_time_s == pytest.approx(0.03)


def test_media_needs_srtp_both_ways() -> None:
    rtp = bytes([0x80, 0x6F]) + b"\0" * 10
    one_way = exchange() + [(2.0 + i / 100, CLIENT, SERVER, rtp) for i in range(12)]
    wire = verify(pcap_of(one_way), SERVER, CLIENT, "audio")
    assert wire.missing == ("only 0 SRTP packets from the server",)
    both = one_way + [(3.0 + i / 100, SERVER, CLIENT, rtp) for i in range(12)]
    assert verify(pcap_of(both), SERVER, CLIENT, "video").verified


def test_failed_client_with_complete_wire_keeps_its_verdict_with_a_note() -> None:
    wire = verify(pcap_of(exchange()), SERVER, CLIENT, "datachannel")
    outcome, reason = reconcile(Outcome.FAILED, "echo mismatch", wire)
    assert outcome is Outcome.FAILED
    assert reason == "echo mismatch (yet the capture shows a complete exchange)"


def test_garbage_is_not_a_capture() -> None:
    with pytest.raises(CaptureUnreadable):
        verify(b"not a pcap at all", SERVER, CLIENT, "peerconnection")


def test_a_client_that_left_before_docker_gave_its_address_is_found_by_its_traffic() -> None:
    noise = [(0.5, GATEWAY, SERVER, b"\x40 not webrtc")]
    wire = verify(pcap_of(noise + exchange()), SERVER, None, "datachannel")
    assert wire.verified, wire.missing
    assert wire.client_to_server.packets == 5
    assert not verify(pcap_of([]), SERVER, None, "peerconnection").verified
