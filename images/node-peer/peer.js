'use strict';
/**
 * The stack adapter's interface: one peer connection, the same for every stack, so the
 * signalling, the server behaviour and the test cases are written once. An adapter
 * module exports:
 *
 *   name                    e.g. 'werift'
 *   capabilities            {iceRestart, renegotiation, trickle, media: {audio, video}},
 *                           each false with the reason as a string where the stack cannot
 *   describe()              the library and its version, for the first log line
 *   createPeer(options)     a Peer; options: {name, role: 'client'|'server', log,
 *                           iceServers, iceTransportPolicy, caPem, bundle}
 *
 * and its Peer subclass implements the methods that throw below. It emits
 *   'connectionstatechange' (state)     through setConnectionState()
 *   'datachannel' (Channel)             a channel the remote peer opened
 *   'localcandidate' (candidate|null)   "candidate:..." as gathered; null when complete
 *   'keylog' (line)                     an NSS key log line, once per DTLS session
 *   'closed'                            after close(), once closeStack() settled
 */

const { EventEmitter } = require('events');
const { parseSdp, iceCredentials } = require('./sdp');

const GATHERING_TIMEOUT_MS = 10000;
const POLL_MS = 20;

class Peer extends EventEmitter {
  constructor(options) {
    super();
    this.name = options.name;
    this.role = options.role;
    this.log = options.log;
    this.options = options;
    this.connectionState = 'new';
    this.isClosed = false;
  }

  setConnectionState(state) {
    if (state === this.connectionState) return;
    this.connectionState = state;
    this.emit('connectionstatechange', state);
  }

  /** Data channel: label and init {ordered, maxRetransmits, negotiated, id}. */
  createDataChannel(label, init) { throw new Error(`createDataChannel(${label}, ${init}) not implemented`); }

  /** Client: a sendrecv transceiver of `kind` with the contract codec; a ClientMedia. */
  addMedia(kind) { throw new Error(`addMedia(${kind}) not implemented`); }

  /** Creates an offer and sets it as local description; gathering may still go on. */
  async createOffer(options) { throw new Error(`createOffer(${options}) not implemented`); }

  /** Server: applies a (new) remote offer, sets up the media echo, sets the answer. */
  async acceptOffer(sdp) { throw new Error(`acceptOffer(${sdp.length}) not implemented`); }

  /** Client: applies the remote answer. */
  async acceptAnswer(sdp) { throw new Error(`acceptAnswer(${sdp.length}) not implemented`); }

  /** The current local description's SDP (with the candidates gathered so far), or null. */
  localDescription() { return null; }

  /** 'new', 'gathering' or 'complete'. */
  gatheringState() { return 'new'; }

  /** Adds a remote candidate ("candidate:..."); null means end of candidates. */
  async addRemoteCandidate(candidate, mid) { throw new Error(`addRemoteCandidate(${candidate}, ${mid}) not implemented`); }

  /** Marks the next offer as an ICE restart (new local credentials). */
  restartIce() { throw new Error('restartIce() not implemented'); }

  /** True once a selected candidate pair belongs to the ICE session of local `ufrag`. */
  async iceRestartDone(ufrag) { throw new Error(`iceRestartDone(${ufrag}) not implemented`); }

  /** Where the connection stands, layer by layer, for failure reasons. */
  transportSummary() { return `connection ${this.connectionState}`; }

  /** The stack's own error messages so far ('' if none), for failure reasons. */
  libraryErrors() { return ''; }

  /**
   * Closes the peer connection (idempotent) and emits 'closed' once the stack is done:
   * after closeStack()'s promise if it returns one (a stack that still sends its last
   * packets after close() returns), so DELETE /sessions answers only after those.
   */
  close() {
    if (this.isClosed) return;
    this.isClosed = true;
    const stopping = this.closeStack();
    this.setConnectionState('closed');
    if (stopping && typeof stopping.then === 'function') stopping.then(() => this.emit('closed'), () => this.emit('closed'));
    else this.emit('closed');
  }

  /** The stack's close; may return a promise that settles once it has closed. */
  closeStack() {}

  /**
   * Resolves once ICE gathering is complete for the current ICE credentials (after a
   * restart, candidates of the old ones do not count): non-trickle SDP then carries
   * every candidate. Rejects after timeoutMs.
   */
  gatheringComplete(timeoutMs = GATHERING_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        const sdp = this.localDescription();
        if (sdp && this.gatheringState() === 'complete' && candidatesMatchCredentials(sdp)) return resolve(sdp);
        if (Date.now() > deadline) {
          return reject(new Error(`ICE gathering not complete after ${timeoutMs} ms (state ${this.gatheringState()})`));
        }
        return setTimeout(check, POLL_MS);
      };
      check();
    });
  }
}

/**
 * True unless the SDP's candidates name another ICE username fragment than the
 * description's own (libwebrtc writes "ufrag X" into each candidate line).
 */
function candidatesMatchCredentials(sdp) {
  const { ufrag } = iceCredentials(sdp);
  const candidates = parseSdp(sdp).sections.flatMap((s) => s.candidates);
  const tagged = candidates.map((c) => / ufrag (\S+)/.exec(c)).filter(Boolean);
  return tagged.length === 0 || tagged.some((m) => m[1] === ufrag);
}

/**
 * The client's media of one kind, the same for every stack: start()/stop() the
 * generated source, `sent` packets or frames so far, expect(payloadType) to count the
 * echo, received() -> {packets, frames (null if the stack does not decode), other}.
 */
class ClientMedia {
  constructor(kind) {
    this.kind = kind;
  }

  mid() { return null; }

  start() {}

  stop() {}

  get sent() { return 0; }

  expect(payloadType) { void payloadType; }

  async received() { return { packets: 0, frames: null, other: '' }; }
}

module.exports = { Peer, ClientMedia };
