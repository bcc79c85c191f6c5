#!/bin/bash
# Issue 13: a decision added with `cscli decisions add` reaches both hosts: Ip and Range, IPv4
# and IPv6, into fleet4/fleet6/fleetnet4/fleetnet6, shown by `nfsentryctl bans` with origin
# crowdsec, dropping at prerouting. Types other than ban and scopes other than Ip and Range are
# ignored.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

fleet_setup
listen_tcp 8080
listen_tcp_b 8080
fetch_ok "$V4" 8080 || fail_fleet "A not reachable before any ban"

step "cscli decisions add: Ip and Range, IPv4 and IPv6, and what must be ignored"
add() { lapi_cscli decisions add "$@" >"$TMPD/cscli.out" 2>&1 || fail_fleet "cscli decisions add $*: $(cat "$TMPD/cscli.out")"; }
add --ip 203.0.113.9 --duration 1h
add --range 203.0.113.128/25 --duration 1h
add --ip 2001:db8:9::1 --duration 1h
add --range 2001:db8:a::/48 --duration 1h
add --ip 203.0.113.10 --duration 1h --type captcha
add --scope username --value bob --duration 1h
add --ip "$S4" --duration 30m
for h in A B; do
	wait_until $((UPDATE + 1)) fleet_has "$h" fleet4 "$S4" || fail_fleet "$S4 not in $h's fleet4 within $((UPDATE + 1)) s"
	fleet_has "$h" fleet4 203.0.113.9 || fail_fleet "$h: fleet4 lacks 203.0.113.9: $(fleet_elems "$h" fleet4)"
	fleet_has "$h" fleetnet4 203.0.113.128/25 || fail_fleet "$h: fleetnet4 lacks 203.0.113.128/25: $(fleet_elems "$h" fleetnet4)"
	fleet_has "$h" fleet6 2001:db8:9::1 || fail_fleet "$h: fleet6 lacks 2001:db8:9::1: $(fleet_elems "$h" fleet6)"
	fleet_has "$h" fleetnet6 2001:db8:a::/48 || fail_fleet "$h: fleetnet6 lacks 2001:db8:a::/48: $(fleet_elems "$h" fleetnet6)"
	fleet_gone "$h" fleet4 203.0.113.10 || fail_fleet "$h applied a captcha decision"
	t=$(fleet_elems "$h" fleet4 | awk -v a="$S4" '$1 == a { print $2 }')
	[ "$t" -ge 1780 ] && [ "$t" -le 1800 ] || fail_fleet "$h: $S4's timeout is $t s, not the decision's remaining ~1800 s"
	bans=$(ctl "$h" --json bans) || fail_fleet "nfsentryctl bans on $h failed"
	python3 -c '
import json, sys
bans = json.loads(sys.argv[1])
bans = bans.get("bans", bans) if isinstance(bans, dict) else bans
got = {b["address"]: b.get("origin") for b in bans}
want = ["203.0.113.9", "2001:db8:9::1", sys.argv[2]]
bad = [a for a in want if got.get(a) != "crowdsec"]
sys.exit("not origin crowdsec in bans: %s (bans: %s)" % (bad, got) if bad else 0)
' "$bans" "$S4" || fail_fleet "$h's bans"
done
ctl A bans | grep -q crowdsec || fail_fleet "nfsentryctl bans (text) shows no origin crowdsec on A: $(ctl A bans)"

step "both drop the scanner"
fetch_b_blocked 8080 || fail_fleet "B answers the scanner"
fetch "$V4" 8080 >/dev/null && fail_fleet "A answers the scanner"
[ "$(rule_packets A fleet4)" -gt 0 ] && [ "$(rule_packets B fleet4)" -gt 0 ] || fail_fleet "a @fleet4 drop rule counted nothing"
pass
