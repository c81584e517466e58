"use strict";
/**
 * werift echo server of the peer contract (docs/contract.md).
 *
 * POST /offer takes an RTCSessionDescriptionInit and returns the answer once ICE
 * gathering is complete (no trickle). Every data channel echoes each message back on
 * itself; every RTP packet received on an audio/video transceiver is sent back through
 * that transceiver's own sending track (werift's sender puts its own SSRC and the
 * negotiated payload type on it). One RTCPeerConnection per offer; a bad offer gets an
 * HTTP 4xx and never takes the server down.
 */

const http = require("http");
const { MediaStreamTrack, RTCPeerConnection } = require("werift");

const { PORT, STUN_DEFAULT_DISABLED, gatheringComplete, logger, peerConfig, transportStates } = require("./peer");

const log = logger("server");
const MAX_PEER_LIFETIME_MS = 300_000;
const MAX_BODY_BYTES = 1 << 20;
const ANSWER_DEADLINE_MS = 15_000;
const peers = new Set();
let nextPeer = 1;

class BadRequest extends Error {}

function parseOffer(body) {
  let description;
  try {
    description = JSON.parse(body);
  } catch (error) {
    throw new BadRequest(`not JSON: ${error.message}`);
  }
  if (description === null || typeof description !== "object" || typeof description.sdp !== "string") {
    throw new BadRequest("not an RTCSessionDescriptionInit (need string fields type and sdp)");
  }
  if (description.type !== "offer") {
    throw new BadRequest(`expected type 'offer', got ${JSON.stringify(description.type)}`);
  }
  // werift accepts an SDP without any m= section and then never finishes gathering.
  if (!/^v=0\r?$/m.test(description.sdp) || !/^m=(audio|video|application) /m.test(description.sdp)) {
    throw new BadRequest("the offer's SDP has no v=0 line or no audio/video/application m= section");
  }
  return { type: "offer", sdp: description.sdp };
}

/** Sends every RTP packet of the received track back on the same transceiver. */
function echoMedia(peerId, event) {
  const { track: remote, transceiver } = event;
  log.info(`${peerId}: ${remote.kind} track received (mid ${transceiver.mid}), echoing it back`);
  let echoed = 0;
  remote.onReceiveRtp.subscribe((rtp) => {
    const local = transceiver.sender.track;
    if (!local) return;
    const packet = rtp.clone();
    // The sender adds the header extensions it negotiated itself; the client's own ids
    // must not leak into our stream.
    packet.header.extensions = [];
    packet.header.extension = false;
    local.writeRtp(packet);
    echoed += 1;
    if (echoed === 1 || echoed % 500 === 0) {
      log.info(`${peerId}: echoed ${echoed} ${remote.kind} RTP packets (mid ${transceiver.mid})`);
    }
  });
  // A decoding client asks for key frames with PLI; pass them on to the media's source.
  transceiver.sender.onPictureLossIndication.subscribe(() => {
    if (remote.ssrc !== undefined) {
      transceiver.receiver.sendRtcpPLI(remote.ssrc).catch(() => {});
    }
  });
}

async function answer(peerId, offer) {
  const pc = new RTCPeerConnection(peerConfig());
  peers.add(pc);
  const closeTimer = setTimeout(() => close(peerId, pc), MAX_PEER_LIFETIME_MS);
  closeTimer.unref();

  pc.connectionStateChange.subscribe((state) => {
    log.info(`${peerId}: connection state ${state}${state === "failed" ? ` (${transportStates(pc)})` : ""}`);
    if (state === "failed" || state === "closed") {
      clearTimeout(closeTimer);
      close(peerId, pc);
    }
  });
  pc.onDataChannel.subscribe((channel) => {
    log.info(`${peerId}: data channel ${JSON.stringify(channel.label)} opened by the client`);
    channel.onMessage.subscribe((message) => {
      log.info(`${peerId}: echoing ${message.length}-byte message on ${JSON.stringify(channel.label)}`);
      try {
        channel.send(message);
      } catch (error) {
        log.warn(`${peerId}: cannot echo on ${JSON.stringify(channel.label)}: ${error.message}`);
      }
    });
  });
  pc.ontrack = (event) => echoMedia(peerId, event);

  try {
    await withDeadline(negotiate(peerId, pc, offer), ANSWER_DEADLINE_MS, "answering took too long");
  } catch (error) {
    clearTimeout(closeTimer);
    close(peerId, pc);
    throw new BadRequest(`cannot answer this offer: ${error.message}`);
  }
  return { type: "answer", sdp: pc.localDescription.sdp };
}

/** Applies the offer and sets the answer, with every local candidate gathered. */
async function negotiate(peerId, pc, offer) {
  await pc.setRemoteDescription(offer);
  // Sections without a codec in common are rejected (port 0) in the answer; if that is
  // all there is, say so instead of answering a connection that cannot carry anything.
  const usable = pc.getTransceivers().filter((t) => !t.pendingRejection && !t.rejected && !t.stopped);
  if (usable.length === 0 && !pc.sctpTransport) {
    throw new Error("no data channel and no audio/video section with a codec in common (this server takes opus/48000/2 and VP8/90000)");
  }
  // Give every accepted audio/video transceiver its own sending track, so the answer says
  // sendrecv and the echo has a track to go out on. addTrack takes the first transceiver
  // of the kind without a track, i.e. this one.
  for (const transceiver of usable) {
    if (transceiver.sender.track || !["audio", "video"].includes(transceiver.kind)) continue;
    const sender = pc.addTrack(new MediaStreamTrack({ kind: transceiver.kind }));
    if (sender !== transceiver.sender) {
      log.warn(`${peerId}: ${transceiver.kind} track went to another transceiver than mid ${transceiver.mid}`);
    }
  }
  await pc.setLocalDescription(await pc.createAnswer());
  await gatheringComplete(pc);
}

function withDeadline(promise, ms, message) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function close(peerId, pc) {
  if (!peers.delete(pc)) return;
  log.info(`${peerId}: closing peer connection (${peers.size} still open)`);
  pc.close().catch((error) => log.warn(`${peerId}: close failed: ${error.message}`));
}

function reply(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequest("offer body too large"));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

async function handle(request, response) {
  const path = new URL(request.url, "http://server").pathname;
  if (path !== "/offer") {
    reply(response, 404, { error: `no such path ${path}; POST offers to /offer` });
    return;
  }
  if (request.method !== "POST") {
    response.setHeader("Allow", "POST");
    reply(response, 405, { error: "POST an offer to /offer" });
    return;
  }
  const peerId = `peer${nextPeer++}`;
  try {
    const offer = parseOffer(await readBody(request));
    log.info(`${peerId}: offer from ${request.socket.remoteAddress}`);
    const body = await answer(peerId, offer);
    log.info(`${peerId}: answered (${body.sdp.length} bytes of SDP)`);
    reply(response, 200, body);
  } catch (error) {
    const status = error instanceof BadRequest ? 400 : 500;
    log.warn(`${peerId}: rejected offer (HTTP ${status}): ${error.message}`);
    if (!response.headersSent) reply(response, status, { error: error.message });
  }
}

function main() {
  // werift raises some errors from its own timers and sockets; one peer's trouble must
  // not end the server that the other peers (and later offers) rely on.
  process.on("uncaughtException", (error) => log.warn(`uncaught exception: ${error.stack || error}`));
  process.on("unhandledRejection", (error) => log.warn(`unhandled rejection: ${error && error.stack ? error.stack : error}`));

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error) => {
      log.warn(`request failed: ${error.message}`);
      if (!response.headersSent) reply(response, 500, { error: error.message });
    });
  });
  const shutdown = () => {
    log.info("shutting down");
    for (const pc of peers) pc.close().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  if (!STUN_DEFAULT_DISABLED) log.warn("could not disable werift's default STUN server");
  server.listen(PORT, "0.0.0.0", () => log.info(`listening on ${PORT}`));
}

main();
