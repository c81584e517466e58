'use strict';
/**
 * node --test images/node-peer/test: the echo server's PeerHost with a fake stack, over
 * HTTP: which P a session of datachannel-server-open sends (the offer's query, else
 * TEST_PAYLOAD) and DELETE /sessions waiting for every peer to close (contract 1.1).
 */

const assert = require('assert');
const test = require('node:test');
const { Channel } = require('../channel');
const { sha256hex } = require('../contract');
const { SignallingServer } = require('../http-server');
const { Peer } = require('../peer');
const { PeerHost } = require('../server');

const OFFER = 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n';
const ANSWER = 'v=0\r\na=ice-ufrag:srv1\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n';
const quiet = { info() {}, warn() {}, debug() {}, error() {} };
const hexOf = (text) => Buffer.from(text, 'latin1').toString('hex');
const P_ENV = '#'.repeat(600);
const P_QUERY = '%'.repeat(700);

/** A channel that opens at once and records what the server sends. */
class FakeChannel extends Channel {
  constructor(label) {
    super(label, 1);
    this.sent = [];
    setImmediate(() => this.emit('open'));
  }

  send(data) { this.sent.push(data); }
}

/** A peer that connects once it has an offer; closeDelayMs > 0: its stack closes asynchronously. */
class FakePeer extends Peer {
  constructor(options, closeDelayMs) {
    super(options);
    this.channels = [];
    this.closeDelayMs = closeDelayMs;
  }

  createDataChannel(label) {
    const channel = new FakeChannel(label);
    this.channels.push(channel);
    return channel;
  }

  async acceptOffer() { setImmediate(() => this.setConnectionState('connected')); }

  localDescription() { return ANSWER; }

  gatheringState() { return 'complete'; }

  closeStack() {
    if (!this.closeDelayMs) return undefined;
    return new Promise((resolve) => {
      setTimeout(() => { this.stackClosed = true; resolve(); }, this.closeDelayMs).unref();
    });
  }
}

function fakeAdapter({ closeDelayMs = 0 } = {}) {
  return {
    name: 'fake',
    peers: [],
    capabilities: { iceRestart: true, renegotiation: true },
    createPeer(options) {
      const peer = new FakePeer(options, closeDelayMs);
      this.peers.push(peer);
      return peer;
    },
  };
}

async function withHost(adapter, body) {
  const host = new PeerHost(adapter, { TEST_CASE: 'datachannel-server-open', TEST_PAYLOAD: hexOf(P_ENV) });
  const server = new SignallingServer(host, quiet);
  await new Promise((resolve) => server.server.listen(0, '127.0.0.1', resolve));
  try {
    await body(`http://127.0.0.1:${server.server.address().port}`, host);
  } finally {
    await host.closeAll('test over', 1000).catch(() => {});
    server.server.close();
  }
}

function post(base, query = '') {
  return fetch(`${base}/offer${query}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'offer', sdp: OFFER }),
  });
}

/** The first message the server sent on its 'interop-server' channel. */
async function serverOpenPayload(peer) {
  for (let i = 0; i < 100; i += 1) {
    const channel = peer.channels.find((c) => c.label === 'interop-server');
    if (channel && channel.sent.length) return { channel, first: channel.sent[0] };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${peer.name} sent nothing on interop-server`);
}

test("datachannel-server-open sends the query's P, else TEST_PAYLOAD", async () => {
  const adapter = fakeAdapter();
  await withHost(adapter, async (base) => {
    assert.strictEqual((await post(base, `?payload=${hexOf(P_QUERY)}`)).status, 200);
    assert.strictEqual((await post(base)).status, 200);
    const [fromQuery, fromEnv] = adapter.peers;
    const { channel, first } = await serverOpenPayload(fromQuery);
    assert.strictEqual(first, P_QUERY);
    channel.emit('message', first);
    await new Promise((resolve) => setImmediate(resolve));
    assert.strictEqual(channel.sent[1], `CONFIRMED:${sha256hex(Buffer.from(P_QUERY, 'latin1'))}`);
    assert.strictEqual((await serverOpenPayload(fromEnv)).first, P_ENV);
  });
});

test('DELETE /sessions answers once every stack has closed, then 404 for them', async () => {
  const adapter = fakeAdapter({ closeDelayMs: 200 });
  await withHost(adapter, async (base, host) => {
    const locations = [];
    for (let i = 0; i < 2; i += 1) locations.push(new URL((await post(base)).headers.get('location'), base).href);
    const response = await fetch(`${base}/sessions`, { method: 'DELETE' });
    assert.strictEqual(response.status, 200);
    assert.deepStrictEqual(adapter.peers.map((peer) => peer.stackClosed), [true, true], 'answered before the stacks closed');
    assert.strictEqual(host.peers.size, 0);
    for (const location of locations) assert.strictEqual((await fetch(location, { method: 'DELETE' })).status, 404);
    assert.strictEqual((await post(base)).status, 200);
  });
});

test('closeAll gives up after its deadline, naming the peer that stayed open', async () => {
  const adapter = fakeAdapter({ closeDelayMs: 60000 });
  const host = new PeerHost(adapter, { TEST_CASE: 'datachannel' });
  await host.open(OFFER, 'test');
  await assert.rejects(host.closeAll('test', 100), /peer1 still open after 100 ms/);
  adapter.peers[0].emit('closed');
  assert.strictEqual(await host.closeAll('test'), 0);
});
