#!/bin/bash
# Bans survive a reboot: the kernel's sets vanish (here: nft flush ruleset), the daemon puts
# back what it saved in state_dir with the time that was left. A ban added by hand with nft
# is adopted and comes back too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup ban.duration=10m
scan -sS -p 1-100
wait_for_log "^banned $S4 for 10m"
in_v nft add element inet nfsentry ban4 '{ 192.0.2.50 timeout 1h }' 2>/dev/null
in_v nft add element inet nfsentry ban6 '{ 2001:db8:77::/64 timeout 2h }' 2>/dev/null

step "stop (the daemon saves what the sets hold), flush everything, load the ruleset again"
stop_daemon TERM
[ -s "$TMPD/state/bans" ] || fail "no saved bans in $TMPD/state/bans"
grep -q '^192.0.2.50 ' "$TMPD/state/bans" || fail "the hand-made ban was not adopted: $(cat "$TMPD/state/bans")"
sleep 2
in_v nft flush ruleset 2>/dev/null
load_ruleset
set_empty ban4 || fail "ban4 not empty after the flush"

step "start: the bans come back with their time left"
start_daemon
log_has "^restored 3 saved bans" || fail "no 'restored 3 saved bans' line"
ban4_has "$S4" && ban4_has 192.0.2.50 && ban6_has 2001:db8:77::/64 || fail "bans missing: $(set_elems ban4) / $(set_elems ban6)"
read -r _ timeout expires < <(set_elems ban4 | awk -v a="$S4" '$1 == a')
[ "$timeout" = 600 ] || fail "the restored ban's timeout is $timeout, not the original 600"
[ "$expires" -lt 599 ] && [ "$expires" -gt 500 ] || fail "the restored ban expires in $expires s, not the time left"
drops=$(drop_counter)
! fetch_ok "$V4" 22 || fail "the restored ban does not drop"
[ "$(drop_counter)" -gt "$drops" ] || fail "the drop counter did not rise"
pass
