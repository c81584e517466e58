'use strict';
/**
 * The client's media test cases (contract section 8): audio, video and bundle-av-data,
 * for any stack adapter. The adapter's ClientMedia generates and sends the media and
 * counts what comes back; this module checks the answer, applies MEDIA_DURATION and
 * reports NEGOTIATED:/RECEIVED:.
 */

const { CONTRACT_CODECS, TestFailed } = require('./contract');
const { connect, echoOnce, openChannel } = require('./client-kit');
const {
  findSection, negotiatedCodec, parseSdp, sameCodec,
} = require('./sdp');

const MIN_PACKETS = 50;
const MIN_FRAMES = { audio: 25, video: 10 };
const RECENT_MS = 5000;
const POLL_MS = 250;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads what the answer negotiated for `media` (its first payload type and rtpmap),
 * reports NEGOTIATED:, tells the media which payload type to count, and fails unless
 * it is the contract codec answered sendrecv.
 */
function readNegotiated(ctx, media, answer, tagged) {
  const { kind } = media;
  const section = findSection(answer, { mid: media.mid(), kind });
  if (!section || section.port === 0) throw new TestFailed(`the answer rejected the ${kind} section (mid ${media.mid()})`);
  const codec = negotiatedCodec(section);
  if (!codec) throw new TestFailed(`the answer's ${kind} section has no payload type`);
  const tag = tagged ? `kind=${kind} ` : '';
  ctx.report(`NEGOTIATED ${kind}`, `NEGOTIATED: ${tag}codec=${codec.name} payload_type=${codec.payloadType}`);
  media.expect(codec.payloadType);
  if (!sameCodec(codec.name, CONTRACT_CODECS[kind])) {
    throw new TestFailed(`the answer's ${kind} codec is ${codec.name}, not ${CONTRACT_CODECS[kind]}`);
  }
  if (section.direction !== 'sendrecv') {
    throw new TestFailed(`the answer leaves the ${kind} section ${section.direction}, not sendrecv: no echo can come back`);
  }
}

function receivedLine(stats, kind, tagged) {
  const frames = stats.frames === null ? '-' : stats.frames;
  const other = stats.other ? ` other_payload_types=${stats.other}` : '';
  return `RECEIVED: ${tagged ? `kind=${kind} ` : ''}packets=${stats.packets} frames=${frames}${other}`;
}

/** Echoed packets arrived in the last RECENT_MS of the MEDIA_DURATION window. */
function arrivedRecently(history, durationMs) {
  if (durationMs === 0) return true;
  const cut = Math.max(0, durationMs - RECENT_MS);
  const before = history.filter(([t]) => t <= cut).pop() || [0, 0];
  return history[history.length - 1][1] > before[1];
}

/**
 * Polls every media's echo until each has MIN_PACKETS packets (and MIN_FRAMES decoded
 * frames where the stack decodes), media has flowed for MEDIA_DURATION, and echoes
 * arrived during its last 5 s. RECEIVED: lines stay current for a timeout's report.
 */
async function awaitEcho(ctx, medias, guard, tagged = false) {
  const started = Date.now();
  const durationMs = ctx.mediaDurationS * 1000;
  const history = medias.map(() => []);
  for (;;) {
    const elapsed = Date.now() - started;
    const stats = await guard(Promise.all(medias.map((m) => m.received())));
    let done = elapsed >= durationMs;
    stats.forEach((s, i) => {
      const { kind } = medias[i];
      history[i].push([elapsed, s.packets]);
      ctx.report(`RECEIVED ${kind}`, receivedLine(s, kind, tagged));
      const frames = s.frames === null || s.frames >= MIN_FRAMES[kind];
      done = done && s.packets >= MIN_PACKETS && frames && arrivedRecently(history[i], durationMs);
    });
    ctx.progress = () => medias.map((m, i) => `${m.kind}: ${stats[i].packets} echoed packets, ${m.sent} sent`).join('; ');
    if (done) return stats;
    await guard(sleep(POLL_MS));
  }
}

function describeEcho(medias, stats) {
  return medias.map((m, i) => {
    const frames = stats[i].frames === null ? '' : `, ${stats[i].frames} frames decoded`;
    return `${m.kind}: ${stats[i].packets} echoed RTP packets${frames} (${m.sent} sent)`;
  }).join('; ');
}

/** Sends until the echo is enough, then stops the sources whatever happened. */
async function sendAndAwait(ctx, medias, guard, tagged) {
  medias.forEach((m) => m.start());
  try {
    const stats = await awaitEcho(ctx, medias, guard, tagged);
    return describeEcho(medias, stats);
  } finally {
    medias.forEach((m) => m.stop());
  }
}

async function mediaTest(ctx, kind) {
  const peer = ctx.newPeer();
  const media = peer.addMedia(kind);
  const { guard } = await connect(ctx, peer, { afterAnswer: (answer) => readNegotiated(ctx, media, answer, false) });
  const detail = await sendAndAwait(ctx, [media], guard, false);
  return `${detail}${ctx.mediaDurationS ? `, over ${ctx.mediaDurationS} s` : ''}`;
}

/** The answer's BUNDLE group must hold every mid of the offer. */
function checkBundled(answer) {
  const group = /^a=group:BUNDLE (.+)$/m.exec(answer);
  const grouped = group ? group[1].trim().split(/\s+/) : [];
  const all = parseSdp(answer).sections.filter((s) => s.port !== 0).map((s) => s.mid);
  const missing = all.filter((mid) => !grouped.includes(mid));
  if (missing.length) throw new TestFailed(`the answer does not BUNDLE mid(s) ${missing.join(', ')} with the others`);
}

async function bundleAvData(ctx) {
  const peer = ctx.newPeer({ bundle: true });
  const medias = [peer.addMedia('audio'), peer.addMedia('video')];
  const { channel, queue } = openChannel(peer, 'interop');
  const afterAnswer = (answer) => {
    medias.forEach((m) => readNegotiated(ctx, m, answer, true));
    checkBundled(answer);
  };
  const { guard } = await connect(ctx, peer, { afterAnswer });
  await guard(channel.whenOpen());
  const echoed = guard(echoOnce(channel, queue, ctx.text, 'P'));
  const detail = await sendAndAwait(ctx, medias, guard, true);
  await echoed;
  return `one BUNDLE: P echoed on 'interop'; ${detail}`;
}

module.exports = {
  readNegotiated,
  sendAndAwait,
  tests: {
    audio: (ctx) => mediaTest(ctx, 'audio'),
    video: (ctx) => mediaTest(ctx, 'video'),
    'bundle-av-data': bundleAvData,
  },
};
