'use strict';
/**
 * The echo server of the contract for any stack adapter: one peer connection per
 * offer, answered after ICE gathering completed; every data channel message goes back
 * on its channel with the same type and bytes; the stack echoes media itself
 * (acceptOffer). Per TEST_CASE it also opens the negotiated channel id 7
 * (datachannel-negotiated) or channel interop-server and confirms the client's echo
 * (datachannel-server-open), with P from the offer's query if it has one (a server
 * reused for several cells, contract section 1.1). The session resource and DELETE
 * /sessions are served by http-server.js.
 */

const {
  PORT, contractPayload, iceConfig, sha256hex,
} = require('./contract');
const { MessageQueue, describeMessage } = require('./channel');
const { HttpError, SignallingServer } = require('./http-server');
const { contractLine, makeLogger } = require('./log');
const {
  fragFromDescription, iceCredentials, parseSdpFrag, replaceIce,
} = require('./sdp');

const log = makeLogger('server');
const ANSWER_DEADLINE_MS = 15000;
const MAX_PEER_LIFETIME_MS = 300000;
const CLOSE_ALL_DEADLINE_MS = 4000;
const LOG_EVERY = 256;

/** Echoes every message of the channel back on it, same type, same bytes. */
function echoChannel(peerName, channel) {
  let echoed = 0;
  channel.on('message', (message) => {
    echoed += 1;
    if (echoed === 1 || echoed % LOG_EVERY === 0) {
      log.info(`${peerName}: echoing message ${echoed} on '${channel.label}' (${describeMessage(message)})`);
    }
    try {
      channel.send(message);
    } catch (error) {
      log.warn(`${peerName}: cannot echo on '${channel.label}': ${error.message}`);
    }
  });
  channel.on('close', () => log.info(`${peerName}: channel '${channel.label}' closed after ${echoed} echoes`));
}

/**
 * datachannel-server-open: once connected, open 'interop-server', send P as a string,
 * and answer the first message (the client's echo) with CONFIRMED:/MISMATCH: + its hash.
 */
function openServerChannel(peer, payload) {
  const channel = peer.createDataChannel('interop-server', {});
  const queue = new MessageQueue(channel);
  channel.whenOpen().then(async () => {
    log.info(`${peer.name}: channel 'interop-server' open, sending P (${payload.length} bytes)`);
    channel.send(payload.toString('latin1'));
    const echo = await queue.next();
    const bytes = typeof echo === 'string' ? Buffer.from(echo, 'utf8') : echo;
    const verdict = typeof echo === 'string' && bytes.equals(payload) ? 'CONFIRMED' : 'MISMATCH';
    log.info(`${peer.name}: the client's echo is a ${describeMessage(echo)}: ${verdict}`);
    channel.send(`${verdict}:${sha256hex(bytes)}`);
  }).catch((error) => log.warn(`${peer.name}: interop-server: ${error.message}`));
}

/** What the server does on every peer connection, whatever the stack. */
function serveDataChannels(peer, test, payload) {
  peer.on('datachannel', (channel) => {
    log.info(`${peer.name}: data channel '${channel.label}' (id ${channel.id}) opened by the client`);
    echoChannel(peer.name, channel);
  });
  if (test === 'datachannel-negotiated') {
    echoChannel(peer.name, peer.createDataChannel('interop-negotiated', { negotiated: true, id: 7 }));
  }
  if (test === 'datachannel-server-open') {
    let opened = false;
    peer.on('connectionstatechange', (state) => {
      if (state !== 'connected' || opened) return;
      opened = true;
      openServerChannel(peer, payload);
    });
  }
  peer.on('keylog', (line) => contractLine(`KEYLOG: ${line}`));
}

function withDeadline(promise, ms, message) {
  let timer;
  const deadline = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The peer connections of this server and what the session resource does to them. */
class PeerHost {
  constructor(adapter, env = process.env) {
    this.adapter = adapter;
    this.test = env.TEST_CASE || 'datachannel';
    this.payload = contractPayload(env).payload;
    this.ice = iceConfig(env);
    this.peers = new Set();
    this.count = 0;
  }

  /** A new peer connection for `offer`; options.payload (the query's P) beats TEST_PAYLOAD. */
  async open(offer, remote, options = {}) {
    this.count += 1;
    const name = `peer${this.count}`;
    const payload = options.payload || this.payload;
    const peer = this.adapter.createPeer({ ...this.ice, name, role: 'server', log });
    log.info(`${name}: offer from ${remote} (${offer.length} bytes of SDP; ` +
      `P: ${payload.length} bytes from ${options.payload ? 'the query' : 'TEST_PAYLOAD'})`);
    log.debug(`${name}: offer SDP:\n${offer}`);
    this.peers.add(peer);
    const lifetime = setTimeout(() => this.close(peer, 'lifetime over'), MAX_PEER_LIFETIME_MS);
    peer.once('closed', () => { clearTimeout(lifetime); this.peers.delete(peer); });
    peer.on('connectionstatechange', (state) => {
      log.info(`${name}: connection ${state}${state === 'failed' ? ` (${peer.transportSummary()})` : ''}`);
      if (state === 'failed' || state === 'closed') this.close(peer, `connection ${state}`);
    });
    serveDataChannels(peer, this.test, payload);
    try {
      const answer = await withDeadline(this.answer(peer, offer), ANSWER_DEADLINE_MS, 'answering took too long');
      log.info(`${name}: answered (${answer.length} bytes of SDP)`);
      log.debug(`${name}: answer SDP:\n${answer}`);
      return { peer, answer };
    } catch (error) {
      this.close(peer, 'offer rejected');
      const why = peer.libraryErrors();
      throw new Error(`${error.message}${why ? ` (${this.adapter.name}: ${why})` : ''}`);
    }
  }

  async answer(peer, offer) {
    await peer.acceptOffer(offer);
    return peer.gatheringComplete();
  }

  /** Trickle PATCH: candidates for the current ICE session; the answer already had ours. */
  async trickle(peer, text, offer) {
    const frag = parseSdpFrag(text);
    const current = iceCredentials(offer).ufrag;
    if (frag.ufrag && current && frag.ufrag !== current) {
      throw new HttpError(422, `fragment ufrag ${frag.ufrag} is not the session's ${current} (an ICE restart needs If-Match: *)`);
    }
    let added = 0;
    for (const section of frag.sections) {
      for (const candidate of section.candidates) {
        await peer.addRemoteCandidate(candidate, section.mid);
        added += 1;
      }
      if (section.end) await peer.addRemoteCandidate(null, section.mid);
    }
    log.info(`${peer.name}: trickle: ${added} remote candidate(s)${frag.sections.some((s) => s.end) ? ', end of candidates' : ''}`);
    return null;
  }

  /** ICE restart PATCH: the offer with the fragment's credentials, answered anew. */
  async restart(peer, text, lastOffer) {
    const support = this.adapter.capabilities.iceRestart;
    if (support !== true) throw new HttpError(501, `${this.adapter.name} cannot restart ICE: ${support}`);
    const frag = parseSdpFrag(text);
    if (!frag.ufrag || !frag.pwd) throw new HttpError(422, 'an ICE restart fragment needs a=ice-ufrag and a=ice-pwd');
    const offer = replaceIce(lastOffer, frag);
    log.info(`${peer.name}: ICE restart to remote ufrag ${frag.ufrag}`);
    const answer = await withDeadline(this.answer(peer, offer), ANSWER_DEADLINE_MS, 'ICE restart took too long');
    log.info(`${peer.name}: restarted ICE, local ufrag now ${iceCredentials(answer).ufrag}`);
    return { frag: fragFromDescription(answer), offer };
  }

  async renegotiate(peer, offer) {
    const support = this.adapter.capabilities.renegotiation;
    if (support !== true) throw new HttpError(405, `${this.adapter.name} cannot renegotiate: ${support}`);
    log.info(`${peer.name}: renegotiation offer (${offer.length} bytes of SDP)`);
    log.debug(`${peer.name}: renegotiation offer SDP:\n${offer}`);
    const answer = await withDeadline(this.answer(peer, offer), ANSWER_DEADLINE_MS, 'renegotiation took too long');
    log.debug(`${peer.name}: renegotiation answer SDP:\n${answer}`);
    return answer;
  }

  close(peer, why) {
    if (!this.peers.has(peer)) return;
    log.info(`${peer.name}: closing (${why}); ${this.peers.size - 1} other peer(s) open`);
    try {
      peer.close();
    } catch (error) {
      log.warn(`${peer.name}: close failed: ${error.message}`);
    }
  }

  /**
   * DELETE /sessions: closes every peer connection and resolves with how many once each
   * emitted 'closed' (a stack may close asynchronously); rejects after `deadlineMs`, so
   * the answer still comes within the contract's 5 s.
   */
  async closeAll(why, deadlineMs = CLOSE_ALL_DEADLINE_MS) {
    const peers = [...this.peers];
    const closed = peers.map((peer) => new Promise((resolve) => { peer.once('closed', resolve); }));
    for (const peer of peers) this.close(peer, why);
    try {
      await withDeadline(Promise.all(closed), deadlineMs, 'deadline');
    } catch {
      const open = peers.filter((peer) => this.peers.has(peer)).map((peer) => peer.name);
      throw new Error(`${open.join(', ')} still open after ${deadlineMs} ms`);
    }
    return peers.length;
  }
}

async function runServer(adapter) {
  // One peer's trouble (a throw from a stack callback) must not end the server.
  process.on('uncaughtException', (error) => log.warn(`uncaught exception: ${error.stack || error}`));
  process.on('unhandledRejection', (error) => log.warn(`unhandled rejection: ${error && error.stack ? error.stack : error}`));
  const host = new PeerHost(adapter);
  log.info(`${adapter.describe()}, node ${process.versions.node}, test ${host.test}, ` +
    `ICE servers ${host.ice.iceServers.length}, policy ${host.ice.iceTransportPolicy}`);
  const server = new SignallingServer(host, log);
  const shutdown = (signal) => {
    log.info(`${signal}: shutting down`);
    for (const peer of [...host.peers]) host.close(peer, 'shutdown');
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await server.listen(PORT);
  log.info(`listening on ${PORT}`);
}

/** The server's main: logs a start failure and exits 1 (the cell becomes server-error). */
function main(adapter) {
  runServer(adapter).catch((error) => {
    log.error(`cannot start: ${error.stack || error}`);
    process.exit(1);
  });
}

module.exports = { runServer, main, PeerHost };
