"use strict";
/**
 * Media sources for the client's audio/video tests. werift has no encoder, so the image
 * carries files made at build time by ffmpeg (/media/video.ivf: VP8, /media/audio.ogg:
 * Opus in 20 ms packets) and this module cuts them into RTP payloads itself:
 * VP8 with the RFC 7741 payload descriptor, Opus one packet per RTP packet (RFC 7587).
 */

const fs = require("fs");

const VIDEO_FILE = process.env.VIDEO_FILE || "/media/video.ivf";
const AUDIO_FILE = process.env.AUDIO_FILE || "/media/audio.ogg";

/** Largest RTP payload we emit: well under a 1200-byte SRTP packet on any path. */
const MAX_VP8_PAYLOAD = 1100;

/**
 * Frames of an IVF file: 32-byte file header ("DKIF", frame rate/scale at 16/20), then
 * per frame a 12-byte header (4-byte LE size, 8-byte LE pts) and the frame.
 */
function readIvf(path = VIDEO_FILE) {
  const data = fs.readFileSync(path);
  if (data.length < 32 || data.toString("ascii", 0, 4) !== "DKIF") {
    throw new Error(`${path} is not an IVF file`);
  }
  const fourcc = data.toString("ascii", 8, 12);
  if (fourcc !== "VP80") throw new Error(`${path} holds ${fourcc}, not VP8`);
  const headerSize = data.readUInt16LE(6);
  const rate = data.readUInt32LE(16);
  const scale = data.readUInt32LE(20);
  const frames = [];
  let offset = headerSize;
  while (offset + 12 <= data.length) {
    const size = data.readUInt32LE(offset);
    const start = offset + 12;
    if (start + size > data.length) break; // truncated last frame
    frames.push(data.subarray(start, start + size));
    offset = start + size;
  }
  if (frames.length === 0) throw new Error(`${path} has no frames`);
  // IVF's timebase is scale/rate seconds per tick; ffmpeg writes 1/15 for 15 fps.
  const fps = rate > 0 && scale > 0 ? rate / scale : 15;
  return { frames, frameIntervalMs: 1000 / fps, rtpTicksPerFrame: Math.round(90000 / fps) };
}

/**
 * RTP payloads for one VP8 frame (RFC 7741): a 1-byte payload descriptor
 * (S=1 and PID 0 on the first packet of the frame, 0 on the others) before each slice.
 */
function packetizeVp8(frame) {
  const payloads = [];
  for (let offset = 0; offset < frame.length; offset += MAX_VP8_PAYLOAD) {
    const slice = frame.subarray(offset, offset + MAX_VP8_PAYLOAD);
    const descriptor = Buffer.from([offset === 0 ? 0x10 : 0x00]);
    payloads.push(Buffer.concat([descriptor, slice]));
  }
  return payloads;
}

/**
 * Opus packets of an Ogg file, without the OpusHead and OpusTags header packets.
 * Ogg pages: "OggS", 27-byte header whose byte 26 is the number of lacing values,
 * the lacing table, then the segments; a packet ends at a lacing value below 255.
 */
function readOggOpus(path = AUDIO_FILE) {
  const data = fs.readFileSync(path);
  const packets = [];
  let pending = [];
  let offset = 0;
  while (offset + 27 <= data.length) {
    if (data.toString("ascii", offset, offset + 4) !== "OggS") {
      throw new Error(`${path}: no Ogg page at byte ${offset}`);
    }
    const segments = data[offset + 26];
    const table = data.subarray(offset + 27, offset + 27 + segments);
    let body = offset + 27 + segments;
    for (const lacing of table) {
      pending.push(data.subarray(body, body + lacing));
      body += lacing;
      if (lacing < 255) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    offset = body;
  }
  const audio = packets.filter(
    (p) => !p.subarray(0, 8).equals(Buffer.from("OpusHead")) &&
      !p.subarray(0, 8).equals(Buffer.from("OpusTags")),
  );
  if (audio.length === 0) throw new Error(`${path} has no Opus packets`);
  return audio;
}

/** Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 section 3.1). */
function opusSamples(packet) {
  if (packet.length === 0) return 960;
  const toc = packet[0];
  const config = toc >> 3;
  let frameSamples;
  if (config < 12) frameSamples = [480, 960, 1920, 2880][config & 3]; // SILK
  else if (config < 16) frameSamples = [480, 960][config & 1]; // hybrid
  else frameSamples = [120, 240, 480, 960][config & 3]; // CELT
  const code = toc & 3;
  let count = 1;
  if (code === 1 || code === 2) count = 2;
  else if (code === 3) count = packet.length > 1 ? packet[1] & 0x3f : 1;
  return frameSamples * count;
}

module.exports = { readIvf, packetizeVp8, readOggOpus, opusSamples };
