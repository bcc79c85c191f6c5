#!/bin/bash
# [scan] verdict: drop (default) leaves a closed-port attempt unanswered; accept lets the
# kernel answer like a normal closed port (TCP reset). Either way scans are banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

curl_rc() { local rc=0; in_s curl -s -m 2 -o /dev/null "http://$V4:81/" || rc=$?; echo "$rc"; }

setup
step "verdict = drop: the attempt times out (curl exit 28)"
[ "$(curl_rc)" = 28 ] || fail "with verdict = drop, curl to a closed port did not time out"

step "verdict = accept: the kernel resets it (curl exit 7, connection refused)"
write_config scan.verdict=accept
log_mark
kill -HUP "$DAEMON_PID"
wait_for_log "configuration reloaded"
[ "$(curl_rc)" = 7 ] || fail "with verdict = accept, curl to a closed port was not refused"
scan -sS -p 1-100
wait_for_log "^banned $S4 "
grep -q ' closed' "$TMPD/nmap.out" || fail "nmap saw no closed port: $(cat "$TMPD/nmap.out")"
pass
