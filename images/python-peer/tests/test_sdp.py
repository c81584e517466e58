"""SDP helpers and sdpfrag (RFC 8840) handling."""

import math

import pytest
from interop_peer.sdp import (
    FragSection,
    SdpFrag,
    frag_from_sdp,
    ice_credentials,
    max_message_size,
    mids,
    negotiated_codec,
    parse_sdpfrag,
    replace_ice,
)

ANSWER = (
    "\r\n".join(
        [
            "v=0",
            "o=- 1 1 IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0 1",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "c=IN IP4 0.0.0.0",
            "a=mid:0",
            "a=ice-ufrag:old1",
            "a=ice-pwd:oldpassword1",
            "a=rtpmap:111 opus/48000/2",
            "a=candidate:1 1 udp 2130706431 172.20.0.2 40000 typ host",
            "a=end-of-candidates",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "a=mid:1",
            "a=ice-ufrag:old1",
            "a=ice-pwd:oldpassword1",
            "a=max-message-size:262144",
        ]
    )
    + "\r\n"
)

FRAG = (
    "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n"
    "a=candidate:1 1 udp 2130706431 172.20.0.3 41234 typ host\r\n"
    "a=end-of-candidates\r\n"
)


def test_max_message_size():
    assert max_message_size(ANSWER) == 262144
    assert max_message_size(ANSWER.replace("a=max-message-size:262144\r\n", "")) == 65536
    assert max_message_size(ANSWER.replace("262144", "0")) == math.inf


def test_negotiated_codec():
    codec = negotiated_codec(ANSWER, "audio")
    assert codec is not None
    assert codec.line() == "codec=opus/48000/2 payload_type=111"
    assert negotiated_codec(ANSWER, "video") is None
    assert negotiated_codec(ANSWER.replace("m=audio 9", "m=audio 0"), "audio") is None


def test_credentials_and_mids():
    assert ice_credentials(ANSWER) == ("old1", "oldpassword1")
    assert mids(ANSWER) == ["0", "1"]


def test_parse_the_contract_example():
    frag = parse_sdpfrag(FRAG)
    assert (frag.ufrag, frag.pwd) == ("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1")
    assert frag.candidates() == [("0", "candidate:1 1 udp 2130706431 172.20.0.3 41234 typ host")]
    assert frag.ended() == ["0"]


def test_render_parse_round_trip():
    frag = SdpFrag(
        "u",
        "p",
        "trickle",
        [FragSection("m=audio 9 X 0", "a0", ["candidate:1 1 udp 1 1.2.3.4 5 typ host"], True)],
    )
    text = frag.render()
    assert text.endswith("\r\n")
    assert "a=ice-options:trickle" in text
    assert parse_sdpfrag(text) == frag


@pytest.mark.parametrize("text", ["hello\r\n", "m=audio 9 X 0\r\na=candidate:1 1 udp\r\n"])
def test_parse_refuses_garbage(text):
    with pytest.raises(ValueError, match=r"sdpfrag line|malformed candidate"):
        parse_sdpfrag(text)


def test_replace_ice_swaps_credentials_and_candidates():
    new = replace_ice(ANSWER, parse_sdpfrag(FRAG))
    assert "old1" not in new
    assert "oldpassword1" not in new
    assert new.count("a=ice-ufrag:EsAw") == 2
    assert "172.20.0.2" not in new
    assert new.count("172.20.0.3") == 1
    audio = new.split("m=application")[0]
    assert "172.20.0.3" in audio
    assert audio.count("a=end-of-candidates") == 1


def test_frag_from_sdp():
    frag = frag_from_sdp(ANSWER)
    assert (frag.ufrag, [s.mid for s in frag.sections]) == ("old1", ["0", "1"])
    assert frag.sections[0].end
    assert frag.sections[0].candidates[0].startswith("candidate:1 ")
