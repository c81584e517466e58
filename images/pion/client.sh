#!/bin/sh
# webrtc-echoes convention: /client.sh <server offer URL>; the test case comes from $TEST_CASE.
exec /usr/local/bin/pion-peer client "$@"
