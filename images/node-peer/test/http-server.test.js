'use strict';
/** node --test images/node-peer/test: the session resource's status codes, with a fake host. */

const assert = require('assert');
const { EventEmitter } = require('events');
const test = require('node:test');
const { HttpError, SignallingServer } = require('../http-server');

const OFFER = 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n';
const FRAG = 'application/trickle-ice-sdpfrag';
const quiet = { info() {}, warn() {}, debug() {}, error() {} };

/** A host whose peers do nothing; restart can be made unsupported, closeAll made to fail. */
function fakeHost({ canRestart = true, closeFails = false } = {}) {
  return {
    closed: [],
    opened: [],
    async open(offer, remote, options) {
      const peer = new EventEmitter();
      peer.isClosed = false;
      this.opened.push({ peer, options });
      return { peer, answer: 'v=0\r\nanswer\r\n' };
    },
    async trickle() { return null; },
    async restart(peer, text, offer) {
      if (!canRestart) throw new HttpError(501, 'cannot');
      return { frag: 'a=ice-ufrag:x\r\na=ice-pwd:y\r\n', offer };
    },
    async renegotiate() { return 'v=0\r\nrenegotiated\r\n'; },
    close(peer) { this.closed.push(peer); },
    async closeAll() {
      if (closeFails) throw new Error('peer1 still open after 4000 ms');
      const open = this.opened.filter(({ peer }) => !this.closed.includes(peer));
      for (const { peer } of open) this.close(peer);
      return open.length;
    },
  };
}

async function withServer(host, body) {
  const server = new SignallingServer(host, quiet);
  await new Promise((resolve) => server.server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.server.address().port}`;
  try {
    await body(base);
  } finally {
    server.server.close();
  }
}

async function post(base, query = '') {
  const response = await fetch(`${base}/offer${query}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'offer', sdp: OFFER }),
  });
  return { response, session: new URL(response.headers.get('location'), base).href, etag: response.headers.get('etag') };
}

test('offer, trickle, restart, renegotiate, delete', async () => withServer(fakeHost(), async (base) => {
  const { response, session, etag } = await post(base);
  assert.strictEqual(response.status, 200);
  assert.match(etag, /^".+"$/);
  const patch = (ifMatch, type = FRAG) => fetch(session, { method: 'PATCH', headers: { 'Content-Type': type, ...(ifMatch ? { 'If-Match': ifMatch } : {}) }, body: 'a=ice-ufrag:q\r\n' });
  assert.strictEqual((await patch(etag)).status, 204);
  assert.strictEqual((await patch('"stale"')).status, 412);
  assert.strictEqual((await patch(null)).status, 428);
  assert.strictEqual((await patch(etag, 'text/plain')).status, 415);
  const restarted = await patch('*');
  assert.strictEqual(restarted.status, 200);
  assert.notStrictEqual(restarted.headers.get('etag'), etag);
  const renegotiated = await fetch(session, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: OFFER });
  assert.strictEqual(renegotiated.status, 200);
  assert.strictEqual(renegotiated.headers.get('content-type'), 'application/sdp');
  assert.strictEqual((await fetch(session, { method: 'GET' })).status, 405);
  assert.strictEqual((await fetch(session, { method: 'DELETE' })).status, 200);
  assert.strictEqual((await fetch(session, { method: 'DELETE' })).status, 404);
}));

test('bad offers are 4xx, an unsupported restart is 501', async () => withServer(fakeHost({ canRestart: false }), async (base) => {
  const bad = await fetch(`${base}/offer`, { method: 'POST', body: 'not json' });
  assert.strictEqual(bad.status, 400);
  assert.strictEqual((await fetch(`${base}/offer`)).status, 405);
  assert.strictEqual((await fetch(`${base}/nothing`)).status, 404);
  const { session } = await post(base);
  const restart = await fetch(session, { method: 'PATCH', headers: { 'Content-Type': FRAG, 'If-Match': '*' }, body: 'a=ice-ufrag:q\r\n' });
  assert.strictEqual(restart.status, 501);
}));

test('POST /offer?payload= gives the host that P; without it, none', async () => {
  const host = fakeHost();
  await withServer(host, async (base) => {
    const p = Buffer.from('!'.repeat(300) + '~'.repeat(300), 'latin1');
    assert.strictEqual((await post(base, `?cell=7&payload=${p.toString('hex')}&x=y`)).response.status, 200);
    assert.strictEqual((await post(base)).response.status, 200);
    assert.deepStrictEqual(host.opened[0].options.payload, p);
    assert.deepStrictEqual(host.opened[1].options, {});
  });
});

test('a malformed payload parameter is 400 and opens no peer', async () => {
  const host = fakeHost();
  await withServer(host, async (base) => {
    for (const query of ['?payload=', '?payload=2A7E', '?payload=2a7', '?payload=zz', '?payload=2a%207e']) {
      const { response } = await post(base, query);
      assert.strictEqual(response.status, 400, query);
      assert.match((await response.json()).error, /payload parameter/, query);
    }
    assert.strictEqual(host.opened.length, 0);
  });
});

test('DELETE /sessions closes every peer and forgets every session', async () => {
  const host = fakeHost();
  await withServer(host, async (base) => {
    assert.strictEqual((await fetch(`${base}/sessions`, { method: 'DELETE' })).status, 200);
    const sessions = [(await post(base)).session, (await post(base)).session];
    assert.strictEqual((await fetch(`${base}/sessions`, { method: 'DELETE' })).status, 200);
    assert.deepStrictEqual(host.closed, host.opened.map(({ peer }) => peer));
    for (const session of sessions) {
      assert.strictEqual((await fetch(session, { method: 'DELETE' })).status, 404);
      const patch = await fetch(session, { method: 'PATCH', headers: { 'Content-Type': FRAG, 'If-Match': '*' }, body: 'a=ice-ufrag:q\r\n' });
      assert.strictEqual(patch.status, 404);
    }
    assert.strictEqual((await post(base)).response.status, 200);
  });
});

test('other methods on /sessions are 405; peers that stay open make DELETE 503', async () => {
  await withServer(fakeHost(), async (base) => {
    for (const method of ['GET', 'POST', 'PATCH']) {
      const response = await fetch(`${base}/sessions`, { method });
      assert.strictEqual(response.status, 405, method);
      assert.strictEqual(response.headers.get('allow'), 'DELETE');
    }
  });
  await withServer(fakeHost({ closeFails: true }), async (base) => {
    const response = await fetch(`${base}/sessions`, { method: 'DELETE' });
    assert.strictEqual(response.status, 503);
    assert.match((await response.json()).error, /peer1 still open/);
  });
});
