'use strict';
/**
 * libdatachannel (C++) behind the shared peer interface (node-peer/peer.js), through
 * node-datachannel's native API (PeerConnection, DataChannel, Track, Audio, Video),
 * which maps one to one onto libdatachannel's classes, not its RTCPeerConnection
 * polyfill. libdatachannel has no codecs: the client sends the build-time media files
 * as RTP (node-peer/media.js), the server echoes raw RTP with its own SSRC.
 *
 * node-datachannel closes a native object when its JS wrapper is garbage-collected,
 * so each peer keeps every wrapper it made or was given until it is closed.
 */

const ndc = require('node-datachannel');

const { CONTRACT_CODECS, parseIceUrl } = require('./node-peer/contract');
const { Channel } = require('./node-peer/channel');
const { ClientMedia, Peer } = require('./node-peer/peer');
const {
  EchoCounter, PacedRtpSource, isRtcp, randomSsrc, rtpHeader,
} = require('./node-peer/media');
const { mids, normaliseCandidate, parseSdp } = require('./node-peer/sdp');
const { makeLogger } = require('./node-peer/log');

const libraryErrors = [];

/**
 * Routes libdatachannel's own log into ours, once per process (0.33 throws without the
 * callback). PEER_DEBUG=1 gives its Debug level, PEER_DEBUG=verbose its Verbose level.
 * Error lines are kept so a verdict can name them.
 */
function setupLogging() {
  const lib = makeLogger('libdatachannel');
  const debug = (process.env.PEER_DEBUG || '').toLowerCase();
  const level = debug === 'verbose' ? 'Verbose' : debug ? 'Debug' : 'Warning';
  ndc.initLogger(level, (lvl, message) => {
    if (lvl === 'Error' || lvl === 'Fatal') {
      lib.error(message);
      if (libraryErrors.length < 10) libraryErrors.push(String(message).replace(/^\S+@\d+:\s*/, ''));
    } else if (lvl === 'Warning') lib.warn(message);
    else lib.debug(`[${lvl}] ${message}`);
  });
}
setupLogging();

class NdcChannel extends Channel {
  constructor(dc) {
    super(dc.getLabel(), dc.getId());
    this.dc = dc;
    dc.onOpen(() => this.emit('open'));
    dc.onClosed(() => this.emit('close'));
    dc.onError((error) => this.emit('error', error));
    dc.onBufferedAmountLow(() => this.emit('bufferedamountlow'));
    dc.onMessage((message) => this.emit('message', typeof message === 'string' ? message : Buffer.from(message)));
    if (dc.isOpen()) setImmediate(() => this.emit('open'));
  }

  send(data) {
    if (typeof data === 'string') this.dc.sendMessage(data);
    else this.dc.sendMessageBinary(data);
  }

  bufferedAmount() { return this.dc.bufferedAmount(); }

  setBufferedAmountLowThreshold(bytes) { this.dc.setBufferedAmountLowThreshold(bytes); }

  close() { this.dc.close(); }
}

/**
 * libdatachannel's ICE server list from the contract's RTCIceServer objects. libjuice
 * (the ICE agent of the prebuilt binding) uses one STUN server and TURN over UDP only;
 * it logs a warning for the servers it skips, so the configuration is still exactly
 * the given one.
 */
function ndcIceServers(servers, log) {
  const out = [];
  for (const server of servers) {
    for (const url of server.urls) {
      const parsed = parseIceUrl(url);
      if (!parsed) {
        log.warn(`ignoring ICE server URL ${url}: not a stun:/turn:/turns: URL`);
        continue;
      }
      const entry = { hostname: parsed.host, port: parsed.port };
      if (parsed.relay) {
        Object.assign(entry, { username: server.username, password: server.credential });
        entry.relayType = { udp: 'TurnUdp', tcp: 'TurnTcp', tls: 'TurnTls' }[parsed.transport];
      }
      out.push(entry);
    }
  }
  return out;
}

/** The client's media: a SendRecv track with the contract codec and our own SSRC. */
class NdcMedia extends ClientMedia {
  constructor(peer, kind) {
    super(kind);
    this.midValue = peer.nextMid();
    this.ssrc = randomSsrc();
    const description = kind === 'audio' ? new ndc.Audio(this.midValue, 'SendRecv') : new ndc.Video(this.midValue, 'SendRecv');
    if (kind === 'audio') description.addOpusCodec(111);
    else description.addVP8Codec(96);
    description.addSSRC(this.ssrc, 'interop-client', 'interop', `interop-${kind}`);
    this.track = peer.pc.addTrack(description);
    peer.keep.push(description, this.track);
    this.counter = new EchoCounter();
    this.payloadType = kind === 'audio' ? 111 : 96;
    // No media handler: the track hands over every RTP and RTCP packet routed to it.
    this.track.onMessage((packet) => {
      if (!isRtcp(packet) && packet.length >= 12) this.counter.record(packet[1] & 0x7f);
    });
    this.source = new PacedRtpSource(kind, (rtp) => {
      if (!this.track.isOpen()) return;
      const header = rtpHeader({ ...rtp, payloadType: this.payloadType, ssrc: this.ssrc });
      this.track.sendMessageBinary(Buffer.concat([header, rtp.payload]));
    }, peer.log);
  }

  mid() { return this.midValue; }

  start() { this.source.start(); }

  stop() { this.source.stop(); }

  get sent() { return this.source.sent; }

  expect(payloadType) {
    this.payloadType = payloadType;
    this.counter.expect(payloadType);
  }

  async received() { return { packets: this.counter.packets, frames: null, other: this.counter.otherTypes() }; }
}

/** The first payload type of a section whose rtpmap names `codec`, or null. */
function findPayloadType(section, codec) {
  const wanted = codec.toLowerCase();
  return section.payloadTypes.find((pt) => {
    const map = (section.rtpmap[pt] || '').toLowerCase();
    return map === wanted || (wanted === 'opus/48000/2' && map === 'opus/48000');
  }) ?? null;
}

/**
 * Server: our own description for one offered audio/video section: one codec from the
 * offer (the contract's, else the first with an rtpmap), the offer's direction
 * mirrored, an SSRC of ours announced in the answer. Replaces the track libdatachannel
 * made for the mid (that is why auto-negotiation is off).
 */
function answerSection(peer, section) {
  let pt = findPayloadType(section, CONTRACT_CODECS[section.kind]);
  if (pt === null) pt = section.payloadTypes.find((p) => section.rtpmap[p]) ?? null;
  if (pt === null) throw new Error(`m=${section.kind} mid ${section.mid} has no codec with an rtpmap`);
  const direction = { sendrecv: 'SendRecv', sendonly: 'RecvOnly', recvonly: 'SendOnly' }[section.direction] || 'Inactive';
  // The binding rejects an undefined profile argument: pass it only when there is one.
  const args = section.fmtp[pt] === undefined ? [pt, section.rtpmap[pt]] : [pt, section.rtpmap[pt], section.fmtp[pt]];
  const media = section.kind === 'audio' ? new ndc.Audio(section.mid, direction) : new ndc.Video(section.mid, direction);
  if (section.kind === 'audio') media.addAudioCodec(...args);
  else media.addVideoCodec(...args);
  const ssrc = randomSsrc();
  media.addSSRC(ssrc, `echo-${peer.name}`, `echo-${peer.name}`, `echo-${section.kind}-${section.mid}`);
  const track = peer.pc.addTrack(media);
  peer.keep.push(media, track);
  peer.log.info(`${peer.name}: answering ${section.kind} mid ${section.mid} ${direction} with ` +
    `${section.rtpmap[pt]} payload type ${pt}, echo SSRC ${ssrc}`);
  echoTrack(peer, track, { kind: section.kind, pt, ssrc, sending: direction === 'SendRecv' });
}

/**
 * Server: every RTP packet with the negotiated payload type goes back on the same
 * track with our SSRC; RTCP and other payload types (RTX, RED, codecs we did not
 * answer) are not echoed: relabelled they would be garbage.
 */
function echoTrack(peer, track, { kind, pt, ssrc, sending }) {
  let echoed = 0;
  let dropped = 0;
  track.onClosed(() => peer.log.info(`${peer.name}: ${kind} track closed after echoing ${echoed} RTP packets (${dropped} not echoed)`));
  track.onMessage((packet) => {
    if (isRtcp(packet) || packet.length < 12 || (packet[0] >> 6) !== 2) return;
    if (!sending || !track.isOpen() || (packet[1] & 0x7f) !== pt) {
      dropped += 1;
      if (dropped === 1) peer.log.info(`${peer.name}: not echoing RTP with payload type ${packet[1] & 0x7f}`);
      return;
    }
    const out = Buffer.from(packet);
    out.writeUInt32BE(ssrc, 8);
    try {
      track.sendMessageBinary(out);
      echoed += 1;
      if (echoed === 1 || echoed % 500 === 0) peer.log.info(`${peer.name}: echoed ${echoed} ${kind} RTP packets`);
    } catch (error) {
      dropped += 1;
      if (dropped === 1) peer.log.warn(`${peer.name}: cannot echo RTP: ${error.message}`);
    }
  });
}

/** One libdatachannel PeerConnection behind the shared Peer interface. */
class NdcPeer extends Peer {
  constructor(options) {
    super(options);
    if (options.caPem) options.log.warn(`${options.name}: ICE_CA_PEM ignored: node-datachannel has no option for a TURN CA`);
    this.pc = new ndc.PeerConnection(options.name, {
      iceServers: ndcIceServers(options.iceServers, options.log),
      iceTransportPolicy: options.iceTransportPolicy,
      disableAutoNegotiation: true, // we call setLocalDescription, after shaping the answer
      // DTLS-SRTP from the start, so media added by renegotiation has a transport (without
      // it libdatachannel answers a data-only session's new m=audio, then logs "The
      // connection has no media transport" and never opens the track).
      forceMediaTransport: true,
    });
    this.keep = [this.pc];
    this.answered = new Set(); // server: mids with our own track
    this.usedMids = []; // client: mids given to our own tracks
    this.pc.onStateChange((state) => this.setConnectionState(state));
    this.pc.onDataChannel((dc) => {
      this.keep.push(dc);
      this.emit('datachannel', new NdcChannel(dc));
    });
    this.pc.onTrack((track) => this.keep.push(track));
    this.pc.onLocalCandidate((candidate) => this.emit('localcandidate', normaliseCandidate(candidate)));
    this.pc.onGatheringStateChange((state) => { if (state === 'complete') this.emit('localcandidate', null); });
  }

  createDataChannel(label, init = {}) {
    const config = {};
    if (init.ordered === false) config.unordered = true;
    if (init.maxRetransmits !== undefined) config.maxRetransmits = init.maxRetransmits;
    if (init.negotiated) Object.assign(config, { negotiated: true, id: init.id });
    const dc = this.pc.createDataChannel(label, config);
    this.keep.push(dc);
    return new NdcChannel(dc);
  }

  addMedia(kind) { return new NdcMedia(this, kind); }

  /** The smallest numeric mid not used yet (libdatachannel needs one per Audio/Video). */
  nextMid() {
    const used = new Set([...mids(this.localDescription() || ''), ...this.usedMids]);
    let mid = 0;
    while (used.has(String(mid))) mid += 1;
    this.usedMids.push(String(mid));
    return String(mid);
  }

  async createOffer(options = {}) {
    if (options.iceRestart) throw new Error('libdatachannel cannot restart ICE');
    this.pc.setLocalDescription('offer');
  }

  async acceptOffer(sdp) {
    this.pc.setRemoteDescription(sdp, 'offer');
    for (const section of parseSdp(sdp).sections) {
      if (!['audio', 'video'].includes(section.kind) || section.port === 0 || !section.mid) continue;
      if (this.answered.has(section.mid)) continue;
      answerSection(this, section);
      this.answered.add(section.mid);
    }
    this.pc.setLocalDescription('answer');
  }

  async acceptAnswer(sdp) { this.pc.setRemoteDescription(sdp, 'answer'); }

  localDescription() {
    const description = this.pc.localDescription();
    return description ? description.sdp : null;
  }

  gatheringState() {
    const state = this.pc.gatheringState();
    return state === 'in-progress' ? 'gathering' : state;
  }

  /** libdatachannel takes candidates only (no end-of-candidates call). */
  async addRemoteCandidate(candidate, mid) {
    if (candidate === null) return;
    const remote = this.pc.remoteDescription();
    const target = mid ?? (remote ? mids(remote.sdp)[0] : '0');
    this.pc.addRemoteCandidate(candidate, target);
  }

  restartIce() { throw new Error('libdatachannel cannot restart ICE'); }

  async iceRestartDone() { return false; }

  transportSummary() {
    return `connection ${this.pc.state()}, ICE ${this.pc.iceState()}, signaling ${this.pc.signalingState()}, ` +
      `gathering ${this.pc.gatheringState()}`;
  }

  libraryErrors() {
    const text = libraryErrors.join('; ');
    return text.length > 300 ? `${text.slice(0, 297)}...` : text;
  }

  closeStack() { this.pc.close(); }
}

module.exports = {
  name: 'libdatachannel',
  capabilities: {
    trickle: true,
    iceRestart: 'libdatachannel has no ICE restart (open issue paullouisageneau/libdatachannel#545; libjuice#130)',
    renegotiation: true,
    media: { audio: true, video: true },
  },
  describe: () => `libdatachannel ${ndc.getLibraryVersion()} via node-datachannel`,
  createPeer: (options) => new NdcPeer(options),
};
