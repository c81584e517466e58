'use strict';
// Shared by both roles: the link to the wrapper, logging, waiting helpers, the payload
// and SDP helpers. Plain scripts (no modules) loaded in order by index.html.

const ROLE = new URLSearchParams(location.search).get('role');
const GATHERING_TIMEOUT_MS = 10000;
let CONFIG = null; // GET /config: the cell's environment, parsed by the wrapper

// Opened by peer.js, the last script: its listeners must be in place before it opens.
let socket = null;

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function log(text) {
  console.log(text);
  send({op: 'log', text});
}

class TestFailed extends Error {}
/** The test cannot run against this peer (contract: exit 127, UNSUPPORTED:). */
class Unsupported extends Error {}

function describe(error) {
  if (error instanceof TestFailed || error instanceof Unsupported) return error.message;
  return error && error.name ? `${error.name}: ${error.message}` : String(error);
}

window.addEventListener('error', (e) => log(`page error: ${e.message} (${e.filename}:${e.lineno})`));
window.addEventListener('unhandledrejection', (e) => log(`unhandled rejection: ${describe(e.reason)}`));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Requests to the wrapper: {op, id, ...} answered by {op: 'reply', id, ...}.

let nextRequestId = 1;
const pendingRequests = new Map();

function request(message) {
  const id = nextRequestId++;
  return new Promise((resolve) => {
    pendingRequests.set(id, resolve);
    send({...message, id});
  });
}

function settleRequest(message) {
  const resolve = pendingRequests.get(message.id);
  if (!resolve) return;
  pendingRequests.delete(message.id);
  resolve(message);
}

/** The cell's RTCConfiguration: exactly the given ICE servers and policy. */
function rtcConfiguration() {
  return {iceServers: CONFIG.ice_servers, iceTransportPolicy: CONFIG.ice_transport_policy};
}

// ---------------------------------------------------------------------------
// Payload helpers (contract 2.1: P is printable ASCII, so string length = byte length)

/** repeat(P, n): P repeated and cut to exactly n characters. */
function repeatTo(text, n) {
  return text.repeat(Math.ceil(n / text.length)).slice(0, n);
}

function asciiBytes(text) {
  return new TextEncoder().encode(text);
}

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256hex(data) {
  const bytes = typeof data === 'string' ? asciiBytes(data) : data;
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

/** "'abc...xyz' (700 bytes)" for logs and failure reasons. */
function brief(data) {
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return `binary (${data.byteLength} bytes)`;
  if (typeof data !== 'string') return `a ${typeof data}`;
  if (data.length <= 40) return JSON.stringify(data);
  return `${JSON.stringify(data.slice(0, 16))}...${JSON.stringify(data.slice(-8))} (${data.length} chars)`;
}

// ---------------------------------------------------------------------------
// Waiting on a peer connection

/** Resolves once ICE gathering is complete (all candidates in pc.localDescription). */
function gatheringComplete(pc, timeoutMs = GATHERING_TIMEOUT_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return nextGatheringEnd(pc, timeoutMs);
}

/**
 * Resolves at the next end of gathering, even if the state is 'complete' right now.
 * Call it *before* setLocalDescription() when that starts a new gathering (ICE restart):
 * until the new gathering begins, the state still reads 'complete' from the last one.
 */
function nextGatheringEnd(pc, timeoutMs = GATHERING_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TestFailed(
      `ICE gathering not complete after ${timeoutMs / 1000} s (state ${pc.iceGatheringState})`)),
    timeoutMs);
    const done = () => { clearTimeout(timer); resolve(); };
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') done();
    });
    pc.addEventListener('icecandidate', (e) => { if (!e.candidate) done(); });
  });
}

/** connected: resolves on 'connected'. broken: rejects on 'failed' or 'closed'. */
function watchConnection(pc, name = '') {
  let onBroken;
  const broken = new Promise((_, reject) => { onBroken = reject; });
  broken.catch(() => {}); // only awaited through Promise.race
  const waiters = [];
  pc.addEventListener('iceconnectionstatechange', () => log(`${name}ICE connection state ${pc.iceConnectionState}`));
  pc.addEventListener('connectionstatechange', () => {
    const state = pc.connectionState;
    log(`${name}connection state ${state}`);
    if (state === 'connected') waiters.splice(0).forEach((resolve) => resolve());
    else if (state === 'failed' || state === 'closed') {
      onBroken(new TestFailed(`connection ${state} (ICE ${pc.iceConnectionState})`));
    }
  });
  /** Resolves when the connection is (or next becomes) 'connected'. */
  const connected = () => Promise.race([broken, new Promise((resolve) => {
    if (pc.connectionState === 'connected') resolve();
    else waiters.push(resolve);
  })]);
  return {connected, broken};
}

/** Plays a received track: both browsers only count audio samples that are played out. */
function play(track) {
  const element = document.createElement(track.kind);
  element.autoplay = true;
  element.playsInline = true;
  element.srcObject = new MediaStream([track]);
  document.getElementById('media').append(element);
  element.play().catch((e) => log(`cannot play the ${track.kind} track: ${describe(e)}`));
  return element;
}

// ---------------------------------------------------------------------------
// SDP helpers

const lines = (sdp) => sdp.split(/\r?\n/).filter((l) => l);

/** The session part and the m-sections of an SDP, as arrays of lines. */
function sections(sdp) {
  const all = lines(sdp);
  const first = all.findIndex((l) => l.startsWith('m='));
  const session = first < 0 ? all : all.slice(0, first);
  const media = [];
  for (const line of first < 0 ? [] : all.slice(first)) {
    if (line.startsWith('m=')) media.push([line]);
    else media[media.length - 1].push(line);
  }
  return {session, media};
}

function attribute(sectionLines, name) {
  const line = sectionLines.find((l) => l.startsWith(`a=${name}:`));
  return line === undefined ? undefined : line.slice(name.length + 3).trim();
}

/** "2 m-lines, candidates: udp 172.18.0.3:40123 host, ..." for the logs. */
function summarize(sdp) {
  const mlines = lines(sdp).filter((l) => l.startsWith('m=')).map((l) => l.split(' ')[0].slice(2));
  const candidates = lines(sdp).filter((l) => l.startsWith('a=candidate:')).map((l) => {
    const f = l.split(' ');
    return `${f[2].toLowerCase()} ${f[4]}:${f[5]} ${f[7]}`;
  });
  return `m=${mlines.join(',') || 'none'}; ${candidates.length} candidates: ${candidates.join(', ') || 'none'}`;
}

function hostCandidatesHidden(sdp) {
  return /^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /m.test(sdp);
}

/** a=max-message-size of the SDP's data section: absent 65536, 0 no limit (RFC 8841). */
function maxMessageSize(sdp) {
  const data = sections(sdp).media.find((s) => s[0].startsWith('m=application'));
  const value = data && attribute(data, 'max-message-size');
  if (value === undefined) return 65536;
  return Number(value) === 0 ? Infinity : Number(value);
}
