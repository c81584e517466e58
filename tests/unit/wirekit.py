"""Hand-made captures for the evidence tests: real pcap files of chosen packets."""

from __future__ import annotations

import io
import socket
import struct

import dpkt

SERVER, CLIENT, GATEWAY = "198.18.7.70", "198.18.7.10", "198.18.7.254"
HANDSHAKE, APPLICATION, CCS = 22, 23, 20
GCM_SUITE = 0xC02B
Packet = tuple[float, str, str, bytes]


TcpSegment = tuple[float, str, str, int, int, int, bytes]


def pcap_of(packets: list[Packet], tcp: list[TcpSegment] | None = None) -> bytes:
    """A pcap as tcpdump writes it, of UDP datagrams (ports 50000 -> 50001) and TCP
    segments (time, src, dst, sport, dport, seq, payload)."""
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out)
    frames = [(t, _ip(s, d, _udp(p))) for t, s, d, p in packets]
    frames += [
        (t, _ip(s, d, _tcp(sp, dp, seq, p), dpkt.ip.IP_PROTO_TCP))
        for t, s, d, sp, dp, seq, p in tcp or []
    ]
    for timestamp, ip in sorted(frames, key=lambda f: f[0]):
        frame = dpkt.ethernet.Ethernet(
            src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip
        )
        writer.writepkt(bytes(frame), ts=timestamp)
    return out.getvalue()


def _udp(payload: bytes) -> dpkt.udp.UDP:
    udp = dpkt.udp.UDP(sport=50000, dport=50001, data=payload)
    udp.ulen = len(udp)
    return udp


def _tcp(sport: int, dport: int, seq: int, payload: bytes) -> dpkt.tcp.TCP:
    return dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, flags=dpkt.tcp.TH_ACK, data=payload)


def _ip(
    source: str, destination: str, data: object, proto: int = dpkt.ip.IP_PROTO_UDP
) -> dpkt.ip.IP:
    ip = dpkt.ip.IP(
        src=socket.inet_aton(source), dst=socket.inet_aton(destination), p=proto, data=data
    )
    ip.len = len(ip)
    return ip


def stun(kind: int, transaction: bytes, username: str | None = None) -> bytes:
    body = b""
    if username is not None:
        value = username.encode()
        body = struct.pack("!HH", 0x0006, len(value)) + value + b"\0" * (-len(value) % 4)
    return struct.pack("!HHI", kind, len(body), 0x2112A442) + transaction + body


def dtls(content_type: int, epoch: int, body: bytes = b"x" * 16, sequence: int = 0) -> bytes:
    header = struct.pack("!BHH", content_type, 0xFEFD, epoch) + sequence.to_bytes(6, "big")
    return header + struct.pack("!H", len(body)) + body


def server_hello(suite: int = GCM_SUITE) -> bytes:
    hello = b"\xfe\xfd" + b"r" * 32 + b"\x00" + struct.pack("!H", suite) + b"\x00"
    header = (
        bytes([2])
        + len(hello).to_bytes(3, "big")
        + b"\0\0"
        + b"\0\0\0"
        + len(hello).to_bytes(3, "big")
    )
    return dtls(HANDSHAKE, 0, header + hello)


def app_record(plaintext: int, sequence: int = 0) -> bytes:
    """An AES-GCM application data record carrying `plaintext` bytes."""
    return dtls(APPLICATION, 1, b"e" * (plaintext + 24), sequence)


def sctp_size(user_data: int) -> int:
    """The SCTP packet carrying one DATA chunk of `user_data` bytes, padded."""
    return 12 + 16 + (user_data + 3) // 4 * 4


def rtp(payload_type: int, size: int = 100) -> bytes:
    return bytes([0x80, payload_type]) + b"\0" * 6 + b"\0\0\0\x01" + b"m" * (size - 12)


def handshake(server: str = SERVER, client: str = CLIENT, start: float = 1.0) -> list[Packet]:
    """Checks answered both ways and a DTLS 1.2 handshake (AES-GCM), 40 ms long."""
    t = start
    return [
        (t, client, server, stun(0x0001, b"c" * 12, "srv:cli")),
        (t + 0.001, server, client, stun(0x0101, b"c" * 12)),
        (t + 0.002, server, client, stun(0x0001, b"s" * 12, "cli:srv")),
        (t + 0.003, client, server, stun(0x0101, b"s" * 12)),
        (t + 0.010, server, client, dtls(HANDSHAKE, 0)),
        (t + 0.020, client, server, server_hello() + dtls(HANDSHAKE, 0)),
        (
            t + 0.030,
            server,
            client,
            dtls(HANDSHAKE, 0) + dtls(CCS, 0, b"\x01") + dtls(HANDSHAKE, 1),
        ),
        (t + 0.040, client, server, dtls(CCS, 0, b"\x01") + dtls(HANDSHAKE, 1)),
    ]


def association(start: float = 1.05) -> list[Packet]:
    """SCTP set-up and a DCEP OPEN/ACK: small application records both ways."""
    return [
        (
            start + i * 0.001,
            CLIENT if i % 2 == 0 else SERVER,
            SERVER if i % 2 == 0 else CLIENT,
            app_record(size),
        )
        for i, size in enumerate((100, 300, 290, 16, 48, 32))
    ]


def http(
    method: str, path: str, body: bytes, headers: str = "Content-Type: application/json\r\n"
) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: server\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def response(
    status: int, body: bytes, headers: str = "Content-Type: application/json\r\n"
) -> bytes:
    return f"HTTP/1.1 {status} OK\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body
