'use strict';
// Client role: the generated media sources and the measurement of what comes back.

const MIN_PACKETS = 50;
const MIN_FRAMES = {audio: 25, video: 10};
const CODECS = {audio: 'audio/opus', video: 'video/VP8'};
const LAST_WINDOW_MS = 5000; // MEDIA_DURATION: echoes must still arrive in the last 5 s
const STATS_TIMEOUT_MS = 3000; // a stats call that never resolves fails the test by name

/** A 440 Hz tone from WebAudio: no device, nothing fetched. */
async function toneTrack() {
  const context = new AudioContext();
  const oscillator = context.createOscillator();
  oscillator.frequency.value = 440;
  const gain = context.createGain();
  gain.gain.value = 0.3;
  const destination = context.createMediaStreamDestination();
  oscillator.connect(gain).connect(destination);
  oscillator.start();
  await Promise.race([context.resume(), sleep(2000)]);
  log(`audio source: 440 Hz OscillatorNode -> MediaStreamAudioDestinationNode, AudioContext ${context.state} at ${context.sampleRate} Hz`);
  if (context.state !== 'running') throw new TestFailed(`AudioContext is ${context.state}, the tone would not flow`);
  return destination.stream.getAudioTracks()[0];
}

/** A moving test pattern on a canvas, captured at 15 fps. */
function patternTrack() {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  document.getElementById('media').append(canvas);
  const g = canvas.getContext('2d');
  let frame = 0;
  const draw = () => {
    frame += 1;
    g.fillStyle = `hsl(${(frame * 3) % 360}, 50%, 35%)`;
    g.fillRect(0, 0, 320, 240);
    for (let i = 0; i < 8; i += 1) {
      g.fillStyle = `hsl(${i * 45}, 90%, 55%)`;
      g.fillRect(i * 40, 190, 40, 50);
    }
    g.fillStyle = '#ffffff';
    g.fillRect((frame * 5) % 360 - 40, 70 + 50 * Math.sin(frame / 10), 40, 40);
    g.fillStyle = '#000000';
    g.fillRect(0, 0, (frame * 2) % 320, 8); // a progress bar: every frame differs
  };
  draw();
  setInterval(draw, 1000 / 30);
  const track = canvas.captureStream(15).getVideoTracks()[0];
  log('video source: 320x240 canvas animation, canvas.captureStream(15)');
  return track;
}

/** A sendrecv transceiver carrying a generated source of the kind. */
async function addSource(pc, kind) {
  const track = kind === 'audio' ? await toneTrack() : patternTrack();
  const transceiver = pc.addTransceiver(track, {direction: 'sendrecv', streams: [new MediaStream([track])]});
  await preferCodec(pc, transceiver, kind);
  return transceiver;
}

/**
 * Make sure the offer prefers the codec under test (Opus or VP8), touching the browser's
 * codec list only if needed: both browsers already put Opus and VP8 first. Removing
 * codecs with setCodecPreferences() is avoided on purpose: Firefox ESR 140 then still
 * emits a=rtcp-fb lines for the removed payload types, and Chromium 150 rejects such an
 * offer ("Failed to parse codecs correctly"): see ../README.md.
 */
async function preferCodec(pc, transceiver, kind) {
  const wanted = CODECS[kind].split('/')[1].toLowerCase();
  const index = pc.getTransceivers().indexOf(transceiver);
  const probe = await pc.createOffer(); // not applied: only to read the default order
  const mediaSections = sections(probe.sdp).media.filter((s) => !s[0].startsWith('m=application'));
  const first = codecOf(mediaSections[index]);
  if (first.name.toLowerCase().startsWith(`${wanted}/`)) return;
  if (typeof transceiver.setCodecPreferences !== 'function') {
    throw new TestFailed(`the default offer prefers ${first.name}, and this browser has no setCodecPreferences`);
  }
  const codecs = RTCRtpReceiver.getCapabilities(kind).codecs;
  const isWanted = (c) => c.mimeType.toLowerCase() === CODECS[kind].toLowerCase();
  if (!codecs.some(isWanted)) throw new TestFailed(`this browser cannot receive ${CODECS[kind]}`);
  transceiver.setCodecPreferences(codecs.filter(isWanted).concat(codecs.filter((c) => !isWanted(c))));
  log(`the default offer preferred ${first.name}: ${CODECS[kind]} moved first with setCodecPreferences`);
}

/** The first codec of one m-section (the one its sender prefers) and its direction. */
function codecOf(section) {
  if (!section) throw new TestFailed('no such m-line in the SDP');
  const mline = section[0].split(' ');
  if (mline[1] === '0') throw new TestFailed(`the server rejected the ${mline[0].slice(2)} m-line (port 0)`);
  const payloadType = Number(mline[3]);
  const rtpmap = section.find((l) => l.startsWith(`a=rtpmap:${payloadType} `));
  const direction = section.find((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l));
  return {
    payloadType,
    name: rtpmap ? rtpmap.split(' ')[1] : `unknown/${payloadType}`,
    direction: direction ? direction.slice(2) : 'sendrecv',
  };
}

/** What the server's answer negotiated for the transceiver; fails if it will not echo. */
function checkAnswer(pc, transceiver, kind) {
  const section = sections(pc.remoteDescription.sdp).media.find((s) => attribute(s, 'mid') === transceiver.mid);
  const negotiated = codecOf(section);
  log(`server answered ${kind} ${negotiated.name} (payload type ${negotiated.payloadType}), direction ${negotiated.direction}`);
  const wanted = CODECS[kind].split('/')[1];
  if (!negotiated.name.toLowerCase().startsWith(`${wanted.toLowerCase()}/`)) {
    throw new TestFailed(`server answered ${negotiated.name}, not ${wanted}`);
  }
  if (negotiated.direction !== 'sendrecv' && negotiated.direction !== 'sendonly') {
    throw new TestFailed(`server answered a=${negotiated.direction}: it will not send the ${kind} back`);
  }
  return negotiated;
}

/**
 * What came back on the echoed track, from getStats():
 * packets = inbound-rtp packetsReceived less fecPacketsReceived and
 * retransmittedPacketsReceived (FEC in RED, and RTX, which libwebrtc also uses for padding
 * probes, are no echoed media; the capture does not count them either), only if the
 * inbound codec has the negotiated payload type; frames = framesDecoded for video; for audio, 20 ms frames of decoded
 * audio that were not concealment: (totalSamplesReceived - concealedSamples) / (clockRate / 50).
 */
async function echoedStats(transceiver, kind, negotiated) {
  let timer;
  const report = await Promise.race([transceiver.receiver.getStats(), new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TestFailed(`RTCRtpReceiver.getStats() did not resolve within ${STATS_TIMEOUT_MS / 1000} s`)), STATS_TIMEOUT_MS);
  })]).finally(() => clearTimeout(timer));
  let inbound = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === kind) inbound = s;
  });
  if (!inbound) return {packets: 0, frames: 0, note: 'no inbound-rtp stats yet'};
  const codec = inbound.codecId ? report.get(inbound.codecId) : undefined;
  const payloadType = codec ? codec.payloadType : undefined;
  const extra = (inbound.fecPacketsReceived || 0) + (inbound.retransmittedPacketsReceived || 0);
  const packets = Math.max((inbound.packetsReceived || 0) - extra, 0);
  let frames = null;
  if (kind === 'video') {
    frames = inbound.framesDecoded ?? null;
  } else if (inbound.totalSamplesReceived !== undefined) {
    const samplesPerFrame = ((codec && codec.clockRate) || 48000) / 50;
    frames = Math.floor((inbound.totalSamplesReceived - (inbound.concealedSamples || 0)) / samplesPerFrame);
  }
  if (payloadType !== undefined && payloadType !== negotiated.payloadType) {
    return {packets: 0, frames, note: `${packets} packets came with payload type ${payloadType} (${codec.mimeType}), not ${negotiated.payloadType}`};
  }
  return {packets, frames, note: payloadType === undefined ? 'no codec stats: payload type not checked' : ''};
}

/** True once the last LAST_WINDOW_MS of history saw the packet count grow. */
function stillArriving(history, now) {
  const before = history.filter((h) => h.at <= now - LAST_WINDOW_MS).pop();
  return before !== undefined && history[history.length - 1].packets > before.packets;
}

/**
 * Polls the echoed stream until it passes: MIN_PACKETS packets and MIN_FRAMES frames,
 * and with MEDIA_DURATION, only after sending that long with echoes in the last 5 s.
 * label is '' or ' kind=audio' (bundle-av-data prints one line pair per kind).
 */
async function awaitEcho(ctx, transceiver, kind, negotiated, label = '') {
  ctx.report(`NEGOTIATED${label}`, `NEGOTIATED:${label} codec=${negotiated.name} payload_type=${negotiated.payloadType}`);
  const started = Date.now();
  const durationMs = CONFIG.media_duration * 1000;
  const history = [];
  let lastLog = 0;
  for (;;) {
    await ctx.guard(sleep(250));
    const got = await echoedStats(transceiver, kind, negotiated);
    const now = Date.now();
    history.push({at: now, packets: got.packets});
    const frames = got.frames === null ? '-' : got.frames;
    ctx.report(`RECEIVED${label}`, `RECEIVED:${label} packets=${got.packets} frames=${frames}`);
    if (now - lastLog > 1000) {
      lastLog = now;
      const text = `echoed ${kind}: packets=${got.packets} frames=${frames} after ${((now - started) / 1000).toFixed(1)} s${got.note ? ` (${got.note})` : ''}`;
      log(text);
      ctx.status(text);
    }
    const enough = got.packets >= MIN_PACKETS && got.frames !== null && got.frames >= MIN_FRAMES[kind];
    const longEnough = now - started >= durationMs && (durationMs === 0 || stillArriving(history, now));
    if (enough && longEnough) {
      return `${got.packets} echoed ${negotiated.name} RTP packets (payload type ${negotiated.payloadType}), ${got.frames} decoded frames${got.note ? `; ${got.note}` : ''}`;
    }
  }
}
