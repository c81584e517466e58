'use strict';
// Client role: the test cases of docs/contract.md section 8. Each returns the detail of
// its PASS line or throws TestFailed / Unsupported; the wrapper turns the result into
// the exit code and enforces the time budget.

const P = () => CONFIG.payload;

/** What a test case runs with: its peer connections, its report lines, its status. */
class ClientContext {
  constructor() {
    this.peers = [];
    this.lines = new Map(); // key -> NEGOTIATED:/RECEIVED:/SIZES:/... line
    this.broken = null;
    this.lastStatus = 'starting';
  }

  /** A new peer connection with the cell's ICE configuration, its watch and session. */
  newPeer() {
    const pc = new RTCPeerConnection(rtcConfiguration());
    const watch = watchConnection(pc, this.peers.length ? `pc${this.peers.length + 1}: ` : '');
    this.peers.push(pc);
    this.broken = watch.broken;
    return {pc, watch, session: new Session(CONFIG.server_url)};
  }

  /** The promise, unless the current peer connection fails or closes first. */
  guard(promise) {
    return this.broken ? Promise.race([promise, this.broken]) : promise;
  }

  report(key, line) {
    this.lines.set(key, line);
  }

  reportLines() {
    return [...this.lines.values()];
  }

  /** Tells the wrapper what the test is waiting for (quoted if the budget runs out). */
  status(text = this.lastStatus) {
    this.lastStatus = text;
    const pc = this.peers[this.peers.length - 1];
    const state = pc ? `connection ${pc.connectionState}, ICE ${pc.iceConnectionState}, signaling ${pc.signalingState}: ` : '';
    send({op: 'status', text: `${state}${text}`, lines: this.reportLines()});
  }

  close() {
    this.peers.forEach((pc) => pc.close());
  }
}

async function peerconnection(ctx) {
  const {pc, watch, session} = ctx.newPeer();
  pc.createDataChannel('interop'); // an m=application transport; nothing is sent on it
  await negotiate(pc, session);
  await watch.connected();
  return 'peer connection reached connected (ICE and DTLS done)';
}

/** One channel, one peer connection, connected and open: the start of most tests. */
async function openChannel(ctx, label = 'interop', options = {}) {
  const peer = ctx.newPeer();
  const channel = peer.pc.createDataChannel(label, options);
  const inbox = new Inbox(channel);
  await negotiate(peer.pc, peer.session);
  await ctx.guard(peer.watch.connected());
  await ctx.guard(opened(channel));
  return {...peer, channel, inbox};
}

async function datachannel(ctx) {
  const {channel, inbox} = await openChannel(ctx);
  await echoOnce(ctx, channel, inbox, P(), 'P');
  return `P (${P().length} bytes) echoed unchanged on 'interop'`;
}

async function datachannelLarge(ctx) {
  const {pc, channel, inbox} = await openChannel(ctx);
  const remote = maxMessageSize(pc.remoteDescription.sdp);
  const local = maxMessageSize(pc.localDescription.sdp);
  log(`max-message-size: server ${remote}, ours ${local}; the browser's limit for sending: ${pc.sctp && pc.sctp.maxMessageSize}`);
  if (remote < 65536) throw new TestFailed(`server's max-message-size ${remote} is below 65536`);
  const sizes = remote >= 262144 && local >= 262144 ? [65536, 262144] : [65536];
  ctx.report('SIZES', `SIZES: ${sizes.join(',')}`);
  for (const size of sizes) {
    try {
      await echoOnce(ctx, channel, inbox, repeatTo(P(), size), `repeat(P, ${size})`);
    } catch (e) {
      if (e instanceof TestFailed) throw e;
      throw new TestFailed(`cannot send a ${size}-byte message: ${describe(e)}`);
    }
  }
  return `${sizes.join(' and ')}-byte strings echoed unchanged`;
}

async function datachannelBinary(ctx) {
  const {channel, inbox} = await openChannel(ctx);
  const messages = [
    ['P as binary', asciiBytes(P()).buffer],
    ['an empty binary message', new ArrayBuffer(0)],
    ['bytes 00..ff', Uint8Array.from({length: 256}, (_, i) => i).buffer],
  ];
  for (const [what, message] of messages) {
    try {
      await echoOnce(ctx, channel, inbox, message, what);
    } catch (e) {
      if (e instanceof TestFailed) throw e;
      throw new TestFailed(message.byteLength === 0 ? `cannot send an empty binary message: ${describe(e)}` : describe(e));
    }
  }
  return 'three binary messages (P, empty, 00..ff) echoed byte-exact, in order, as binary';
}

async function datachannelNegotiated(ctx) {
  const {channel, inbox} = await openChannel(ctx, 'interop-negotiated', {negotiated: true, id: 7});
  await echoOnce(ctx, channel, inbox, P(), 'P');
  return `P echoed on the negotiated channel (id ${channel.id}, no DCEP)`;
}

async function datachannelUnordered(ctx) {
  const {channel, inbox} = await openChannel(ctx, 'interop-unordered', {ordered: false, maxRetransmits: 0});
  const sent = new Set();
  for (let i = 0; i < 100; i += 1) {
    const message = `${String(i).padStart(3, '0')}:${P()}`;
    sent.add(message);
    channel.send(message);
  }
  log(`sent 100 messages on 'interop-unordered' (ordered: false, maxRetransmits: 0)`);
  const echoed = new Set();
  while (echoed.size < 100) {
    const got = await ctx.guard(Promise.race([inbox.next(), sleep(5000).then(() => null)]));
    if (got === null) break; // 5 s without a new echo: the rest was lost
    if (!sent.has(got)) throw new TestFailed(`an echo is not one of the messages sent: ${brief(got)}`);
    echoed.add(got);
  }
  ctx.report('ECHOED', `ECHOED: ${echoed.size} of 100`);
  if (echoed.size < CONFIG.min_echoes) {
    throw new TestFailed(`only ${echoed.size} of 100 messages came back (MIN_ECHOES ${CONFIG.min_echoes})`);
  }
  return `${echoed.size} of 100 unordered messages came back intact (MIN_ECHOES ${CONFIG.min_echoes})`;
}

async function datachannelMany(ctx) {
  const {pc, watch, session} = ctx.newPeer();
  const channels = Array.from({length: 32}, (_, k) => pc.createDataChannel(`interop-${k}`));
  const inboxes = channels.map((channel) => new Inbox(channel));
  await negotiate(pc, session);
  await ctx.guard(watch.connected());
  let done = 0;
  await Promise.all(channels.map(async (channel, k) => {
    await ctx.guard(opened(channel));
    await echoOnce(ctx, channel, inboxes[k], `interop-${k}:${P()}`, `message ${k}`);
    done += 1;
    ctx.status(`${done} of 32 channels echoed`);
  }));
  return 'each of the 32 channels echoed its own message on itself';
}

async function datachannelServerOpen(ctx) {
  const {pc, watch, session} = ctx.newPeer();
  pc.createDataChannel('interop-client'); // only for the m=application section
  const incoming = new Promise((resolve) => {
    pc.addEventListener('datachannel', ({channel}) => {
      log(`the server opened channel '${channel.label}'`);
      if (channel.label === 'interop-server') resolve(channel);
    });
  });
  await negotiate(pc, session);
  await ctx.guard(watch.connected());
  ctx.status("waiting for the server's channel 'interop-server'");
  const channel = await ctx.guard(incoming);
  const inbox = new Inbox(channel);
  let echoed = null;
  for (;;) {
    const got = await ctx.guard(inbox.next());
    if (typeof got === 'string' && /^(CONFIRMED|MISMATCH):/.test(got)) {
      return serverVerdict(got, echoed);
    }
    channel.send(got); // echo every other message back
    log(`echoed the server's message: ${brief(got)}`);
    echoed = echoed === null ? got : echoed;
  }
}

async function serverVerdict(verdict, echoed) {
  if (echoed === null) throw new TestFailed(`the server sent ${brief(verdict)} before any message to echo`);
  const echoedText = typeof echoed === 'string' ? echoed : null;
  if (echoedText === null) throw new TestFailed(`the server's message was binary, not P as a string`);
  if (CONFIG.payload_given && echoedText !== P()) {
    throw new TestFailed(`the server sent ${brief(echoedText)}, not TEST_PAYLOAD`);
  }
  const expected = `CONFIRMED:${await sha256hex(echoedText)}`;
  if (verdict !== expected) throw new TestFailed(`the server answered ${brief(verdict)}, expected ${expected}`);
  return `echoed the server's P (${echoedText.length} bytes) on its channel; the server confirmed the SHA-256`;
}

const BULK_COUNT = 1024;
const BULK_SIZE = 16384;
const BULK_HIGH = 1048576; // wait for bufferedamountlow above this
const BULK_LOW = 262144;

async function datachannelBulk(ctx) {
  const {channel, inbox} = await openChannel(ctx, 'interop-bulk');
  const filler = asciiBytes(repeatTo(P(), BULK_SIZE - 4));
  const sent = new Uint8Array(BULK_COUNT * BULK_SIZE);
  channel.bufferedAmountLowThreshold = BULK_LOW;
  const started = performance.now();
  const receiving = receiveBulk(ctx, inbox, started);
  receiving.catch(() => {}); // awaited below, after the last send
  for (let i = 0; i < BULK_COUNT; i += 1) {
    if (channel.bufferedAmount > BULK_HIGH) await ctx.guard(bufferedLow(channel));
    const message = bulkMessage(i, filler);
    sent.set(message, i * BULK_SIZE);
    channel.send(message);
  }
  log(`sent ${BULK_COUNT} messages of ${BULK_SIZE} bytes in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  const {received, seconds} = await receiving;
  const [sentHash, receivedHash] = [await sha256hex(sent), await sha256hex(received)];
  ctx.report('BULK', `BULK: bytes=${received.length} messages=${BULK_COUNT} sha256=${receivedHash} seconds=${seconds.toFixed(3)}`);
  if (sentHash !== receivedHash) throw new TestFailed(`the echoed 16 MiB differ: SHA-256 ${receivedHash}, sent ${sentHash}`);
  return `${BULK_COUNT} x ${BULK_SIZE} bytes echoed in order in ${seconds.toFixed(2)} s (${(received.length * 8 / seconds / 1e6).toFixed(1)} Mbit/s each way)`;
}

/** Collects the bulk echoes, checking each one's index and size as it arrives. */
async function receiveBulk(ctx, inbox, started) {
  const received = new Uint8Array(BULK_COUNT * BULK_SIZE);
  for (let i = 0; i < BULK_COUNT; i += 1) {
    const got = await ctx.guard(inbox.next());
    if (!(got instanceof ArrayBuffer)) throw new TestFailed(`echo ${i} came back as a string`);
    if (got.byteLength !== BULK_SIZE) throw new TestFailed(`echo ${i} has ${got.byteLength} bytes, not ${BULK_SIZE}`);
    const index = new DataView(got).getUint32(0);
    if (index !== i) throw new TestFailed(`echo ${i} carries index ${index}: out of order or lost`);
    received.set(new Uint8Array(got), i * BULK_SIZE);
    if (i % 128 === 127) ctx.status(`${i + 1} of ${BULK_COUNT} bulk messages echoed`);
  }
  return {received, seconds: (performance.now() - started) / 1000};
}
