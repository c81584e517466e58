#!/bin/sh
# webrtc-echoes convention: /client.sh <server offer URL>; the test case comes from $TEST_CASE.
exec python3 /app/gst_peer.py client "$@"
