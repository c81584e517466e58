"""SDP helpers and trickle-ICE fragments (RFC 8840 sdpfrag, contract section 3.2).

Text in, text out: no stack's SDP objects, so every Python peer reads limits and codecs
and builds fragments the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .messages import DEFAULT_MAX_MESSAGE_SIZE

CRLF = "\r\n"


def split_sections(sdp: str) -> tuple[list[str], list[list[str]]]:
    """The session-level lines and, per m= section, its lines (the m= line first)."""
    session: list[str] = []
    media: list[list[str]] = []
    for line in sdp.splitlines():
        if not line:
            continue
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        else:
            session.append(line)
    return session, media


def join_sections(session: list[str], media: list[list[str]]) -> str:
    lines = session + [line for section in media for line in section]
    return CRLF.join(lines) + CRLF


def attribute(lines: list[str], name: str) -> str | None:
    """The value of the first `a=name:value` (or "" for a flag `a=name`) in lines."""
    for line in lines:
        if line == f"a={name}":
            return ""
        if line.startswith(f"a={name}:"):
            return line[len(name) + 3 :]
    return None


def section_kind(section: list[str]) -> str:
    return section[0][2:].split(" ", 1)[0]


def max_message_size(sdp: str) -> float:
    """The limit `a=max-message-size` declares for the data channel section.

    Absent: 65536 (RFC 8841 §6); `0`: no limit (math.inf).
    """
    _, media = split_sections(sdp)
    for section in media:
        if section_kind(section) == "application":
            value = attribute(section, "max-message-size")
            if value is None:
                return DEFAULT_MAX_MESSAGE_SIZE
            size = int(value.strip())
            return math.inf if size == 0 else size
    return DEFAULT_MAX_MESSAGE_SIZE


@dataclass(frozen=True)
class Codec:
    """The codec an answer negotiated for one media kind: its first payload type."""

    name: str  # e.g. "opus/48000/2", as in the rtpmap
    payload_type: int

    def line(self) -> str:
        """The contract's `NEGOTIATED:` value."""
        return f"codec={self.name} payload_type={self.payload_type}"


def negotiated_codec(sdp: str, kind: str) -> Codec | None:
    """The first format of the first m=<kind> section with a port, and its rtpmap."""
    _, media = split_sections(sdp)
    for section in media:
        fields = section[0].split()
        if section_kind(section) != kind or len(fields) < 4 or fields[1] == "0":
            continue
        payload_type = fields[3]
        rtpmap = f"a=rtpmap:{payload_type} "
        name = next((line[len(rtpmap) :] for line in section if line.startswith(rtpmap)), "?")
        return Codec(name.strip(), int(payload_type))
    return None


def ice_credentials(sdp: str) -> tuple[str, str]:
    """The first section's ice-ufrag and ice-pwd (or the session-level ones)."""
    session, media = split_sections(sdp)
    scope = (media[0] if media else []) + session
    ufrag, pwd = attribute(scope, "ice-ufrag"), attribute(scope, "ice-pwd")
    if ufrag is None or pwd is None:
        raise ValueError("the description has no ice-ufrag/ice-pwd")
    return ufrag, pwd


def mids(sdp: str) -> list[str]:
    _, media = split_sections(sdp)
    return [attribute(section, "mid") or str(index) for index, section in enumerate(media)]


@dataclass
class FragSection:
    """One m= section of an sdpfrag: which section, and its candidates."""

    m_line: str
    mid: str
    candidates: list[str] = field(default_factory=list)  # "candidate:..." without "a="
    end: bool = False


@dataclass
class SdpFrag:
    """An `application/trickle-ice-sdpfrag` body (RFC 8840 §9)."""

    ufrag: str | None = None
    pwd: str | None = None
    ice_options: str | None = None
    sections: list[FragSection] = field(default_factory=list)

    def render(self) -> str:
        lines = []
        if self.ice_options:
            lines.append(f"a=ice-options:{self.ice_options}")
        if self.ufrag is not None:
            lines.append(f"a=ice-ufrag:{self.ufrag}")
        if self.pwd is not None:
            lines.append(f"a=ice-pwd:{self.pwd}")
        for section in self.sections:
            lines += [section.m_line, f"a=mid:{section.mid}"]
            lines += [f"a={candidate}" for candidate in section.candidates]
            if section.end:
                lines.append("a=end-of-candidates")
        return CRLF.join(lines) + CRLF

    def candidates(self) -> list[tuple[str, str]]:
        """(mid, "candidate:...") of every candidate, in order."""
        return [(s.mid, c) for s in self.sections for c in s.candidates]

    def ended(self) -> list[str]:
        """The mids whose gathering the fragment declares complete."""
        return [section.mid for section in self.sections if section.end]


def parse_sdpfrag(text: str) -> SdpFrag:
    """Parse an sdpfrag; ValueError (HTTP 422) for lines it cannot hold."""
    frag = SdpFrag()
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        section = frag.sections[-1] if frag.sections else None
        if line.startswith("m="):
            frag.sections.append(FragSection(m_line=line, mid=str(len(frag.sections))))
        elif line.startswith("a=ice-ufrag:"):
            frag.ufrag = line.split(":", 1)[1]
        elif line.startswith("a=ice-pwd:"):
            frag.pwd = line.split(":", 1)[1]
        elif line.startswith("a=ice-options:"):
            frag.ice_options = line.split(":", 1)[1]
        elif line.startswith("a=mid:") and section:
            section.mid = line.split(":", 1)[1]
        elif line.startswith("a=candidate:") and section:
            check_candidate(line[2:])
            section.candidates.append(line[2:])
        elif line == "a=end-of-candidates" and section:
            section.end = True
        elif not line.startswith("a="):
            raise ValueError(f"not an sdpfrag line: {line[:80]!r}")
    return frag


def check_candidate(candidate: str) -> None:
    """Refuse a candidate attribute that lacks RFC 8839's mandatory fields."""
    fields = candidate.split()
    if len(fields) < 8 or fields[6] != "typ" or not fields[5].isdigit():
        raise ValueError(f"malformed candidate: {candidate[:80]!r}")


def frag_from_sdp(sdp: str) -> SdpFrag:
    """The ICE part of a complete description as an sdpfrag (e.g. an ICE-restart offer)."""
    session, media = split_sections(sdp)
    ufrag, pwd = ice_credentials(sdp)
    frag = SdpFrag(ufrag=ufrag, pwd=pwd, ice_options=attribute(session, "ice-options"))
    for index, section in enumerate(media):
        frag.sections.append(
            FragSection(
                m_line=section[0],
                mid=attribute(section, "mid") or str(index),
                candidates=[line[2:] for line in section if line.startswith("a=candidate:")],
                end="a=end-of-candidates" in section,
            )
        )
    return frag


def replace_ice(sdp: str, frag: SdpFrag) -> str:
    """sdp with frag's ice-ufrag/ice-pwd and candidates in place of its own.

    This is how an ICE-restart client turns the server's fragment into the new remote
    answer (contract section 3.2). Candidates go to the section of their mid, or to
    the first section when the mid is not in sdp (BUNDLE).
    """
    if frag.ufrag is None or frag.pwd is None:
        raise ValueError("the fragment has no ice-ufrag/ice-pwd")
    session, media = split_sections(sdp)
    session = [_swap_credentials(line, frag) for line in session]
    media = [
        [
            _swap_credentials(line, frag)
            for line in section
            if not line.startswith("a=candidate:") and line != "a=end-of-candidates"
        ]
        for section in media
    ]
    known = [attribute(section, "mid") for section in media]
    for part in frag.sections:
        target = media[known.index(part.mid)] if part.mid in known else media[0]
        target += [f"a={candidate}" for candidate in part.candidates]
        if part.end:
            target.append("a=end-of-candidates")
    return join_sections(session, media)


def _swap_credentials(line: str, frag: SdpFrag) -> str:
    if line.startswith("a=ice-ufrag:"):
        return f"a=ice-ufrag:{frag.ufrag}"
    if line.startswith("a=ice-pwd:"):
        return f"a=ice-pwd:{frag.pwd}"
    return line


def first_section(sdp: str) -> tuple[str, str]:
    """(m= line, mid) of the first section: where BUNDLE candidates are trickled."""
    _, media = split_sections(sdp)
    if not media:
        raise ValueError("the description has no m= section")
    return media[0][0], attribute(media[0], "mid") or "0"
