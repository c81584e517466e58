'use strict';
/**
 * The client's session test cases (contract section 8): trickle, ice-restart,
 * renegotiation and reconnect, for any stack adapter, through the server's session
 * resource (section 3.2).
 */

const { TestFailed, Unsupported } = require('./contract');
const {
  applyAnswer, connect, echoOnce, openChannel,
} = require('./client-kit');
const { readNegotiated, sendAndAwait } = require('./tests-media');
const {
  fragFromDescription, iceCredentials, parseSdpFrag, replaceIce,
} = require('./sdp');

const POLL_MS = 100;

/** Polls an async predicate until it holds. */
async function until(predicate) {
  for (;;) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Connects `peer` with a fresh 'interop' channel and echoes `message` (default P). */
async function firstEcho(ctx, peer, options = {}, message = ctx.text, what = 'P') {
  const { channel, queue } = openChannel(peer, 'interop');
  const connected = await connect(ctx, peer, options);
  await connected.guard(channel.whenOpen());
  await connected.guard(echoOnce(channel, queue, message, what));
  ctx.log.info(`${peer.name}: the echo of ${what} came back`);
  return { ...connected, channel, queue };
}

function needSession(session) {
  if (!session) throw new Unsupported('server has no session resource (no Location in its answer)');
}

async function trickle(ctx) {
  await firstEcho(ctx, ctx.newPeer(), { trickle: true });
  return 'offer sent before gathering completed, candidates trickled by PATCH, P echoed';
}

/**
 * Restarts ICE through the session (PATCH, If-Match: *) and returns the local ufrag of
 * the new ICE session once the answer with the server's new credentials is applied.
 */
async function restartThroughSession(ctx, peer, session, answer) {
  const before = iceCredentials(peer.localDescription()).ufrag;
  const remoteBefore = iceCredentials(answer).ufrag;
  peer.restartIce();
  await peer.createOffer({ iceRestart: true });
  const offer = await peer.gatheringComplete();
  const { ufrag } = iceCredentials(offer);
  if (ufrag === before) throw new TestFailed(`the restart offer kept ice-ufrag ${ufrag}`);
  ctx.log.info(`ICE restart: local ufrag ${before} -> ${ufrag}`);
  const frag = parseSdpFrag(await session.restartIce(fragFromDescription(offer)));
  if (!frag.ufrag || !frag.pwd) throw new TestFailed("the server's restart fragment has no ice-ufrag/ice-pwd");
  if (frag.ufrag === remoteBefore) throw new TestFailed(`the server kept its ice-ufrag ${frag.ufrag} on restart`);
  ctx.log.info(`ICE restart: remote ufrag ${remoteBefore} -> ${frag.ufrag}, ` +
    `${frag.sections.reduce((n, s) => n + s.candidates.length, 0)} candidate(s)`);
  await applyAnswer(peer, replaceIce(answer, frag));
  return ufrag;
}

async function iceRestart(ctx) {
  const peer = ctx.newPeer();
  const {
    session, answer, guard, channel, queue,
  } = await firstEcho(ctx, peer);
  needSession(session);
  const ufrag = await guard(restartThroughSession(ctx, peer, session, answer));
  ctx.progress = () => `restarted ICE as ${ufrag}, waiting for its candidate pair (${peer.transportSummary()})`;
  await guard(until(async () => peer.connectionState === 'connected' && peer.iceRestartDone(ufrag)));
  ctx.log.info(`connected again on the new ICE session (${ufrag})`);
  await guard(echoOnce(channel, queue, `restart:${ctx.text}`, '"restart:" + P'));
  return `ICE restarted (new ufrag ${ufrag}), "restart:" + P echoed on the same channel`;
}

async function renegotiation(ctx) {
  const peer = ctx.newPeer();
  const {
    session, guard, channel, queue,
  } = await firstEcho(ctx, peer);
  needSession(session);
  const media = peer.addMedia('audio');
  await peer.createOffer();
  const offer = await peer.gatheringComplete();
  ctx.log.info(`renegotiating with an audio section (${offer.length} bytes of SDP)`);
  const answer = await guard(session.renegotiate(offer));
  ctx.log.debug(`renegotiation answer SDP:\n${answer}`);
  await applyAnswer(peer, answer);
  readNegotiated(ctx, media, answer, false);
  const detail = await sendAndAwait(ctx, [media], guard, false);
  await guard(echoOnce(channel, queue, `renegotiated:${ctx.text}`, '"renegotiated:" + P'));
  return `audio added by renegotiation (${detail}); "renegotiated:" + P echoed`;
}

async function reconnect(ctx) {
  const first = ctx.newPeer();
  const { session } = await firstEcho(ctx, first);
  first.close();
  if (session) {
    await session.delete();
    ctx.log.info('closed the first peer connection and deleted its session');
  } else {
    ctx.log.info('closed the first peer connection (the server has no session resource)');
  }
  await firstEcho(ctx, ctx.newPeer(), {}, `reconnect:${ctx.text}`, '"reconnect:" + P');
  return `P echoed, peer connection closed${session ? ' and session deleted' : ''}, "reconnect:" + P echoed on a new one`;
}

module.exports = {
  tests: {
    trickle,
    'ice-restart': iceRestart,
    renegotiation,
    reconnect,
  },
};
