'use strict';
/**
 * What the libdatachannel server and client share: contract constants, logging,
 * peer connection setup, non-trickle gathering, and the little SDP/RTP parsing the
 * echo needs. Everything WebRTC goes through node-datachannel's native API (the C++
 * libdatachannel objects), not its RTCPeerConnection polyfill.
 */

const ndc = require('node-datachannel');

const EXIT_PASSED = 0;
const EXIT_FAILED = 1;
const EXIT_UNSUPPORTED = 127;
const PORT = 8080;
const GATHERING_TIMEOUT_MS = 10000;

// The codecs the contract's media cases use: audio = Opus 48000/2, video = VP8.
const CONTRACT_CODECS = { audio: 'opus/48000/2', video: 'vp8/90000' };

function makeLogger(name) {
  const write = (level, args) => {
    const text = args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ');
    process.stdout.write(`${new Date().toISOString()} ${name} ${level} ${text}\n`);
  };
  return {
    debug: (...args) => { if (process.env.PEER_DEBUG) write('DEBUG', args); },
    info: (...args) => write('INFO', args),
    warn: (...args) => write('WARNING', args),
    error: (...args) => write('ERROR', args),
  };
}

/**
 * Route libdatachannel's own log (plog) into ours; 0.33 throws without the callback.
 * PEER_DEBUG=1 gives its Debug level, PEER_DEBUG=verbose its Verbose level.
 */
const libraryErrors = [];

function setupLogging() {
  const lib = makeLogger('libdatachannel');
  const debug = (process.env.PEER_DEBUG || '').toLowerCase();
  const level = debug === 'verbose' ? 'Verbose' : debug ? 'Debug' : 'Warning';
  ndc.initLogger(level, (lvl, message) => {
    if (lvl === 'Error' || lvl === 'Fatal') {
      lib.error(message);
      // Kept (without the "function@line: " prefix) so a verdict can say why.
      if (libraryErrors.length < 10) libraryErrors.push(String(message).replace(/^\S+@\d+:\s*/, ''));
    }
    else if (lvl === 'Warning') lib.warn(message);
    else lib.debug(`[${lvl}] ${message}`);
  });
}

/**
 * A libdatachannel peer connection with no STUN/TURN server and manual negotiation:
 * we call setLocalDescription ourselves so a server can shape its answer (codec,
 * SSRC) after seeing the offer and before the answer is generated.
 */
function newPeerConnection(name) {
  return new ndc.PeerConnection(name, { iceServers: [], disableAutoNegotiation: true });
}

/**
 * Resolve with the local description once ICE gathering is complete (non-trickle:
 * it then carries every candidate). Register before setLocalDescription.
 * Resolves {sdp, type, complete}; complete=false means the timeout hit first.
 */
function gatheringComplete(pc, timeoutMs = GATHERING_TIMEOUT_MS) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (complete) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const description = pc.localDescription();
      resolve({ ...description, complete });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') finish(true);
    });
    // In case it completed before the callback ran (it is delivered asynchronously).
    setImmediate(() => { if (pc.gatheringState() === 'complete') finish(true); });
  });
}

/**
 * Split an SDP into its media sections with the attributes the echo needs:
 * kind, port, mid, direction, payload types in m-line order, rtpmap/fmtp per PT, SSRCs.
 */
function parseMediaSections(sdp) {
  const sections = [];
  let current = null;
  for (const raw of String(sdp).split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      const [kind, port, , ...formats] = line.slice(2).split(/\s+/);
      current = {
        kind, port: Number(port), mid: null, direction: 'sendrecv',
        payloadTypes: formats.map(Number).filter((pt) => Number.isInteger(pt)),
        rtpmap: {}, fmtp: {}, ssrcs: [],
      };
      sections.push(current);
      continue;
    }
    if (!current || !line.startsWith('a=')) continue;
    const attr = line.slice(2);
    let m;
    if ((m = /^mid:(.+)$/.exec(attr))) current.mid = m[1].trim();
    else if (/^(sendrecv|sendonly|recvonly|inactive)$/.test(attr)) current.direction = attr;
    else if ((m = /^rtpmap:(\d+)\s+(\S+)/.exec(attr))) current.rtpmap[Number(m[1])] = m[2];
    else if ((m = /^fmtp:(\d+)\s+(.+)$/.exec(attr))) current.fmtp[Number(m[1])] = m[2];
    else if ((m = /^ssrc:(\d+)\s/.exec(attr))) {
      const ssrc = Number(m[1]);
      if (!current.ssrcs.includes(ssrc)) current.ssrcs.push(ssrc);
    }
  }
  return sections;
}

/** The first payload type of a section whose rtpmap is `codec` (case-insensitive), or null. */
function findPayloadType(section, codec) {
  const wanted = codec.toLowerCase();
  for (const pt of section.payloadTypes) {
    const map = (section.rtpmap[pt] || '').toLowerCase();
    if (map === wanted || (wanted === 'opus/48000/2' && map === 'opus/48000')) return pt;
  }
  return null;
}

/** RFC 5761: a second byte of 192..223 on an RTP/RTCP-muxed transport is RTCP. */
function isRtcp(packet) {
  return packet.length >= 2 && packet[1] >= 192 && packet[1] <= 223;
}

/** A random 32-bit SSRC that is never 0. */
function randomSsrc() {
  return (Math.floor(Math.random() * 0xfffffffe) + 1) >>> 0;
}

/** libdatachannel's own error messages so far, joined, for a FAIL reason ('' if none). */
function libraryErrorSummary() {
  const text = libraryErrors.join('; ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

module.exports = {
  ndc, EXIT_PASSED, EXIT_FAILED, EXIT_UNSUPPORTED, PORT, CONTRACT_CODECS,
  makeLogger, setupLogging, libraryErrorSummary, newPeerConnection, gatheringComplete,
  parseMediaSections, findPayloadType, isRtcp, randomSsrc,
};
