#!/bin/sh
# webrtc-echoes convention: /client.sh <server offer URL>; the test case comes from $TEST_CASE.
exec /opt/venv/bin/python /app/aiortc_peer.py client "$@"
