'use strict';
/**
 * One data channel, the same for every stack. An adapter subclasses Channel, forwards
 * its stack's events as 'open', 'message' (a string or a Buffer, exactly as received),
 * 'close', 'error' and 'bufferedamountlow', and implements the five methods below.
 */

const { EventEmitter } = require('events');
const { TestFailed } = require('./contract');

class Channel extends EventEmitter {
  constructor(label, id) {
    super();
    this.label = label;
    this.id = id;
    this.opened = false;
    this.closed = false;
    this.on('open', () => { this.opened = true; });
    this.on('close', () => { this.closed = true; });
    this.on('error', () => {}); // reported through waiters; never an uncaught 'error'
  }

  /** Sends a string as a string message (PPID 51) or a Buffer as binary (53/57). */
  send(data) { throw new Error(`send(${typeof data}) not implemented`); }

  bufferedAmount() { return 0; }

  setBufferedAmountLowThreshold(bytes) { void bytes; }

  close() {}

  /** Resolves once open; rejects if the channel closes or errors first. */
  whenOpen() {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onClose = () => reject(new TestFailed(`data channel '${this.label}' closed before it opened`));
      const onError = (error) => reject(new TestFailed(`data channel '${this.label}' error: ${error}`));
      this.once('open', () => {
        this.off('close', onClose);
        this.off('error', onError);
        resolve();
      });
      this.once('close', onClose);
      this.once('error', onError);
    });
  }
}

/** "string 12 chars" / "binary 12 bytes" for logs and reasons. */
function describeMessage(message) {
  return typeof message === 'string' ? `string of ${Buffer.byteLength(message)} bytes` : `binary of ${message.length} bytes`;
}

/**
 * Collects every message of a channel from the moment it is made, so a test can wait
 * for them one by one without missing any that arrived early. next() rejects if the
 * channel closes or errors while waiting.
 */
class MessageQueue {
  constructor(channel) {
    this.channel = channel;
    this.messages = [];
    this.waiters = [];
    this.failure = null;
    channel.on('message', (message) => this.push(message));
    channel.on('close', () => this.fail(new TestFailed(`data channel '${channel.label}' closed`)));
    channel.on('error', (error) => this.fail(new TestFailed(`data channel '${channel.label}' error: ${error}`)));
  }

  push(message) {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(message);
    else this.messages.push(message);
  }

  fail(error) {
    if (!this.failure) this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  next() {
    if (this.messages.length > 0) return Promise.resolve(this.messages.shift());
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

module.exports = { Channel, MessageQueue, describeMessage };
