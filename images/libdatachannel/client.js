'use strict';
/**
 * libdatachannel client of the peer contract (docs/contract.md).
 *
 * Usage: client.js <server offer URL>; the test case comes from $TEST_CASE.
 * Exit 0 only when the test's condition was observed, 1 on failure or timeout,
 * 127 for a test case this client does not know.
 */

const crypto = require('crypto');
const {
  CONTRACT_CODECS, EXIT_FAILED, EXIT_PASSED, EXIT_UNSUPPORTED, ndc, makeLogger, setupLogging, libraryErrorSummary,
  newPeerConnection, gatheringComplete, parseMediaSections, findPayloadType, isRtcp, randomSsrc,
} = require('./peer');
const { RtpSender, startAudio, startVideo } = require('./media');

const log = makeLogger('client');
const POST_RETRY_MS = 10000;
const MEDIA_PACKETS_NEEDED = 50;
const LOG_FLUSH_MS = 200;
const keep = []; // native wrappers close their object when collected: hold them all

class TestFailed extends Error {}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** POST the offer, retrying while the server is still starting. */
async function postOffer(url, offer) {
  const giveUp = Date.now() + POST_RETRY_MS;
  for (;;) {
    let response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: offer.type, sdp: offer.sdp }),
        signal: AbortSignal.timeout(15000),
      });
    } catch (error) {
      if (error.name === 'TimeoutError') throw new TestFailed(`no answer from ${url} within 15s`);
      const why = error.cause ? error.cause.code || error.cause.message : error.message;
      if (Date.now() > giveUp) throw new TestFailed(`cannot reach ${url}: ${why}`);
      await sleep(250);
      continue;
    }
    const text = await response.text();
    if (response.status !== 200) throw new TestFailed(`server answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    let body;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new TestFailed(`answer is not JSON: ${text.slice(0, 200)}`);
    }
    if (!body || body.type !== 'answer' || typeof body.sdp !== 'string') {
      throw new TestFailed(`answer is not an RTCSessionDescriptionInit of type answer: ${text.slice(0, 200)}`);
    }
    return body;
  }
}

/**
 * Watch the connection state: resolves on connected, rejects on failed/closed.
 * Register before anything can change the state.
 */
function watchConnection(pc) {
  let settle;
  const connected = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  connected.catch(() => {}); // observed by whoever awaits it
  pc.onStateChange((state) => {
    log.info(`connection state ${state}`);
    if (state === 'connected') settle.resolve();
    else if (state === 'failed' || state === 'closed') {
      const why = libraryErrorSummary();
      settle.reject(new TestFailed(`connection ${state}${why ? ` (libdatachannel: ${why})` : ''}`));
    }
  });
  return connected;
}

/** Offer (after gathering completed, non-trickle), POST it, apply the answer. */
async function negotiate(url, pc) {
  const ready = gatheringComplete(pc);
  pc.setLocalDescription('offer');
  const offer = await ready;
  if (!offer.complete) log.warn('ICE gathering not complete after timeout, offering what we have');
  log.info(`offering (${offer.sdp.length} bytes of SDP)`);
  log.debug(`offer SDP:\n${offer.sdp}`);
  const answer = await postOffer(url, offer);
  log.info(`got answer (${answer.sdp.length} bytes of SDP)`);
  log.debug(`answer SDP:\n${answer.sdp}`);
  try {
    pc.setRemoteDescription(answer.sdp, 'answer');
  } catch (error) {
    throw new TestFailed(`cannot apply the answer: ${error.message}`);
  }
  return answer;
}

async function peerconnection(url, pc) {
  // A data channel gives the offer an m=application line, so there is a transport
  // to connect; nothing is sent on it.
  keep.push(pc.createDataChannel('interop'));
  const connected = watchConnection(pc);
  await negotiate(url, pc);
  await connected;
  return 'peer connection reached connected (ICE and DTLS done)';
}

async function datachannel(url, pc) {
  const token = crypto.randomBytes(16).toString('hex');
  const connected = watchConnection(pc);
  const channel = pc.createDataChannel('interop'); // reliable and ordered by default
  keep.push(channel);
  const echoed = new Promise((resolve, reject) => {
    channel.onOpen(() => {
      log.info(`data channel open, sending ${token}`);
      channel.sendMessage(token);
    });
    channel.onMessage((message) => {
      const text = typeof message === 'string' ? message : `<binary ${Buffer.from(message).toString('hex')}>`;
      log.info(`received ${JSON.stringify(text)}`);
      resolve(text);
    });
    channel.onClosed(() => reject(new TestFailed('data channel closed before the echo came back')));
    channel.onError((error) => reject(new TestFailed(`data channel error: ${error}`)));
  });
  echoed.catch(() => {}); // observed below; may settle before it is awaited
  await negotiate(url, pc);
  await connected;
  const message = await echoed;
  if (message !== token) throw new TestFailed(`echo mismatch: sent ${JSON.stringify(token)}, got ${JSON.stringify(message)}`);
  return `data channel echoed '${token}' unchanged`;
}

/**
 * audio/video: offer one sendrecv transceiver with only the contract codec and our
 * SSRC, send the build-time file as RTP, count RTP that comes back on the track with
 * the negotiated payload type. libdatachannel does not decode: frames=-.
 */
function mediaTest(kind) {
  return async function media(url, pc, state) {
    const mid = '0';
    const ssrc = randomSsrc();
    const description = kind === 'audio' ? new ndc.Audio(mid, 'SendRecv') : new ndc.Video(mid, 'SendRecv');
    if (kind === 'audio') description.addOpusCodec(111);
    else description.addVP8Codec(96);
    description.addSSRC(ssrc, 'interop-client', 'interop', `interop-${kind}`);
    const track = pc.addTrack(description);
    keep.push(description, track);
    const sender = new RtpSender(track, ssrc, log);
    state.received = 0;
    const seen = new Map(); // ssrc -> packets with the negotiated payload type
    let payloadType = null;
    let otherPayloadTypes = 0;
    let rtcp = 0;

    const connected = watchConnection(pc);
    const enough = new Promise((resolve, reject) => {
      track.onMessage((packet) => {
        // No media handler is set: this is every RTP and RTCP packet routed to the track.
        if (isRtcp(packet)) {
          rtcp += 1;
          return;
        }
        if (packet.length < 12 || payloadType === null) return;
        if ((packet[1] & 0x7f) !== payloadType) {
          otherPayloadTypes += 1;
          return;
        }
        const from = packet.readUInt32BE(8);
        seen.set(from, (seen.get(from) || 0) + 1);
        state.received += 1;
        if (state.received === 1) log.info(`first echoed RTP packet (SSRC ${from})`);
        if (state.received >= MEDIA_PACKETS_NEEDED) resolve();
      });
      track.onClosed(() => reject(new TestFailed(`${kind} track closed after ${state.received} echoed RTP packets`)));
      track.onError((error) => reject(new TestFailed(`${kind} track error: ${error}`)));
    });
    enough.catch(() => {});

    const answer = await negotiate(url, pc);
    const section = parseMediaSections(answer.sdp).find((s) => s.mid === mid);
    if (!section || section.port === 0) throw new TestFailed(`the answer rejected the ${kind} m-line`);
    payloadType = findPayloadType(section, CONTRACT_CODECS[kind]);
    if (payloadType === null) {
      const offered = section.payloadTypes.map((pt) => `${pt} ${section.rtpmap[pt] || '?'}`).join(', ');
      throw new TestFailed(`the answer has no ${CONTRACT_CODECS[kind]} (answered: ${offered || 'nothing'})`);
    }
    state.negotiated = `codec=${section.rtpmap[payloadType]} payload_type=${payloadType}`;
    console.log(`NEGOTIATED: ${state.negotiated}`);
    if (section.direction !== 'sendrecv') throw new TestFailed(`the answer's ${kind} direction is ${section.direction}, not sendrecv`);

    await connected;
    await new Promise((resolve, reject) => {
      if (track.isOpen()) return resolve();
      track.onOpen(resolve);
      setTimeout(() => (track.isOpen() ? resolve() : reject(new TestFailed(`${kind} track did not open`))), 5000);
    });
    const source = kind === 'audio' ? startAudio(sender, payloadType) : startVideo(sender, payloadType);
    log.info(`${kind} track open, sending ${source} as SSRC ${ssrc}`);
    try {
      await enough;
    } finally {
      sender.stop();
      state.sent = sender.sent;
      log.info(`ignored ${rtcp} RTCP packets and ${otherPayloadTypes} RTP packets with another payload type`);
    }
    const sources = [...seen].map(([s, n]) => `${s}x${n}`).join(' ');
    if (section.ssrcs.length && ![...seen.keys()].some((s) => section.ssrcs.includes(s))) {
      log.info(`note: echo SSRC(s) ${sources} not among those the answer announced (${section.ssrcs.join(' ')})`);
    }
    return `${state.received} RTP packets echoed with ${section.rtpmap[payloadType]} payload type ${payloadType} ` +
      `(sent ${sender.sent}; SSRC ${sources})`;
  };
}

const TESTS = { peerconnection, datachannel, audio: mediaTest('audio'), video: mediaTest('video') };

async function run(url, test, budgetMs) {
  const pc = newPeerConnection('client');
  keep.push(pc);
  const state = {};
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TestFailed(
      `no result within ${Math.round(budgetMs / 1000)}s (connection state ${pc.state()})`)), budgetMs);
  });
  let verdict;
  let code;
  try {
    const detail = await Promise.race([TESTS[test](url, pc, state), timeout]);
    verdict = `PASS: ${test}: ${detail}`;
    code = EXIT_PASSED;
  } catch (error) {
    if (!(error instanceof TestFailed)) log.error(error.stack || String(error));
    // libdatachannel's log reaches JS asynchronously: let what it said about this
    // failure arrive, and name it in the reason if the reason does not already.
    await sleep(LOG_FLUSH_MS);
    const why = libraryErrorSummary();
    const detail = why && !error.message.includes('libdatachannel:') ? ` (libdatachannel: ${why})` : '';
    verdict = `FAIL: ${test}: ${error.message}${detail}`;
    code = EXIT_FAILED;
  } finally {
    clearTimeout(timer);
  }
  if (test === 'audio' || test === 'video') {
    console.log(`RECEIVED: packets=${state.received || 0} frames=-`);
  }
  try {
    pc.close();
  } catch (error) {
    log.warn(`close failed: ${error.message}`);
  }
  console.log(verdict);
  return code;
}

async function main() {
  setupLogging();
  if (process.argv.length !== 3) {
    console.error('usage: client.js <server offer URL>');
    return EXIT_FAILED;
  }
  const test = process.env.TEST_CASE || 'datachannel';
  if (!Object.prototype.hasOwnProperty.call(TESTS, test)) {
    console.log(`UNSUPPORTED: test case '${test}' (known: ${Object.keys(TESTS).join(', ')})`);
    return EXIT_UNSUPPORTED;
  }
  log.info(`libdatachannel ${ndc.getLibraryVersion()} via node-datachannel, test ${test}`);
  // Finish, with a verdict, well before the orchestrator's own kill deadline.
  const timeout = Number(process.env.TEST_TIMEOUT || 25);
  const budgetMs = 800 * (Number.isFinite(timeout) && timeout > 0 ? timeout : 25);
  return run(process.argv[2], test, budgetMs);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.log(`FAIL: ${process.env.TEST_CASE || 'datachannel'}: ${error.message}`);
    process.exit(EXIT_FAILED);
  },
);
