#!/bin/bash
# A host the victim itself contacted is a peer: its packets to closed ports are never queued.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
step "the victim contacts the scanner"
in_v curl -s -m 1 -o /dev/null "http://$S4:9/" || true
set_has peers4 "$S4" || fail "$S4 not in peers4: $(set_elems peers4)"

scan -sS -p 1-100
assert_not_banned
n=$(queued_packets)
[ "$n" = 0 ] || fail "$n packets were queued to the daemon, expected none"
pass
