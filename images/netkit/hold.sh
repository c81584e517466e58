#!/bin/sh
# Run the shell commands given as arguments (routes, NAT rules, shaping), say "ready",
# then stay up. With HOLD_DROP=1 every capability is dropped first, so the namespace a
# peer later joins keeps no privilege of its set-up: `setpriv` clears the bounding and
# inheritable sets, and the sleep runs with none.
set -e
for command in "$@"; do
    sh -c "$command"
done
echo ready
if [ "${HOLD_DROP:-0}" = 1 ]; then
    exec setpriv --bounding-set=-all --inh-caps=-all --no-new-privs sleep infinity
fi
exec sleep infinity
