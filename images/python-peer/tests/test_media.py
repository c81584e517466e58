"""When media tests pass (contract `audio`/`video` with MEDIA_DURATION)."""

import pytest
from interop_peer import contract
from interop_peer.media import check_bundle, media_done

OFFER = (
    "v=0\r\nm=audio 9 X 111\r\na=mid:0\r\nm=video 9 X 96\r\na=mid:1\r\n"
    "m=application 9 Y z\r\na=mid:2\r\n"
)


def test_needs_packets_and_decoded_frames():
    assert not media_done({"audio": (49, 40)}, 1, 0, {"audio": 0})
    assert not media_done({"audio": (60, 24)}, 1, 0, {"audio": 0})
    assert media_done({"audio": (60, 25)}, 1, 0, {"audio": 0})
    assert media_done({"video": (50, None)}, 1, 0, {"video": 0})  # no decoder: packets only


def test_media_duration_needs_time_and_recent_echoes():
    counts = {"audio": (500, 400)}
    assert not media_done(counts, 9, 10, {"audio": 0})
    assert media_done(counts, 10, 10, {"audio": 4.9})
    assert not media_done(counts, 10, 10, {"audio": 5.1})


def test_bundle_check():
    check_bundle(OFFER, "v=0\r\na=group:BUNDLE 0 1 2\r\nm=audio 9 X 111\r\n")
    with pytest.raises(contract.TestFailed, match="mid"):
        check_bundle(OFFER, "v=0\r\na=group:BUNDLE 0 1\r\nm=audio 9 X 111\r\n")
