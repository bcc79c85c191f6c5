#!/bin/bash
# Issue 13: nmap banned on host A is dropped on host B within update_frequency + 1 s. A's bridge
# publishes the ban to the LAPI as one alert (scenario nfsentry/scan, origin nfsentry, A's
# remaining duration); B's bridge pulls it and B drops the scanner at prerouting -450, as a ban of
# origin crowdsec that B does not publish back.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

fleet_setup ban.duration=10m
listen_tcp_b 8080
fetch_b_ok 8080 || fail_fleet "B's port 8080 is not reachable from the scanner before any ban"

step "nmap on A"
scan -sS -p 1-100
wait_for_log "^banned $S4 "
ban4_has "$S4" || fail_fleet "A logged the ban but its ban4 lacks $S4"
t0=$(ms_now)
wait_until $((UPDATE + 1)) fleet_has B fleet4 "$S4" ||
	fail_fleet "$S4 not in B's fleet4 within $((UPDATE + 1)) s (update_frequency ${UPDATE}s + 1 s): $(fleet_elems B fleet4)"
echo "propagation A's ban4 -> B's fleet4: $(( $(ms_now) - t0 )) ms (bound $(( (UPDATE + 1) * 1000 )) ms)"

step "B drops the scanner"
before=$(rule_packets B fleet4)
fetch_b_blocked 8080 || fail_fleet "B still answers the banned scanner"
[ "$(rule_packets B fleet4)" -gt "$before" ] || fail_fleet "B's @fleet4 drop rule counted nothing"
# B's timeout is what remained of A's 10m ban (minus the trip), not a default.
t=$(fleet_elems B fleet4 | awk -v a="$S4" '$1 == a { print $2 }')
[ "$t" -ge 590 ] && [ "$t" -le 600 ] || fail_fleet "B's element timeout is $t s, not A's remaining ~600 s"

step "the LAPI holds one alert from A, none from B"
alerts=$(lapi_alerts_of host-A)
[ "$(grep -c "^Ip:$S4 nfsentry nfsentry/scan\$" <<<"$alerts")" = 1 ] ||
	fail_fleet "A's alerts are not one Ip:$S4 nfsentry nfsentry/scan: $alerts"
ctl B --json bans | grep -q "\"origin\": *\"crowdsec\"" || fail_fleet "B's bans show no origin crowdsec: $(ctl B --json bans)"
sleep $((UPDATE + 1))   # B has had time to (wrongly) publish what it applied
[ -z "$(lapi_alerts_of host-B)" ] || fail_fleet "B published back what it applied: $(lapi_alerts_of host-B)"
daemon_alive || fail_fleet "daemon A died"
kill -0 "$DAEMON_B_PID" || fail_fleet "daemon B died"
pass
