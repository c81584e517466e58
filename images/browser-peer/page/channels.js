'use strict';
// Client role: data channel helpers shared by the data channel test cases.

/** The messages of one channel in arrival order; next() waits for the next one. */
class Inbox {
  constructor(channel) {
    this.label = channel.label;
    this.items = [];
    this.waiter = null;
    this.error = null;
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('message', (e) => this.push(e.data));
    channel.addEventListener('close', () => this.fail(new TestFailed(`channel '${channel.label}' closed`)));
  }

  push(data) {
    if (!this.waiter) return this.items.push(data);
    const {resolve} = this.waiter;
    this.waiter = null;
    resolve(data);
  }

  fail(error) {
    this.error = this.error || error;
    if (!this.waiter) return;
    const {reject} = this.waiter;
    this.waiter = null;
    reject(this.error);
  }

  next() {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => { this.waiter = {resolve, reject}; });
  }
}

/** Resolves when the channel is open; rejects if it closes first. */
function opened(channel) {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), {once: true});
    channel.addEventListener('close', () => reject(new TestFailed(`channel '${channel.label}' closed before it opened`)), {once: true});
  });
}

function sameBytes(a, b) {
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Why an echo differs from what was sent, or null when it is identical (type too). */
function echoMismatch(sent, got) {
  const sentBinary = typeof sent !== 'string';
  const gotBinary = got instanceof ArrayBuffer;
  if (sentBinary !== gotBinary) {
    return `sent ${sentBinary ? 'binary' : 'a string'}, the echo came back as ${gotBinary ? 'binary' : 'a string'}`;
  }
  if (sentBinary ? sameBytes(sent, got) : sent === got) return null;
  return `sent ${brief(sent)}, got ${brief(got)}`;
}

/** Sends one message and waits for its byte-exact echo on the same channel. */
async function echoOnce(ctx, channel, inbox, message, what) {
  channel.send(message);
  log(`sent ${what} on '${channel.label}': ${brief(message)}`);
  ctx.status(`waiting for the echo of ${what} on '${channel.label}'`);
  const got = await ctx.guard(inbox.next());
  const mismatch = echoMismatch(message, got);
  if (mismatch) throw new TestFailed(`echo of ${what} on '${channel.label}' differs: ${mismatch}`);
  log(`echo of ${what} came back unchanged`);
}

/** Waits until bufferedAmount drops to the low threshold (contract: datachannel-bulk). */
function bufferedLow(channel) {
  return new Promise((resolve, reject) => {
    channel.addEventListener('bufferedamountlow', () => resolve(), {once: true});
    channel.addEventListener('close', () => reject(new TestFailed(`channel '${channel.label}' closed while sending`)), {once: true});
  });
}

/** Message i of the bulk test: i as 4 bytes big-endian, then repeat(P, size - 4). */
function bulkMessage(i, filler) {
  const message = new Uint8Array(4 + filler.length);
  new DataView(message.buffer).setUint32(0, i);
  message.set(filler, 4);
  return message;
}
