#!/bin/bash
# Issue 13: a decision on a protected address is not applied: the host's own address, its
# resolver, its [allow] networks, a Range containing any of them (refused whole), and a Range
# wider than [fleet] min_prefix4 (a compromised fleet member publishing 0.0.0.0/1 must not
# black-hole half the Internet here). The other host applies what is not protected there, and
# an ordinary decision added last shows both hosts have pulled past the refused ones.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

RESOLVER=198.51.100.53
echo "nameserver $RESOLVER" >"$TMPD/resolv.conf.a"
# shellcheck disable=SC2034 # read by fleet_setup (fleetlab.sh)
FLEET_A=(allow.resolv_conf="$TMPD/resolv.conf.a")
FLEET_B=(allow.networks=203.0.113.0/26)
fleet_setup

step "decisions on protected addresses, then an ordinary one"
add() { lapi_cscli decisions add "$@" --duration 1h >"$TMPD/cscli.out" 2>&1 || fail_fleet "cscli decisions add $*: $(cat "$TMPD/cscli.out")"; }
add --ip "$B4"                   # B's own address: A applies it, B must not
add --ip "$V4"                   # A's own address: B applies it, A must not
add --ip "$RESOLVER"             # A's resolver
add --ip 203.0.113.20            # in B's [allow] networks
add --range 198.51.100.0/25      # contains both hosts' addresses: refused whole on both
add --range 10.0.0.0/8           # wider than min_prefix4 = 16
add --range 2001:db8::/16        # wider than min_prefix6 = 32
add --ip 192.0.2.99              # ordinary: the witness that both hosts pulled everything above
for h in A B; do
	wait_until $((UPDATE + 1)) fleet_has "$h" fleet4 192.0.2.99 || fail_fleet "the ordinary decision did not reach $h"
done
fleet_gone B fleet4 "$B4" || fail_fleet "B applied a decision on its own address $B4"
fleet_has A fleet4 "$B4" || fail_fleet "A did not apply $B4 (not protected on A): $(fleet_elems A fleet4)"
fleet_gone A fleet4 "$V4" || fail_fleet "A applied a decision on its own address $V4"
fleet_has B fleet4 "$V4" || fail_fleet "B did not apply $V4 (not protected on B)"
fleet_gone A fleet4 "$RESOLVER" || fail_fleet "A applied a decision on its resolver"
fleet_has B fleet4 "$RESOLVER" || fail_fleet "B did not apply $RESOLVER (not its resolver)"
fleet_gone B fleet4 203.0.113.20 || fail_fleet "B applied a decision in its [allow] networks"
fleet_has A fleet4 203.0.113.20 || fail_fleet "A did not apply 203.0.113.20 (not allowed on A)"
for h in A B; do
	for s in fleetnet4 fleetnet6; do
		[ -z "$(fleet_elems "$h" "$s")" ] || fail_fleet "$h applied a protected or too wide range: $s = $(fleet_elems "$h" "$s")"
	done
done

step "refusals are logged like local ones, once each"
grep -q "not banning $V4" "$LOG" || fail_fleet "A did not log its refusal of $V4"
grep -q "not banning $RESOLVER" "$LOG" || fail_fleet "A did not log its refusal of its resolver"
grep -q "not banning $B4" "$LOG_B" || fail_fleet "B did not log its refusal of $B4"
sleep $((2 * UPDATE + 1))   # more polls: the refused decisions are not retried or re-logged each time
[ "$(grep -c "not banning $V4" "$LOG")" = 1 ] || fail_fleet "A logged its refusal of $V4 $(grep -c "not banning $V4" "$LOG") times"
ctl A --json bans | python3 -c '
import json, sys
d = json.load(sys.stdin)
bans = d.get("bans", d) if isinstance(d, dict) else d
bad = [b["address"] for b in bans if b["address"] in sys.argv[1:]]
sys.exit("A lists protected fleet bans: %s" % bad if bad else 0)
' "$V4" "$RESOLVER" || fail_fleet "A's bans"
pass
