'use strict';
/**
 * libdatachannel echo server of the peer contract (docs/contract.md).
 *
 * POST /offer takes an RTCSessionDescriptionInit and returns the answer once ICE
 * gathering is complete (no trickle). Every data channel echoes each message back on
 * itself. Every audio/video m-line is answered sendrecv with one codec taken from the
 * offer (Opus / VP8 preferred) and an SSRC of our own announced in the answer; each
 * RTP packet received on it goes back on the same track with that SSRC and the
 * negotiated payload type. libdatachannel has no codecs, so the echo is raw RTP.
 */

const http = require('http');
const {
  CONTRACT_CODECS, PORT, ndc, makeLogger, setupLogging, newPeerConnection,
  gatheringComplete, parseMediaSections, findPayloadType, isRtcp, randomSsrc,
} = require('./peer');

const log = makeLogger('server');
const MAX_PEER_LIFETIME_MS = 300000;
const MAX_BODY_BYTES = 1 << 20;
const peers = new Map(); // id -> record holding every native wrapper of that peer

let nextPeer = 1;

class BadOffer extends Error {}

/**
 * Close a peer and drop every wrapper we held. node-datachannel closes the native
 * object when a wrapper is garbage-collected, so all of them live in this record
 * until the peer is finished.
 */
function closePeer(id, why) {
  const peer = peers.get(id);
  if (!peer) return;
  peers.delete(id);
  clearTimeout(peer.lifetime);
  log.info(`${id}: closing (${why}); ${peers.size} peer(s) left`);
  try {
    peer.pc.close();
  } catch (error) {
    log.warn(`${id}: close failed: ${error.message}`);
  }
}

function echoDataChannel(id, peer, channel) {
  peer.keep.push(channel);
  const label = channel.getLabel();
  log.info(`${id}: data channel '${label}' opened by the client`);
  channel.onMessage((message) => {
    if (!channel.isOpen()) return;
    if (typeof message === 'string') {
      log.info(`${id}: echoing ${message.length}-char text message on '${label}'`);
      channel.sendMessage(message);
    } else {
      const data = Buffer.from(message);
      log.info(`${id}: echoing ${data.length}-byte binary message on '${label}'`);
      channel.sendMessageBinary(data);
    }
  });
  channel.onClosed(() => log.info(`${id}: data channel '${label}' closed`));
}

/**
 * Answer one offered audio/video m-line: pick a codec, build our sendrecv media
 * description with our own SSRC and replace the track libdatachannel created for the
 * mid (this needs disableAutoNegotiation, else the answer is already generated).
 */
function answerMedia(id, peer, section) {
  if (section.kind !== 'audio' && section.kind !== 'video') return;
  if (section.port === 0 || !section.mid) return; // rejected/unusable m-line, libdatachannel answers it
  let pt = findPayloadType(section, CONTRACT_CODECS[section.kind] || '');
  if (pt === null) pt = section.payloadTypes.find((p) => section.rtpmap[p]) ?? null;
  if (pt === null) throw new BadOffer(`m=${section.kind} mid ${section.mid} has no codec with an rtpmap`);
  const codec = section.rtpmap[pt];
  const profile = section.fmtp[pt];
  // The answer's direction mirrors the offer's; we echo only when both ways are open.
  const direction = { sendrecv: 'SendRecv', sendonly: 'RecvOnly', recvonly: 'SendOnly' }[section.direction] || 'Inactive';
  // The binding rejects an undefined profile argument: pass it only when there is one.
  const codecArgs = profile === undefined ? [pt, codec] : [pt, codec, profile];
  let media;
  if (section.kind === 'audio') {
    media = new ndc.Audio(section.mid, direction);
    media.addAudioCodec(...codecArgs);
  } else {
    media = new ndc.Video(section.mid, direction);
    media.addVideoCodec(...codecArgs);
  }
  const ssrc = randomSsrc();
  media.addSSRC(ssrc, `echo-${id}`, `echo-${id}`, `echo-${section.kind}-${section.mid}`);
  const track = peer.pc.addTrack(media);
  peer.keep.push(media, track);
  log.info(`${id}: answering ${section.kind} mid ${section.mid} ${direction} with ${codec} ` +
    `payload type ${pt}, echo SSRC ${ssrc}`);

  let echoed = 0;
  let dropped = 0;
  track.onOpen(() => log.info(`${id}: ${section.kind} track open`));
  track.onClosed(() => log.info(`${id}: ${section.kind} track closed after echoing ${echoed} RTP packets ` +
    `(${dropped} not echoed)`));
  track.onError((error) => log.warn(`${id}: ${section.kind} track error: ${error}`));
  // With no media handler set, libdatachannel hands us raw RTP and RTCP as received.
  track.onMessage((packet) => {
    if (isRtcp(packet) || packet.length < 12 || (packet[0] >> 6) !== 2) return;
    // Only the one negotiated codec is echoed: relabelling anything else (RTX, RED,
    // a codec we did not answer) with its payload type would send garbage.
    if (direction !== 'SendRecv' || !track.isOpen() || (packet[1] & 0x7f) !== pt) {
      dropped += 1;
      if (dropped === 1) log.info(`${id}: not echoing RTP with payload type ${packet[1] & 0x7f}`);
      return;
    }
    const out = Buffer.from(packet);
    out.writeUInt32BE(ssrc, 8); // our own SSRC, the one announced in the answer
    try {
      track.sendMessageBinary(out);
      echoed += 1;
      if (echoed === 1 || echoed % 250 === 0) log.info(`${id}: echoed ${echoed} ${section.kind} RTP packets`);
    } catch (error) {
      dropped += 1;
      if (dropped === 1) log.warn(`${id}: cannot echo RTP: ${error.message}`);
    }
  });
}

async function answerOffer(body, remote) {
  let description;
  try {
    description = JSON.parse(body);
  } catch (error) {
    throw new BadOffer(`not JSON: ${error.message}`);
  }
  if (!description || typeof description.sdp !== 'string' || typeof description.type !== 'string') {
    throw new BadOffer('not an RTCSessionDescriptionInit (needs string "type" and "sdp")');
  }
  if (description.type !== 'offer') throw new BadOffer(`expected type 'offer', got '${description.type}'`);

  const id = `peer${nextPeer++}`;
  const pc = newPeerConnection(id);
  const peer = { pc, keep: [] };
  peers.set(id, peer);
  log.info(`${id}: offer from ${remote}`);
  log.debug(`${id}: offer SDP:\n${description.sdp}`);

  pc.onStateChange((state) => {
    log.info(`${id}: connection state ${state}`);
    if (state === 'failed' || state === 'closed') closePeer(id, `connection ${state}`);
  });
  pc.onDataChannel((channel) => echoDataChannel(id, peer, channel));
  pc.onTrack((track) => {
    // The track created from the offer; answerMedia already shaped it. Keep the
    // wrapper: collecting it would close the native track.
    peer.keep.push(track);
    log.info(`${id}: ${track.type()} track mid ${track.mid()} received`);
  });

  try {
    const ready = gatheringComplete(pc);
    pc.setRemoteDescription(description.sdp, 'offer');
    for (const section of parseMediaSections(description.sdp)) answerMedia(id, peer, section);
    pc.setLocalDescription('answer');
    const answer = await ready;
    if (!answer.sdp) throw new Error('no local description after gathering');
    if (!answer.complete) log.warn(`${id}: ICE gathering not complete after timeout, answering with what we have`);
    peer.lifetime = setTimeout(() => closePeer(id, 'lifetime over'), MAX_PEER_LIFETIME_MS);
    log.info(`${id}: answered (${answer.sdp.length} bytes of SDP)`);
    log.debug(`${id}: answer SDP:\n${answer.sdp}`);
    return { type: 'answer', sdp: answer.sdp };
  } catch (error) {
    closePeer(id, 'offer rejected');
    if (error instanceof BadOffer) throw error;
    throw new BadOffer(`cannot answer this offer: ${error.message}`);
  }
}

function reply(response, status, object) {
  const text = JSON.stringify(object);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

function handle(request, response) {
  const path = (request.url || '').split('?')[0];
  if (path !== '/offer') return reply(response, 404, { error: 'POST an offer to /offer' });
  if (request.method !== 'POST') return reply(response, 405, { error: 'use POST' });
  const chunks = [];
  let size = 0;
  request.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      reply(response, 413, { error: 'offer too large' });
      request.destroy();
      return;
    }
    chunks.push(chunk);
  });
  request.on('end', () => {
    if (response.writableEnded) return;
    const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    answerOffer(Buffer.concat(chunks).toString('utf8'), remote)
      .then((answer) => reply(response, 200, answer))
      .catch((error) => {
        log.warn(`rejected offer from ${remote}: ${error.message}`);
        if (!response.writableEnded) reply(response, 400, { error: error.message });
      });
  });
}

function main() {
  setupLogging();
  log.info(`libdatachannel ${ndc.getLibraryVersion()} via node-datachannel, node ${process.versions.node}`);
  const server = http.createServer(handle);
  server.listen(PORT, '0.0.0.0', () => log.info(`listening on ${PORT}`));
  const shutdown = (signal) => {
    log.info(`${signal}: shutting down`);
    for (const id of [...peers.keys()]) closePeer(id, 'shutdown');
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A bug in one callback must not take down the server and every other peer.
  process.on('uncaughtException', (error) => log.error(`uncaught: ${error.stack || error}`));
}

main();
