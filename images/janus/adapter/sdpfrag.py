"""SDP and trickle-ice-sdpfrag (RFC 8840) helpers for the session resource.

Janus takes trickled candidates as JSON ({sdpMid, sdpMLineIndex, candidate}) and ICE
restarts only as a complete new offer, so a PATCH fragment is turned into one or the
other here; Janus's answers are turned back into fragments.
"""

from dataclasses import dataclass, field


class FragmentError(ValueError):
    """A fragment that cannot be applied (HTTP 422)."""


@dataclass
class Section:
    """One media section of an SDP or fragment: its m= line, mid and ICE lines."""

    mline: str
    mid: str | None = None
    candidates: list[str] = field(default_factory=list)  # "candidate:..." values
    end_of_candidates: bool = False


@dataclass
class IceInfo:
    """The ICE part of an SDP or fragment."""

    ufrag: str | None = None
    pwd: str | None = None
    sections: list[Section] = field(default_factory=list)
    end_of_candidates: bool = False  # at session level: for every section


def lines_of(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def parse_ice(text: str) -> IceInfo:
    """Reads ufrag/pwd (first seen, session or media level) and per-section candidates."""
    info = IceInfo()
    current = None
    for line in lines_of(text):
        if line.startswith("m="):
            current = Section(mline=line)
            info.sections.append(current)
        elif line.startswith("a=ice-ufrag:") and info.ufrag is None:
            info.ufrag = line.split(":", 1)[1].strip()
        elif line.startswith("a=ice-pwd:") and info.pwd is None:
            info.pwd = line.split(":", 1)[1].strip()
        elif current is not None and line.startswith("a=mid:"):
            current.mid = line.split(":", 1)[1].strip()
        elif line.startswith("a=candidate:"):
            if current is None:
                raise FragmentError("a candidate before any m= line")
            candidate = line[2:]
            check_candidate(candidate)
            current.candidates.append(candidate)
        elif line == "a=end-of-candidates":
            if current is None:
                info.end_of_candidates = True
            else:
                current.end_of_candidates = True
    return info


def check_candidate(candidate: str):
    """Rejects a candidate attribute that is not 'candidate:f c proto prio addr port typ t'."""
    fields = candidate[len("candidate:") :].split()
    if (
        len(fields) < 8
        or fields[6] != "typ"
        or not fields[1].isdigit()
        or not fields[3].isdigit()
        or not fields[5].isdigit()
    ):
        raise FragmentError(f"malformed candidate: {candidate[:80]}")


def mids_of(sdp: str) -> list[str]:
    """The mids of an SDP's sections, in order (the index is the m-line index)."""
    return [s.mid for s in parse_ice(sdp).sections]


def restart_offer(offer: str, frag: IceInfo) -> str:
    """The previous offer with the fragment's new credentials and candidates.

    Every ice-ufrag/ice-pwd is replaced, old candidates are dropped and the
    fragment's candidates go into the section with the same mid; the o= version is
    incremented as for any new offer.
    """
    by_mid = {s.mid: s for s in frag.sections}
    out, section_mid = [], None

    def flush():
        section = by_mid.get(section_mid)
        if section is not None:
            out.extend("a=" + c for c in section.candidates)
            if section.end_of_candidates:
                out.append("a=end-of-candidates")

    for line in lines_of(offer):
        if line.startswith("m="):
            flush()
            section_mid = None
        if line.startswith("a=mid:"):
            section_mid = line.split(":", 1)[1].strip()
        if line.startswith("a=candidate:") or line == "a=end-of-candidates":
            continue
        out.append(_restarted_line(line, frag))
    flush()
    return "\r\n".join(out) + "\r\n"


def _restarted_line(line: str, frag: IceInfo) -> str:
    """One offer line with the fragment's credentials and a new o= version."""
    if line.startswith("a=ice-ufrag:"):
        return "a=ice-ufrag:" + frag.ufrag
    if line.startswith("a=ice-pwd:"):
        return "a=ice-pwd:" + frag.pwd
    if line.startswith("o="):
        return _bump_origin(line)
    return line


def _bump_origin(line: str) -> str:
    parts = line.split()
    if len(parts) >= 3 and parts[2].isdigit():
        parts[2] = str(int(parts[2]) + 1)
    return " ".join(parts)


def answer_fragment(answer: str, offer: str) -> str:
    """The server's fragment: its credentials, then each section's candidates.

    The m= lines are copied from the offer (RFC 8840 §9), matched by mid.
    """
    ice = parse_ice(answer)
    offer_mlines = {s.mid: s.mline for s in parse_ice(offer).sections}
    out = [f"a=ice-ufrag:{ice.ufrag}", f"a=ice-pwd:{ice.pwd}"]
    for section in ice.sections:
        if not section.candidates:
            continue
        out.append(offer_mlines.get(section.mid, section.mline))
        out.append(f"a=mid:{section.mid}")
        out.extend("a=" + c for c in section.candidates)
        if section.end_of_candidates:
            out.append("a=end-of-candidates")
    return "\r\n".join(out) + "\r\n"


def janus_candidates(frag: IceInfo, offer: str) -> tuple[list[dict], bool]:
    """The fragment's candidates as Janus trickle objects, and whether it ended them."""
    mids = mids_of(offer)
    candidates, completed = [], frag.end_of_candidates
    for section in frag.sections:
        if section.mid not in mids:
            raise FragmentError(f"no media section with mid {section.mid!r} in the offer")
        index = mids.index(section.mid)
        candidates += [
            {"sdpMid": section.mid, "sdpMLineIndex": index, "candidate": c}
            for c in section.candidates
        ]
        completed = completed or section.end_of_candidates
    return candidates, completed
