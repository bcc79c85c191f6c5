#!/bin/bash
# Issue 13: `cscli decisions delete` lifts a fleet ban on B; it does not lift A's own local ban
# (A decided it); the stream repeats deleted entries on every poll, and that is harmless: a new
# decision on the same address is applied again.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

fleet_setup ban.duration=10m
listen_tcp_b 8080
scan -sS -p 1-100
wait_for_log "^banned $S4 "
wait_until $((UPDATE + 1)) fleet_has B fleet4 "$S4" || fail_fleet "$S4 did not reach B"
fetch_b_blocked 8080 || fail_fleet "B answers the banned scanner"

step "cscli decisions delete --ip $S4"
lapi_cscli decisions delete --ip "$S4" >"$TMPD/cscli.out" 2>&1 || fail_fleet "cscli decisions delete: $(cat "$TMPD/cscli.out")"
grep -q "1 decision(s) deleted" "$TMPD/cscli.out" || fail_fleet "cscli deleted nothing: $(cat "$TMPD/cscli.out")"
wait_until $((UPDATE + 1)) fleet_gone B fleet4 "$S4" || fail_fleet "$S4 still in B's fleet4 $((UPDATE + 1)) s after the delete"
fetch_b_ok 8080 || fail_fleet "B still drops the scanner after the delete"
ban4_has "$S4" || fail_fleet "the delete lifted A's own local ban"

step "the repeated deleted entries, then a new decision on the same address"
sleep $((2 * UPDATE + 1))   # at least two more polls that repeat the deleted entry
lapi_cscli decisions add --ip "$S4" --duration 1h >/dev/null 2>&1 || fail_fleet "cscli decisions add"
wait_until $((UPDATE + 1)) fleet_has B fleet4 "$S4" || fail_fleet "a new decision on $S4 was not applied after the delete"
fetch_b_blocked 8080 || fail_fleet "B answers the scanner banned again"
kill -0 "$DAEMON_B_PID" || fail_fleet "daemon B died"
pass
