"use strict";
/**
 * werift client of the peer contract (docs/contract.md).
 *
 * Usage: client.js <server offer URL>; the test case comes from $TEST_CASE.
 * Exit 0 only when the test's condition was observed, 1 on failure or timeout,
 * 127 for a test case this client does not know.
 */

const crypto = require("crypto");
const { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } = require("werift");

const {
  EXIT_FAILED,
  EXIT_PASSED,
  EXIT_UNSUPPORTED,
  STUN_DEFAULT_DISABLED,
  gatheringComplete,
  logger,
  peerConfig,
  transportStates,
} = require("./peer");
const { opusSamples, packetizeVp8, readIvf, readOggOpus } = require("./media");

const log = logger("client");
const POST_RETRY_MS = 10_000;
const MIN_ECHOED_PACKETS = 50;

class TestFailed extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs the offer, retrying while the server is still starting. */
async function postOffer(url, description) {
  const giveUp = Date.now() + POST_RETRY_MS;
  for (;;) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: description.type, sdp: description.sdp }),
      });
    } catch (error) {
      const reason = error.cause ? error.cause.code || error.cause.message : error.message;
      if (Date.now() > giveUp) throw new TestFailed(`cannot reach ${url}: ${reason}`);
      log.debug(`POST failed (${reason}), retrying`);
      await sleep(250);
      continue;
    }
    const text = await response.text();
    if (response.status !== 200) {
      throw new TestFailed(`server answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
    let body;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new TestFailed(`server's answer is not JSON: ${text.slice(0, 200)}`);
    }
    if (!body || body.type !== "answer" || typeof body.sdp !== "string") {
      throw new TestFailed(`server's reply is not an answer: ${text.slice(0, 200)}`);
    }
    return body;
  }
}

/**
 * Rejects as soon as the connection fails or closes, at any point of the test:
 * passing must never be possible on a dead connection.
 */
function watchConnection(pc) {
  let markConnected;
  const connected = new Promise((resolve) => (markConnected = resolve));
  let markBroken;
  const broken = new Promise((_, reject) => (markBroken = reject));
  broken.catch(() => {}); // observed through the races below
  pc.connectionStateChange.subscribe((state) => {
    log.info(`connection state ${state}`);
    if (state === "connected") markConnected();
    else if (state === "failed" || state === "closed") markBroken(new TestFailed(transportStates(pc)));
  });
  const connectedOrBroken = Promise.race([connected, broken]);
  connectedOrBroken.catch(() => {}); // awaited later; a failure before then is not "unhandled"
  return { connected: connectedOrBroken, broken };
}

/** Offer/answer; returns once the answer is applied. */
async function negotiate(url, pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc); // every candidate in the offer, no trickle
  const answer = await postOffer(url, pc.localDescription);
  log.info(`got answer (${answer.sdp.length} bytes of SDP)`);
  try {
    await pc.setRemoteDescription(answer);
  } catch (error) {
    throw new TestFailed(`cannot apply the server's answer: ${error.message}`);
  }
}

async function peerconnection(url, pc) {
  // A data channel gives the offer an m=application line, so there is a transport to
  // connect; nothing is sent on it.
  pc.createDataChannel("interop");
  const state = watchConnection(pc);
  await negotiate(url, pc);
  await state.connected;
  return "peer connection reached connected (ICE and DTLS done)";
}

async function datachannel(url, pc) {
  const token = crypto.randomBytes(16).toString("hex");
  const channel = pc.createDataChannel("interop", { ordered: true });
  const echoed = new Promise((resolve, reject) => {
    channel.stateChanged.subscribe((state) => {
      log.info(`data channel ${state}`);
      if (state === "open") {
        log.info(`data channel open, sending ${token}`);
        channel.send(token);
      } else if (state === "closed" || state === "closing") {
        reject(new TestFailed("data channel closed before the echo came back"));
      }
    });
    channel.onMessage.subscribe((message) => {
      log.info(`received ${JSON.stringify(typeof message === "string" ? message : message.toString("hex"))}`);
      resolve(message);
    });
  });
  echoed.catch(() => {}); // awaited below; may settle before that
  const state = watchConnection(pc);
  await negotiate(url, pc);
  await state.connected;
  const message = await Promise.race([echoed, state.broken]);
  if (typeof message !== "string") {
    throw new TestFailed(`echo came back as ${message.length} bytes of binary, sent a string`);
  }
  if (message !== token) {
    throw new TestFailed(`echo mismatch: sent ${JSON.stringify(token)}, got ${JSON.stringify(message)}`);
  }
  return `data channel echoed ${JSON.stringify(token)} unchanged`;
}

/**
 * A paced RTP source: calls next() for the payloads due at each tick and writes them
 * to the track, with our own sequence numbers and timestamps (the sender replaces
 * SSRC and payload type with its negotiated ones).
 */
function startSource(track, intervalMs, next) {
  let sequenceNumber = crypto.randomInt(0, 0x10000);
  let timestamp = crypto.randomInt(0, 0x100000000);
  let sent = 0;
  let stopped = false;
  const start = Date.now();
  let tick = 0;
  const step = () => {
    if (stopped) return;
    const { payloads, duration } = next();
    payloads.forEach((payload, index) => {
      const header = new RtpHeader({
        payloadType: 0, // replaced by the sender
        sequenceNumber,
        timestamp,
        marker: index === payloads.length - 1,
      });
      track.writeRtp(new RtpPacket(header, payload));
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
      sent += 1;
    });
    timestamp = (timestamp + duration) >>> 0;
    tick += 1;
    setTimeout(step, Math.max(0, start + tick * intervalMs - Date.now()));
  };
  step();
  return {
    stop: () => (stopped = true),
    get sent() {
      return sent;
    },
  };
}

function videoSource() {
  const { frames, frameIntervalMs, rtpTicksPerFrame } = readIvf();
  log.info(`video source: ${frames.length} VP8 frames, ${(1000 / frameIntervalMs).toFixed(1)} fps, looped`);
  let index = 0;
  return {
    intervalMs: frameIntervalMs,
    next: () => {
      const frame = frames[index];
      index = (index + 1) % frames.length;
      return { payloads: packetizeVp8(frame), duration: rtpTicksPerFrame };
    },
  };
}

function audioSource() {
  const packets = readOggOpus();
  log.info(`audio source: ${packets.length} Opus packets of 20 ms, looped`);
  let index = 0;
  return {
    intervalMs: 20,
    next: () => {
      const packet = packets[index];
      index = (index + 1) % packets.length;
      return { payloads: [packet], duration: opusSamples(packet) };
    },
  };
}

function codecName(codec) {
  const name = codec.mimeType.split("/")[1].toLowerCase();
  return `${name}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ""}`;
}

/** audio and video: send our media, count what the server echoes with the negotiated PT. */
async function media(kind, url, pc, report) {
  const source = kind === "audio" ? audioSource() : videoSource(); // fail before offering
  const track = new MediaStreamTrack({ kind });
  const transceiver = pc.addTransceiver(track, { direction: "sendrecv" });
  const counts = { matching: 0, other: 0, otherTypes: new Set() };
  let negotiatedPt;
  let markEnough;
  const enough = new Promise((resolve) => (markEnough = resolve));
  pc.ontrack = (event) => {
    log.info(`remote ${event.track.kind} track (mid ${event.transceiver.mid})`);
    event.track.onReceiveRtp.subscribe((rtp) => {
      if (rtp.header.payloadType === negotiatedPt) {
        counts.matching += 1;
        if (counts.matching === 1) log.info(`first echoed RTP packet, ssrc ${rtp.header.ssrc}`);
        if (counts.matching >= MIN_ECHOED_PACKETS) markEnough();
      } else {
        counts.other += 1;
        counts.otherTypes.add(rtp.header.payloadType);
      }
    });
  };
  report.received = () => {
    const other = counts.other ? ` other_payload_types=${[...counts.otherTypes].join(",")}:${counts.other}` : "";
    return `RECEIVED: packets=${counts.matching} frames=-${other}`;
  };

  const state = watchConnection(pc);
  await negotiate(url, pc);
  const codec = transceiver.sender.codec;
  if (!codec || transceiver.currentDirection === "inactive" || transceiver.stopped) {
    throw new TestFailed(`the server rejected the ${kind} section (direction ${transceiver.currentDirection})`);
  }
  negotiatedPt = codec.payloadType;
  report.negotiated = `NEGOTIATED: codec=${codecName(codec)} payload_type=${negotiatedPt}`;
  log.info(`${report.negotiated.slice(12)}, direction ${transceiver.currentDirection}`);
  if (transceiver.currentDirection !== "sendrecv") {
    throw new TestFailed(
      `the answer leaves our ${kind} transceiver ${transceiver.currentDirection}, not sendrecv: the server will not send the echo back`,
    );
  }

  await state.connected;
  const sending = startSource(track, source.intervalMs, source.next);
  report.stopSource = sending.stop;
  report.progress = () =>
    `${counts.matching} of ${MIN_ECHOED_PACKETS} echoed RTP packets with payload type ${negotiatedPt}, ${sending.sent} sent`;
  await Promise.race([enough, state.broken]);
  return `${counts.matching} echoed RTP packets with payload type ${negotiatedPt} (${codecName(codec)}), ${sending.sent} sent`;
}

const TESTS = {
  peerconnection,
  datachannel,
  audio: (url, pc, report) => media("audio", url, pc, report),
  video: (url, pc, report) => media("video", url, pc, report),
};

async function run(url, test, budgetMs) {
  if (!STUN_DEFAULT_DISABLED) log.warn("could not disable werift's default STUN server");
  const pc = new RTCPeerConnection(peerConfig());
  const report = {};
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => {
        const progress = report.progress ? `, ${report.progress()}` : "";
        reject(new TestFailed(`no result within ${Math.round(budgetMs / 1000)}s (${transportStates(pc)}${progress})`));
      },
      budgetMs,
    );
  });
  let verdict;
  let code;
  try {
    const detail = await Promise.race([TESTS[test](url, pc, report), timeout]);
    verdict = `PASS: ${test}: ${detail}`;
    code = EXIT_PASSED;
  } catch (error) {
    const reason = error instanceof TestFailed ? error.message : `error: ${error.stack || error}`;
    verdict = `FAIL: ${test}: ${reason}`;
    code = EXIT_FAILED;
  } finally {
    clearTimeout(timer);
    if (report.stopSource) report.stopSource();
  }
  if (report.negotiated) console.log(report.negotiated);
  if (report.received) console.log(report.received());
  await Promise.race([pc.close().catch(() => {}), sleep(1000)]);
  console.log(verdict);
  return code;
}

async function main() {
  if (process.argv.length !== 3) {
    console.error("usage: client.js <server offer URL>");
    return EXIT_FAILED;
  }
  const test = process.env.TEST_CASE || "datachannel";
  if (!Object.prototype.hasOwnProperty.call(TESTS, test)) {
    console.log(`UNSUPPORTED: test case ${JSON.stringify(test)} (known: ${Object.keys(TESTS).join(", ")})`);
    return EXIT_UNSUPPORTED;
  }
  // Finish, with a verdict, well before the orchestrator's own kill deadline.
  const timeout = Number(process.env.TEST_TIMEOUT || "25");
  const budgetMs = 0.8 * 1000 * (Number.isFinite(timeout) && timeout > 0 ? timeout : 25);
  return run(process.argv[2], test, budgetMs);
}

// werift rejects some internal promises after close; they must not replace our verdict.
process.on("unhandledRejection", (error) => log.debug(`unhandled rejection: ${error && error.stack ? error.stack : error}`));

main().then(
  (code) => process.exit(code),
  (error) => {
    console.log(`FAIL: ${process.env.TEST_CASE || "datachannel"}: error: ${error.stack || error}`);
    process.exit(EXIT_FAILED);
  },
);
