"""Whether a data channel plan's messages crossed: from decrypted SCTP, from record
sizes, or (for a client of the original contract) from the shape of an echo."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from orchestrator.wire.decrypt import PPID_DCEP, ChannelOpen, Message
from orchestrator.wire.dtls import plaintext_range
from orchestrator.wire.flows import AppRecord, Flows
from orchestrator.wire.rules import Plan, Send

DATA_HEADERS = (16, 20)  # DATA and I-DATA chunk headers
SCTP_HEADER = 12
BUNDLED_MAX = 64  # a SACK, a DCEP message or a FORWARD-TSN in the same packet
ONE_RECORD_MAX = 1100  # user data that always fits one DTLS record
ECHO_SHAPE_SKIP = 3  # each side's first records: SCTP association set-up
ECHO_SHAPE_MIN = SCTP_HEADER + 16 + 8  # at least 8 bytes of user data


@dataclass(frozen=True)
class DataEvidence:
    gaps: tuple[str, ...]
    details: tuple[str, ...]


def decrypted(plan: Plan, messages: list[Message], opens: list[ChannelOpen]) -> DataEvidence:
    gaps: list[str] = []
    details: list[str] = []
    echoes = 0
    for send in plan.sends:
        sent = _find(messages, send.sender, send, after=None)
        if sent is None:
            if plan.min_echoes is None:  # unreliable messages may be lost on the way
                gaps.append(
                    f"{send.name} never crossed {send.sender}→{_other(send.sender)} [decrypted]"
                )
            continue
        if not send.echoed:
            continue
        echo = _find(messages, _other(send.sender), send, after=sent)
        if echo is None:
            if plan.min_echoes is None:
                gaps.append(f"{send.name} was not echoed back [decrypted]")
        else:
            echoes += 1
    if plan.min_echoes is not None and echoes < plan.min_echoes:
        gaps.append(f"only {echoes} echoes came back intact, {plan.min_echoes} needed [decrypted]")
    gaps += _channel_gaps(plan, messages, opens)
    details.append(
        f"decrypted: {len(messages)} data channel messages, {echoes} echoes matched byte for byte"
    )
    return DataEvidence(tuple(gaps), tuple(details))


def _find(
    messages: list[Message], sender: str, send: Send, after: Message | None
) -> Message | None:
    for message in messages:
        if message.sender != sender or message.ppid != send.ppid or message.data != send.data:
            continue
        if send.stream is not None and message.stream != send.stream:
            continue
        if after is not None and (message.time < after.time or message.stream != after.stream):
            continue
        return message
    return None


def _channel_gaps(plan: Plan, messages: list[Message], opens: list[ChannelOpen]) -> list[str]:
    gaps = []
    if plan.unordered:
        data = [m for m in messages if m.ppid != PPID_DCEP and m.sender == "client"]
        if data and not all(m.unordered for m in data):
            gaps.append("the client's messages were not sent unordered (U bit clear)")
        client_opens = [o for o in opens if o.sender == "client"]
        if client_opens and not any(
            o.channel_type == 0x81 and o.reliability == 0 for o in client_opens
        ):
            kinds = ", ".join(f"0x{o.channel_type:02x}/{o.reliability}" for o in client_opens)
            gaps.append(
                f"the channel was not opened unordered with 0 retransmissions "
                f"(DCEP channel type 0x81/0 expected, got {kinds})"
            )
    if plan.negotiated_stream is not None and opens:
        gaps.append("a negotiated channel must not send DCEP, but DCEP OPEN crossed")
    if plan.server_opens is not None and not any(
        o.sender == "server" and o.label == plan.server_opens for o in opens
    ):
        gaps.append(f"the server never opened '{plan.server_opens}' (no DCEP OPEN from it)")
    return gaps


def sized(plan: Plan, flows: Flows) -> DataEvidence:
    """Each message's size in application records of the right direction, the echo
    after the message; messages too big for one record by their total."""
    gaps: list[str] = []
    details: list[str] = []
    by_sender = {
        "client": flows.client_to_server.app_records,
        "server": flows.server_to_client.app_records,
    }
    small = [s for s in plan.sends if 0 < len(s.data) <= ONE_RECORD_MAX]
    large = [s for s in plan.sends if len(s.data) > ONE_RECORD_MAX]
    for size, group in _by_size(small).items():
        sender = group[0].sender
        needed = len(group)
        echo_needed = sum(1 for s in group if s.echoed)
        if plan.min_echoes is not None:
            echo_needed = min(echo_needed, plan.min_echoes)
        sent = [r for r in by_sender[sender] if fits(r, size, flows.suite)]
        first = sent[0].time if sent else None
        echoed = [
            r
            for r in by_sender[_other(sender)]
            if fits(r, size, flows.suite) and first is not None and r.time > first
        ]
        if len(sent) < needed:
            gaps.append(
                f"{len(sent)} of {needed} {sender}→{_other(sender)} records carry {size}-byte "
                "messages [sized]"
            )
        if len(echoed) < echo_needed:
            gaps.append(f"{len(echoed)} of {echo_needed} echoes of {size}-byte messages [sized]")
        details.append(
            f"{size}-byte messages: {len(sent)} records {sender}→{_other(sender)}, "
            f"{len(echoed)} back, sizes {_sizes(sent + echoed)}"
        )
    if large:
        gaps += _large_totals(large, by_sender, details)
    if any(len(s.data) == 0 for s in plan.sends):
        details.append("an empty message cannot be proven by size; only decryption shows it")
    return DataEvidence(tuple(gaps), tuple(details))


def fits(record: AppRecord, size: int, suite: int | None) -> bool:
    """Whether a record's plaintext can be one DATA chunk of `size` user bytes (padded
    or not), alone or with a small control chunk bundled."""
    low, high = plaintext_range(record.record, suite)
    for header in DATA_HEADERS:
        for body in {size, (size + 3) // 4 * 4}:
            base = SCTP_HEADER + header + body
            for extra in range(0, BUNDLED_MAX + 1, 4):
                if low <= base + extra <= high:
                    return True
    return False


def _large_totals(
    large: list[Send], by_sender: dict[str, list[AppRecord]], details: list[str]
) -> list[str]:
    gaps = []
    sender = large[0].sender
    total = sum(len(s.data) for s in large)
    for direction in (sender, _other(sender)):
        carried = sum(r.record.length for r in by_sender[direction])
        details.append(f"{direction}→{_other(direction)}: {carried} bytes of application records")
        if carried < total:
            gaps.append(
                f"only {carried} bytes of application data {direction}→{_other(direction)}, "
                f"the messages are {total} bytes [sized]"
            )
    return gaps


def echo_shape(flows: Flows) -> DataEvidence:
    """For a client of the original contract (it chose its own message): a client record
    that set-up does not explain, then a server record of the same size."""
    sent = flows.client_to_server.app_records[ECHO_SHAPE_SKIP:]
    back = flows.server_to_client.app_records[ECHO_SHAPE_SKIP:]
    for record in sent:
        if record.record.length < ECHO_SHAPE_MIN:
            continue
        for echo in back:
            if echo.time > record.time and abs(echo.record.length - record.record.length) in (
                0,
                16,
            ):
                return DataEvidence(
                    (),
                    (
                        f"echo shape: {record.record.length} B client→server, "
                        f"{echo.record.length} B back {echo.time - record.time:.3f} s later",
                    ),
                )
    return DataEvidence(("no echo-shaped pair of application records [echo-shape]",), ())


def _by_size(sends: list[Send]) -> dict[int, list[Send]]:
    groups: dict[int, list[Send]] = {}
    for send in sends:
        groups.setdefault(len(send.data), []).append(send)
    return groups


def _sizes(records: list[AppRecord]) -> str:
    counts = Counter(r.record.length for r in records)
    return ", ".join(f"{size} B×{n}" for size, n in sorted(counts.items())) or "none"


def _other(side: str) -> str:
    return "server" if side == "client" else "client"
