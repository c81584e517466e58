'use strict';
/**
 * The server side of the signalling (contract section 3) over Node's http module:
 * POST /offer (with the cell's payload in its query, section 1.1), the session resource
 * at /session/<id> (PATCH trickle and ICE restart with ETag/If-Match, POST
 * renegotiation, DELETE), and DELETE /sessions between the cells of a reused server.
 * What a request does to a peer connection is the host's business (server.js); this
 * module does HTTP: routes, bodies, content types, entity tags and status codes. A bad
 * request never takes the server down.
 */

const crypto = require('crypto');
const http = require('http');
const { payloadFromHex, withoutQuery } = require('./contract');

const MAX_BODY_BYTES = 1 << 20;
const FRAG_TYPE = 'application/trickle-ice-sdpfrag';
const CLOSED_SESSION_KEEP_MS = 120000;
const SESSION_PATH = /^\/session\/([A-Za-z0-9_-]+)$/;

/** An error that is the HTTP response: status and reason. */
class HttpError extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

function send(response, status, body, headers = {}) {
  if (response.headersSent) return;
  const text = body === undefined ? '' : body;
  response.writeHead(status, { 'Content-Length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function sendJson(response, status, object, headers = {}) {
  send(response, status, JSON.stringify(object), { 'Content-Type': 'application/json', ...headers });
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'body larger than 1 MiB'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function mediaType(request) {
  return String(request.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
}

/** The offer of POST /offer: JSON {type: "offer", sdp} with an SDP that has an m= line. */
function parseOffer(body) {
  let description;
  try {
    description = JSON.parse(body);
  } catch (error) {
    throw new HttpError(400, `not JSON: ${error.message}`);
  }
  if (!description || typeof description !== 'object' || typeof description.sdp !== 'string') {
    throw new HttpError(400, 'not an RTCSessionDescriptionInit (needs string fields type and sdp)');
  }
  if (description.type !== 'offer') throw new HttpError(400, `expected type 'offer', got ${JSON.stringify(description.type)}`);
  checkSdp(description.sdp);
  return description.sdp;
}

/**
 * What the offer URL's query asks of the session (section 1.1): {payload} when it has a
 * `payload` parameter, else {} (the host then uses TEST_PAYLOAD). Other parameters are
 * ignored; a malformed payload is a 400, never a session with the wrong P.
 */
function sessionOptions(url) {
  const hex = url.searchParams.get('payload');
  if (hex === null) return {};
  try {
    return { payload: payloadFromHex(hex, 'the payload parameter') };
  } catch (error) {
    throw new HttpError(400, error.message);
  }
}

function checkSdp(sdp) {
  if (!/^v=0\r?$/m.test(sdp) || !/^m=(audio|video|application) /m.test(sdp)) {
    throw new HttpError(400, 'the SDP has no v=0 line or no audio/video/application m= section');
  }
}

/**
 * The signalling server. `host` does the WebRTC side:
 *   open(offerSdp, remote, {payload}) -> {peer, answer}   a new peer connection, answered
 *   trickle(peer, fragText) -> fragText|null         candidates from the client
 *   restart(peer, fragText, lastOffer) -> {frag, offer}   ICE restart (or throws 501)
 *   renegotiate(peer, offerSdp) -> answerSdp         a new offer for the peer
 *   close(peer, why)
 *   closeAll(why) -> count                           every peer closed (rejects if one stays open)
 * Errors thrown by the host that are not HttpError become 422 (a fragment or offer
 * the stack could not apply) for session requests and 400 for POST /offer.
 */
class SignallingServer {
  constructor(host, log) {
    this.host = host;
    this.log = log;
    this.sessions = new Map();
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error) => this.fail(response, error, request));
    });
  }

  listen(port) {
    return new Promise((resolve) => this.server.listen(port, '0.0.0.0', resolve));
  }

  fail(response, error, request) {
    const status = error instanceof HttpError ? error.status : 500;
    this.log.warn(`${request.method} ${withoutQuery(request.url)}: HTTP ${status}: ${error.message}`);
    sendJson(response, status, { error: error.message }, error.headers || {});
  }

  async handle(request, response) {
    const url = new URL(request.url, 'http://server');
    const path = url.pathname;
    if (path === '/offer') return this.offer(request, response, url);
    if (path === '/sessions') return this.removeAll(request, response);
    const match = SESSION_PATH.exec(path);
    if (!match) throw new HttpError(404, `no such resource ${path}; POST offers to /offer`);
    const session = this.sessions.get(match[1]);
    if (!session) throw new HttpError(404, `no session ${match[1]} (unknown or deleted)`);
    if (request.method === 'DELETE') return this.remove(session, response);
    if (session.peer.isClosed && ['PATCH', 'POST'].includes(request.method)) {
      throw new HttpError(404, `session ${session.id} ended: its peer connection is closed`);
    }
    if (request.method === 'PATCH') return this.patch(session, request, response);
    if (request.method === 'POST') return this.renegotiate(session, request, response);
    throw new HttpError(405, `${request.method} is not allowed on a session`, { Allow: 'PATCH, POST, DELETE' });
  }

  async offer(request, response, url) {
    if (request.method !== 'POST') throw new HttpError(405, 'POST an offer to /offer', { Allow: 'POST' });
    const offer = parseOffer(await readBody(request));
    const options = sessionOptions(url);
    const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    let opened;
    try {
      opened = await this.host.open(offer, remote, options);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(400, `cannot answer this offer: ${error.message}`);
    }
    const id = crypto.randomBytes(8).toString('hex');
    const session = { id, peer: opened.peer, offer, generation: 0, etag: null };
    this.bump(session);
    this.sessions.set(id, session);
    // The resource outlives its peer connection until DELETE (a client closes first,
    // then deletes), but not forever.
    opened.peer.once('closed', () => setTimeout(() => this.sessions.delete(id), CLOSED_SESSION_KEEP_MS).unref());
    sendJson(response, 200, { type: 'answer', sdp: opened.answer }, { Location: `/session/${id}`, ETag: session.etag });
  }

  /** A new entity tag for the session's ICE state (after a restart or renegotiation). */
  bump(session) {
    session.generation += 1;
    session.etag = `"${session.id}-${session.generation}"`;
  }

  async patch(session, request, response) {
    if (mediaType(request) !== FRAG_TYPE) throw new HttpError(415, `PATCH takes ${FRAG_TYPE}`);
    const ifMatch = request.headers['if-match'];
    const body = await readBody(request);
    if (ifMatch === undefined) throw new HttpError(428, 'PATCH needs If-Match (the ETag, or * for an ICE restart)');
    if (ifMatch.trim() === '*') return this.restart(session, body, response);
    if (ifMatch.trim() !== session.etag) {
      throw new HttpError(412, `If-Match ${ifMatch} is not the current entity tag ${session.etag}`, { ETag: session.etag });
    }
    const frag = await this.apply(() => this.host.trickle(session.peer, body));
    if (frag) send(response, 200, frag, { 'Content-Type': FRAG_TYPE, ETag: session.etag });
    else send(response, 204, undefined, { ETag: session.etag });
  }

  async restart(session, body, response) {
    const result = await this.apply(() => this.host.restart(session.peer, body, session.offer));
    session.offer = result.offer;
    this.bump(session);
    send(response, 200, result.frag, { 'Content-Type': FRAG_TYPE, ETag: session.etag });
  }

  async renegotiate(session, request, response) {
    if (mediaType(request) !== 'application/sdp') throw new HttpError(415, 'POST to a session takes application/sdp (a complete offer)');
    const offer = await readBody(request);
    checkSdp(offer);
    const answer = await this.apply(() => this.host.renegotiate(session.peer, offer));
    session.offer = offer;
    this.bump(session);
    send(response, 200, answer, { 'Content-Type': 'application/sdp', ETag: session.etag });
  }

  async remove(session, response) {
    this.sessions.delete(session.id);
    this.host.close(session.peer, 'session deleted');
    send(response, 200, '');
  }

  /**
   * DELETE /sessions (section 1.1): forgets every session at once (later requests get
   * 404) and answers 200 only once the host has closed every peer connection, so a
   * reused server starts the next cell with nothing of this one left.
   */
  async removeAll(request, response) {
    if (request.method !== 'DELETE') throw new HttpError(405, 'only DELETE ends every session', { Allow: 'DELETE' });
    const forgotten = this.sessions.size;
    this.sessions.clear();
    let closed;
    try {
      closed = await this.host.closeAll('DELETE /sessions');
    } catch (error) {
      throw new HttpError(503, `not every peer connection closed: ${error.message}`);
    }
    this.log.info(`DELETE /sessions: closed ${closed} peer connection(s), forgot ${forgotten} session(s)`);
    send(response, 200, '');
  }

  /** Runs a host action; what the stack refuses becomes 422 Unprocessable Content. */
  async apply(action) {
    try {
      return await action();
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(422, error.message);
    }
  }
}

module.exports = { SignallingServer, HttpError, FRAG_TYPE };
