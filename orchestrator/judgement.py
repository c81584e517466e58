"""What one attempt's observations amount to: an outcome from the client's exit code and
output, then the capture's word on it (decrypted with the peers' key logs where they
printed any). Pure but for the files it keeps next to the logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from orchestrator.model import Cell, CellResult, Outcome, Traffic, Verification
from orchestrator.network.topology import Wiring
from orchestrator.outcomes import Observation, classify, media_report, reconcile
from orchestrator.ports import RUN_LABEL, Capture
from orchestrator.render.verification import verification_text
from orchestrator.wire.conversation import one_conversation
from orchestrator.wire.decrypt import Decrypted, chunks, keylog_lines, read_here, tshark_arguments
from orchestrator.wire.endpoints import Endpoints
from orchestrator.wire.facts import cell_facts
from orchestrator.wire.packets import CaptureUnreadable
from orchestrator.wire.rules import RULES
from orchestrator.wire.verify import Inputs, verify

if TYPE_CHECKING:
    from orchestrator.lifecycle import AttemptContext

DECRYPT_PCAP = "decrypt.pcap"  # the capture as one DTLS conversation, while tshark reads it
NOTHING_RECORDED = Verification(
    missing=("no packet capture was recorded",),
    connect_time_s=None,
    client_checks_answered=False,
    server_checks_answered=False,
    client_to_server=Traffic(),
    server_to_client=Traffic(),
)

Keep = Callable[[str, str, bytes | str], None]  # (log key, file name, content)


@dataclass
class Seen:
    """What the attempt observed on its way through; filled in step by step."""

    started: float
    folder: str = ""  # the attempt's log folder, relative to the run's
    logs: list[tuple[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    not_ready: str | None = None
    client_exit: int | None = None
    server_exit: int | None = None
    client_output: str = ""
    server_output: str = ""
    capture: Capture | None = None
    wiring: Wiring | None = None


def judge(
    context: AttemptContext, cell: Cell, payload: bytes, seen: Seen, keep: Keep
) -> CellResult:
    duration = round(time.monotonic() - seen.started, 3)
    base = CellResult(
        cell, Outcome.SERVER_ERROR, seen.not_ready or "", duration_s=duration, logs=()
    )
    if seen.not_ready is not None:
        return replace(base, logs=tuple(seen.logs))
    timeout = context.timeout_for(cell.test)
    outcome, reason = classify(
        Observation(cell.test, seen.client_exit, seen.server_exit, timeout, seen.client_output)
    )
    verification = None
    if context.capture_image:
        verification = _verify(context, cell, payload, seen, keep)
        outcome, reason = reconcile(outcome, reason, verification)
    if seen.notes:
        reason = f"{reason} ({'; '.join(seen.notes)})"
    return replace(
        base,
        outcome=outcome,
        reason=reason,
        exit_code=seen.client_exit,
        verification=verification,
        media=media_report(seen.client_output),
        logs=tuple(seen.logs),
    )


def _verify(
    context: AttemptContext, cell: Cell, payload: bytes, seen: Seen, keep: Keep
) -> Verification:
    if seen.capture is None or seen.wiring is None:
        verification = NOTHING_RECORDED
    else:
        client = context.matrix.implementation(cell.client)
        pcap = seen.capture.path.read_bytes()
        verification = verify(
            Inputs(
                pcap=pcap,
                endpoints=seen.wiring.endpoints,
                test=cell.test,
                facts=cell_facts(payload, seen.client_output, seen.wiring.environment),
                decrypted=_decrypt(context, cell, seen, pcap, seen.wiring.endpoints, keep),
                client_follows_old_contract=client.contract == "webrtc-echoes",
            )
        )
    keep("verification", "verification.txt", verification_text(verification, cell.test))
    return verification


def _decrypt(
    context: AttemptContext, cell: Cell, seen: Seen, pcap: bytes, endpoints: Endpoints, keep: Keep
) -> Decrypted | None:
    """The data channel chunks the DTLS keys either peer printed open: decrypted here,
    or by tshark where plaintext.py cannot (DTLS 1.3, a suite it does not know)."""
    lines = keylog_lines(seen.client_output, seen.server_output)
    if not lines or RULES[cell.test].plan is None:
        return None
    keep("keylog", "keylog.txt", "\n".join(lines) + "\n")
    try:
        conversation = one_conversation(pcap, endpoints)
    except CaptureUnreadable:
        return None  # verify says what is wrong with the capture
    here = read_here(conversation, lines, endpoints)
    image = context.capture_image
    if here is not None or image is None:
        return here
    folder = context.run_dir / seen.folder
    (folder / DECRYPT_PCAP).write_bytes(conversation)
    try:
        output = context.engine.analyse(
            image,
            folder,
            tshark_arguments(f"/cell/{DECRYPT_PCAP}", "/cell/keylog.txt"),
            {RUN_LABEL: context.run_id},
        )
    finally:
        (folder / DECRYPT_PCAP).unlink(missing_ok=True)
    return Decrypted(tuple(chunks(output, endpoints)), "tshark")
