#!/bin/bash
# Filling the ban set (issue 10, item 10): with ban4 at its size, a new ban still lands: the
# ban that expires soonest gives way (deleted in the same transaction), which is logged,
# counted (nfsentry_bans_displaced_total) and an unban event ("displaced"). A repeat
# offender's escalated ban expires last, so a flood of forged scans that fills the set pushes
# out first offences, not it, even though it is the oldest ban of the set. A ban by hand
# lands in a full set the same way, and never gives way itself. ban6 too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

A=198.51.100.3 B1=198.51.100.4 B2=198.51.100.5 B3=198.51.100.6 N=198.51.100.7
FORGED=(198.51.100.11 198.51.100.12 198.51.100.13 198.51.100.14)
setup_netns
for a in $A $B1 $B2 $B3 $N "${FORGED[@]}"; do
	in_s ip addr add "$a/24" dev veth-s
done
sed 's/size 1048576/size 4/g' "$NFSENTRY_RULESET" >"$TMPD/size4.nft"
grep -q 'size 4$' "$TMPD/size4.nft" || fail "no 'size 1048576' to shrink in $NFSENTRY_RULESET"
load_ruleset "$TMPD/size4.nft"
write_config ban.duration=1m
# $A was banned twice before (a week ago): its next ban is its third offence, 1m * 4^2.
printf '# nfsentry offence history v1: address count last-ban-epoch\n%s 2 %s\n' $A $(($(date +%s) - 7 * 86400)) \
	>"$TMPD/state/offences"
start_daemon
scan_from() { scan -sS -p "${2:-1-30}" -S "$1" -e veth-s; }

step "the repeat offender first, then three first offences: the set is full"
for a in $A $B1 $B2 $B3; do
	scan_from $a
	wait_for_log "^banned $a "
done
log_has "^banned $A for 16m \(offence 3\)" || fail "$A's ban was not escalated to 16m"
[ "$(set_elems ban4 | wc -l)" = 4 ] || fail "ban4 does not hold its size: $(set_elems ban4)"

step "a new scanner: the ban that expires soonest ($B1, not the oldest, $A) gives way"
log_mark
scan_from $N
wait_for_log "^banned $N "
ban4_has $N || fail "$N is not in ban4: $(set_elems ban4)"
! ban4_has $B1 || fail "$B1, the ban that expires soonest, is still in ban4: $(set_elems ban4)"
for a in $A $B2 $B3; do
	ban4_has $a || fail "$a gave way instead of $B1: $(set_elems ban4)"
done
log_has "^warning: set ban4 is full \(its size in nfsentry.nft\): 1 bans gave way to new ones, the ones that expired soonest; the last was $B1 \([0-9]+s left\), for $N " ||
	fail "no line says that $B1 gave way to $N"
! log_has "bans refused" || fail "a ban was refused although one could give way"
[ "$(ctl_metric nfsentry_bans_displaced_total)" = 1 ] || fail "nfsentry_bans_displaced_total is not 1"
[ "$(ctl_metric nfsentry_bans_refused_total reason=kernel)" = 0 ] || fail "a ban is counted as refused"
wait_for_event 'e["event"] == "unban" and e["detector"] == "displaced" and e["src"] == "'$B1'"'
bans=$(timeout 10 "${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}" -s "$TMPD/control.sock" --json bans)
grep -q "\"$B1\"" <<<"$bans" && fail "nfsentryctl bans still lists $B1: $bans"

step "forged scans fill the set again and again: the escalated ban of $A survives them"
for a in "${FORGED[@]}"; do
	scan_from $a
	wait_for_log "^banned $a "
done
ban4_has $A || fail "the repeat offender $A was pushed out: $(set_elems ban4)"
for a in "${FORGED[@]:1}"; do
	ban4_has $a || fail "$a is not in ban4: $(set_elems ban4)"
done
[ "$(set_elems ban4 | wc -l)" = 4 ] || fail "ban4 does not hold its size: $(set_elems ban4)"
[ "$(ctl_metric nfsentry_bans_displaced_total)" = 5 ] || fail "nfsentry_bans_displaced_total is not 5"

step "a ban by hand in the full set: it lands, and the soonest automatic ban (${FORGED[1]}) gives way"
timeout 10 "${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}" -s "$TMPD/control.sock" ban 192.0.2.9 --for 10m ||
	fail "a ban by hand was refused in a full set"
ban4_has 192.0.2.9 || fail "192.0.2.9 is not in ban4: $(set_elems ban4)"
! ban4_has "${FORGED[1]}" || fail "${FORGED[1]} did not give way: $(set_elems ban4)"
ban4_has $A || fail "the repeat offender $A was pushed out: $(set_elems ban4)"
[ "$(ctl_metric nfsentry_bans_displaced_total)" = 6 ] || fail "nfsentry_bans_displaced_total is not 6"

step "ban6 (an interval set: a /64 is a start and an end element) full: the soonest /64 gives way"
for p in 2 3 4 5 6; do
	in_s ip addr add 2001:db8:$p::2/64 dev veth-s nodad
done
for p in 2 3 4 5; do
	scan -6 -sS -p 1-30 -S 2001:db8:$p::2 -e veth-s
	wait_for_log "^banned 2001:db8:$p::/64 "
done
scan -6 -sS -p 1-30 -S 2001:db8:6::2 -e veth-s
wait_for_log "^banned 2001:db8:6::/64 "
ban6_has 2001:db8:6::/64 || fail "2001:db8:6::/64 is not in ban6: $(set_elems ban6)"
! ban6_has 2001:db8:2::/64 || fail "2001:db8:2::/64, the soonest to expire, is still in ban6: $(set_elems ban6)"
for p in 3 4 5; do
	ban6_has 2001:db8:$p::/64 || fail "2001:db8:$p::/64 gave way instead: $(set_elems ban6)"
done
[ "$(ctl_metric nfsentry_bans_displaced_total)" = 7 ] || fail "nfsentry_bans_displaced_total is not 7"
daemon_alive || fail "the daemon died"
pass
