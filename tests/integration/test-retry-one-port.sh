#!/bin/bash
# Retrying one closed port many times is one port, not a scan.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
step "20 connection attempts to closed port 81"
for _ in $(seq 20); do
	in_s curl -s -m 1 -o /dev/null "http://$V4:81/" && fail "curl to closed port 81 succeeded"
done
assert_not_banned
n=$(queued_packets)
[ "$n" -ge 20 ] || fail "only $n packets reached the daemon: the test proves nothing"
pass
