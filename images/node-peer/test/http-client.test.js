'use strict';
/** node --test images/node-peer/test: the client's signalling requests against a local server. */

const assert = require('assert');
const http = require('http');
const net = require('net');
const test = require('node:test');
const { postOffer, Session } = require('../http-client');
const { TestFailed } = require('../contract');

const quiet = { info() {}, warn() {}, debug() {}, error() {} };

/** A server that records each request and answers with `respond(req, body, res)`. */
async function withServer(respond, body) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: text });
      respond(req, text, res);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await body(`http://127.0.0.1:${server.address().port}`, seen);
  } finally {
    server.close();
  }
}

test('the offer goes out as JSON; the answer, Location and ETag come back', async () => {
  await withServer((req, text, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', Location: '/session/7', ETag: '"e1"' });
    res.write('{"type": "answer", ');  // two writes: a chunked body
    res.end('"sdp": "v=0\\r\\n"}');
  }, async (base, seen) => {
    const { answer, session } = await postOffer(`${base}/offer?payload=41`, 'v=0\r\noffer', quiet);
    assert.strictEqual(answer, 'v=0\r\n');
    assert.strictEqual(session.url, `${base}/session/7`);
    assert.strictEqual(session.etag, '"e1"');
    assert.deepStrictEqual(JSON.parse(seen[0].body), { type: 'offer', sdp: 'v=0\r\noffer' });
    assert.strictEqual(seen[0].url, '/offer?payload=41');
    assert.strictEqual(seen[0].headers['content-type'], 'application/json');
  });
});

test('a refused offer names the status and the start of the body, not the query', async () => {
  await withServer((req, text, res) => {
    res.writeHead(400);
    res.end('bad payload');
  }, async (base) => {
    await assert.rejects(
      postOffer(`${base}/offer?payload=${'ab'.repeat(700)}`, 'v=0', quiet),
      (error) => error instanceof TestFailed && /HTTP 400: bad payload/.test(error.message) && !/abab/.test(error.message),
    );
  });
});

test('session requests carry their headers; a 204 DELETE is fine', async () => {
  await withServer((req, text, res) => {
    if (req.method === 'PATCH') {
      res.writeHead(200, { ETag: '"e2"' });
      res.end('a=ice-ufrag:new\r\n');
    } else {
      res.writeHead(204);
      res.end();
    }
  }, async (base, seen) => {
    const session = new Session(`${base}/session/1`, '"e1"', quiet);
    assert.strictEqual(await session.restartIce('a=ice-ufrag:x\r\n'), 'a=ice-ufrag:new\r\n');
    assert.strictEqual(session.etag, '"e2"');
    await session.delete();
    assert.deepStrictEqual(seen.map((r) => r.method), ['PATCH', 'DELETE']);
    assert.strictEqual(seen[0].headers['if-match'], '*');
    assert.strictEqual(seen[0].body, 'a=ice-ufrag:x\r\n');
  });
});

test('a server that is not there is a network failure', async () => {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  const session = new Session(`http://127.0.0.1:${port}/session/1`, null, quiet);
  await assert.rejects(session.delete(), (error) => error.network === true && /cannot reach .*ECONNREFUSED/.test(error.message));
});
