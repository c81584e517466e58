'use strict';
// Client role: signalling. The page cannot reach the peer server itself (no CORS
// headers there), so every HTTP request goes through the wrapper ({op: 'http'}), which
// performs it and returns status, headers and body. The session resource logic
// (docs/contract.md 3.2) lives here, in the page, next to the peer connection it drives.

/** One HTTP exchange through the wrapper; resolves {status, headers, body}. */
async function http(method, url, {headers = {}, body = null, retry = false} = {}) {
  const reply = await request({op: 'http', method, url, headers, body, retry});
  if (reply.error) throw new TestFailed(reply.error);
  return reply;
}

function expectStatus(reply, what, ...wanted) {
  if (!wanted.includes(reply.status)) {
    throw new TestFailed(`${what} answered HTTP ${reply.status}${reply.body ? `: ${reply.body.slice(0, 200)}` : ''}`);
  }
}

/** The server's side of one peer connection: POST /offer, then its session URL if any. */
class Session {
  constructor(offerUrl) {
    this.offerUrl = offerUrl;
    this.url = null; // absolute session URL from Location, null without one
    this.etag = null;
  }

  /** POST /offer (JSON, retried while the server starts); returns the answer. */
  async offer(description) {
    const reply = await http('POST', this.offerUrl, {
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({type: description.type, sdp: description.sdp}),
      retry: true,
    });
    expectStatus(reply, 'POST /offer', 200);
    let answer;
    try {
      answer = JSON.parse(reply.body);
    } catch (e) {
      throw new TestFailed(`the server's reply to POST /offer is not JSON: ${reply.body.slice(0, 200)}`);
    }
    if (answer.type !== 'answer' || typeof answer.sdp !== 'string') {
      throw new TestFailed(`the server's reply is not an answer: ${reply.body.slice(0, 200)}`);
    }
    if (reply.headers.location) this.url = new URL(reply.headers.location, this.offerUrl).href;
    this.etag = reply.headers.etag || null;
    log(`session resource: ${this.url || 'none (no Location header)'}, ETag ${this.etag || 'none'}`);
    return {type: 'answer', sdp: answer.sdp};
  }

  require(test) {
    if (!this.url) throw new Unsupported(`server has no session resource (no Location in its answer), ${test} needs one`);
  }

  /** PATCH an sdpfrag; ifMatch '*' restarts ICE. Returns the reply's fragment, if any. */
  async patch(fragText, ifMatch) {
    const reply = await http('PATCH', this.url, {
      headers: {'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': ifMatch},
      body: fragText,
    });
    expectStatus(reply, `PATCH ${this.url} (If-Match: ${ifMatch})`, 200, 204);
    if (reply.headers.etag) this.etag = reply.headers.etag;
    return reply.status === 200 && reply.body ? parseFragment(reply.body) : null;
  }

  /** Renegotiation: POST a complete offer to the session, get the complete answer. */
  async renegotiate(sdp) {
    const reply = await http('POST', this.url, {headers: {'Content-Type': 'application/sdp'}, body: sdp});
    expectStatus(reply, `POST ${this.url}`, 200);
    if (reply.headers.etag) this.etag = reply.headers.etag;
    if (!/^v=0/.test(reply.body)) throw new TestFailed(`POST ${this.url} returned no SDP: ${reply.body.slice(0, 200)}`);
    return {type: 'answer', sdp: reply.body};
  }

  async remove() {
    if (!this.url) return;
    const reply = await http('DELETE', this.url);
    expectStatus(reply, `DELETE ${this.url}`, 200);
    log(`session ${this.url} deleted`);
  }
}

/** Non-trickle offer/answer: offer after ICE gathering, POST it, apply the answer. */
async function negotiate(pc, session) {
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  const offer = pc.localDescription;
  log(`offer ready: ${summarize(offer.sdp)}`);
  if (hostCandidatesHidden(offer.sdp)) log('WARNING: host candidates are mDNS .local names');
  if (!/^a=candidate:/m.test(offer.sdp)) {
    const servers = CONFIG.ice_servers.map((s) => [].concat(s.urls).join(' ')).join(', ') || 'none';
    throw new TestFailed(`ICE gathering produced no candidate (policy ${CONFIG.ice_transport_policy}, ICE servers: ${servers}): no TURN allocation succeeded`);
  }
  const answer = await session.offer(offer);
  log(`answer: ${summarize(answer.sdp)}`);
  await applyAnswer(pc, answer);
}

async function applyAnswer(pc, answer) {
  try {
    await pc.setRemoteDescription(answer);
  } catch (e) {
    throw new TestFailed(`cannot apply the server's answer: ${describe(e)}`);
  }
}
