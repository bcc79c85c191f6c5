#!/bin/bash
# Issue 13: host A does not publish back what it applied from the stream: a cscli decision and
# B's published ban are applied on A as origin crowdsec, and the LAPI gets no alert from A for
# them; A's own ban, which comes back to A in the stream, is published exactly once.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

fleet_setup ban.duration=10m
step "a cscli decision reaches A and B"
lapi_cscli decisions add --ip 203.0.113.9 --duration 1h >/dev/null 2>&1 || fail_fleet "cscli decisions add"
wait_until $((UPDATE + 1)) fleet_has A fleet4 203.0.113.9 || fail_fleet "203.0.113.9 did not reach A"
wait_until $((UPDATE + 1)) fleet_has B fleet4 203.0.113.9 || fail_fleet "203.0.113.9 did not reach B"

step "A bans the scanner: published once, applied on B, not published back by anyone"
scan -sS -p 1-100
wait_for_log "^banned $S4 "
wait_until $((UPDATE + 1)) fleet_has B fleet4 "$S4" || fail_fleet "$S4 did not reach B"
# Several polls: A sees its own decision come back in the stream, B holds it; a loop would show
# as new alerts by now.
sleep $((3 * UPDATE + 1))
a=$(lapi_alerts_of host-A)
b=$(lapi_alerts_of host-B)
[ "$a" = "Ip:$S4 nfsentry nfsentry/scan" ] || fail_fleet "A's alerts are not exactly its one ban of $S4: $a"
[ -z "$b" ] || fail_fleet "B published what it applied: $b"
n=$(lapi_decisions | grep -c "^Ip:$S4 " || true)
[ "$n" = 1 ] || fail_fleet "$n decisions on $S4 in the LAPI, not 1: $(lapi_decisions)"
grep -Eq '"origin": *"crowdsec"' <<<"$(ctl A --json bans)" || fail_fleet "A's bans show no origin crowdsec"
pass
