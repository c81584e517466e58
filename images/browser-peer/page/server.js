'use strict';
// Server role: one RTCPeerConnection per session. The wrapper owns HTTP (routes, ETags,
// status codes for unknown sessions and preconditions) and asks the page, per session,
// to answer an offer, apply a fragment (trickle or ICE restart), renegotiate or close.
// Every request gets {op: 'reply', id, ok, status?, reason?, sdp?, frag?}.

const MAX_PEERS = 16;
const MAX_PEER_LIFETIME_MS = 300000;
const peers = new Map(); // session id -> {pc, name, elements, timer}, oldest first

function closePeer(sessionId, why) {
  const peer = peers.get(sessionId);
  if (!peer) return;
  peers.delete(sessionId);
  clearTimeout(peer.timer);
  peer.elements.forEach((element) => { element.srcObject = null; element.remove(); });
  peer.pc.close();
  log(`${peer.name}: closed (${why}); ${peers.size} peer(s) left`);
}

/** Echoes every message on the channel it came on, with the same type and bytes. */
function echoChannel(peer, channel) {
  channel.binaryType = 'arraybuffer';
  channel.addEventListener('message', ({data}) => {
    const size = typeof data === 'string' ? data.length : data.byteLength;
    if (size > 1024 || peer.echoed < 3) log(`${peer.name}: echoing ${typeof data === 'string' ? 'string' : 'binary'} message of ${size} bytes on '${channel.label}'`);
    peer.echoed += 1;
    channel.send(data);
  });
}

/** datachannel-server-open: open 'interop-server', send P, confirm the echo's hash. */
function openServerChannel(peer) {
  const channel = peer.pc.createDataChannel('interop-server');
  channel.binaryType = 'arraybuffer';
  channel.addEventListener('open', () => {
    log(`${peer.name}: 'interop-server' open, sending P`);
    channel.send(CONFIG.payload);
  });
  let answered = false;
  channel.addEventListener('message', async ({data}) => {
    if (answered) return; // only the first echo is judged
    answered = true;
    const bytes = typeof data === 'string' ? asciiBytes(data) : new Uint8Array(data);
    const verdict = typeof data === 'string' && data === CONFIG.payload ? 'CONFIRMED' : 'MISMATCH';
    log(`${peer.name}: echo of P on 'interop-server': ${verdict}`);
    channel.send(`${verdict}:${await sha256hex(bytes)}`);
  });
}

function newPeer(sessionId) {
  const name = `session ${sessionId}`;
  const pc = new RTCPeerConnection(rtcConfiguration());
  const peer = {pc, name, elements: [], echoed: 0, serverChannel: false, chain: Promise.resolve(),
    timer: setTimeout(() => closePeer(sessionId, 'lifetime over'), MAX_PEER_LIFETIME_MS)};
  peers.set(sessionId, peer);
  for (const oldest of peers.keys()) {
    if (peers.size <= MAX_PEERS) break;
    closePeer(oldest, `more than ${MAX_PEERS} peers`);
  }
  pc.addEventListener('connectionstatechange', () => {
    log(`${name}: connection state ${pc.connectionState}`);
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') closePeer(sessionId, pc.connectionState);
    if (pc.connectionState === 'connected' && CONFIG.test === 'datachannel-server-open' && !peer.serverChannel) {
      peer.serverChannel = true;
      openServerChannel(peer);
    }
  });
  pc.addEventListener('datachannel', ({channel}) => {
    log(`${name}: data channel '${channel.label}' opened by the client`);
    echoChannel(peer, channel);
  });
  pc.addEventListener('track', ({track}) => {
    log(`${name}: ${track.kind} track received, echoing it back`);
    peer.elements.push(play(track));
  });
  if (CONFIG.test === 'datachannel-negotiated') {
    echoChannel(peer, pc.createDataChannel('interop-negotiated', {negotiated: true, id: 7}));
  }
  return peer;
}

/**
 * Send every received track back on its own transceiver: sendrecv (the answer becomes
 * sendonly/recvonly/inactive as the offer allows), own SSRC, and the payload type
 * negotiated for that m-line. Transceivers already echoing are left alone.
 */
async function echoTracks(pc) {
  for (const transceiver of pc.getTransceivers()) {
    if (transceiver.currentDirection === 'stopped' || transceiver.sender.track) continue;
    transceiver.direction = 'sendrecv';
    await transceiver.sender.replaceTrack(transceiver.receiver.track);
  }
}

async function answer(pc, sdp) {
  await pc.setRemoteDescription({type: 'offer', sdp});
  await echoTracks(pc);
  await pc.setLocalDescription(await pc.createAnswer());
  await gatheringComplete(pc);
  return pc.localDescription.sdp;
}

async function answerOffer({session, sdp}) {
  const peer = newPeer(session);
  try {
    const answerSdp = await answer(peer.pc, sdp);
    log(`${peer.name}: answered: ${summarize(answerSdp)}`);
    return {ok: true, sdp: answerSdp};
  } catch (e) {
    closePeer(session, 'offer rejected');
    return {ok: false, status: 400, reason: `cannot answer this offer: ${describe(e)}`};
  }
}

async function renegotiateSession(peer, sdp) {
  try {
    const answerSdp = await answer(peer.pc, sdp);
    log(`${peer.name}: renegotiated: ${summarize(answerSdp)}`);
    return {ok: true, sdp: answerSdp};
  } catch (e) {
    return {ok: false, status: 400, reason: `cannot apply this offer: ${describe(e)}`};
  }
}

/** Trickle: add the client's candidates (the answer already carried all of ours). */
async function trickleSession(peer, frag) {
  const remote = iceCredentials(peer.pc.remoteDescription.sdp).ufrag;
  if (frag.ufrag && frag.ufrag !== remote) {
    return {ok: false, status: 422, reason: `the fragment's ice-ufrag ${frag.ufrag} is not the session's (${remote})`};
  }
  try {
    await addRemoteCandidates(peer.pc, frag);
  } catch (e) {
    return {ok: false, status: 422, reason: `cannot add these candidates: ${describe(e)}`};
  }
  return {ok: true, status: 204};
}

/** ICE restart (RFC 9725 4.3.2): new remote credentials in, our new ones out. */
async function restartSession(peer, frag) {
  const {pc} = peer;
  if (!frag.ufrag || !frag.pwd) return {ok: false, status: 422, reason: 'an ICE restart fragment needs ice-ufrag and ice-pwd'};
  const before = iceCredentials(pc.localDescription.sdp).ufrag;
  const gathered = nextGatheringEnd(pc);
  gathered.catch(() => {});
  try {
    await pc.setRemoteDescription({type: 'offer', sdp: replaceIce(pc.remoteDescription.sdp, frag)});
    await pc.setLocalDescription(await pc.createAnswer());
  } catch (e) {
    return {ok: false, status: 422, reason: `cannot restart ICE with this fragment: ${describe(e)}`};
  }
  const after = iceCredentials(pc.localDescription.sdp).ufrag;
  if (after === before) return {ok: false, status: 500, reason: `the browser kept its ice-ufrag ${after}`};
  await gathered;
  log(`${peer.name}: ICE restarted, ufrag ${before} -> ${after}: ${summarize(pc.localDescription.sdp)}`);
  return {ok: true, status: 200, frag: buildFragment(fragmentOf(pc.localDescription.sdp, true))};
}

/** One request of the wrapper about a session. */
async function serveRequest(message) {
  if (message.op === 'offer') return answerOffer(message);
  const peer = peers.get(message.session);
  if (!peer) return {ok: false, status: 404, reason: `no session ${message.session} (closed or never made)`};
  if (message.op === 'renegotiate') return renegotiateSession(peer, message.sdp);
  if (message.op === 'patch') {
    const frag = parseFragment(message.frag);
    return message.restart ? restartSession(peer, frag) : trickleSession(peer, frag);
  }
  if (message.op === 'delete') {
    closePeer(message.session, 'DELETE');
    return {ok: true};
  }
  return {ok: false, status: 405, reason: `unknown request ${message.op}`};
}

/** Requests about one session run one at a time, in arrival order. */
function serveInOrder(message) {
  const peer = peers.get(message.session);
  if (!peer || message.op === 'offer') return serveRequest(message);
  const run = peer.chain.then(() => serveRequest(message));
  peer.chain = run.catch(() => {});
  return run;
}
