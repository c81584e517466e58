'use strict';
/**
 * datachannel-bulk (contract section 8): 16 MiB as 1024 binary messages of 16384 bytes
 * with the contract's flow control, echoed in order; SHA-256 of both directions.
 */

const crypto = require('crypto');
const { TestFailed, repeatTo } = require('./contract');
const { connect, openChannel } = require('./client-kit');

const MESSAGES = 1024;
const SIZE = 16384;
const LOW = 262144;
const HIGH = 1048576;

/** Resolves when the channel's buffer is at or below the low threshold again. */
function drained(channel) {
  return new Promise((resolve) => {
    const done = () => {
      clearInterval(poll);
      channel.off('bufferedamountlow', done);
      resolve();
    };
    // The event is the contract's signal; the poll only covers a stack that misses it.
    const poll = setInterval(() => { if (channel.bufferedAmount() <= LOW) done(); }, 50);
    channel.once('bufferedamountlow', done);
  });
}

/** Checks and hashes each echo as it arrives; resolves after the last one. */
function receiveEchoes(channel, state) {
  return new Promise((resolve, reject) => {
    channel.on('message', (message) => {
      if (state.failed) return;
      const index = state.received;
      let problem = null;
      if (typeof message === 'string') problem = `echo ${index} came back as a string`;
      else if (message.length !== SIZE) problem = `echo ${index} has ${message.length} bytes, not ${SIZE}`;
      else if (message.readUInt32BE(0) !== index) problem = `echo ${index} carries index ${message.readUInt32BE(0)} (out of order or lost)`;
      if (problem) {
        state.failed = true;
        reject(new TestFailed(problem));
        return;
      }
      state.echoHash.update(message);
      state.received += 1;
      if (state.received === MESSAGES) {
        state.lastEcho = process.hrtime.bigint();
        resolve();
      }
    });
  });
}

async function datachannelBulk(ctx) {
  const peer = ctx.newPeer();
  const { channel } = openChannel(peer, 'interop-bulk');
  const state = { received: 0, sent: 0, failed: false, echoHash: crypto.createHash('sha256') };
  const echoes = receiveEchoes(channel, state);
  echoes.catch(() => {});
  const { guard } = await connect(ctx, peer);
  await guard(channel.whenOpen());
  channel.setBufferedAmountLowThreshold(LOW);
  ctx.progress = () => `${state.sent} of ${MESSAGES} sent, ${state.received} echoed, ${channel.bufferedAmount()} bytes buffered`;
  const body = repeatTo(ctx.payload, SIZE - 4);
  const sentHash = crypto.createHash('sha256');
  const firstSend = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i += 1) {
    const message = Buffer.alloc(SIZE);
    message.writeUInt32BE(i, 0);
    body.copy(message, 4);
    sentHash.update(message);
    channel.send(message);
    state.sent += 1;
    if (channel.bufferedAmount() > HIGH) await guard(drained(channel));
  }
  await guard(echoes);
  const seconds = Number(state.lastEcho - firstSend) / 1e9;
  const sent = sentHash.digest('hex');
  const echoed = state.echoHash.digest('hex');
  ctx.report('BULK', `BULK: bytes=${MESSAGES * SIZE} messages=${MESSAGES} sha256=${sent} seconds=${seconds.toFixed(3)}`);
  if (sent !== echoed) throw new TestFailed(`the echoes' SHA-256 ${echoed} is not that of what was sent, ${sent}`);
  const rate = (MESSAGES * SIZE * 8) / seconds / 1e6;
  return `16 MiB echoed in order and intact in ${seconds.toFixed(2)} s (${rate.toFixed(1)} Mbit/s each way)`;
}

module.exports = { tests: { 'datachannel-bulk': datachannelBulk } };
