#!/bin/bash
# A spoofed-source SYN flood to closed ports, as fast as this machine sends, for 30 s
# (NFSENTRY_FLOOD_SECONDS), from 10.123.0.0/16 (floodlab.sh), with small tables
# (max_sources 1024, ban4 of 32 elements):
# - the daemon stays up, and its RSS stays under the bound its configuration implies
#   (flood_rss_bound_kb);
# - ban4 never holds more than its size; once it is full, the ban that expires soonest gives
#   way to each new one (counted and logged: docs/security.md, "Item 10");
# - the allowlisted address, the gateway and this host's own address cross the threshold
#   in the flood but are never banned;
# - every packet is accounted for: sent = seen by the victim = dropped by a ban + dropped on
#   a full queue + queued, and queued = received by nfsentry + lost to ENOBUFS, which
#   nfsentry counts as id gaps exactly as the kernel counts user_dropped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/floodlab.sh"

SECONDS_FLOOD=${NFSENTRY_FLOOD_SECONDS:-30}
SETSIZE=32
flood_lab $SETSIZE
flood_config
start_daemon
idle=$(rss_kb)
bound=$(flood_rss_bound_kb "$idle")

step "flood: $SECONDS_FLOOD s, as fast as the sender goes"
flood_run "$SECONDS_FLOOD"
flood_tail
wait_until 10 queues_idle || fail "packets still wait in the queues 10 s after the flood"
daemon_alive || fail "the daemon died under the flood"

step "where the packets went"
flood_account

step "memory, and the ban set, second by second"
echo "RSS idle $idle kB, bound $bound kB"
awk '{ printf "t=%ds rss=%dkB bans=%d%s\n", $1, $2, $3, (NF > 4 ? " NOT ALLOWED:" substr($0, index($0, $5) - 1) : "") }' \
	"$TMPD/samples" | paste -sd' ' | fold -s -w 120
max=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$TMPD/samples")
[ "$max" -le "$bound" ] || fail "RSS reached $max kB, over the bound of $bound kB"
awk -v s=$SETSIZE '$3 > s { exit 1 }' "$TMPD/samples" || fail "ban4 held more than its size $SETSIZE"
awk 'NF > 4 { exit 1 }' "$TMPD/samples" || fail "an allowlisted or protected address was banned: $(awk 'NF > 4' "$TMPD/samples")"
[ "$(ban4_count)" -le $SETSIZE ] || fail "ban4 holds more than its size"
for a in "$FLOOD_ALLOWED" "$S4" "$V4"; do
	! ban4_has "$a" || fail "$a is banned"
done
log_has "^not banning $FLOOD_ALLOWED \(crossed the threshold: [0-9]+ closed ports\): allowlisted by " ||
	fail "the allowlisted address never crossed the threshold: the test proves nothing about it"
log_has "^not banning $S4 .*: protected peer $S4 " || fail "the gateway never crossed the threshold"
log_has "^not banning $V4 .*: protected peer $V4 " || fail "this host's address never crossed the threshold"
bans=$(ctl_metric nfsentry_bans_added_total)
displaced=$(ctl_metric nfsentry_bans_displaced_total)
echo "bans added $bans, displaced in the full set $displaced, refused by the kernel $(ctl_metric nfsentry_bans_refused_total reason=kernel), given up $(ctl_metric nfsentry_bans_refused_total reason=given_up)"
[ "$bans" -gt $SETSIZE ] || fail "only $bans bans: the set never overflowed"
[ "$displaced" -ge 1 ] || fail "no ban gave way: the set never overflowed"
log_has "set ban4 is full .* gave way" || fail "the full set was not logged"
pass
