#!/bin/bash
# Issue 10, item 4: distributed scans. 30 sources of one IPv4 /24 with 9 closed ports each,
# and 30 /64s of one IPv6 /48 with 9 ports each, each source below the threshold of 10:
# nobody was banned. Now closed ports also add up per prefix ([scan] prefix4 = 24, prefix6 =
# 48): 40 distinct ports from at least 4 sources ban the prefix, in sets bannet4 and bannet6.
# A prefix that holds an allowlisted or protected address is not banned (an alert says why),
# and its sources keep their own thresholds. A busy network whose 30 clients retry the same
# few closed ports is not a scan. Prefix bans survive a reboot like others, and nfsentryctl
# unbans them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NET4=203.0.113    # scanned from .10-.39
ALLOWED4=192.0.2  # holds an allowlisted address; scanned from .10-.39
OFFICE4=198.18.0  # 30 clients retrying three closed ports
NET6=2001:db8:7   # scanned from the /64s 2001:db8:7:1::/64 .. 2001:db8:7:30::/64
PROT6=2001:db8:9  # holds a protected address (a resolver); same scan
echo "nameserver $PROT6::53" >"$TMPD/resolv.conf"
setup_netns

step "a ruleset from before the prefix sets: the daemon refuses to start and says what to do"
ruleset_without 'bannet[46]' "$TMPD/old.nft"
! grep -q bannet "$TMPD/old.nft" || fail "the old ruleset still names bannet"
load_ruleset "$TMPD/old.nft"
write_config
run_daemon_fg
[ "$RUN_RC" != 0 ] || fail "started without bannet4 and bannet6"
grep -q 'bannet4 or bannet6 is missing.*load-ruleset' <<<"$RUN_OUT" || fail "no hint to load the ruleset again: $RUN_OUT"
in_v nft delete table inet nfsentry
load_ruleset
for n in $NET4 $ALLOWED4 $OFFICE4; do in_v ip route add "$n.0/24" dev veth-v; done
for n in $NET6 $PROT6; do in_v ip -6 route add "$n::/48" dev veth-v; done
write_config ban.duration=5m "allow.networks=127.0.0.0/8, ::1/128, $ALLOWED4.200/32"
start_daemon

step "30 sources of $NET4.0/24, 9 ports each"
spread $NET4 1000
wait_until 10 set_has bannet4 "$NET4.0/24" || fail "$NET4.0/24 not in bannet4: $(set_elems bannet4)"
wait_for_event 'e["event"] == "scan" and e["detector"] == "distributed-scan" and e["src"] == "'$NET4'.0/24" and
	e["action"] == "ban" and e["ports"] >= 40 and e["sources"] >= 4'
wait_for_event 'e["event"] == "ban" and e["detector"] == "distributed-scan" and e["src"] == "'$NET4'.0/24"'
set_empty ban4 || fail "a source below the threshold was banned: $(set_elems ban4)"
in_s ip addr add "$NET4.77/24" dev veth-s
listen_tcp 8080
! fetch_ok "$V4" 8080 "$NET4.77" || fail "another address of the banned /24 still reaches the victim"
fetch_ok "$V4" 8080 || fail "the scanner's own address $S4 was cut off"

step "30 /64s of $NET6::/48, 9 ports each"
spread $NET6 1000
wait_until 10 set_has bannet6 "$NET6::/48" || fail "$NET6::/48 not in bannet6: $(set_elems bannet6)"
set_empty ban6 || fail "a source below the threshold was banned: $(set_elems ban6)"

step "the same from $ALLOWED4.0/24, which holds allowlisted $ALLOWED4.200: an alert, no ban"
spread $ALLOWED4 1000
wait_for_event 'e["detector"] == "distributed-scan" and e["src"] == "'$ALLOWED4'.0/24" and e["action"] == "alert" and
	"allowlisted '$ALLOWED4'.200" in e["reason"]'
! set_has bannet4 "$ALLOWED4.0/24" || fail "$ALLOWED4.0/24 was banned although it holds an allowlisted address"

step "and from $PROT6::/48, which holds the resolver $PROT6::53: an alert, no ban"
spread $PROT6 1000
wait_for_event 'e["detector"] == "distributed-scan" and e["src"] == "'$PROT6'::/48" and e["action"] == "alert" and
	"protected '$PROT6'::53" in e["reason"]'
! set_has bannet6 "$PROT6::/48" || fail "$PROT6::/48 was banned although it holds a protected address"

step "a source of the spared $ALLOWED4.0/24 keeps its own threshold"
scan -sS -p 5001-5015 -S "$ALLOWED4.10" -e veth-s
wait_until 10 ban4_has "$ALLOWED4.10" || fail "$ALLOWED4.10 scanned 15 ports and was not banned: $(set_elems ban4)"

step "a busy network: 30 clients of $OFFICE4.0/24 retrying closed ports 445, 139 and 3389"
for i in $(seq 10 39); do
	in_s ip addr add "$OFFICE4.$i/24" dev veth-s
	scan -sS -p 139,445,3389 -S "$OFFICE4.$i" -e veth-s &
	NMAPS+=($!)
	[ $((i % 10)) != 9 ] || wait_nmaps
done
wait_nmaps
sleep 1
! set_has bannet4 "$OFFICE4.0/24" || fail "the busy network $OFFICE4.0/24 was banned"
no_event 'e["detector"] == "distributed-scan" and e["src"] == "'$OFFICE4'.0/24"'

step "a reboot: the prefix bans come back from state_dir/bans, in their own sets"
stop_daemon TERM
grep -q "^$NET4.0/24 1 300 [0-9]* distributed-scan" "$TMPD/state/bans" || fail "no saved prefix ban: $(cat "$TMPD/state/bans")"
in_v nft flush ruleset
load_ruleset
start_daemon
set_has bannet4 "$NET4.0/24" && set_has bannet6 "$NET6::/48" ||
	fail "prefix bans not restored: $(set_elems bannet4) / $(set_elems bannet6)"
set_empty ban6 || fail "a prefix ban went into ban6: $(set_elems ban6)"

step "nfsentryctl unban of an address inside a banned prefix lifts the prefix ban"
CTL=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
timeout 10 "$CTL" -s "$TMPD/control.sock" unban "$NET4.77" >"$TMPD/unban.out" 2>&1 ||
	fail "nfsentryctl unban $NET4.77: $(cat "$TMPD/unban.out")"
! set_has bannet4 "$NET4.0/24" || fail "$NET4.0/24 still in bannet4 after the unban"
fetch_ok "$V4" 8080 "$NET4.77" || fail "$NET4.77 still cut off after the unban"
pass
