'use strict';
/**
 * The client side of the signalling (contract section 3): POST /offer with retries
 * while the server starts, then the session resource if the server has one
 * (PATCH trickle / ICE restart, POST renegotiation, DELETE).
 */

const http = require('http');

const { TestFailed, Unsupported, withoutQuery } = require('./contract');

const POST_RETRY_MS = 10000;
const REQUEST_TIMEOUT_MS = 15000;
const FRAG_TYPE = 'application/trickle-ice-sdpfrag';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function excerpt(text) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}

/**
 * One HTTP request with a time limit; network errors become TestFailed. node:http, not
 * fetch: loading fetch (undici) cost every Node client about 75 ms of CPU at each start.
 */
function request(url, init, what) {
  return new Promise((resolve, reject) => {
    const failed = (error) => {
      if (error.code === 'TIMEOUT') {
        reject(new TestFailed(`${what}: no response from ${withoutQuery(url)} within ${REQUEST_TIMEOUT_MS / 1000}s`));
        return;
      }
      const failure = new TestFailed(`${what}: cannot reach ${withoutQuery(url)}: ${error.code || error.message}`);
      failure.network = true;
      reject(failure);
    };
    let req;
    try {
      req = http.request(url, { method: init.method, headers: init.headers || {} });
    } catch (error) {
      reject(new TestFailed(`${what}: ${error.message}`));
      return;
    }
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      const error = new Error('timeout');
      error.code = 'TIMEOUT';
      req.destroy(error);
    });
    req.on('error', failed);
    req.on('response', (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('error', failed);
      response.on('end', () => resolve({
        status: response.statusCode,
        headers: { get: (name) => response.headers[name.toLowerCase()] ?? null },
        body: Buffer.concat(chunks).toString('utf8'),
      }));
    });
    req.end(init.body);
  });
}

/** The session resource of one peer connection (section 3.2). */
class Session {
  constructor(url, etag, log) {
    this.url = url;
    this.etag = etag;
    this.log = log;
  }

  /** Trickle PATCH: returns the server's sdpfrag if it answered 200 with one, else null. */
  async trickle(frag) {
    const reply = await request(this.url, {
      method: 'PATCH',
      headers: { 'Content-Type': FRAG_TYPE, ...(this.etag ? { 'If-Match': this.etag } : {}) },
      body: frag,
    }, 'trickle PATCH');
    if (reply.status === 204) return null;
    if (reply.status === 200) return reply.body.trim() ? reply.body : null;
    throw new TestFailed(`trickle PATCH answered HTTP ${reply.status}: ${excerpt(reply.body)}`);
  }

  /** ICE restart PATCH (If-Match: *): returns the server's sdpfrag; keeps the new ETag. */
  async restartIce(frag) {
    const reply = await request(this.url, {
      method: 'PATCH', headers: { 'Content-Type': FRAG_TYPE, 'If-Match': '*' }, body: frag,
    }, 'ICE restart PATCH');
    if (reply.status === 405 || reply.status === 501) {
      throw new Unsupported(`server cannot restart ICE (HTTP ${reply.status}: ${excerpt(reply.body)})`);
    }
    if (reply.status !== 200) throw new TestFailed(`ICE restart PATCH answered HTTP ${reply.status}: ${excerpt(reply.body)}`);
    this.takeEtag(reply.headers, 'ICE restart');
    return reply.body;
  }

  /** Renegotiation POST of a complete offer: returns the answer SDP. */
  async renegotiate(offerSdp) {
    const reply = await request(this.url, {
      method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offerSdp,
    }, 'renegotiation POST');
    if (reply.status === 405 || reply.status === 501) {
      throw new Unsupported(`server cannot renegotiate (HTTP ${reply.status}: ${excerpt(reply.body)})`);
    }
    if (reply.status !== 200) throw new TestFailed(`renegotiation POST answered HTTP ${reply.status}: ${excerpt(reply.body)}`);
    if (!/^v=0/m.test(reply.body)) throw new TestFailed(`renegotiation answer is not SDP: ${excerpt(reply.body)}`);
    this.takeEtag(reply.headers, 'renegotiation');
    return reply.body;
  }

  async delete() {
    const reply = await request(this.url, { method: 'DELETE' }, 'session DELETE');
    if (reply.status !== 200 && reply.status !== 204) {
      throw new TestFailed(`session DELETE answered HTTP ${reply.status}: ${excerpt(reply.body)}`);
    }
  }

  takeEtag(headers, what) {
    const etag = headers.get('etag');
    if (etag) this.etag = etag;
    else this.log.warn(`the server's ${what} response has no ETag; keeping ${this.etag}`);
  }
}

/**
 * POSTs the offer (retried for about 10 s while the server is not listening yet) and
 * returns {answer, session}; session is null when the server has no session resource.
 */
async function postOffer(url, sdp, log) {
  const giveUp = Date.now() + POST_RETRY_MS;
  const init = {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'offer', sdp }),
  };
  for (;;) {
    let reply;
    try {
      reply = await request(url, init, 'POST offer');
    } catch (error) {
      if (!error.network || Date.now() > giveUp) throw error;
      log.debug(`${error.message}; retrying`);
      await sleep(250);
      continue;
    }
    if (reply.status !== 200) throw new TestFailed(`server answered the offer with HTTP ${reply.status}: ${excerpt(reply.body)}`);
    let answer;
    try {
      answer = JSON.parse(reply.body);
    } catch {
      throw new TestFailed(`server's answer is not JSON: ${excerpt(reply.body)}`);
    }
    if (!answer || answer.type !== 'answer' || typeof answer.sdp !== 'string') {
      throw new TestFailed(`server's reply is not an answer: ${excerpt(reply.body)}`);
    }
    const location = reply.headers.get('location');
    const session = location ? new Session(new URL(location, url).href, reply.headers.get('etag'), log) : null;
    if (session && !reply.headers.get('etag')) log.warn('the answer has a Location but no ETag');
    return { answer: answer.sdp, session };
  }
}

module.exports = { postOffer, Session, FRAG_TYPE };
