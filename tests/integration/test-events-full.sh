#!/bin/bash
# Events on a full disk (issue 10, smaller): the events file sits on a tmpfs of 64 KiB that a
# filler file has filled. A scan is still banned; the events that could not be written are
# counted (nfsentry_events_lost_total) and said in one log line with the errno, not one per
# event (at most one a minute).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FULL=$TMPD/full
mkdir "$FULL"
mount -t tmpfs -o size=64k,mode=0755 nfsentry-test "$FULL"
# lib.sh's cleanup removes $TMPD: the tmpfs goes first (lazily: the daemon may still hold it).
trap 'rc=$?; umount -l "$FULL" 2>/dev/null; (exit $rc); cleanup' EXIT
setup_netns
load_ruleset
EVENTS=$FULL/events.json # lib.sh's events_match and write_config read it
write_config
start_daemon
[ -e "$FULL/events.json" ] || fail "the daemon did not open $FULL/events.json"
dd if=/dev/zero of="$FULL/filler" bs=4k 2>/dev/null && fail "dd filled a 64 KiB tmpfs without ENOSPC"
df -k "$FULL" | tail -n1

step "a scan while the disk is full"
scan -sS -p 1-30 -e veth-s
wait_for_log "^banned $S4 "
ban4_has $S4 || fail "$S4 is not in ban4"
wait_for_log "^error: $FULL/events.json: cannot write events: No space left on device; [0-9]+ lost \(they are in this log; nfsentry_events_lost_total\)$"
[ "$(grep -c 'cannot write events' "$LOG")" = 1 ] || fail "more than one line about the lost events within a minute"
[ ! -s "$FULL/events.json" ] || fail "events were written to a full disk?"
lost=$(ctl_metric nfsentry_events_lost_total)
echo "nfsentry_events_lost_total = $lost"
[ "$lost" -ge 2 ] || fail "nfsentry_events_lost_total is $lost, not at least 2 (the scan and its ban)"
log_has '^event: \{.*"event":"ban"' || fail "the lost ban event is not in the log either"

step "room again: events are written"
rm "$FULL/filler"
in_s ip addr add 198.51.100.3/24 dev veth-s
scan -sS -p 1-30 -S 198.51.100.3 -e veth-s
wait_for_event 'e["event"] == "ban" and e["src"] == "198.51.100.3"'
[ "$(ctl_metric nfsentry_events_lost_total)" = "$lost" ] || fail "events are still lost with room on the disk"
daemon_alive || fail "the daemon died"
pass
