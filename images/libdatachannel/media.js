'use strict';
/**
 * Media for the client's audio/video cases. libdatachannel has no encoder, so the
 * client sends files made at image build time (/media/video.ivf, /media/audio.ogg),
 * packetized into RTP here: VP8 with the RFC 7741 payload descriptor, Opus one
 * 20 ms frame per packet (RFC 7587). The files loop; timestamps keep increasing.
 */

const fs = require('fs');

const MAX_RTP_PAYLOAD = 1100; // well under any path MTU once SRTP and headers are added

/** IVF: 32-byte file header, then per frame a 12-byte header (LE32 size, LE64 pts) + data. */
function readIvf(path) {
  const data = fs.readFileSync(path);
  if (data.length < 32 || data.toString('ascii', 0, 4) !== 'DKIF') throw new Error(`${path} is not IVF`);
  const fourcc = data.toString('ascii', 8, 12);
  if (fourcc !== 'VP80') throw new Error(`${path} holds ${fourcc}, not VP8`);
  const headerSize = data.readUInt16LE(6);
  const rate = data.readUInt32LE(16); // time base denominator
  const scale = data.readUInt32LE(20); // time base numerator
  const frames = [];
  let offset = headerSize;
  while (offset + 12 <= data.length) {
    const size = data.readUInt32LE(offset);
    const pts = Number(data.readBigUInt64LE(offset + 4));
    if (offset + 12 + size > data.length) break;
    frames.push({ pts, data: data.subarray(offset + 12, offset + 12 + size) });
    offset += 12 + size;
  }
  if (frames.length < 2) throw new Error(`${path} has too few frames`);
  const fps = (frames.length - 1) / (((frames[frames.length - 1].pts - frames[0].pts) * scale) / rate);
  return { frames, rate, scale, fps };
}

/** Ogg/Opus: the Opus packets of the file, without the OpusHead/OpusTags headers. */
function readOggOpus(path) {
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
      if (lacing < 255) { // a packet ends here; 255 means it continues
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    offset = body;
  }
  const audio = packets.filter((p) => {
    const magic = p.toString('ascii', 0, 8);
    return magic !== 'OpusHead' && magic !== 'OpusTags' && p.length > 0;
  });
  if (audio.length === 0) throw new Error(`${path} has no Opus packets`);
  return audio;
}

function rtpHeader(payloadType, marker, seq, timestamp, ssrc) {
  const header = Buffer.alloc(12);
  header[0] = 0x80; // version 2, no padding, no extension, no CSRC
  header[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return header;
}

/**
 * Sends RTP on a libdatachannel track on a wall-clock schedule. sendUnit(now) is
 * called once per frame interval and returns how many packets it sent.
 */
class RtpSender {
  constructor(track, ssrc, log) {
    this.track = track;
    this.ssrc = ssrc;
    this.log = log;
    this.seq = Math.floor(Math.random() * 0x10000);
    this.timestampBase = Math.floor(Math.random() * 0x100000000);
    this.payloadType = null;
    this.sent = 0;
    this.timer = null;
  }

  send(payload, marker, timestamp) {
    const header = rtpHeader(this.payloadType, marker, this.seq, this.timestampBase + timestamp, this.ssrc);
    this.seq = (this.seq + 1) & 0xffff;
    if (this.track.sendMessageBinary(Buffer.concat([header, payload]))) this.sent += 1;
  }

  /** Run unit(index) every intervalMs, catching up if the event loop was late. */
  start(payloadType, intervalMs, unit) {
    this.payloadType = payloadType;
    const started = Date.now();
    let index = 0;
    const tick = () => {
      const due = Math.floor((Date.now() - started) / intervalMs) + 1;
      try {
        while (index < due && this.track.isOpen()) unit(index++);
      } catch (error) {
        this.log.warn(`sending RTP failed: ${error.message}`);
      }
    };
    tick();
    this.timer = setInterval(tick, Math.max(5, Math.floor(intervalMs / 2)));
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Opus: one 20 ms packet (960 samples at 48 kHz) per RTP packet, marker on the first. */
function startAudio(sender, payloadType, path = '/media/audio.ogg') {
  const packets = readOggOpus(path);
  sender.start(payloadType, 20, (index) => {
    sender.send(packets[index % packets.length], index === 0, index * 960);
  });
  return `${packets.length} Opus packets of 20 ms from ${path}`;
}

/**
 * VP8 (RFC 7741): a 1-byte payload descriptor per packet, S=1 on the first packet of
 * a frame (0x10) and 0x00 on the rest, marker bit on the last packet of the frame.
 */
function startVideo(sender, payloadType, path = '/media/video.ivf') {
  const { frames, fps } = readIvf(path);
  const ticksPerFrame = Math.round(90000 / fps);
  sender.start(payloadType, 1000 / fps, (index) => {
    const frame = frames[index % frames.length].data;
    const timestamp = index * ticksPerFrame;
    for (let offset = 0; offset < frame.length; offset += MAX_RTP_PAYLOAD) {
      const chunk = frame.subarray(offset, offset + MAX_RTP_PAYLOAD);
      const descriptor = Buffer.from([offset === 0 ? 0x10 : 0x00]);
      const last = offset + MAX_RTP_PAYLOAD >= frame.length;
      sender.send(Buffer.concat([descriptor, chunk]), last, timestamp);
    }
  });
  return `${frames.length} VP8 frames at ${fps.toFixed(1)} fps from ${path}`;
}

module.exports = { RtpSender, startAudio, startVideo, readIvf, readOggOpus };
