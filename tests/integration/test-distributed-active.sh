#!/bin/bash
# Issue 10, items 4 and 6 together: a distributed scan forged with sources of an active
# client's prefix. 30 forged sources of the /24 that holds a client with an open session,
# 9 closed ports each, used to get the whole /24 banned (bannet4), cutting the client off: a
# forged scan banning a real client, with a bigger blast radius. Now the ban writer looks the
# prefix up in active4/active6 first: a prefix that holds an active peer is not banned (a ban
# event with action "refused" and the reason, counted as reason="active"), and the session
# lives on. The same over IPv6 (30 /64s of the client's /48), and the same scans of prefixes
# without active peers are still banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ECHO_PORT=7000
NET4=203.0.113        # holds the client .200; forged sources .10-.39
CLIENT4=$NET4.200
IDLE4=192.0.2         # no active peer; same scan
NET6=2001:db8:7       # holds the client 2001:db8:7:99::2; forged /64s :1: .. :30:
CLIENT6=$NET6:99::2
IDLE6=2001:db8:9      # no active peer; same scan
setup_netns
load_ruleset
for n in $NET4 $IDLE4; do in_v ip route add "$n.0/24" dev veth-v; done
for n in $NET6 $IDLE6; do in_v ip -6 route add "$n::/48" dev veth-v; done
write_config ban.duration=5m
start_daemon

step "an echo server in the victim; clients $CLIENT4 and $CLIENT6 hold a session with it"
in_s ip addr add "$CLIENT4/24" dev veth-s
in_s ip addr add "$CLIENT6/64" dev veth-s nodad
ip netns exec "$VNS" socat "TCP6-LISTEN:$ECHO_PORT,fork,reuseaddr,ipv6only=0" EXEC:cat </dev/null >/dev/null 2>&1 &
wait_until 5 port_listening "$ECHO_PORT" || fail "no echo server"

session "$V4" c4 "$CLIENT4"
session "$V6" c6 "$CLIENT6"
wait_until 10 session_says c4 "ok 1" || fail "IPv4 session: $(cat "$TMPD/c4.out" 2>/dev/null)"
wait_until 10 session_says c6 "ok 1" || fail "IPv6 session: $(cat "$TMPD/c6.out" 2>/dev/null)"
set_has active4 "$CLIENT4" || fail "the ruleset did not record $CLIENT4 in active4: $(set_elems active4)"
set_has active6 "$CLIENT6" || fail "the ruleset did not record $CLIENT6 in active6: $(set_elems active6)"

# decided SET PREFIX: the writer has decided about PREFIX: banned, or a refused event.
decided() {
	set_has "$1" "$2" || events_match 'e["event"] == "ban" and e["src"] == "'"$2"'" and e["action"] == "refused"' >/dev/null
}

step "30 forged sources of $NET4.0/24, which holds the active client $CLIENT4: refused, not banned"
spread $NET4 1000
wait_for_event 'e["event"] == "scan" and e["detector"] == "distributed-scan" and e["src"] == "'$NET4'.0/24"'
wait_until 10 decided bannet4 "$NET4.0/24" || fail "no decision about $NET4.0/24"
! set_has bannet4 "$NET4.0/24" ||
	fail "the forged distributed scan got $NET4.0/24 banned, cutting off the active client $CLIENT4"
wait_for_event 'e["event"] == "ban" and e["detector"] == "distributed-scan" and e["src"] == "'$NET4'.0/24" and
	e["action"] == "refused" and e["reason"] == "holds active peer '$CLIENT4'"'
wait_for_log "^not banning $NET4.0/24 .*holds active peer $CLIENT4 "
set_empty ban4 || fail "a source below the threshold was banned: $(set_elems ban4)"

step "the same over IPv6: 30 forged /64s of $NET6::/48, which holds the active client $CLIENT6"
spread $NET6 1000
wait_until 10 decided bannet6 "$NET6::/48" || fail "no decision about $NET6::/48"
! set_has bannet6 "$NET6::/48" ||
	fail "the forged distributed scan got $NET6::/48 banned, cutting off the active client $CLIENT6"
wait_for_event 'e["event"] == "ban" and e["detector"] == "distributed-scan" and e["src"] == "'$NET6'::/48" and
	e["action"] == "refused" and e["reason"] == "holds active peer '$CLIENT6'"'
set_empty ban6 || fail "a source below the threshold was banned: $(set_elems ban6)"
[ "$(ctl_metric nfsentry_bans_refused_total reason=active)" -ge 2 ] || fail "the refusals were not counted"
no_event 'e["event"] == "ban" and e["action"] == "ban"'

step "the sessions live on"
touch "$TMPD/c4.go" "$TMPD/c6.go"
wait_until 10 session_says c4 "ok 2" || fail "IPv4 session after the forged scan: $(cat "$TMPD/c4.out")"
wait_until 10 session_says c6 "ok 2" || fail "IPv6 session after the forged scan: $(cat "$TMPD/c6.out")"

step "the same scan of $IDLE4.0/24 and $IDLE6::/48, without active peers, is banned"
spread $IDLE4 1000
wait_until 10 set_has bannet4 "$IDLE4.0/24" || fail "$IDLE4.0/24 not in bannet4: $(set_elems bannet4)"
spread $IDLE6 1000
wait_until 10 set_has bannet6 "$IDLE6::/48" || fail "$IDLE6::/48 not in bannet6: $(set_elems bannet6)"
wait_for_event 'e["event"] == "ban" and e["detector"] == "distributed-scan" and e["src"] == "'$IDLE4'.0/24" and
	e["action"] == "ban"'
! set_has bannet4 "$NET4.0/24" || fail "$NET4.0/24 was banned later"
! set_has bannet6 "$NET6::/48" || fail "$NET6::/48 was banned later"

step "no offence was recorded for the refused prefixes"
stop_daemon TERM
! grep -E "^($NET4\.0/24|$NET6::/48) " "$TMPD/state/offences" || fail "a refused prefix was recorded as an offence"
grep -q "^$IDLE4.0/24 " "$TMPD/state/offences" || fail "no offence for the banned $IDLE4.0/24: $(cat "$TMPD/state/offences")"

step "a ruleset without the sets of active peers: the prefix is banned as before, with a warning"
ruleset_without 'active(4|6|6net)' "$TMPD/old.nft"
! grep -qE 'set active|@active' "$TMPD/old.nft" || fail "the old ruleset still names active4 or active6"
in_v nft delete table inet nfsentry
load_ruleset "$TMPD/old.nft"
start_daemon
spread $NET4 2000
wait_until 10 set_has bannet4 "$NET4.0/24" || fail "$NET4.0/24 not banned without active4: $(set_elems bannet4)"
wait_for_log "set active4 is missing from table inet nfsentry: prefix bans of distributed scans are made without"
pass
