"use strict";
/** What the werift server and client share: contract constants, codecs and logging. */

const { Connection, useOPUS, useVP8 } = require("werift");

const EXIT_PASSED = 0;
const EXIT_FAILED = 1;
const EXIT_UNSUPPORTED = 127;
const PORT = 8080;

/**
 * werift's ICE agent falls back to stun.l.google.com:19302 whenever no STUN server is
 * configured, even with iceServers: [] (ice.js applyStunTurnServersFromOptions), and
 * then holds back "gathering complete" for its STUN timeout (5 s by default) on a
 * network without a route out. The contract says no STUN/TURN: keep "no STUN server"
 * meaning none. Returns whether the patch applied (the method exists in 0.25.x).
 */
function disableDefaultStunServer() {
  const proto = Connection && Connection.prototype;
  const original = proto && proto.applyStunTurnServersFromOptions;
  if (typeof original !== "function") return false;
  proto.applyStunTurnServersFromOptions = function applyWithoutDefaultStun() {
    original.call(this);
    if (!this.options.stunServer) this.stunServer = undefined;
  };
  return true;
}
const STUN_DEFAULT_DISABLED = disableDefaultStunServer();

/**
 * Peer configuration for both roles: no STUN/TURN (host candidates on the cell network
 * are all the contract needs), IPv4 only (the cell network has no IPv6 routes and
 * werift would otherwise also gather link-local/IPv6 candidates that never connect),
 * and one codec per kind so the negotiated payload type is unambiguous: Opus 111 and
 * VP8 96, the numbers browsers use.
 */
function peerConfig() {
  return {
    iceServers: [],
    iceUseIpv4: true,
    iceUseIpv6: false,
    // Only matters if the patch above did not apply: bounds the wait for the default STUN.
    iceStunGatherTimeout: 1,
    codecs: {
      audio: [useOPUS({ payloadType: 111 })],
      video: [useVP8({ payloadType: 96 })],
    },
  };
}

const DEBUG = Boolean(process.env.PEER_DEBUG);

/** A logger that writes timestamped lines to stdout, like the other images. */
function logger(name) {
  const write = (level, args) => {
    const text = args.map((a) => (typeof a === "string" ? a : formatValue(a))).join(" ");
    process.stdout.write(`${new Date().toISOString()} ${name} ${level} ${text}\n`);
  };
  return {
    info: (...args) => write("INFO", args),
    warn: (...args) => write("WARNING", args),
    debug: (...args) => DEBUG && write("DEBUG", args),
  };
}

function formatValue(value) {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Resolves once ICE gathering is complete, so the SDP carries every candidate (no
 * trickle). werift's setLocalDescription normally returns with gathering already done;
 * the time limit keeps a description without any transport from hanging us forever.
 */
function gatheringComplete(pc, timeoutMs = 10_000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unSubscribe();
      reject(new Error(`ICE gathering not complete after ${timeoutMs} ms (state ${pc.iceGatheringState})`));
    }, timeoutMs);
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === "complete") {
        clearTimeout(timer);
        unSubscribe();
        resolve();
      }
    });
  });
}

/** Where a connection stands (or got stuck), layer by layer, for logs and verdicts. */
function transportStates(pc) {
  const dtls = pc.dtlsTransports.map((t) => t.state).join("/") || "none";
  const sctp = pc.sctpTransport ? `, SCTP ${pc.sctpTransport.sctp?.state ?? "?"}` : "";
  return `connection ${pc.connectionState}, ICE ${pc.iceConnectionState}, DTLS ${dtls}${sctp}`;
}

module.exports = {
  EXIT_PASSED,
  EXIT_FAILED,
  EXIT_UNSUPPORTED,
  PORT,
  STUN_DEFAULT_DISABLED,
  peerConfig,
  logger,
  gatheringComplete,
  transportStates,
};
