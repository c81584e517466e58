#!/bin/sh
# webrtc-echoes convention: /client.sh <server offer URL>; the test case comes from $TEST_CASE.
exec node /app/client.js "$@"
