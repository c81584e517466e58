"""The few SDP facts the evidence needs: payload types per codec, BUNDLE groups, ICE
credentials and candidates."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    kind: str  # audio, video, application
    mid: str | None
    formats: tuple[int, ...]
    codecs: dict[int, str]  # payload type -> "opus/48000/2"


def sections(sdp: str) -> list[Section]:
    found: list[Section] = []
    current: dict[str, object] | None = None
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if current is not None:
                found.append(_section(current))
            parts = line[2:].split()
            formats = tuple(int(p) for p in parts[3:] if p.isdigit())
            current = {
                "kind": parts[0] if parts else "",
                "formats": formats,
                "mid": None,
                "codecs": {},
            }
        elif current is not None and line.startswith("a=mid:"):
            current["mid"] = line[6:]
        elif current is not None and line.startswith("a=rtpmap:"):
            number, _, codec = line[9:].partition(" ")
            if number.isdigit():
                codecs = current["codecs"]
                assert isinstance(codecs, dict)
                codecs[int(number)] = codec.strip()
    if current is not None:
        found.append(_section(current))
    return found


def payload_types(sdp: str, kind: str, codec: str) -> set[int]:
    """The payload types an SDP maps to `codec` (case-insensitive) in `kind` sections."""
    return {
        number
        for section in sections(sdp)
        if section.kind == kind
        for number, name in section.codecs.items()
        if name.lower().startswith(codec.lower() + "/")
    }


def bundle_mids(sdp: str) -> list[str]:
    for line in sdp.splitlines():
        if line.startswith("a=group:BUNDLE"):
            return line.split()[1:]
    return []


def candidates(text: str) -> list[str]:
    """The `a=candidate:` lines' foundations+addresses, comparable across SDPs."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("a=candidate:"):
            parts = line[len("a=candidate:") :].split()
            if len(parts) >= 6:
                found.append(f"{parts[2].lower()} {parts[4]} {parts[5]}")
    return found


def ufrag(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip().startswith("a=ice-ufrag:"):
            return line.strip()[len("a=ice-ufrag:") :]
    return None


def _section(raw: dict[str, object]) -> Section:
    codecs = raw["codecs"]
    formats = raw["formats"]
    assert isinstance(codecs, dict)
    assert isinstance(formats, tuple)
    mid = raw["mid"]
    return Section(str(raw["kind"]), mid if isinstance(mid, str) else None, formats, codecs)
