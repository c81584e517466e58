'use strict';
// Client role: the session resource test cases (trickle, ice-restart, reconnect), the
// table of test cases, and the client's main function.

/** Sends local candidates by PATCH as they are gathered, then a=end-of-candidates. */
class Trickler {
  constructor(pc, session) {
    this.pc = pc;
    this.session = session;
    this.queue = [];
    this.ended = false;
    this.wake = null;
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate && e.candidate.candidate) this.queue.push(e.candidate);
      else if (!e.candidate) this.ended = true;
      if (this.wake) this.wake();
    });
  }

  /** Resolves once every candidate and the end of candidates went out. */
  async run() {
    for (;;) {
      if (!this.queue.length && !this.ended) {
        await new Promise((resolve) => { this.wake = resolve; });
        this.wake = null;
        continue;
      }
      const batch = this.queue.splice(0);
      const end = this.ended;
      await this.send(batch, end);
      if (end) return;
    }
  }

  async send(batch, end) {
    if (!this.session.etag) throw new TestFailed('the answer has a Location but no ETag: a trickle PATCH needs If-Match');
    const local = this.pc.localDescription.sdp;
    const {media} = sections(local);
    const mids = media.map((s) => attribute(s, 'mid'));
    const frag = {...iceCredentials(local), trickle: true, sections: media.map((s, i) => ({
      mline: s[0], mid: mids[i], end: end && i === 0,
      candidates: batch.filter((c) => (c.sdpMid ?? mids[c.sdpMLineIndex || 0]) === mids[i]).map((c) => c.candidate),
    })).filter((s) => s.candidates.length || s.end)};
    log(`PATCH ${batch.length} candidate(s)${end ? ' and end-of-candidates' : ''}: ${batch.map((c) => c.candidate.split(' ').slice(4, 8).join(' ')).join(', ') || '-'}`);
    const reply = await this.session.patch(buildFragment(frag), this.session.etag);
    if (reply) await addRemoteCandidates(this.pc, reply);
  }
}

async function trickle(ctx) {
  const {pc, watch, session} = ctx.newPeer();
  const channel = pc.createDataChannel('interop');
  const inbox = new Inbox(channel);
  const trickler = new Trickler(pc, session);
  await pc.setLocalDescription(await pc.createOffer());
  log(`offer sent before gathering completes (gathering ${pc.iceGatheringState}): ${summarize(pc.localDescription.sdp)}`);
  const answer = await session.offer(pc.localDescription);
  session.require('trickle');
  log(`answer: ${summarize(answer.sdp)}`);
  await applyAnswer(pc, answer);
  await ctx.guard(trickler.run());
  await ctx.guard(watch.connected());
  await ctx.guard(opened(channel));
  await echoOnce(ctx, channel, inbox, P(), 'P');
  return 'offer sent before gathering, candidates trickled by PATCH, P echoed';
}

/** The ufrags of the selected pair's candidates ({local, remote}), null without one. */
async function selectedPair(pc) {
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  if (!pairId) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.selected) pairId = s.id; });
  let pair = pairId && stats.get(pairId);
  if (!pair) { // no selected pair in the stats: the nominated one that last received
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded'
          && (!pair || (s.lastPacketReceivedTimestamp || 0) > (pair.lastPacketReceivedTimestamp || 0))) pair = s;
    });
  }
  if (!pair) return null;
  const ufrag = (id) => (stats.get(id) || {}).usernameFragment;
  return {local: ufrag(pair.localCandidateId), remote: ufrag(pair.remoteCandidateId)};
}

/**
 * Waits until the connection is connected on the new ICE credentials of both sides:
 * the selected pair's candidates carry the new ufrags (where the browser's stats show
 * candidate ufrags; Firefox's do not, then connected again is all that can be seen).
 */
async function awaitRestarted(ctx, pc, watch, local, remote) {
  for (;;) {
    await ctx.guard(watch.connected());
    const pair = await selectedPair(pc);
    if (pair && pair.local === local && pair.remote === remote) {
      return `the selected pair uses the new ufrags ${local} (ours) and ${remote} (the server's)`;
    }
    const shown = pair ? [[pair.local, local], [pair.remote, remote]].filter(([got]) => got !== undefined) : [];
    if (pair && shown.length < 2 && shown.every(([got, want]) => got === want)
        && ['connected', 'completed'].includes(pc.iceConnectionState)) {
      return `connected again (this browser's stats show ${shown.length ? 'only one' : 'no'} candidate ufrag of the selected pair)`;
    }
    ctx.status(`waiting for a selected pair with the new ufrags ${local}/${remote}; selected: ${pair ? `${pair.local}/${pair.remote}` : 'none'}`);
    await ctx.guard(sleep(100));
  }
}

async function iceRestart(ctx) {
  const {pc, watch, channel, inbox, session} = await openChannel(ctx);
  session.require('ice-restart');
  await echoOnce(ctx, channel, inbox, P(), 'P');
  const before = iceCredentials(pc.localDescription.sdp).ufrag;
  pc.restartIce();
  const gathered = nextGatheringEnd(pc);
  await pc.setLocalDescription(await pc.createOffer());
  await gathered;
  const local = pc.localDescription.sdp;
  const {ufrag} = iceCredentials(local);
  if (ufrag === before) throw new TestFailed(`restartIce() kept the ice-ufrag ${ufrag}`);
  log(`ICE restart offer: ufrag ${before} -> ${ufrag}; ${summarize(local)}`);
  const reply = await session.patch(buildFragment(fragmentOf(local, true)), '*');
  if (!reply || !reply.ufrag || !reply.pwd) {
    throw new TestFailed('the server answered the ICE restart PATCH without its new ice-ufrag/ice-pwd');
  }
  const previous = (pc.currentRemoteDescription || pc.remoteDescription).sdp;
  if (reply.ufrag === iceCredentials(previous).ufrag) throw new TestFailed(`the server kept its ice-ufrag ${reply.ufrag}`);
  log(`server restarted: ufrag ${iceCredentials(previous).ufrag} -> ${reply.ufrag}, ${reply.sections.reduce((n, s) => n + s.candidates.length, 0)} candidate(s)`);
  await applyAnswer(pc, {type: 'answer', sdp: replaceIce(previous, reply)});
  const how = await awaitRestarted(ctx, pc, watch, ufrag, reply.ufrag);
  await echoOnce(ctx, channel, inbox, `restart:${P()}`, '"restart:" + P');
  return `P echoed, ICE restarted by PATCH (${how}), "restart:" + P echoed on the same channel`;
}

async function reconnect(ctx) {
  const first = await openChannel(ctx);
  await echoOnce(ctx, first.channel, first.inbox, P(), 'P');
  first.pc.close();
  log(`first peer connection closed${first.session.url ? `; deleting ${first.session.url}` : '; the server has no session to delete'}`);
  await first.session.remove();
  const second = await openChannel(ctx);
  await echoOnce(ctx, second.channel, second.inbox, `reconnect:${P()}`, '"reconnect:" + P');
  return `P echoed, peer connection closed${first.session.url ? ' and session deleted' : ''}, a new one echoed "reconnect:" + P`;
}

const TESTS = {
  peerconnection,
  datachannel,
  'datachannel-large': datachannelLarge,
  'datachannel-binary': datachannelBinary,
  'datachannel-unordered': datachannelUnordered,
  'datachannel-negotiated': datachannelNegotiated,
  'datachannel-many': datachannelMany,
  'datachannel-server-open': datachannelServerOpen,
  'datachannel-bulk': datachannelBulk,
  audio: (ctx) => media(ctx, 'audio'),
  video: (ctx) => media(ctx, 'video'),
  trickle,
  'ice-restart': iceRestart,
  renegotiation,
  'bundle-av-data': bundleAvData,
  reconnect,
};

async function runClient() {
  const test = TESTS[CONFIG.test];
  const ctx = new ClientContext();
  const statusTimer = setInterval(() => ctx.status(), 1000);
  let result;
  try {
    if (!test) throw new Unsupported(`the page does not know test case '${CONFIG.test}'`);
    result = {ok: true, detail: await test(ctx)};
  } catch (e) {
    result = {ok: false, unsupported: e instanceof Unsupported, detail: describe(e)};
  }
  clearInterval(statusTimer);
  ctx.close(); // before the wrapper kills the browser: lets the server see the close
  send({op: 'result', ...result, lines: ctx.reportLines()});
}
