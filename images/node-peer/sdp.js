'use strict';
/**
 * The little SDP the contract needs, on plain text: media sections, ICE credentials,
 * candidates, max-message-size, the negotiated codec, and trickle-ICE fragments
 * (application/trickle-ice-sdpfrag, RFC 8840 section 9) in both directions.
 */

const CRLF = '\r\n';
const DEFAULT_MAX_MESSAGE_SIZE = 65536; // RFC 8841 section 6: absent means 64 KiB

function lines(sdp) {
  return String(sdp).split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
}

/** "a=candidate:..." or "candidate:..." as "candidate:..." (the form the APIs take). */
function normaliseCandidate(text) {
  return String(text).trim().replace(/^a=/, '');
}

/** One media section of an SDP with the attributes the peers use. */
function newSection(mLine) {
  const [kind, port, protocol, ...formats] = mLine.slice(2).split(/\s+/);
  return {
    mLine, kind, port: Number(port), protocol, mid: null, direction: 'sendrecv',
    payloadTypes: formats.map(Number).filter(Number.isInteger),
    rtpmap: {}, fmtp: {}, ssrcs: [], candidates: [], endOfCandidates: false,
    iceUfrag: null, icePwd: null, maxMessageSize: null,
  };
}

function readAttribute(section, attr) {
  let m;
  if ((m = /^mid:(.+)$/.exec(attr))) section.mid = m[1].trim();
  else if (/^(sendrecv|sendonly|recvonly|inactive)$/.test(attr)) section.direction = attr;
  else if ((m = /^rtpmap:(\d+)\s+(\S+)/.exec(attr))) section.rtpmap[Number(m[1])] = m[2];
  else if ((m = /^fmtp:(\d+)\s+(.+)$/.exec(attr))) section.fmtp[Number(m[1])] = m[2];
  else if ((m = /^ssrc:(\d+)\s/.exec(attr)) && !section.ssrcs.includes(Number(m[1]))) section.ssrcs.push(Number(m[1]));
  else if (attr.startsWith('candidate:')) section.candidates.push(attr);
  else if (attr === 'end-of-candidates') section.endOfCandidates = true;
  else if ((m = /^ice-ufrag:(\S+)$/.exec(attr))) section.iceUfrag = m[1];
  else if ((m = /^ice-pwd:(\S+)$/.exec(attr))) section.icePwd = m[1];
  else if ((m = /^max-message-size:(\d+)$/.exec(attr))) section.maxMessageSize = Number(m[1]);
}

/** {session, sections}: session-level ICE credentials and every m= section, parsed. */
function parseSdp(sdp) {
  const session = newSection('m=session 0 none');
  const sections = [];
  let current = session;
  for (const line of lines(sdp)) {
    if (line.startsWith('m=')) {
      current = newSection(line);
      sections.push(current);
    } else if (line.startsWith('a=')) {
      readAttribute(current, line.slice(2));
    }
  }
  for (const section of sections) {
    section.iceUfrag = section.iceUfrag || session.iceUfrag;
    section.icePwd = section.icePwd || session.icePwd;
  }
  return { session, sections };
}

/** The ICE credentials of the first usable section (BUNDLE: they are the same for all). */
function iceCredentials(sdp) {
  const { session, sections } = parseSdp(sdp);
  const first = sections.find((s) => s.port !== 0 && s.iceUfrag) || sections[0] || session;
  return { ufrag: first.iceUfrag || session.iceUfrag, pwd: first.icePwd || session.icePwd };
}

/** a=max-message-size of the data section: absent 65536, 0 means no limit (Infinity). */
function maxMessageSize(sdp) {
  const section = parseSdp(sdp).sections.find((s) => s.kind === 'application');
  if (!section || section.maxMessageSize === null) return DEFAULT_MAX_MESSAGE_SIZE;
  return section.maxMessageSize === 0 ? Infinity : section.maxMessageSize;
}

/** The section with this mid, or (no mid given) the first section of this kind. */
function findSection(sdp, { mid, kind }) {
  const { sections } = parseSdp(sdp);
  if (mid !== undefined && mid !== null) return sections.find((s) => s.mid === String(mid)) || null;
  return sections.find((s) => s.kind === kind) || null;
}

/**
 * What the answer negotiated for a media section: its first payload type (the codec
 * the answerer will send) with that type's rtpmap, as {name, payloadType}, or null.
 */
function negotiatedCodec(section) {
  if (!section || section.port === 0 || section.payloadTypes.length === 0) return null;
  const payloadType = section.payloadTypes[0];
  const rtpmap = section.rtpmap[payloadType];
  return { name: rtpmap ? rtpmap.toLowerCase() : `pt${payloadType}`, payloadType };
}

/** True if `codec` (e.g. "opus/48000/2") names the contract codec `wanted`. */
function sameCodec(codec, wanted) {
  const a = String(codec).toLowerCase();
  const b = String(wanted).toLowerCase();
  return a === b || (b === 'opus/48000/2' && a === 'opus/48000');
}

/** The SDP without any candidate or end-of-candidates line (a trickle offer). */
function withoutCandidates(sdp) {
  const kept = lines(sdp).filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates');
  return kept.join(CRLF) + CRLF;
}

/**
 * Builds an sdpfrag: ICE credentials, then per section its m= line, a=mid, candidates
 * and (when gathering is complete) a=end-of-candidates. CRLF line ends.
 */
function buildSdpFrag({ ufrag, pwd, trickle = false, sections }) {
  const out = [];
  if (ufrag) out.push(`a=ice-ufrag:${ufrag}`);
  if (pwd) out.push(`a=ice-pwd:${pwd}`);
  if (trickle) out.push('a=ice-options:trickle');
  for (const section of sections) {
    out.push(section.mLine);
    if (section.mid !== null && section.mid !== undefined) out.push(`a=mid:${section.mid}`);
    for (const candidate of section.candidates) out.push(`a=${normaliseCandidate(candidate)}`);
    if (section.end) out.push('a=end-of-candidates');
  }
  return out.join(CRLF) + CRLF;
}

/** Parses an sdpfrag into {ufrag, pwd, sections: [{mLine, mid, candidates, end}]}. */
function parseSdpFrag(text) {
  const frag = { ufrag: null, pwd: null, sections: [] };
  let current = null;
  for (const line of lines(text)) {
    let m;
    if (line.startsWith('m=')) {
      current = { mLine: line, mid: null, candidates: [], end: false };
      frag.sections.push(current);
    } else if ((m = /^a=ice-ufrag:(\S+)$/.exec(line))) frag.ufrag = m[1];
    else if ((m = /^a=ice-pwd:(\S+)$/.exec(line))) frag.pwd = m[1];
    else if (!current) continue;
    else if ((m = /^a=mid:(.+)$/.exec(line))) current.mid = m[1].trim();
    else if (line.startsWith('a=candidate:')) current.candidates.push(normaliseCandidate(line));
    else if (line === 'a=end-of-candidates') current.end = true;
  }
  return frag;
}

/**
 * An sdpfrag carrying a whole local description's ICE state: its credentials and, for
 * the first (BUNDLE-tag) section, every candidate and a=end-of-candidates.
 */
function fragFromDescription(sdp, { end = true } = {}) {
  const { sections } = parseSdp(sdp);
  const first = sections.find((s) => s.port !== 0) || sections[0];
  const { ufrag, pwd } = iceCredentials(sdp);
  const candidates = sections.flatMap((s) => s.candidates);
  return buildSdpFrag({
    ufrag, pwd,
    sections: first ? [{ mLine: first.mLine, mid: first.mid, candidates: [...new Set(candidates)], end }] : [],
  });
}

/**
 * A description with new ICE credentials and candidates (an ICE restart's remote
 * description, built as WHIP does): every ice-ufrag/ice-pwd replaced, every old
 * candidate removed, the fragment's candidates put into the section with their mid
 * (or the first one), a=end-of-candidates where the fragment says gathering is over.
 */
function replaceIce(sdp, frag) {
  const sdpMids = new Set(mids(sdp));
  const forSection = (index, mid) => frag.sections.filter((s) => (s.mid !== null && sdpMids.has(s.mid)
    ? s.mid === mid : index === 0));
  const out = [];
  let index = -1;
  let mid = null;
  const flush = () => {
    for (const section of forSection(index, mid)) {
      for (const candidate of section.candidates) out.push(`a=${normaliseCandidate(candidate)}`);
      if (section.end) out.push('a=end-of-candidates');
    }
  };
  for (const line of lines(sdp)) {
    if (line.startsWith('m=')) {
      if (index >= 0) flush();
      index += 1;
      mid = null;
    }
    if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
    if (line.startsWith('a=candidate:') || line === 'a=end-of-candidates') continue;
    if (line.startsWith('a=ice-ufrag:') && frag.ufrag) out.push(`a=ice-ufrag:${frag.ufrag}`);
    else if (line.startsWith('a=ice-pwd:') && frag.pwd) out.push(`a=ice-pwd:${frag.pwd}`);
    else out.push(line);
  }
  if (index >= 0) flush();
  return out.join(CRLF) + CRLF;
}

/** The set of mids of an SDP, for choosing a new one. */
function mids(sdp) {
  return parseSdp(sdp).sections.map((s) => s.mid).filter((mid) => mid !== null);
}

module.exports = {
  DEFAULT_MAX_MESSAGE_SIZE,
  parseSdp,
  iceCredentials,
  maxMessageSize,
  findSection,
  negotiatedCodec,
  sameCodec,
  withoutCandidates,
  buildSdpFrag,
  parseSdpFrag,
  fragFromDescription,
  replaceIce,
  normaliseCandidate,
  mids,
};
