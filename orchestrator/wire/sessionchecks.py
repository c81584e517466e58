"""Checks of the session test cases that no echo alone shows: candidates trickled after
the offer, new ICE credentials, a second offer, one BUNDLE transport, two sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.wire.flows import Flows
from orchestrator.wire.sdp import bundle_mids, candidates
from orchestrator.wire.signalling import Exchange

TRICKLE_TYPE = "application/trickle-ice-sdpfrag"


@dataclass(frozen=True)
class Session:
    flows: Flows
    signalling: list[Exchange]


Check = Callable[[Session], tuple[str | None, str]]  # (gap or None, detail)


def _offer(session: Session) -> Exchange | None:
    return next(
        (e for e in session.signalling if e.method == "POST" and e.path.endswith("/offer")), None
    )


def offer_before_candidates(session: Session) -> tuple[str | None, str]:
    offer = _offer(session)
    if offer is None:
        return "no POST /offer in the captured signalling", ""
    offered = set(candidates(offer.sdp(of_response=False) or ""))
    patches = [
        e
        for e in session.signalling
        if e.method == "PATCH" and TRICKLE_TYPE in e.headers.get("content-type", "")
    ]
    trickled = {c for p in patches for c in candidates(p.body.decode("utf-8", "replace"))}
    late = trickled - offered
    accepted = [p for p in patches if p.status in (200, 204)]
    detail = (
        f"{len(offered)} candidates in the offer, {len(trickled)} PATCHed "
        f"({len(accepted)} accepted)"
    )
    if not patches:
        return "no candidate was PATCHed (trickle-ice-sdpfrag)", detail
    if not late:
        return "every PATCHed candidate was already in the offer: nothing trickled", detail
    if not accepted:
        return "the server accepted no PATCH (204 or 200)", detail
    return None, detail


def new_ice_credentials(session: Session) -> tuple[str | None, str]:
    checks = session.flows.client_to_server.checks
    usernames = list(dict.fromkeys(u for _, u in checks if u))
    restarts = [
        e for e in session.signalling if e.method == "PATCH" and e.headers.get("if-match") == "*"
    ]
    detail = f"{len(usernames)} ICE usernames in the client's checks; {len(restarts)} restart PATCH"
    if not restarts:
        return "no ICE restart (PATCH with If-Match: *) in the signalling", detail
    if restarts[0].status != 200:
        return f"the server answered the ICE restart with {restarts[0].status}", detail
    if len(usernames) < 2:
        return "the client's checks never used new ICE credentials", detail
    restarted_at = next(t for t, u in checks if u == usernames[-1])
    after = [
        r
        for d in (session.flows.client_to_server, session.flows.server_to_client)
        for r in d.app_records
        if r.time > restarted_at
    ]
    senders = {r.flow[0] for r in after}
    if len(senders) < 2:
        return "no application data both ways after the restart", detail
    return None, detail


def renegotiated_offer(session: Session) -> tuple[str | None, str]:
    second = [
        e
        for e in session.signalling
        if e.method == "POST"
        and not e.path.endswith("/offer")
        and "m=audio" in (e.sdp(of_response=False) or "")
    ]
    if not second:
        return "no second offer with audio POSTed to the session", ""
    if second[0].status != 200 or "m=audio" not in (second[0].sdp(of_response=True) or ""):
        return f"the server did not answer the second offer with audio ({second[0].status})", ""
    return None, "a second offer added audio and was answered"


def one_transport(session: Session) -> tuple[str | None, str]:
    offer = _offer(session)
    answer = offer.sdp(of_response=True) if offer else None
    mids = bundle_mids(answer or "")
    flows = session.flows.client_to_server
    tuples = {p.flow for p in flows.rtp} | {r.flow for r in flows.app_records}
    detail = f"BUNDLE {' '.join(mids) or '—'}; client→server on {len(tuples)} 5-tuple(s)"
    if len(mids) < 3:
        return "the answer does not BUNDLE three sections", detail
    if len(tuples) != 1:
        return f"media and data used {len(tuples)} transports, not one", detail
    return None, detail


def two_sessions(session: Session) -> tuple[str | None, str]:
    handshakes = session.flows.handshakes
    detail = f"{len(handshakes)} DTLS handshakes"
    if len(handshakes) < 2:
        return "only one DTLS session: the client never reconnected", detail
    second = handshakes[-1]
    after = {
        r.flow[0]
        for d in (session.flows.client_to_server, session.flows.server_to_client)
        for r in d.app_records
        if r.time > second
    }
    if len(after) < 2:
        return "no application data both ways in the second session", detail
    offer = _offer(session)
    deleted = any(e.method == "DELETE" for e in session.signalling)
    if offer and "location" in offer.response_headers and not deleted:
        return "the first session was never DELETEd", detail
    return None, detail


CHECKS: dict[str, Check] = {
    "offer-before-candidates": offer_before_candidates,
    "new-ice-credentials": new_ice_credentials,
    "renegotiated-offer": renegotiated_offer,
    "one-transport": one_transport,
    "two-sessions": two_sessions,
}
