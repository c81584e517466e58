"""A cell's wire evidence as the few lines a maintainer reads first (verification.txt)."""

from __future__ import annotations

from orchestrator.model import Traffic, Verification


def verification_text(wire: Verification, test: str) -> str:
    verdict = "verified" if wire.verified else "NOT verified: " + "; ".join(wire.missing)
    connect = (
        f"{wire.connect_time_s * 1000:.1f} ms (first ICE check to both peers' first "
        "encrypted DTLS record)"
        if wire.connect_time_s is not None
        else "not reached"
    )
    return "\n".join(
        [
            f"test case: {test}",
            f"capture: {verdict}",
            f"connect time: {connect}",
            f"ICE checks answered: client's {_yes(wire.client_checks_answered)}, "
            f"server's {_yes(wire.server_checks_answered)}",
            f"client -> server: {traffic_text(wire.client_to_server)}",
            f"server -> client: {traffic_text(wire.server_to_client)}",
            "",
        ]
    )


def traffic_text(traffic: Traffic) -> str:
    return (
        f"{traffic.packets} packets, {traffic.bytes} bytes; STUN {traffic.stun_requests} "
        f"requests / {traffic.stun_successes} successes; DTLS {traffic.dtls_handshake_records}"
        f" handshake, {traffic.dtls_encrypted_records} encrypted, "
        f"{traffic.dtls_application_records} application records; "
        f"RTP {traffic.rtp_packets}, RTCP {traffic.rtcp_packets}"
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
