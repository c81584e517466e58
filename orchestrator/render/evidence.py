"""A cell's wire evidence in words, the same in every report: a short note for the grid,
and the lines behind a pass (proof level, path, what was seen, measured values)."""

from __future__ import annotations

from orchestrator.model import CellResult, Traffic, Verification

MEASURE_NAMES = {
    "goodput_client_to_server_mib_s": ("goodput client→server", "MiB/s"),
    "goodput_server_to_client_mib_s": ("goodput server→client", "MiB/s"),
}


def grid_note(result: CellResult) -> str | None:
    """What the grid shows under a symbol: the goodput of a bulk cell, else the connect
    time."""
    wire = result.verification
    if wire is None:
        return None
    measures = dict(wire.measures)
    if "goodput_client_to_server_mib_s" in measures:
        return f"{measures['goodput_client_to_server_mib_s']:.1f} MiB/s"
    if wire.connect_time_s is not None:
        return f"{wire.connect_time_s * 1000:.0f} ms"
    return None


def evidence_lines(wire: Verification) -> list[str]:
    verdict = (
        f"proven ({wire.proof})" if wire.verified else "NOT proven: " + "; ".join(wire.missing)
    )
    lines = [f"capture: {verdict}"]
    if wire.path:
        lines.append(f"path: {wire.path}")
    if wire.connect_time_s is not None:
        lines.append(
            f"connect time: {wire.connect_time_s * 1000:.1f} ms (first ICE check to both "
            "peers' first encrypted DTLS record)"
        )
    lines += wire.details
    lines += [measure_text(name, value) for name, value in wire.measures]
    lines.append(f"client → server: {traffic_text(wire.client_to_server)}")
    lines.append(f"server → client: {traffic_text(wire.server_to_client)}")
    return lines


def measure_text(name: str, value: float) -> str:
    label, unit = MEASURE_NAMES.get(name, (name.replace("_", " "), ""))
    if name.endswith("_kbit_s"):
        label, unit = name.removesuffix("_kbit_s").replace("_", " "), "kbit/s"
    return f"{label}: {value:g} {unit}".rstrip()


def traffic_text(traffic: Traffic) -> str:
    return (
        f"{traffic.packets} packets, {traffic.bytes} bytes; STUN {traffic.stun_requests} "
        f"requests / {traffic.stun_successes} successes; DTLS {traffic.dtls_handshake_records}"
        f" handshake, {traffic.dtls_encrypted_records} encrypted, "
        f"{traffic.dtls_application_records} application records; "
        f"RTP {traffic.rtp_packets}, RTCP {traffic.rtcp_packets}"
    )
