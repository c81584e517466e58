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
BUNDLE_MAX = 12  # DATA chunks counted in one record
PACKED_MIN = 16384  # message bytes that set-up and control traffic cannot account for
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
        ordered = _back_to_ordered(messages)
        if ordered:
            gaps.append(
                f"{ordered} of the client's messages went ordered (U bit clear) after it had "
                "sent unordered ones on the channel"
            )
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


def _back_to_ordered(messages: list[Message]) -> int:
    """Client messages sent with the U bit clear after the same stream had already carried
    unordered ones. Before the DCEP ACK an opener keeps an unordered channel's messages
    ordered (RFC 8832 section 6), and a stack decides that when a message is queued, not
    when it leaves, so a burst may cross ordered well after the ACK; but once a sender
    has switched to unordered, an ordered message means it does not keep to the channel."""
    switched: set[int] = set()
    count = 0
    for m in messages:
        if m.sender != "client" or m.ppid == PPID_DCEP:
            continue
        if m.unordered:
            switched.add(m.stream)
        elif m.stream in switched:
            count += 1
    return count


def sized(plan: Plan, flows: Flows) -> DataEvidence:
    """Each message's size in application records of the right direction, the echo
    after the message; messages too big for one record by their total. A record may
    carry several messages bundled (SCTP packs small DATA chunks into one packet)."""
    gaps: list[str] = []
    details: list[str] = []
    by_sender = {
        "client": flows.client_to_server.app_records,
        "server": flows.server_to_client.app_records,
    }
    small = [s for s in plan.sends if len(s.data) <= ONE_RECORD_MAX]
    large = [s for s in plan.sends if len(s.data) > ONE_RECORD_MAX]
    for sender in ("client", "server"):
        mine = [s for s in small if s.sender == sender]
        if mine:
            _sized_direction(plan, mine, by_sender, flows.suite, gaps, details)
    if large:
        gaps += _large_totals(large, by_sender, details)
    if any(len(s.data) == 0 for s in plan.sends):
        details.append("an empty message cannot be proven by size; only decryption shows it")
    return DataEvidence(tuple(gaps), tuple(details))


def _sized_direction(
    plan: Plan,
    sends: list[Send],
    by_sender: dict[str, list[AppRecord]],
    suite: int | None,
    gaps: list[str],
    details: list[str],
) -> None:
    sender = sends[0].sender
    wanted = Counter(len(s.data) for s in sends)
    echo_wanted = Counter(len(s.data) for s in sends if s.echoed)
    if plan.min_echoes is not None:
        echo_wanted = Counter({size: min(n, plan.min_echoes) for size, n in echo_wanted.items()})
    sent, first = _carried(by_sender[sender], wanted, suite, after=None)
    echoed, _ = _carried(by_sender[_other(sender)], echo_wanted, suite, after=first)
    found: list[str] = []
    for size in sorted(s for s in wanted if s > 0):  # an empty message is one padding byte
        if sent[size] < wanted[size]:
            found.append(
                f"{sent[size]} of {wanted[size]} {sender}→{_other(sender)} records carry "
                f"{size}-byte messages [sized]"
            )
        if echoed[size] < echo_wanted[size]:
            found.append(
                f"{echoed[size]} of {echo_wanted[size]} echoes of {size}-byte messages [sized]"
            )
        details.append(
            f"{size}-byte messages: {sent[size]} carried {sender}→{_other(sender)}, "
            f"{echoed[size]} back"
        )
    if found and _total(wanted) >= PACKED_MIN:
        found = _packed(sender, wanted, echo_wanted, by_sender, suite, details)
    gaps += found


def _packed(
    sender: str,
    wanted: Counter[int],
    echo_wanted: Counter[int],
    by_sender: dict[str, list[AppRecord]],
    suite: int | None,
    details: list[str],
) -> list[str]:
    """Many messages a stack packed into full packets, fragments of one next to the start
    of the next (dcsctp does): record boundaries say nothing of message boundaries, but
    the plaintext each way must at least hold the messages."""
    gaps = []
    for direction, needed in ((sender, _total(wanted)), (_other(sender), _total(echo_wanted))):
        carried = sum(plaintext_range(r.record, suite)[0] for r in by_sender[direction])
        details.append(
            f"packed: {carried} bytes of SCTP {direction}→{_other(direction)} for {needed} "
            "bytes of messages"
        )
        if carried < needed:
            gaps.append(
                f"only {carried} bytes of SCTP {direction}→{_other(direction)}, the messages "
                f"need {needed} [sized]"
            )
    return gaps


def _total(sizes: Counter[int]) -> int:
    return sum(size * n for size, n in sizes.items())


def _carried(
    records: list[AppRecord], wanted: Counter[int], suite: int | None, after: float | None
) -> tuple[Counter[int], float | None]:
    """How many messages of each wanted size the records can carry, each record read as
    the largest bundle of still-missing messages its size allows; and when the first
    carrying record crossed."""
    remaining = Counter({size: n for size, n in wanted.items() if size > 0})
    carried: Counter[int] = Counter()
    first = None
    for record in records:
        if after is None or record.time > after:
            bundle = _bundle(record, remaining, suite)
            if bundle:
                first = record.time if first is None else first
                carried.update(bundle)
                remaining.subtract(bundle)
    return carried, first


def _bundle(record: AppRecord, remaining: Counter[int], suite: int | None) -> Counter[int]:
    low, high = plaintext_range(record.record, suite)
    best: Counter[int] = Counter()
    for combination in _combinations(sorted(s for s, n in remaining.items() if n > 0), remaining):
        if sum(combination.values()) > sum(best.values()) and _fits_bundle(combination, low, high):
            best = combination
    return best


def _combinations(sizes: list[int], remaining: Counter[int]) -> list[Counter[int]]:
    """Every non-empty multiset of the remaining messages up to BUNDLE_MAX of them."""
    found: list[Counter[int]] = [Counter()]
    for size in sizes:
        found = [
            c + Counter({size: k}) if k else c
            for c in found
            for k in range(min(remaining[size], BUNDLE_MAX) + 1)
            if sum(c.values()) + k <= BUNDLE_MAX
        ]
    return [c for c in found if c]


def _fits_bundle(combination: Counter[int], low: int, high: int) -> bool:
    """A bundle's plaintext: SCTP header, each chunk padded to 4 bytes (the last one
    perhaps not), and at most BUNDLED_MAX bytes of control chunks."""
    for header in DATA_HEADERS:
        padded = SCTP_HEADER + sum(n * (header + (s + 3) // 4 * 4) for s, n in combination.items())
        for extra in range(0, BUNDLED_MAX + 1, 4):
            if padded + extra - 3 <= high and low <= padded + extra:
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


def _other(side: str) -> str:
    return "server" if side == "client" else "client"
