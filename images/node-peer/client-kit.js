'use strict';
/**
 * What the client test cases share: the context of one run (payload, environment,
 * peers, the contract lines to print), watching a connection, offer/answer with or
 * without trickle, and exact echo checks.
 */

const {
  TestFailed, Unsupported, contractPayload, iceConfig, numberFromEnv,
} = require('./contract');
const { MessageQueue, describeMessage } = require('./channel');
const { postOffer } = require('./http-client');
const { contractLine } = require('./log');
const {
  buildSdpFrag, iceCredentials, parseSdp, parseSdpFrag, withoutCandidates,
} = require('./sdp');

/** One client run: what every test case reads and the lines it reports. */
class ClientContext {
  constructor(adapter, url, log, env = process.env) {
    const { payload, given } = contractPayload(env);
    this.adapter = adapter;
    this.url = url;
    this.log = log;
    this.test = env.TEST_CASE || 'datachannel';
    this.payload = payload;
    this.payloadGiven = given;
    this.ice = iceConfig(env);
    this.minEchoes = numberFromEnv('MIN_ECHOES', 100, env);
    this.mediaDurationS = numberFromEnv('MEDIA_DURATION', 0, env);
    this.lines = new Map(); // contract lines printed before the verdict, in insertion order
    this.progress = null; // () => string: how far the test got, for a timeout's reason
    this.peers = [];
  }

  /** P as the ASCII string it is (every byte is printable ASCII). */
  get text() {
    return this.payload.toString('latin1');
  }

  /** A new client peer connection, logged and closed at the end of the run. */
  newPeer(extra = {}) {
    const name = `client${this.peers.length ? this.peers.length + 1 : ''}`;
    const peer = this.adapter.createPeer({ ...this.ice, ...extra, name, role: 'client', log: this.log });
    peer.on('connectionstatechange', (state) => this.log.info(`${name}: connection ${state}`));
    peer.on('keylog', (line) => contractLine(`KEYLOG: ${line}`));
    this.peers.push(peer);
    return peer;
  }

  /** Sets the contract line `key` (NEGOTIATED, RECEIVED, SIZES, ...) printed at the end. */
  report(key, line) {
    this.lines.set(key, line);
  }
}

/**
 * {connected, broken}: connected resolves on 'connected'; broken rejects as soon as the
 * connection fails or closes, at any point of the test (passing must never be possible
 * on a dead connection). Register before negotiating.
 */
function watch(peer, adapterName) {
  let markConnected;
  let markBroken;
  const connected = new Promise((resolve) => { markConnected = resolve; });
  const broken = new Promise((_, reject) => { markBroken = reject; });
  broken.catch(() => {});
  const onState = (state) => {
    if (state === 'connected') markConnected();
    if (state === 'failed' || (state === 'closed' && !peer.isClosed)) {
      const why = peer.libraryErrors();
      markBroken(new TestFailed(`${peer.transportSummary()}${why ? ` (${adapterName}: ${why})` : ''}`));
    }
  };
  peer.on('connectionstatechange', onState);
  const connectedOrBroken = Promise.race([connected, broken]);
  connectedOrBroken.catch(() => {});
  return { connected: connectedOrBroken, broken, stop: () => peer.off('connectionstatechange', onState) };
}

async function applyAnswer(peer, answer) {
  try {
    await peer.acceptAnswer(answer);
  } catch (error) {
    throw new TestFailed(`cannot apply the server's answer: ${error.message}`);
  }
}

/** Non-trickle offer/answer: the offer leaves once gathering completed. */
async function negotiate(ctx, peer) {
  await peer.createOffer();
  const offer = await peer.gatheringComplete();
  ctx.log.info(`${peer.name}: offering (${offer.length} bytes of SDP)`);
  ctx.log.debug(`offer SDP:\n${offer}`);
  const { answer, session } = await postOffer(ctx.url, offer, ctx.log);
  ctx.log.info(`${peer.name}: got the answer (${answer.length} bytes of SDP)${session ? `, session ${session.url}` : ''}`);
  ctx.log.debug(`answer SDP:\n${answer}`);
  await applyAnswer(peer, answer);
  return { offer, answer, session };
}

/**
 * Watches the peer, negotiates (trickle or not), lets `afterAnswer(answer)` read the
 * answer, and waits for 'connected'. Returns {offer, answer, session, guard}: guard(p)
 * races p against the connection failing or closing.
 */
async function connect(ctx, peer, { trickle = false, afterAnswer = null } = {}) {
  const watched = watch(peer, ctx.adapter.name);
  const negotiated = trickle ? await negotiateTrickle(ctx, peer) : await negotiate(ctx, peer);
  if (afterAnswer) afterAnswer(negotiated.answer);
  await watched.connected;
  const guard = (promise) => Promise.race([promise, watched.broken]);
  return { ...negotiated, watched, guard };
}

/** Adds the candidates of a server's sdpfrag (a 200 to a trickle PATCH). */
async function applyRemoteFrag(peer, text) {
  for (const section of parseSdpFrag(text).sections) {
    for (const candidate of section.candidates) await peer.addRemoteCandidate(candidate, section.mid);
    if (section.end) await peer.addRemoteCandidate(null, section.mid);
  }
}

/**
 * Trickle offer/answer: the offer leaves right after setLocalDescription, without any
 * candidate line (so every candidate provably travels by PATCH); then each candidate
 * as gathered, and a=end-of-candidates, is PATCHed to the session.
 */
async function negotiateTrickle(ctx, peer) {
  const gathered = [];
  let complete = false;
  let wake = () => {};
  peer.on('localcandidate', (candidate) => {
    if (candidate === null) complete = true;
    else gathered.push(candidate);
    wake();
  });
  await peer.createOffer();
  const offer = withoutCandidates(peer.localDescription());
  const { answer, session } = await postOffer(ctx.url, offer, ctx.log);
  if (!session) throw new Unsupported('server has no session resource (no Location in its answer)');
  ctx.log.info(`${peer.name}: trickle offer sent before gathering completed; session ${session.url}`);
  await applyAnswer(peer, answer);
  const first = parseSdp(offer).sections[0];
  const { ufrag, pwd } = iceCredentials(offer);
  const sent = new Set();
  for (;;) {
    const end = complete || peer.gatheringState() === 'complete'; // before reading: no candidate left behind
    // Candidates the stack put into its description without an event count too.
    gathered.push(...parseSdp(peer.localDescription() || '').sections.flatMap((s) => s.candidates));
    const fresh = [...new Set(gathered)].filter((c) => !sent.has(c));
    if (fresh.length > 0 || end) {
      fresh.forEach((c) => sent.add(c));
      const frag = buildSdpFrag({ ufrag, pwd, sections: [{ mLine: first.mLine, mid: first.mid, candidates: fresh, end }] });
      ctx.log.info(`${peer.name}: PATCH ${fresh.length} candidate(s)${end ? ' + end-of-candidates' : ''}`);
      const reply = await session.trickle(frag);
      if (reply) await applyRemoteFrag(peer, reply);
    }
    if (end) break;
    await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 100); });
  }
  if (sent.size === 0) throw new TestFailed('gathering completed without a single local candidate to trickle');
  return { offer, answer, session };
}

/** Throws unless `got` is the same message as `sent`: same type, same bytes. */
function checkEcho(sent, got, what) {
  const sameType = (typeof sent === 'string') === (typeof got === 'string');
  const same = sameType && (typeof sent === 'string' ? sent === got : Buffer.compare(sent, got) === 0);
  if (same) return;
  const expected = describeMessage(sent);
  throw new TestFailed(`${what}: sent a ${expected}, the echo is a ${describeMessage(got)}${sameType ? ' with other bytes' : ''}`);
}

/** Sends one message and waits for its echo on the same channel. */
async function echoOnce(channel, queue, message, what) {
  channel.send(message);
  checkEcho(message, await queue.next(), what);
}

/** Opens channel `label` before the offer: {channel, queue}. */
function openChannel(peer, label, init = {}) {
  const channel = peer.createDataChannel(label, init);
  return { channel, queue: new MessageQueue(channel) };
}

module.exports = {
  ClientContext, watch, negotiate, connect, negotiateTrickle, applyRemoteFrag, applyAnswer,
  checkEcho, echoOnce, openChannel,
};
