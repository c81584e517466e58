'use strict';
// The trickle-ice-sdpfrag format (RFC 8840 section 9) of the session resource
// (docs/contract.md 3.2), both ways: building one from a description or from trickled
// candidates, parsing one, and applying an ICE restart fragment to a full SDP.

/**
 * A fragment: {ufrag, pwd, trickle, sections: [{mline, mid, candidates, end}]}, where
 * candidates are 'candidate:...' strings (no 'a=') and end means a=end-of-candidates.
 */
function buildFragment(frag) {
  const out = [`a=ice-ufrag:${frag.ufrag}`, `a=ice-pwd:${frag.pwd}`];
  if (frag.trickle) out.push('a=ice-options:trickle');
  for (const section of frag.sections) {
    out.push(section.mline, `a=mid:${section.mid}`);
    section.candidates.forEach((c) => out.push(`a=${c}`));
    if (section.end) out.push('a=end-of-candidates');
  }
  return `${out.join('\r\n')}\r\n`;
}

/** Parses a fragment; candidates before any m= line belong to the first section. */
function parseFragment(text) {
  const frag = {ufrag: undefined, pwd: undefined, trickle: false, sections: []};
  let current = null;
  const section = () => {
    if (!current) {
      current = {mline: undefined, mid: undefined, candidates: [], end: false};
      frag.sections.push(current);
    }
    return current;
  };
  for (const line of lines(text)) {
    if (line.startsWith('a=ice-ufrag:')) frag.ufrag = line.slice(12).trim();
    else if (line.startsWith('a=ice-pwd:')) frag.pwd = line.slice(10).trim();
    else if (line === 'a=ice-options:trickle') frag.trickle = true;
    else if (line.startsWith('m=')) {
      current = null;
      section().mline = line;
    } else if (line.startsWith('a=mid:')) section().mid = line.slice(6).trim();
    else if (line.startsWith('a=candidate:')) section().candidates.push(line.slice(2));
    else if (line === 'a=end-of-candidates') section().end = true;
  }
  return frag;
}

/** The m-section lines of a description whose a=mid is mid (else the first one). */
function mediaSection(sdp, mid) {
  const {media} = sections(sdp);
  return media.find((s) => attribute(s, 'mid') === String(mid)) || media[0];
}

/** ufrag and pwd of a description: its first m-section's, else the session's. */
function iceCredentials(sdp) {
  const {session, media} = sections(sdp);
  const pick = (name) => (media[0] && attribute(media[0], name)) ?? attribute(session, name);
  return {ufrag: pick('ice-ufrag'), pwd: pick('ice-pwd')};
}

/**
 * A description's ICE state as a fragment: credentials and the candidates of its first
 * (BUNDLE-tag) m-section, with a=end-of-candidates when gathering is complete.
 */
function fragmentOf(sdp, complete) {
  const first = sections(sdp).media[0];
  const {ufrag, pwd} = iceCredentials(sdp);
  return {
    ufrag, pwd, trickle: false,
    sections: [{
      mline: first[0],
      mid: attribute(first, 'mid'),
      candidates: first.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2)),
      end: complete,
    }],
  };
}

/**
 * The SDP with its ICE state replaced by the fragment's (an ICE restart, RFC 9725
 * 4.3.2): new ufrag/pwd everywhere, the old candidates dropped, the fragment's
 * candidates put in the m-section of their mid (no mid: the first m-section).
 */
function replaceIce(sdp, frag) {
  const {session, media} = sections(sdp);
  const swap = (line) => {
    if (line.startsWith('a=ice-ufrag:')) return `a=ice-ufrag:${frag.ufrag}`;
    if (line.startsWith('a=ice-pwd:')) return `a=ice-pwd:${frag.pwd}`;
    return line;
  };
  const keep = (line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates';
  const out = session.map(swap).filter(keep);
  media.forEach((lines_, index) => {
    out.push(...lines_.map(swap).filter(keep));
    const mid = attribute(lines_, 'mid');
    for (const s of frag.sections) {
      if (s.mid === mid || (s.mid === undefined && index === 0)) {
        s.candidates.forEach((c) => out.push(`a=${c}`));
        if (s.end) out.push('a=end-of-candidates');
      }
    }
  });
  return `${out.join('\r\n')}\r\n`;
}

/** Adds a fragment's candidates (and end-of-candidates) to the peer connection. */
async function addRemoteCandidates(pc, frag) {
  const firstMid = attribute(sections(pc.remoteDescription.sdp).media[0], 'mid');
  for (const section of frag.sections) {
    const sdpMid = section.mid ?? firstMid;
    for (const candidate of section.candidates) {
      log(`remote candidate: ${candidate}`);
      await pc.addIceCandidate({candidate, sdpMid, usernameFragment: frag.ufrag});
    }
    if (section.end) await pc.addIceCandidate({candidate: '', sdpMid});
  }
}
