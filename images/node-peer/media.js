'use strict';
/**
 * Media for stacks without an encoder (werift, libdatachannel): the files made at image
 * build time by the shared `media` stage (/media/audio.ogg, /media/video.ivf), read
 * and packetized into RTP payloads here, and sent on a wall-clock schedule.
 *
 * - Opus (RFC 7587): one Ogg packet (20 ms) per RTP packet, timestamp step from the
 *   packet's TOC byte (RFC 6716 section 3.1).
 * - VP8 (RFC 7741): a 1-byte payload descriptor, S=1 (0x10) on the first packet of a
 *   frame and 0x00 on the others, at most 1100 payload bytes per packet, marker on the
 *   frame's last packet; 90 kHz timestamps from the file's frame rate.
 * The files loop; sequence numbers and timestamps keep increasing.
 */

const crypto = require('crypto');
const fs = require('fs');

// Made by the images' shared `media` build stage; MEDIA_DIR only for running elsewhere.
const MEDIA_DIR = process.env.MEDIA_DIR || '/media';
const AUDIO_FILE = `${MEDIA_DIR}/audio.ogg`;
const VIDEO_FILE = `${MEDIA_DIR}/video.ivf`;
const MAX_RTP_PAYLOAD = 1100; // well under any path MTU once SRTP and headers are added

/** IVF: 32-byte file header, then per frame a 12-byte header (LE32 size, LE64 pts) + data. */
function readIvf(path = VIDEO_FILE) {
  const data = fs.readFileSync(path);
  if (data.length < 32 || data.toString('ascii', 0, 4) !== 'DKIF') throw new Error(`${path} is not IVF`);
  const fourcc = data.toString('ascii', 8, 12);
  if (fourcc !== 'VP80') throw new Error(`${path} holds ${fourcc}, not VP8`);
  const rate = data.readUInt32LE(16); // time base denominator
  const scale = data.readUInt32LE(20); // time base numerator
  const frames = [];
  let offset = data.readUInt16LE(6);
  while (offset + 12 <= data.length) {
    const size = data.readUInt32LE(offset);
    const pts = Number(data.readBigUInt64LE(offset + 4));
    if (offset + 12 + size > data.length) break;
    frames.push({ pts, data: data.subarray(offset + 12, offset + 12 + size) });
    offset += 12 + size;
  }
  if (frames.length < 2) throw new Error(`${path} has too few frames`);
  const seconds = ((frames[frames.length - 1].pts - frames[0].pts) * scale) / rate;
  return { frames: frames.map((f) => f.data), fps: (frames.length - 1) / seconds };
}

/** Ogg/Opus: the Opus packets of the file, without the OpusHead/OpusTags headers. */
function readOggOpus(path = AUDIO_FILE) {
  const data = fs.readFileSync(path);
  const packets = [];
  let pending = [];
  let offset = 0;
  while (offset + 27 <= data.length) {
    if (data.toString('ascii', offset, offset + 4) !== 'OggS') throw new Error(`${path}: bad Ogg page at ${offset}`);
    const segments = data[offset + 26];
    const table = data.subarray(offset + 27, offset + 27 + segments);
    let body = offset + 27 + segments;
    for (const lacing of table) {
      pending.push(data.subarray(body, body + lacing));
      body += lacing;
      if (lacing < 255) { // a packet ends here; 255 means it continues on
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    offset = body;
  }
  const audio = packets.filter((p) => p.length > 0 && !['OpusHead', 'OpusTags'].includes(p.toString('ascii', 0, 8)));
  if (audio.length === 0) throw new Error(`${path} has no Opus packets`);
  return audio;
}

/** Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 section 3.1). */
function opusSamples(packet) {
  if (packet.length === 0) return 960;
  const config = packet[0] >> 3;
  let frameSamples;
  if (config < 12) frameSamples = [480, 960, 1920, 2880][config & 3]; // SILK
  else if (config < 16) frameSamples = [480, 960][config & 1]; // hybrid
  else frameSamples = [120, 240, 480, 960][config & 3]; // CELT
  const code = packet[0] & 3;
  let count = 1;
  if (code === 1 || code === 2) count = 2;
  else if (code === 3) count = packet.length > 1 ? packet[1] & 0x3f : 1;
  return frameSamples * count;
}

/** VP8 frame -> RTP payloads with the RFC 7741 payload descriptor. */
function packetizeVp8(frame) {
  const payloads = [];
  for (let offset = 0; offset < frame.length; offset += MAX_RTP_PAYLOAD) {
    const descriptor = Buffer.from([offset === 0 ? 0x10 : 0x00]);
    payloads.push(Buffer.concat([descriptor, frame.subarray(offset, offset + MAX_RTP_PAYLOAD)]));
  }
  return payloads;
}

/**
 * The looping frame source of one kind: {intervalMs, describe, next()}, next() giving
 * the RTP payloads of one frame and the RTP timestamp step after it.
 */
function frameSource(kind) {
  let index = 0;
  if (kind === 'audio') {
    const packets = readOggOpus();
    return {
      intervalMs: 20,
      describe: `${packets.length} Opus packets of 20 ms from ${AUDIO_FILE}, looped`,
      next: () => {
        const packet = packets[index++ % packets.length];
        return { payloads: [packet], duration: opusSamples(packet) };
      },
    };
  }
  const { frames, fps } = readIvf();
  return {
    intervalMs: 1000 / fps,
    describe: `${frames.length} VP8 frames at ${fps.toFixed(1)} fps from ${VIDEO_FILE}, looped`,
    next: () => ({ payloads: packetizeVp8(frames[index++ % frames.length]), duration: Math.round(90000 / fps) }),
  };
}

/**
 * Sends a frame source in real time: write({payload, marker, sequenceNumber,
 * timestamp}) is called for every RTP packet (the adapter adds SSRC and payload type
 * and hands it to its stack). Catches up when the event loop was late.
 */
class PacedRtpSource {
  constructor(kind, write, log) {
    this.source = frameSource(kind);
    this.write = write;
    this.log = log;
    this.sequenceNumber = crypto.randomInt(0, 0x10000);
    this.timestamp = crypto.randomInt(0, 0x100000000);
    this.sent = 0;
    this.timer = null;
  }

  start() {
    if (this.timer) return;
    this.log.info(`sending ${this.source.describe}`);
    const started = Date.now();
    let frames = 0;
    const tick = () => {
      const due = Math.floor((Date.now() - started) / this.source.intervalMs) + 1;
      try {
        while (frames < due) {
          this.sendFrame(this.source.next());
          frames += 1;
        }
      } catch (error) {
        this.log.warn(`sending RTP failed: ${error.message}`);
      }
    };
    tick();
    this.timer = setInterval(tick, Math.max(5, Math.floor(this.source.intervalMs / 2)));
  }

  sendFrame({ payloads, duration }) {
    payloads.forEach((payload, i) => {
      const marker = i === payloads.length - 1;
      this.write({ payload, marker, sequenceNumber: this.sequenceNumber, timestamp: this.timestamp });
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
      this.sent += 1;
    });
    this.timestamp = (this.timestamp + duration) >>> 0;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** A 12-byte RTP header (version 2, no extension, no CSRC). */
function rtpHeader({ payloadType, marker, sequenceNumber, timestamp, ssrc }) {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  header.writeUInt16BE(sequenceNumber & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return header;
}

/** RFC 5761: on an RTP/RTCP-muxed transport a second byte of 192..223 is RTCP. */
function isRtcp(packet) {
  return packet.length >= 2 && packet[1] >= 192 && packet[1] <= 223;
}

/** A random 32-bit SSRC that is never 0. */
function randomSsrc() {
  return crypto.randomInt(1, 0xffffffff);
}

/**
 * Counts echoed RTP packets for a client: those with the negotiated payload type,
 * and the others by type (reported, never counted as echoes).
 */
class EchoCounter {
  constructor() {
    this.payloadType = null;
    this.packets = 0;
    this.other = new Map();
  }

  expect(payloadType) {
    this.payloadType = payloadType;
  }

  record(payloadType) {
    if (this.payloadType !== null && payloadType === this.payloadType) this.packets += 1;
    else this.other.set(payloadType, (this.other.get(payloadType) || 0) + 1);
  }

  otherTypes() {
    return [...this.other].map(([pt, n]) => `${pt}x${n}`).join(',');
  }
}

module.exports = {
  readIvf, readOggOpus, opusSamples, packetizeVp8, frameSource, PacedRtpSource,
  rtpHeader, isRtcp, randomSsrc, EchoCounter,
};
