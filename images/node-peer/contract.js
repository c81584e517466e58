'use strict';
/**
 * The peer contract (docs/contract.md) as data: exit codes, the environment a peer
 * gets, the payload P and the messages every test case derives from it. Nothing here
 * knows a WebRTC stack.
 */

const crypto = require('crypto');

const EXIT_PASSED = 0;
const EXIT_FAILED = 1;
const EXIT_UNSUPPORTED = 127;
const PORT = 8080;
const DEFAULT_TIMEOUT_S = 25;

/** The codecs of the media test cases: audio Opus 48000/2, video VP8. */
const CONTRACT_CODECS = { audio: 'opus/48000/2', video: 'vp8/90000' };

/** A failure whose message is the verdict's reason (no stack trace needed). */
class TestFailed extends Error {}

/** The test case cannot run with this peer (or this server): exit 127. */
class Unsupported extends Error {}

/**
 * P from its lowercase hex (sections 2.1 and 1.1: TEST_PAYLOAD, or an offer's `payload`
 * query parameter); `source` names it in the error. Throws on anything else, so a
 * malformed value is never silently truncated by Buffer.from.
 */
function payloadFromHex(hex, source) {
  if (!/^([0-9a-f]{2})+$/.test(hex)) throw new Error(`${source} is not an even, non-zero number of lowercase hex digits`);
  return Buffer.from(hex, 'hex');
}

/**
 * Section 2.1: P is TEST_PAYLOAD decoded from hex (read in any case, as before). A peer
 * started without it makes up its own by the same rule: 600 to 1000 printable ASCII
 * bytes from '!' to '~'.
 */
function contractPayload(env = process.env) {
  const hex = (env.TEST_PAYLOAD || '').trim();
  if (hex) return { payload: payloadFromHex(hex.toLowerCase(), 'TEST_PAYLOAD'), given: true };
  const length = crypto.randomInt(600, 1001);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) bytes[i] = crypto.randomInt(0x21, 0x7f);
  return { payload: bytes, given: false };
}

/** repeat(P, n): P repeated and cut to exactly n bytes. */
function repeatTo(payload, length) {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += payload.length) payload.copy(out, offset);
  return out;
}

function sha256hex(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** ICE_SERVERS as RTCIceServer objects; unset means none. Malformed JSON is an error. */
function iceServers(env = process.env) {
  const text = (env.ICE_SERVERS || '').trim();
  if (!text) return [];
  const servers = JSON.parse(text);
  if (!Array.isArray(servers)) throw new Error('ICE_SERVERS is not a JSON array');
  return servers.map((server) => ({
    urls: Array.isArray(server.urls) ? server.urls : [server.urls],
    username: server.username,
    credential: server.credential,
  }));
}

/** Everything about ICE a stack adapter needs to configure its peer connection. */
function iceConfig(env = process.env) {
  const policy = (env.ICE_TRANSPORT_POLICY || 'all').trim();
  if (policy !== 'all' && policy !== 'relay') throw new Error(`ICE_TRANSPORT_POLICY ${policy} is neither all nor relay`);
  return { iceServers: iceServers(env), iceTransportPolicy: policy, caPem: env.ICE_CA_PEM || undefined };
}

/** A non-negative number from the environment, or the default. */
function numberFromEnv(name, fallback, env = process.env) {
  const value = Number(env[name]);
  return env[name] !== undefined && env[name] !== '' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

/**
 * What is left of the client's budget, 80 % of TEST_TIMEOUT counted from the process's
 * start (loading a stack can take seconds on a busy machine), so its verdict lands
 * before the orchestrator's kill.
 */
function clientBudgetMs(env = process.env) {
  const timeout = numberFromEnv('TEST_TIMEOUT', DEFAULT_TIMEOUT_S, env) || DEFAULT_TIMEOUT_S;
  return Math.max(1000, 800 * timeout - Math.round(process.uptime() * 1000));
}

/** A parsed URL of one of the ICE servers, e.g. turn:host:3478?transport=tcp. */
function parseIceUrl(url) {
  const match = /^(stuns?|turns?):(?:\/\/)?(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!match) return null;
  const scheme = match[1].toLowerCase();
  const secure = scheme.endsWith('s');
  const transport = scheme.startsWith('turn') ? (secure ? 'tls' : (match[4] || 'udp').toLowerCase()) : 'udp';
  const port = match[3] ? Number(match[3]) : secure ? 5349 : 3478;
  return { scheme, host: match[2].replace(/^\[|\]$/g, ''), port, transport, relay: scheme.startsWith('turn') };
}

/** A URL for a log or failure line, without its query: a reused server's offer URL
 * carries the cell's payload (contract 1.1), 1200-2000 hex digits that would crowd out
 * why. */
function withoutQuery(url) {
  return String(url).split('?')[0];
}

module.exports = {
  EXIT_PASSED,
  EXIT_FAILED,
  EXIT_UNSUPPORTED,
  PORT,
  CONTRACT_CODECS,
  TestFailed,
  Unsupported,
  contractPayload,
  payloadFromHex,
  repeatTo,
  sha256hex,
  iceConfig,
  numberFromEnv,
  clientBudgetMs,
  parseIceUrl,
  withoutQuery,
};
