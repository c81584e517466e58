'use strict';
/**
 * werift behind the shared peer interface (node-peer/peer.js): its RTCPeerConnection,
 * data channels, RTP echo and DTLS key log. werift has no encoder or decoder: the
 * client sends the build-time media files packetized by node-peer/media.js, the server
 * writes every received RTP packet back on its own sending track.
 */

const fs = require('fs');
const path = require('path');
const {
  DtlsClient, MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, useOPUS, useVP8,
} = require('werift');

const { Channel } = require('./node-peer/channel');
const { ClientMedia, Peer } = require('./node-peer/peer');
const { EchoCounter, PacedRtpSource } = require('./node-peer/media');
const { normaliseCandidate } = require('./node-peer/sdp');

const VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules/werift/package.json'), 'utf8')).version;

class WeriftChannel extends Channel {
  constructor(dc) {
    super(dc.label, dc.id);
    this.dc = dc;
    dc.stateChanged.subscribe((state) => {
      if (state === 'open') this.emit('open');
      else if (state === 'closed') this.emit('close');
    });
    dc.onMessage.subscribe((message) => this.emit('message', message));
    dc.bufferedAmountLow.subscribe(() => this.emit('bufferedamountlow'));
    dc.error.subscribe((error) => this.emit('error', error && error.message ? error.message : String(error)));
    if (dc.readyState === 'open') setImmediate(() => this.emit('open'));
  }

  send(data) { this.dc.send(data); }

  bufferedAmount() { return this.dc.bufferedAmount; }

  setBufferedAmountLowThreshold(bytes) { this.dc.bufferedAmountLowThreshold = bytes; }

  close() { this.dc.close(); }
}

/**
 * NSS key log line of a connected werift DTLS session. werift's DtlsSocket keeps its
 * cipher state in public fields (CipherContext: localRandom, remoteRandom,
 * masterSecret); reading them after the handshake needs no patch.
 */
function keylogLine(dtls) {
  const cipher = dtls && dtls.cipher;
  if (!cipher || !cipher.masterSecret || !cipher.localRandom || !cipher.remoteRandom) return null;
  const client = dtls instanceof DtlsClient ? cipher.localRandom : cipher.remoteRandom;
  return `CLIENT_RANDOM ${client.serialize().toString('hex')} ${Buffer.from(cipher.masterSecret).toString('hex')}`;
}

/** The client's media: a sendrecv transceiver fed with the build-time files. */
class WeriftMedia extends ClientMedia {
  constructor(peer, kind) {
    super(kind);
    this.track = new MediaStreamTrack({ kind });
    this.transceiver = peer.pc.addTransceiver(this.track, { direction: 'sendrecv' });
    this.counter = new EchoCounter();
    // The sender replaces SSRC and payload type with its negotiated ones.
    this.source = new PacedRtpSource(kind, (rtp) => this.track.writeRtp(new RtpPacket(new RtpHeader({
      payloadType: 0, sequenceNumber: rtp.sequenceNumber, timestamp: rtp.timestamp, marker: rtp.marker,
    }), rtp.payload)), peer.log);
    this.transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((packet) => this.counter.record(packet.header.payloadType));
    });
  }

  mid() { return this.transceiver.mid; }

  start() { this.source.start(); }

  stop() { this.source.stop(); }

  get sent() { return this.source.sent; }

  expect(payloadType) { this.counter.expect(payloadType); }

  async received() { return { packets: this.counter.packets, frames: null, other: this.counter.otherTypes() }; }
}

/** Server: every RTP packet received on the transceiver goes back on its sending track. */
function echoMedia(peer, track, transceiver) {
  peer.log.info(`${peer.name}: ${track.kind} track received (mid ${transceiver.mid}), echoing it`);
  let echoed = 0;
  track.onReceiveRtp.subscribe((rtp) => {
    const local = transceiver.sender.track;
    if (!local) return;
    const packet = rtp.clone();
    // The sender adds the header extensions it negotiated itself; the client's ids
    // must not leak into our stream.
    packet.header.extensions = [];
    packet.header.extension = false;
    local.writeRtp(packet);
    echoed += 1;
    if (echoed === 1 || echoed % 500 === 0) peer.log.info(`${peer.name}: echoed ${echoed} ${track.kind} RTP packets`);
  });
  // A decoding client asks for key frames with PLI; pass them on to the media's source.
  transceiver.sender.onPictureLossIndication.subscribe(() => {
    if (track.ssrc !== undefined) transceiver.receiver.sendRtcpPLI(track.ssrc).catch(() => {});
  });
}

/**
 * werift's configuration from the contract's: exactly the given ICE servers (werift
 * uses the first STUN and the first TURN URL of the list), the transport policy, the
 * TURN-over-TLS CA, and one codec per kind (Opus 111, VP8 96) so the negotiated payload
 * type is unambiguous.
 */
function weriftConfig(options) {
  return {
    iceServers: options.iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
    iceTransportPolicy: options.iceTransportPolicy,
    turnTlsOptions: options.caPem ? { ca: options.caPem } : undefined,
    bundlePolicy: options.bundle ? 'max-bundle' : undefined,
    codecs: { audio: [useOPUS({ payloadType: 111 })], video: [useVP8({ payloadType: 96 })] },
  };
}

/** One werift RTCPeerConnection behind the shared Peer interface. */
class WeriftPeer extends Peer {
  constructor(options) {
    super(options);
    this.pc = new RTCPeerConnection(weriftConfig(options));
    this.pendingLocal = null;
    this.logged = new Set();
    this.hooked = new Set();
    this.pc.connectionStateChange.subscribe((state) => this.setConnectionState(state));
    this.pc.onDataChannel.subscribe((dc) => this.emit('datachannel', new WeriftChannel(dc)));
    this.pc.onIceCandidate.subscribe((c) => this.emit('localcandidate', c && c.candidate ? normaliseCandidate(c.candidate) : null));
    if (options.role === 'server') this.pc.ontrack = (event) => echoMedia(this, event.track, event.transceiver);
    logIceServers(options);
  }

  /**
   * Prints each DTLS session's key log line as soon as its handshake is done (not at
   * 'connected', which also waits for SCTP). Transports appear with descriptions, so
   * this runs after every description step.
   */
  hookDtls() {
    for (const transport of this.pc.dtlsTransports) {
      if (this.hooked.has(transport)) continue;
      this.hooked.add(transport);
      transport.onStateChange.subscribe((state) => {
        const line = state === 'connected' ? keylogLine(transport.dtls) : null;
        if (line && !this.logged.has(line)) {
          this.logged.add(line);
          this.emit('keylog', line);
        }
      });
    }
  }

  createDataChannel(label, init = {}) {
    const options = {};
    for (const key of ['ordered', 'maxRetransmits', 'negotiated', 'id']) if (init[key] !== undefined) options[key] = init[key];
    return new WeriftChannel(this.pc.createDataChannel(label, options));
  }

  addMedia(kind) { return new WeriftMedia(this, kind); }

  /**
   * werift's setLocalDescription gathers before it resolves; the description itself is
   * set at once. Resolve as soon as it exists (trickle needs that) and keep the rest
   * for gatheringComplete().
   */
  async createOffer(options = {}) {
    const offer = await this.pc.createOffer(options);
    this.pendingLocal = this.pc.setLocalDescription(offer);
    this.pendingLocal.catch(() => {});
    await Promise.race([this.pendingLocal, untilSet(() => this.pc.signalingState === 'have-local-offer')]);
    this.hookDtls();
  }

  async acceptOffer(sdp) {
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    const usable = this.pc.getTransceivers().filter((t) => !t.pendingRejection && !t.rejected && !t.stopped);
    if (usable.length === 0 && !this.pc.sctpTransport) {
      throw new Error('no data channel and no audio/video section with a codec in common (opus/48000/2, VP8/90000)');
    }
    // Each accepted audio/video transceiver gets a sending track (the answer says
    // sendrecv); addTrack takes the first transceiver of the kind without one.
    for (const transceiver of usable) {
      if (transceiver.sender.track || !['audio', 'video'].includes(transceiver.kind)) continue;
      this.pc.addTrack(new MediaStreamTrack({ kind: transceiver.kind }));
    }
    this.pendingLocal = this.pc.setLocalDescription(await this.pc.createAnswer());
    this.hookDtls();
    await this.pendingLocal;
  }

  async acceptAnswer(sdp) {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.hookDtls();
  }

  async gatheringComplete(timeoutMs) {
    if (this.pendingLocal) await this.pendingLocal;
    return super.gatheringComplete(timeoutMs);
  }

  localDescription() { return this.pc.localDescription ? this.pc.localDescription.sdp : null; }

  gatheringState() { return this.pc.iceGatheringState; }

  async addRemoteCandidate(candidate, mid) {
    await this.pc.addIceCandidate(candidate === null ? { candidate: '', sdpMid: mid } : { candidate, sdpMid: mid });
  }

  restartIce() { this.pc.restartIce(); }

  async iceRestartDone(ufrag) {
    return this.pc.iceTransports.some((t) => t.connection.localUsername === ufrag && t.connection.nominated
      && ['connected', 'completed'].includes(t.state));
  }

  transportSummary() {
    const dtls = this.pc.dtlsTransports.map((t) => t.state).join('/') || 'none';
    const sctp = this.pc.sctpTransport ? `, SCTP ${this.pc.sctpTransport.sctp?.associationState ?? '?'}` : '';
    return `connection ${this.pc.connectionState}, ICE ${this.pc.iceConnectionState}, DTLS ${dtls}${sctp}`;
  }

  closeStack() { return this.pc.close().catch(() => {}); }
}

/** Resolves once `condition()` holds (checked every few milliseconds). */
function untilSet(condition) {
  return new Promise((resolve) => {
    const check = () => (condition() ? resolve() : setTimeout(check, 2));
    check();
  });
}

/** werift uses one STUN and one TURN URL (utils.js parseIceServers): say which. */
function logIceServers(options) {
  const urls = options.iceServers.flatMap((s) => s.urls);
  if (urls.length === 0) return;
  const stun = urls.find((u) => /^stuns?:/i.test(u));
  const turn = urls.find((u) => /^turns?:/i.test(u));
  options.log.info(`${options.name}: ICE servers: STUN ${stun || 'none'}, TURN ${turn || 'none'}` +
    `${urls.length > [stun, turn].filter(Boolean).length ? ' (werift uses only the first of each kind)' : ''}, ` +
    `policy ${options.iceTransportPolicy}${options.caPem ? ', TURN TLS CA given' : ''}`);
}

module.exports = {
  name: 'werift',
  capabilities: {
    trickle: true, iceRestart: true, renegotiation: true, media: { audio: true, video: true },
  },
  describe: () => `werift ${VERSION}`,
  createPeer: (options) => new WeriftPeer(options),
};
