'use strict';
// The browser peer's WebRTC logic (docs/contract.md), in a real page with the standard
// RTCPeerConnection API. peer.py serves this page on 127.0.0.1 and talks to it over a
// WebSocket, because the page can neither POST to a peer server (no CORS headers there)
// nor listen on a port:
//
//   page -> wrapper   ready | fatal | log | status | offer (client) | result (client)
//                     answer | reject (server, per offer id)
//   wrapper -> page   start {test} (client) | answer {sdp} (client) | offer {id, sdp} (server)
//
// role=client: runs one test case and reports the verdict; the wrapper turns it into
// the exit code and enforces the time budget.
// role=server: answers every offer with a new RTCPeerConnection that echoes data channel
// messages and sends every received track back on its own transceiver.

const ROLE = new URLSearchParams(location.search).get('role');
const NO_ICE_SERVERS = {iceServers: []};
const GATHERING_TIMEOUT_MS = 10000;
const MIN_PACKETS = 50;
const MIN_FRAMES = {audio: 25, video: 10};
const CODECS = {audio: 'audio/opus', video: 'video/VP8'};
const MAX_PEERS = 16;
const MAX_PEER_LIFETIME_MS = 300000;

const socket = new WebSocket(`ws://${location.host}/ws`);

function send(message) {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function log(text) {
  console.log(text);
  send({op: 'log', text});
}

class TestFailed extends Error {}

function describe(error) {
  if (error instanceof TestFailed) return error.message;
  return error && error.name ? `${error.name}: ${error.message}` : String(error);
}

window.addEventListener('error', (e) => log(`page error: ${e.message} (${e.filename}:${e.lineno})`));
window.addEventListener('unhandledrejection', (e) => log(`unhandled rejection: ${describe(e.reason)}`));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Shared helpers

/** Non-trickle ICE: resolves once every candidate is in pc.localDescription. */
function gatheringComplete(pc, timeoutMs = GATHERING_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(() => reject(new TestFailed(
      `ICE gathering not complete after ${timeoutMs / 1000} s (state ${pc.iceGatheringState})`)),
    timeoutMs);
    const done = () => { clearTimeout(timer); resolve(); };
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') done();
    });
    pc.addEventListener('icecandidate', (e) => { if (!e.candidate) done(); });
  });
}

/** "2 m-lines, candidates: udp 172.18.0.3:40123 host, ..." for the logs. */
function summarize(sdp) {
  const mlines = sdp.split(/\r?\n/).filter((l) => l.startsWith('m=')).map((l) => l.split(' ')[0].slice(2));
  const candidates = sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => {
    const f = l.split(' ');
    return `${f[2].toLowerCase()} ${f[4]}:${f[5]} ${f[7]}`;
  });
  return `m=${mlines.join(',') || 'none'}; ${candidates.length} candidates: ${candidates.join(', ') || 'none'}`;
}

function hostCandidatesHidden(sdp) {
  return /^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /m.test(sdp);
}

/** connected: resolves on 'connected'. broken: rejects on 'failed' or 'closed'. */
function watchConnection(pc, name = '') {
  let onConnected;
  let onBroken;
  const connected = new Promise((resolve) => { onConnected = resolve; });
  const broken = new Promise((_, reject) => { onBroken = reject; });
  broken.catch(() => {}); // only awaited through Promise.race
  pc.addEventListener('iceconnectionstatechange', () => log(`${name}ICE connection state ${pc.iceConnectionState}`));
  pc.addEventListener('connectionstatechange', () => {
    const state = pc.connectionState;
    log(`${name}connection state ${state}`);
    if (state === 'connected') onConnected();
    else if (state === 'failed' || state === 'closed') {
      onBroken(new TestFailed(`connection ${state} (ICE ${pc.iceConnectionState})`));
    }
  });
  return {connected: Promise.race([connected, broken]), broken};
}

/** Plays a received track: Chromium only pulls (decodes) remote audio that is played out. */
function play(track) {
  const element = document.createElement(track.kind);
  element.autoplay = true;
  element.playsInline = true;
  element.srcObject = new MediaStream([track]);
  document.getElementById('media').append(element);
  element.play().catch((e) => log(`cannot play the ${track.kind} track: ${describe(e)}`));
  return element;
}

// ---------------------------------------------------------------------------
// Client role

let answerWaiter = null;
let reportLines = [];

/** Offer (after ICE gathering), let the wrapper POST it, apply the answer. */
async function negotiate(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  const offer = pc.localDescription;
  log(`offer ready: ${summarize(offer.sdp)}`);
  if (hostCandidatesHidden(offer.sdp)) log('WARNING: host candidates are mDNS .local names');
  const answer = await new Promise((resolve) => {
    answerWaiter = resolve;
    send({op: 'offer', type: offer.type, sdp: offer.sdp});
  });
  log(`answer: ${summarize(answer.sdp)}`);
  try {
    await pc.setRemoteDescription(answer);
  } catch (e) {
    throw new TestFailed(`cannot apply the server's answer: ${describe(e)}`);
  }
}

async function peerconnection(pc) {
  // A data channel gives the offer an m=application line, so there is a transport to
  // connect; nothing is sent on it.
  pc.createDataChannel('interop');
  const watch = watchConnection(pc);
  await negotiate(pc);
  await watch.connected;
  return 'peer connection reached connected (ICE and DTLS done)';
}

async function datachannel(pc) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const channel = pc.createDataChannel('interop'); // reliable and ordered by default
  const echoed = new Promise((resolve, reject) => {
    channel.addEventListener('open', () => {
      log(`data channel open, sending ${token}`);
      channel.send(token);
    });
    channel.addEventListener('message', (e) => {
      log(`received ${JSON.stringify(typeof e.data === 'string' ? e.data : String(e.data))}`);
      resolve(e.data);
    });
    channel.addEventListener('close', () => reject(new TestFailed('data channel closed before the echo came back')));
  });
  const watch = watchConnection(pc);
  await negotiate(pc);
  await watch.connected;
  const message = await Promise.race([echoed, watch.broken]);
  if (message !== token) {
    throw new TestFailed(`echo mismatch: sent '${token}', got ${JSON.stringify(String(message))}`);
  }
  return `data channel echoed '${token}' unchanged`;
}

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

/**
 * Make sure the offer prefers the codec under test (Opus or VP8), touching the browser's
 * codec list only if needed: both browsers already put Opus and VP8 first. Removing
 * codecs with setCodecPreferences() is avoided on purpose: Firefox ESR 140 then still
 * emits a=rtcp-fb lines for the removed payload types, and Chromium 150 rejects such an
 * offer ("Failed to parse codecs correctly"): a failure of that API path, which would hide
 * whether the VP8/Opus echo itself works (see ../README.md).
 */
async function preferCodec(pc, transceiver, kind) {
  const wanted = CODECS[kind].split('/')[1].toLowerCase();
  const index = pc.getTransceivers().indexOf(transceiver);
  const probe = await pc.createOffer(); // not applied: only to read the default order
  const first = codecAt(probe.sdp, (sections) => sections[index]);
  if (first.name.toLowerCase().startsWith(`${wanted}/`)) {
    log(`the default offer already prefers ${first.name} (payload type ${first.payloadType}); codec list left as the browser makes it`);
    return;
  }
  if (typeof transceiver.setCodecPreferences !== 'function') {
    throw new TestFailed(`the default offer prefers ${first.name}, and this browser has no setCodecPreferences`);
  }
  const codecs = RTCRtpReceiver.getCapabilities(kind).codecs;
  const isWanted = (c) => c.mimeType.toLowerCase() === CODECS[kind].toLowerCase();
  if (!codecs.some(isWanted)) throw new TestFailed(`this browser cannot receive ${CODECS[kind]}`);
  transceiver.setCodecPreferences(codecs.filter(isWanted).concat(codecs.filter((c) => !isWanted(c))));
  log(`the default offer preferred ${first.name}: ${CODECS[kind]} moved first with setCodecPreferences`);
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first codec of one m-section: the one its sender prefers. */
function codecAt(sdp, pick) {
  const section = pick(sdp.split(/\r?\n(?=m=)/).filter((s) => s.startsWith('m=')));
  if (!section) throw new TestFailed('no such m-line in the SDP');
  const mline = section.split(/\r?\n/)[0].split(' ');
  if (mline[1] === '0') throw new TestFailed(`the server rejected the ${mline[0].slice(2)} m-line (port 0)`);
  const payloadType = Number(mline[3]);
  const rtpmap = new RegExp(`^a=rtpmap:${payloadType} (\\S+)`, 'm').exec(section);
  const direction = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(section);
  return {payloadType, name: rtpmap ? rtpmap[1] : `unknown/${payloadType}`, direction: direction ? direction[1] : 'sendrecv'};
}

/** The codec the server will send: the first payload type of its answer's m-line. */
function negotiatedCodec(sdp, mid) {
  const midLine = new RegExp(`^a=mid:${escapeRegExp(String(mid))}\\s*$`, 'm');
  return codecAt(sdp, (sections) => sections.find((s) => midLine.test(s)));
}

/**
 * What came back on the echoed track, from getStats():
 * packets = inbound-rtp packetsReceived (only if the inbound codec has the negotiated
 * payload type); frames = framesDecoded for video; for audio, 20 ms frames of decoded
 * audio that were not concealment: (totalSamplesReceived - concealedSamples) / (clockRate / 50).
 */
async function echoedStats(transceiver, kind, negotiated) {
  const report = await transceiver.receiver.getStats();
  let inbound = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === kind) inbound = s;
  });
  if (!inbound) return {packets: 0, frames: 0, note: 'no inbound-rtp stats yet'};
  const codec = inbound.codecId ? report.get(inbound.codecId) : undefined;
  const payloadType = codec ? codec.payloadType : undefined;
  const packets = inbound.packetsReceived || 0;
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

async function media(pc, kind) {
  const watch = watchConnection(pc);
  const track = kind === 'audio' ? await toneTrack() : patternTrack();
  const transceiver = pc.addTransceiver(track, {direction: 'sendrecv', streams: [new MediaStream([track])]});
  await preferCodec(pc, transceiver, kind);
  pc.addEventListener('track', (e) => {
    log(`echoed ${e.track.kind} track arrived`);
    play(e.track);
  });
  await negotiate(pc);
  const negotiated = negotiatedCodec(pc.remoteDescription.sdp, transceiver.mid);
  reportLines = [`NEGOTIATED: codec=${negotiated.name} payload_type=${negotiated.payloadType}`];
  log(`server answered ${negotiated.name} (payload type ${negotiated.payloadType}), direction ${negotiated.direction}`);
  if (!negotiated.name.toLowerCase().startsWith(`${CODECS[kind].split('/')[1].toLowerCase()}/`)) {
    throw new TestFailed(`server answered ${negotiated.name}, not ${CODECS[kind].split('/')[1]}`);
  }
  if (negotiated.direction !== 'sendrecv' && negotiated.direction !== 'sendonly') {
    throw new TestFailed(`server answered a=${negotiated.direction}: it will not send the ${kind} back`);
  }
  await watch.connected;
  const minFrames = MIN_FRAMES[kind];
  let lastStatus = 0;
  for (;;) {
    await Promise.race([sleep(250), watch.broken]);
    const got = await echoedStats(transceiver, kind, negotiated);
    const frames = got.frames === null ? '-' : got.frames;
    reportLines = [reportLines[0], `RECEIVED: packets=${got.packets} frames=${frames}`];
    if (Date.now() - lastStatus > 1000) {
      lastStatus = Date.now();
      const text = `connection ${pc.connectionState}, echoed ${kind}: packets=${got.packets} frames=${frames}${got.note ? ` (${got.note})` : ''}`;
      log(text);
      send({op: 'status', text, lines: reportLines});
    }
    if (got.packets >= MIN_PACKETS && got.frames !== null && got.frames >= minFrames) {
      return `${got.packets} echoed ${negotiated.name} RTP packets (payload type ${negotiated.payloadType}), ${got.frames} decoded frames${got.note ? `; ${got.note}` : ''}`;
    }
  }
}

const TESTS = {
  peerconnection,
  datachannel,
  audio: (pc) => media(pc, 'audio'),
  video: (pc) => media(pc, 'video'),
};

async function runClient(test) {
  if (!TESTS[test]) {
    send({op: 'result', ok: false, detail: `the page does not know test case '${test}'`, lines: []});
    return;
  }
  const pc = new RTCPeerConnection(NO_ICE_SERVERS);
  const statusTimer = setInterval(() => {
    send({op: 'status', text: `connection ${pc.connectionState}, ICE ${pc.iceConnectionState}, signaling ${pc.signalingState}`, lines: reportLines});
  }, 1000);
  let result;
  try {
    result = {ok: true, detail: await TESTS[test](pc)};
  } catch (e) {
    result = {ok: false, detail: describe(e)};
  }
  clearInterval(statusTimer);
  pc.close(); // before the wrapper kills the browser: lets the server see the close
  send({op: 'result', ...result, lines: reportLines});
}

// ---------------------------------------------------------------------------
// Server role

const peers = new Map(); // offer id -> {pc, name, elements, timer}, oldest first

function closePeer(id, why) {
  const peer = peers.get(id);
  if (!peer) return;
  peers.delete(id);
  clearTimeout(peer.timer);
  peer.elements.forEach((element) => { element.srcObject = null; element.remove(); });
  peer.pc.close();
  log(`${peer.name}: closed (${why}); ${peers.size} peer(s) left`);
}

async function answerOffer({id, sdp}) {
  const name = `peer${id}`;
  const pc = new RTCPeerConnection(NO_ICE_SERVERS);
  const peer = {pc, name, elements: [], timer: setTimeout(() => closePeer(id, 'lifetime over'), MAX_PEER_LIFETIME_MS)};
  peers.set(id, peer);
  for (const oldest of peers.keys()) {
    if (peers.size <= MAX_PEERS) break;
    closePeer(oldest, `more than ${MAX_PEERS} peers`);
  }
  pc.addEventListener('connectionstatechange', () => {
    log(`${name}: connection state ${pc.connectionState}`);
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') closePeer(id, pc.connectionState);
  });
  pc.addEventListener('datachannel', ({channel}) => {
    log(`${name}: data channel '${channel.label}' opened by the client`);
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('message', ({data}) => {
      const size = typeof data === 'string' ? data.length : data.byteLength;
      log(`${name}: echoing ${size}-byte message on '${channel.label}'`);
      channel.send(data);
    });
  });
  pc.addEventListener('track', ({track}) => {
    log(`${name}: ${track.kind} track received, echoing it back`);
    peer.elements.push(play(track));
  });
  try {
    await pc.setRemoteDescription({type: 'offer', sdp});
    // Send every received track back on its own transceiver: sendrecv (the answer
    // becomes sendonly/recvonly/inactive as the offer allows), own SSRC, and the
    // payload type negotiated for that m-line.
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.currentDirection === 'stopped') continue; // a rejected m-line
      transceiver.direction = 'sendrecv';
      await transceiver.sender.replaceTrack(transceiver.receiver.track);
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringComplete(pc);
    send({op: 'answer', id, sdp: pc.localDescription.sdp});
    log(`${name}: answered: ${summarize(pc.localDescription.sdp)}`);
  } catch (e) {
    log(`${name}: rejected offer: ${describe(e)}`);
    send({op: 'reject', id, reason: describe(e)});
    closePeer(id, 'offer rejected');
  }
}

// ---------------------------------------------------------------------------
// Start-up: prove WebRTC works (and gather once, which also warms it up) before
// telling the wrapper the page is ready.

async function selfTest() {
  const pc = new RTCPeerConnection(NO_ICE_SERVERS);
  try {
    pc.createDataChannel('self-test');
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const sdp = pc.localDescription.sdp;
    if (hostCandidatesHidden(sdp)) log('WARNING: host candidates are mDNS .local names; other peers cannot resolve them');
    return summarize(sdp);
  } finally {
    pc.close();
  }
}

socket.addEventListener('open', async () => {
  try {
    const gathered = await selfTest();
    send({op: 'ready', userAgent: navigator.userAgent, visibility: document.visibilityState, gathered});
  } catch (e) {
    send({op: 'fatal', reason: `WebRTC does not work in this page: ${describe(e)}`});
  }
});

socket.addEventListener('message', (event) => {
  const message = JSON.parse(event.data);
  if (message.op === 'start' && ROLE === 'client') runClient(message.test);
  else if (message.op === 'answer' && ROLE === 'client' && answerWaiter) answerWaiter({type: 'answer', sdp: message.sdp});
  else if (message.op === 'offer' && ROLE === 'server') answerOffer(message);
  else log(`unexpected message from the wrapper: ${message.op}`);
});
