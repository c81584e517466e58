'use strict';
// Client role: the media test cases, and the session tests that carry media.

function playEchoes(pc) {
  pc.addEventListener('track', (e) => {
    log(`echoed ${e.track.kind} track arrived`);
    play(e.track);
  });
}

async function media(ctx, kind) {
  const {pc, watch, session} = ctx.newPeer();
  const transceiver = await addSource(pc, kind);
  playEchoes(pc);
  await negotiate(pc, session);
  const negotiated = checkAnswer(pc, transceiver, kind);
  ctx.report('NEGOTIATED', `NEGOTIATED: codec=${negotiated.name} payload_type=${negotiated.payloadType}`);
  await ctx.guard(watch.connected());
  return awaitEcho(ctx, transceiver, kind, negotiated);
}

async function bundleAvData(ctx) {
  const {pc, watch, session} = ctx.newPeer();
  const audio = await addSource(pc, 'audio');
  const video = await addSource(pc, 'video');
  const channel = pc.createDataChannel('interop');
  const inbox = new Inbox(channel);
  playEchoes(pc);
  await negotiate(pc, session);
  const bundle = sections(pc.remoteDescription.sdp).session.find((l) => l.startsWith('a=group:BUNDLE '));
  const mids = bundle ? bundle.split(' ').slice(1) : [];
  const data = sections(pc.remoteDescription.sdp).media.find((s) => s[0].startsWith('m=application'));
  if (![audio.mid, video.mid, data && attribute(data, 'mid')].every((mid) => mid && mids.includes(mid))) {
    throw new TestFailed(`the answer does not BUNDLE audio, video and data: ${bundle || 'no a=group:BUNDLE'}`);
  }
  const negotiated = {audio: checkAnswer(pc, audio, 'audio'), video: checkAnswer(pc, video, 'video')};
  await ctx.guard(watch.connected());
  await ctx.guard(opened(channel));
  const results = await Promise.all([
    echoOnce(ctx, channel, inbox, P(), 'P'),
    awaitEcho(ctx, audio, 'audio', negotiated.audio, ' kind=audio'),
    awaitEcho(ctx, video, 'video', negotiated.video, ' kind=video'),
  ]);
  return `over one BUNDLE transport (${bundle}): P echoed; audio: ${results[1]}; video: ${results[2]}`;
}

async function renegotiation(ctx) {
  const {pc, channel, inbox, session} = await openChannel(ctx);
  session.require('renegotiation');
  await echoOnce(ctx, channel, inbox, P(), 'P');
  const transceiver = await addSource(pc, 'audio');
  playEchoes(pc);
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  log(`renegotiation offer: ${summarize(pc.localDescription.sdp)}`);
  await applyAnswer(pc, await session.renegotiate(pc.localDescription.sdp));
  const negotiated = checkAnswer(pc, transceiver, 'audio');
  const audio = await awaitEcho(ctx, transceiver, 'audio', negotiated);
  await echoOnce(ctx, channel, inbox, `renegotiated:${P()}`, '"renegotiated:" + P');
  return `P echoed, audio added by renegotiation (${audio}), then "renegotiated:" + P echoed`;
}
