'use strict';
/**
 * Google's libwebrtc outside a browser, through the npm package @roamhq/wrtc (a
 * maintained fork of node-webrtc; its native addon ships in a per-platform package),
 * behind the shared peer interface (node-peer/peer.js). The API is the W3C one.
 *
 * Media: libwebrtc encodes and decodes itself. The client feeds a 440 Hz tone into the
 * nonstandard RTCAudioSource (10 ms of 48 kHz PCM at a time) and a moving I420 test
 * pattern into RTCVideoSource (20 fps); it counts the echo from getStats() (inbound-rtp
 * of its transceiver's mid with the negotiated payload type) and decoded frames
 * (video framesDecoded; audio non-concealed samples in 20 ms frames), with
 * RTCAudioSink/RTCVideoSink attached so the decoders run. The server sends each
 * received track back on its own transceiver (replaceTrack): decoded and re-encoded.
 */

const path = require('path');
const wrtc = require('@roamhq/wrtc');

const { Channel } = require('./node-peer/channel');
const { ClientMedia, Peer } = require('./node-peer/peer');
const { normaliseCandidate } = require('./node-peer/sdp');
const { installedVersion } = require('./node-peer/versions');

const { RTCPeerConnection, nonstandard } = wrtc;
const VERSION = installedVersion(path.join(__dirname), '@roamhq/wrtc');

class WrtcChannel extends Channel {
  constructor(dc) {
    super(dc.label, dc.id);
    this.dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.onopen = () => this.emit('open');
    dc.onclose = () => this.emit('close');
    dc.onerror = (event) => this.emit('error', event && event.error ? event.error.message : 'error');
    dc.onbufferedamountlow = () => this.emit('bufferedamountlow');
    dc.onmessage = (event) => {
      const { data } = event;
      this.emit('message', typeof data === 'string' ? data : Buffer.from(data));
    };
    if (dc.readyState === 'open') setImmediate(() => this.emit('open'));
  }

  /** Binary data goes out as its own ArrayBuffer (a Buffer may be a view into a pool). */
  send(data) {
    if (typeof data === 'string') this.dc.send(data);
    else this.dc.send(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  }

  bufferedAmount() { return this.dc.bufferedAmount; }

  setBufferedAmountLowThreshold(bytes) { this.dc.bufferedAmountLowThreshold = bytes; }

  close() { this.dc.close(); }
}

/**
 * Calls unit(index) on a wall-clock schedule, every `intervalMs`, catching up when the
 * event loop was late (a busy machine must not slow the media down). Returns the timer.
 */
function paced(intervalMs, unit) {
  const started = Date.now();
  let index = 0;
  const tick = () => {
    const due = Math.floor((Date.now() - started) / intervalMs) + 1;
    while (index < due) unit(index++);
  };
  tick();
  return setInterval(tick, Math.max(5, Math.floor(intervalMs / 2)));
}

/** A 440 Hz tone at 48 kHz, mono 16-bit, handed over 10 ms at a time. */
function startTone(source, onChunk) {
  const samples = new Int16Array(480);
  return paced(10, (chunk) => {
    for (let i = 0; i < samples.length; i += 1) {
      samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (chunk * 480 + i)) / 48000));
    }
    source.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
    onChunk();
  });
}

/** A 320x240 I420 pattern at 20 fps: a bar moving over a shifting background. */
function startPattern(source, onFrame) {
  const width = 320;
  const height = 240;
  const frame = new Uint8Array((width * height * 3) / 2);
  return paced(50, (index) => {
    const luma = frame.subarray(0, width * height);
    luma.fill((index * 3) % 200);
    const bar = (index * 8) % width;
    for (let y = 0; y < height; y += 1) luma.fill(235, y * width + bar, y * width + Math.min(width, bar + 24));
    frame.fill(64 + (index % 128), width * height);
    source.onFrame({ width, height, data: frame });
    onFrame();
  });
}

/** The client's media: libwebrtc encodes the generated source and counts the echo. */
class WrtcMedia extends ClientMedia {
  constructor(peer, kind) {
    super(kind);
    this.peer = peer;
    this.source = kind === 'audio' ? new nonstandard.RTCAudioSource() : new nonstandard.RTCVideoSource();
    this.transceiver = peer.pc.addTransceiver(this.source.createTrack(), { direction: 'sendrecv' });
    preferContractCodec(this.transceiver, kind);
    const { track } = this.transceiver.receiver;
    // Sinks make the decoders deliver; frames are counted from getStats().
    this.sink = kind === 'audio' ? new nonstandard.RTCAudioSink(track) : new nonstandard.RTCVideoSink(track);
    this.payloadType = null;
    this.timer = null;
    this.sentCount = 0;
  }

  mid() { return this.transceiver.mid; }

  start() {
    if (this.timer) return;
    const count = () => { this.sentCount += 1; };
    this.timer = this.kind === 'audio' ? startTone(this.source, count) : startPattern(this.source, count);
    this.peer.log.info(`sending a generated ${this.kind === 'audio' ? '440 Hz tone' : '320x240 pattern at 20 fps'} through libwebrtc's encoder`);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Frames handed to the encoder: 20 ms of audio (two 10 ms chunks), or video frames. */
  get sent() { return this.kind === 'audio' ? Math.floor(this.sentCount / 2) : this.sentCount; }

  expect(payloadType) { this.payloadType = payloadType; }

  async received() {
    const report = await this.peer.pc.getStats();
    const stats = [...report.values()];
    const inbound = stats.find((s) => s.type === 'inbound-rtp' && s.mid === this.mid());
    if (!inbound) return { packets: 0, frames: 0, other: '' };
    const codec = stats.find((s) => s.id === inbound.codecId);
    if (!codec || codec.payloadType !== this.payloadType) {
      return { packets: 0, frames: 0, other: `${codec ? codec.payloadType : '?'}x${inbound.packetsReceived}` };
    }
    const frames = this.kind === 'video' ? inbound.framesDecoded || 0
      : Math.floor(((inbound.totalSamplesReceived || 0) - (inbound.concealedSamples || 0)) / (codec.clockRate / 50));
    return { packets: inbound.packetsReceived || 0, frames, other: '' };
  }
}

/**
 * Puts the contract codec (Opus, VP8) first in the offer where libwebrtc did not
 * already; every other codec stays offered.
 */
function preferContractCodec(transceiver, kind) {
  const capabilities = wrtc.RTCRtpSender.getCapabilities && wrtc.RTCRtpSender.getCapabilities(kind);
  if (!capabilities || typeof transceiver.setCodecPreferences !== 'function') return;
  const wanted = kind === 'audio' ? 'audio/opus' : 'video/vp8';
  const codecs = capabilities.codecs;
  if (codecs.length === 0 || codecs[0].mimeType.toLowerCase() === wanted) return;
  const first = codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  transceiver.setCodecPreferences([...first, ...codecs.filter((c) => !first.includes(c))]);
}

/** Server: each received audio/video track goes back on its own transceiver. */
async function echoTransceivers(peer) {
  for (const transceiver of peer.pc.getTransceivers()) {
    const { track } = transceiver.receiver;
    if (!track || peer.echoing.has(transceiver) || !['audio', 'video'].includes(track.kind)) continue;
    if (transceiver.currentDirection === 'stopped' || transceiver.stopped) continue;
    peer.echoing.add(transceiver);
    transceiver.direction = 'sendrecv';
    await transceiver.sender.replaceTrack(track);
    peer.log.info(`${peer.name}: ${track.kind} track (mid ${transceiver.mid}) goes back on its own sender (decoded and re-encoded)`);
  }
}

/** One libwebrtc RTCPeerConnection behind the shared Peer interface. */
class WrtcPeer extends Peer {
  constructor(options) {
    super(options);
    if (options.caPem) {
      options.log.warn(`${options.name}: ICE_CA_PEM ignored: @roamhq/wrtc has no way to add a CA for TURN over TLS`);
    }
    this.pc = new RTCPeerConnection({
      iceServers: options.iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
      iceTransportPolicy: options.iceTransportPolicy,
      bundlePolicy: options.bundle ? 'max-bundle' : 'balanced',
    });
    this.echoing = new Set();
    this.pc.onconnectionstatechange = () => this.setConnectionState(this.pc.connectionState);
    this.pc.ondatachannel = (event) => this.emit('datachannel', new WrtcChannel(event.channel));
    this.pc.onicecandidate = (event) => {
      const candidate = event.candidate && event.candidate.candidate;
      this.emit('localcandidate', candidate ? normaliseCandidate(candidate) : null);
    };
  }

  createDataChannel(label, init = {}) {
    const options = {};
    for (const key of ['ordered', 'maxRetransmits', 'negotiated', 'id']) if (init[key] !== undefined) options[key] = init[key];
    return new WrtcChannel(this.pc.createDataChannel(label, options));
  }

  addMedia(kind) { return new WrtcMedia(this, kind); }

  async createOffer(options = {}) {
    await this.pc.setLocalDescription(await this.pc.createOffer(options.iceRestart ? { iceRestart: true } : {}));
  }

  async acceptOffer(sdp) {
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    await echoTransceivers(this);
    await this.pc.setLocalDescription(await this.pc.createAnswer());
  }

  async acceptAnswer(sdp) { await this.pc.setRemoteDescription({ type: 'answer', sdp }); }

  localDescription() { return this.pc.localDescription ? this.pc.localDescription.sdp : null; }

  gatheringState() { return this.pc.iceGatheringState; }

  /** A candidate without a mid goes to the first m-line (the BUNDLE tag). */
  async addRemoteCandidate(candidate, mid) {
    const where = mid === null || mid === undefined ? { sdpMLineIndex: 0 } : { sdpMid: mid };
    await this.pc.addIceCandidate({ candidate: candidate === null ? '' : candidate, ...where });
  }

  restartIce() { this.pc.restartIce(); }

  /** The transport stats name the local ufrag of the ICE session in use. */
  async iceRestartDone(ufrag) {
    const report = await this.pc.getStats();
    return [...report.values()].some((s) => s.type === 'transport' && s.iceLocalUsernameFragment === ufrag
      && ['connected', 'completed'].includes(s.iceState) && s.selectedCandidatePairId);
  }

  transportSummary() {
    return `connection ${this.pc.connectionState}, ICE ${this.pc.iceConnectionState}, ` +
      `signaling ${this.pc.signalingState}, gathering ${this.pc.iceGatheringState}`;
  }

  closeStack() { this.pc.close(); }
}

module.exports = {
  name: 'libwebrtc',
  capabilities: {
    trickle: true, iceRestart: true, renegotiation: true, media: { audio: true, video: true },
  },
  describe: () => `libwebrtc via @roamhq/wrtc ${VERSION}`,
  createPeer: (options) => new WrtcPeer(options),
};
