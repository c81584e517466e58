#!/bin/sh
# webrtc-echoes convention: /client.sh <server offer URL>; the test case comes from $TEST_CASE.
exec /opt/sipsorcery-peer/sipsorcery-peer client "$@"
