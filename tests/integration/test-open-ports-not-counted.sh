#!/bin/bash
# Connecting to many open ports is not a scan: they have sockets, so nothing is queued.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
listen_tcp $(seq 9001 9012)
step "connect scan of 12 open ports"
scan -sT -p 9001-9012
open=$(grep -c '/tcp *open ' "$TMPD/nmap.out" || true)
[ "$open" = 12 ] || fail "nmap saw $open of 12 ports open: $(cat "$TMPD/nmap.out")"
assert_not_banned
n=$(queued_packets)
[ "$n" = 0 ] || fail "$n packets were queued to the daemon, expected none"
pass
