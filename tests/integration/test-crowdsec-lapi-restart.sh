#!/bin/bash
# Issue 13: the LAPI killed and restarted loses no published ban. A ban published before the kill
# stays (the LAPI's database); bans made while the LAPI is down are banned locally at once, wait
# in the bridge's queue in state_dir (a restart of the bridge meanwhile loses none of them) and go
# out when the LAPI is back; B then applies them.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

fleet_setup ban.duration=10m
step "a manual ban on A, published"
ctl A ban 203.0.113.44 --for 1h >/dev/null || fail_fleet "nfsentryctl ban"
wait_until 10 lapi_has 203.0.113.44 nfsentry || fail_fleet "A's manual ban was not published"

step "the LAPI killed (-9); A bans the scanner meanwhile; A's bridge restarts"
lapi_stop KILL
scan -sS -p 1-100
wait_for_log "^banned $S4 "
ban4_has "$S4" || fail_fleet "local banning depends on the LAPI: $S4 not in A's ban4"
# An IPv6 address is banned as its /64 (the daemon's rule), published as a Range.
ctl A ban 2001:db8:77::1 --for 1h >/dev/null || fail_fleet "nfsentryctl ban (IPv6)"
sleep 2   # the bridge has tried (and failed) to publish
bridge_stop A
[ "$BRIDGE_RC" = 0 ] || fail_fleet "bridge A exited $BRIDGE_RC on SIGTERM"
bridge_start A
sleep 1

step "the LAPI restarted on the same database and port"
lapi_restart
lapi_has 203.0.113.44 nfsentry || fail_fleet "the ban published before the kill is gone from the LAPI"
# The bridge's backoff is at most 60 s.
wait_until 70 lapi_has "$S4" nfsentry || fail_fleet "$S4 (banned while the LAPI was down) never reached it"
wait_until 10 lapi_has 2001:db8:77::/64 nfsentry || fail_fleet "2001:db8:77::/64 (banned while the LAPI was down) never reached it: $(lapi_decisions)"
wait_until $((UPDATE + 1)) fleet_has B fleet4 "$S4" || fail_fleet "B did not apply $S4 after the LAPI came back"
fleet_has B fleet4 203.0.113.44 || fail_fleet "B lacks the ban published before the kill"
wait_until $((UPDATE + 1)) fleet_has B fleetnet6 2001:db8:77::/64 || fail_fleet "B lacks 2001:db8:77::/64: $(fleet_elems B fleetnet6)"
sleep $((UPDATE + 1))
n=$(lapi_alerts_of host-A | grep -c "^Ip:$S4 " || true)
[ "$n" = 1 ] || fail_fleet "$S4 was published $n times, not once: $(lapi_alerts_of host-A)"
# The bridge restarted after publishing 203.0.113.44: it remembers, and does not publish it again.
n=$(lapi_alerts_of host-A | grep -c "^Ip:203.0.113.44 " || true)
[ "$n" = 1 ] || fail_fleet "203.0.113.44 was published $n times, not once (the bridge's restart): $(lapi_alerts_of host-A)"
pass
