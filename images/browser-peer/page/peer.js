'use strict';
// Start-up and the wrapper's messages. peer.py serves this page on 127.0.0.1 and talks
// to it over a WebSocket, because the page can neither reach a peer server (no CORS
// headers there) nor listen on a port:
//
//   page -> wrapper   ready | fatal | log | status | result (client)
//                     http {id, method, url, headers, body, retry} (client)
//                     reply {id, ...} (server: to offer/patch/renegotiate/delete)
//   wrapper -> page   start (client) | reply {id, status, headers, body | error} (client)
//                     offer | patch | renegotiate | delete {id, session, ...} (server)
//
// The cell's environment comes from GET /config (see environment.py).

/** Gathers once, which proves WebRTC works here and warms it up. */
async function selfTest() {
  const pc = new RTCPeerConnection({iceServers: []});
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

socket = new WebSocket(`ws://${location.host}/ws`);

socket.addEventListener('open', async () => {
  try {
    CONFIG = await (await fetch('/config')).json();
    const selfTestStart = performance.now();
    // The server proves WebRTC works before it listens; the client's test does the
    // same gathering at once, so it skips the self-test and saves its time.
    const gathered = ROLE === 'server' ? await selfTest() : 'skipped (client)';
    send({op: 'ready', userAgent: navigator.userAgent, visibility: document.visibilityState, gathered,
      navigationStart: performance.timeOrigin, selfTestMs: performance.now() - selfTestStart});
  } catch (e) {
    send({op: 'fatal', reason: `WebRTC does not work in this page: ${describe(e)}`});
  }
});

socket.addEventListener('message', async (event) => {
  const message = JSON.parse(event.data);
  if (ROLE === 'client' && message.op === 'start') runClient();
  else if (ROLE === 'client' && message.op === 'reply') settleRequest(message);
  else if (ROLE === 'server' && ['offer', 'patch', 'renegotiate', 'delete'].includes(message.op)) {
    let reply;
    try {
      reply = await serveInOrder(message);
    } catch (e) {
      reply = {ok: false, status: 500, reason: describe(e)};
    }
    send({op: 'reply', id: message.id, ...reply});
  } else log(`unexpected message from the wrapper: ${message.op}`);
});
