'use strict';
/** node --test images/node-peer/test: the SDP and sdpfrag helpers. */

const assert = require('assert');
const test = require('node:test');
const sdp = require('../sdp');

const OFFER = [
  'v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0', 'a=mid:0', 'a=ice-ufrag:abcd', 'a=ice-pwd:pwpwpwpwpwpwpwpwpwpwpw',
  'a=sendrecv', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 PCMU/8000',
  'a=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host', 'a=end-of-candidates',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:1', 'a=ice-ufrag:abcd',
  'a=ice-pwd:pwpwpwpwpwpwpwpwpwpwpw', 'a=max-message-size:262144', '',
].join('\r\n');

test('parses sections, credentials, codec and max-message-size', () => {
  const { sections } = sdp.parseSdp(OFFER);
  assert.deepStrictEqual(sections.map((s) => [s.kind, s.mid]), [['audio', '0'], ['application', '1']]);
  assert.deepStrictEqual(sdp.iceCredentials(OFFER), { ufrag: 'abcd', pwd: 'pwpwpwpwpwpwpwpwpwpwpw' });
  assert.deepStrictEqual(sdp.negotiatedCodec(sections[0]), { name: 'opus/48000/2', payloadType: 111 });
  assert.strictEqual(sdp.maxMessageSize(OFFER), 262144);
  assert.strictEqual(sdp.maxMessageSize(OFFER.replace('a=max-message-size:262144\r\n', '')), 65536);
  assert.strictEqual(sdp.maxMessageSize(OFFER.replace('262144', '0')), Infinity);
});

test('an sdpfrag round-trips and uses CRLF', () => {
  const text = sdp.buildSdpFrag({
    ufrag: 'EsAw', pwd: 'P2uYro0UCOQ4zxjKXaWCBui1',
    sections: [{ mLine: 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', mid: '0', candidates: ['a=candidate:1 1 udp 1 1.2.3.4 5 typ host'], end: true }],
  });
  assert.ok(text.endsWith('a=end-of-candidates\r\n'));
  assert.ok(!/[^\r]\n/.test(text));
  const frag = sdp.parseSdpFrag(text);
  assert.strictEqual(frag.ufrag, 'EsAw');
  assert.deepStrictEqual(frag.sections[0].candidates, ['candidate:1 1 udp 1 1.2.3.4 5 typ host']);
  assert.strictEqual(frag.sections[0].end, true);
});

test('replaceIce swaps credentials and candidates (ICE restart)', () => {
  const frag = sdp.parseSdpFrag(sdp.buildSdpFrag({
    ufrag: 'new1', pwd: 'newpasswordnewpassword',
    sections: [{ mLine: 'm=audio 9 UDP/TLS/RTP/SAVPF 111', mid: '0', candidates: ['candidate:9 1 udp 1 10.0.0.9 6000 typ host'], end: true }],
  }));
  const restarted = sdp.replaceIce(OFFER, frag);
  assert.deepStrictEqual(sdp.iceCredentials(restarted), { ufrag: 'new1', pwd: 'newpasswordnewpassword' });
  const { sections } = sdp.parseSdp(restarted);
  assert.deepStrictEqual(sections[0].candidates, ['candidate:9 1 udp 1 10.0.0.9 6000 typ host']);
  assert.deepStrictEqual(sections[1].candidates, []);
  assert.strictEqual(sections[0].endOfCandidates, true);
});

test('withoutCandidates leaves no candidate line', () => {
  assert.ok(!/a=candidate|a=end-of-candidates/.test(sdp.withoutCandidates(OFFER)));
});
