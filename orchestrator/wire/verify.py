"""The capture against a test case's rule: what is missing, and which proof level backed
what is there."""

from __future__ import annotations

from dataclasses import dataclass, replace

from orchestrator.model import Traffic, Verification
from orchestrator.wire.datachecks import DataEvidence, decrypted, echo_shape, sized
from orchestrator.wire.decrypt import Decrypted, channel_opens, messages
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.flows import Flows, sort_flows
from orchestrator.wire.mediachecks import check_media
from orchestrator.wire.packets import CaptureUnreadable, read_pcap
from orchestrator.wire.relayleg import relay_leg_gaps
from orchestrator.wire.rules import RULES, CellFacts, Level, Rule
from orchestrator.wire.sessionchecks import CHECKS, Session
from orchestrator.wire.signalling import Exchange, exchanges

SIGNALLING_PORT = 8080
GOODPUT_RECORD_MIN = 1000  # records at least this large carry bulk data


@dataclass(frozen=True)
class Inputs:
    pcap: bytes
    endpoints: Endpoints
    test: str
    facts: CellFacts
    decrypted: Decrypted | None = None  # what a peer's key log opened
    client_follows_old_contract: bool = False


def verify(inputs: Inputs) -> Verification:
    rule = RULES[inputs.test]
    try:
        packets = read_pcap(inputs.pcap)
    except CaptureUnreadable as error:
        return _nothing(f"capture unreadable: {error}")
    flows = sort_flows(packets.datagrams, inputs.endpoints)
    signalling = exchanges(packets.segments, inputs.endpoints.own(of_client=False), SIGNALLING_PORT)
    gaps = _transport_gaps(flows)
    details: list[str] = []
    measures: list[tuple[str, float]] = []
    level = Level.TRANSPORT
    if rule.plan is not None:
        evidence, level = _data(rule, inputs, flows)
        gaps += evidence.gaps
        details += evidence.details
        if rule.measures_goodput:
            measures += goodput(flows)
    for media in rule.media:
        found = check_media(
            media, _answer(signalling, media.kind), flows, inputs.facts.media_duration_s
        )
        gaps += found.gaps
        details += found.details
        measures += found.measures
        if rule.plan is None:
            level = Level.RTP_ECHO
    for name in rule.session:
        gap, detail = CHECKS[name](Session(flows, signalling))
        details.append(detail)
        if gap:
            gaps.append(gap)
    path = path_of(flows, inputs.endpoints)
    allowed = inputs.endpoints.paths
    if allowed and path not in allowed:
        gaps.append(
            f"the traffic went {path or 'nowhere'}, but this scenario allows only "
            + " or ".join(sorted(allowed))
        )
    gaps += relay_leg_gaps(packets.segments, inputs.endpoints)
    if gaps:
        gaps += _not_captured(flows)
    if packets.damage:
        (gaps if gaps else details).append(packets.damage)
    return Verification(
        missing=tuple(gaps),
        connect_time_s=flows.connect_time_s,
        client_checks_answered=flows.client_checks_answered,
        server_checks_answered=flows.server_checks_answered,
        client_to_server=flows.client_to_server.traffic(),
        server_to_client=flows.server_to_client.traffic(),
        proof=(level if not gaps else Level.NONE).value,
        details=tuple(d for d in details if d),
        measures=tuple(measures),
        path=path,
    )


def _not_captured(flows: Flows) -> list[str]:
    """What the recording itself missed, so that a gap is not blamed on the peers."""
    found = []
    for sender, direction in (
        ("client", flows.client_to_server),
        ("server", flows.server_to_client),
    ):
        lost = direction.records_not_captured()
        if lost:
            found.append(
                f"the capture lacks {lost} of the {sender}'s DTLS records (their sequence "
                "numbers were skipped): what is missing may have crossed unrecorded"
            )
    return found


def _data(rule: Rule, inputs: Inputs, flows: Flows) -> tuple[DataEvidence, Level]:
    """The strongest level the capture reaches. Decrypted SCTP, once there is any, is
    the whole truth: a message that is not in it did not cross, whatever sizes say."""
    assert rule.plan is not None
    plan = rule.plan(inputs.facts)
    by_size = sized(plan, flows)
    if inputs.decrypted and inputs.decrypted.chunks:
        whole = messages(list(inputs.decrypted.chunks))
        read_by = (f"DTLS decrypted by {inputs.decrypted.reader}",)
        if rule.measures_goodput:  # only the start of a bulk transfer is decrypted
            first = decrypted(replace(plan, sends=plan.sends[:1]), whole, channel_opens(whole))
            details = first.details + read_by + by_size.details
            return DataEvidence(first.gaps + by_size.gaps, details), Level.DECRYPTED
        found = decrypted(plan, whole, channel_opens(whole))
        return DataEvidence(found.gaps, found.details + read_by), Level.DECRYPTED
    if not by_size.gaps or not (rule.legacy_echo and inputs.client_follows_old_contract):
        return by_size, Level.SIZED
    return echo_shape(flows), Level.ECHO_SHAPE


def _transport_gaps(flows: Flows) -> list[str]:
    gaps = []
    if not (flows.client_checks_answered or flows.server_checks_answered):
        gaps.append("no ICE check was answered either way")
    for name, direction in (("client", flows.client_to_server), ("server", flows.server_to_client)):
        if not direction.counts["dtls_encrypted_records"]:
            gaps.append(f"no encrypted DTLS record from the {name}")
    return gaps


def _answer(signalling: list[Exchange], kind: str) -> str | None:
    """The last answer SDP that has a section of `kind` (renegotiation adds one)."""
    answers = [
        e.sdp(of_response=True) for e in signalling if e.method == "POST" and e.status == 200
    ]
    return next((a for a in reversed(answers) if a and f"m={kind} " in a), None)


def goodput(flows: Flows) -> list[tuple[str, float]]:
    """MiB/s of application records big enough to be bulk data, each way, from the first
    such record to the last."""
    measures = []
    for name, direction in (
        ("client_to_server", flows.client_to_server),
        ("server_to_client", flows.server_to_client),
    ):
        bulk = [r for r in direction.app_records if r.record.length >= GOODPUT_RECORD_MIN]
        if len(bulk) >= 2 and bulk[-1].time > bulk[0].time:
            carried = sum(r.record.length for r in bulk)
            rate = carried / (bulk[-1].time - bulk[0].time) / (1 << 20)
            measures.append((f"goodput_{name}_mib_s", round(rate, 2)))
    return measures


def path_of(flows: Flows, endpoints: Endpoints) -> str | None:
    """What carried the traffic: the relay, a NAT, or nothing between the peers."""
    sources = flows.client_to_server.sources | flows.server_to_client.sources
    if not sources:
        return None
    if sources & endpoints.relay:
        return "relay"
    if sources & (endpoints.client_public | endpoints.server_public):
        return "srflx"
    return "host"


def _nothing(reason: str) -> Verification:
    return Verification((reason,), None, False, False, Traffic(), Traffic())
