#!/bin/bash
# The kernel refusing bans, under the running daemon:
# 1. table inet nfsentry deleted while a scan is in flight: the batch fails as a whole, which
#    is logged, counted (nfsentry_ban_batch_errors_total) and retried with backoff; given up
#    after the last try (counted), and the source's next scan asks again;
# 2. the ruleset loaded again: the bans the table took with it are put back, and banning
#    works as before;
# 3. a full set (size 4) of bans made by hand, which never give way: every refused ban is
#    counted, said in one line, and nothing else breaks; once there is room the source's
#    next scan is banned. (test-set-full.sh: automatic bans give way, soonest expiry first.)
# (test-batch-refusal.sh: one refused element does not sink the others of its batch.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

S3=198.51.100.3 S4b=198.51.100.4
setup_netns
for a in $S3 $S4b 198.51.100.5 198.51.100.6 198.51.100.7; do
	in_s ip addr add "$a/24" dev veth-s
done
load_ruleset
write_config ban.duration=10m
start_daemon
scan_from() { scan -sS -p "${2:-1-30}" -S "$1" -e veth-s; }

step "a ban before anything goes wrong"
scan_from $S3
wait_for_log "^banned $S3 "

step "table inet nfsentry deleted while a scan waits in the daemon's socket"
kill -STOP "$DAEMON_PID"
scan_from $S4b
in_v nft delete table inet nfsentry
kill -CONT "$DAEMON_PID"
wait_for_log "^error: ban batch of 1 \($S4b\) failed: No such file or directory \(table inet nfsentry or its sets are gone: run nfsentry load-ruleset\); retrying in 1s \(attempt 1 of 6 failed\)$"
wait_for_log "attempt 2 of 6 failed" 5
[ "$(ctl_metric nfsentry_ban_retries_total)" -ge 1 ] || fail "no retry counted"
step "no table: the retries run out (1+2+4+8+16 s) and the request is given up"
wait_for_log "^error: ban batch of 1 \($S4b\) failed: .*; giving up on them after 6 attempts$" 45
[ "$(ctl_metric nfsentry_ban_batch_errors_total)" = 6 ] ||
	fail "nfsentry_ban_batch_errors_total is $(ctl_metric nfsentry_ban_batch_errors_total), not 6"
[ "$(ctl_metric nfsentry_bans_refused_total reason=given_up)" = 1 ] || fail "the given-up ban is not counted"
daemon_alive || fail "the daemon died without its table"

step "the ruleset loaded again: the lost ban is put back, and the source's next scan is banned"
log_mark
load_ruleset
wait_for_log "^table inet nfsentry was loaded again: 1 bans put back with their time left \(0 had expired meanwhile\)$" 5
ban4_has $S3 || fail "the ban of $S3 was not put back: $(set_elems ban4)"
[ "$(elem_timeout ban4 $S3)" = 600 ] || fail "the ban of $S3 came back with another timeout: $(set_elems ban4)"
scan_from $S4b 31-60
wait_for_log "^banned $S4b "
ban4_has $S4b || fail "$S4b not in ban4 after the table came back"
[ "$(ctl_metric nfsentry_bans_restored_total)" = 1 ] || fail "nfsentry_bans_restored_total is not 1"

step "a set of size 4 full of bans made by hand (they never give way, test-set-full.sh), one more scanner"
stop_daemon
sed 's/size 1048576/size 4/' "$NFSENTRY_RULESET" >"$TMPD/size4.nft"
in_v nft delete table inet nfsentry
load_ruleset "$TMPD/size4.nft"
start_daemon
wait_for_log "^restored 2 saved bans"
ctl() { timeout 10 "${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}" -s "$TMPD/control.sock" "$@" >/dev/null; }
ctl unban $S3 && ctl unban $S4b || fail "cannot unban the restored bans"
for a in 192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4; do
	ctl ban $a --for 10m || fail "cannot ban $a by hand"
done
scan_from 198.51.100.5
wait_for_log "^error: set ban4 is full \(its size in nfsentry.nft\): 1 bans refused, the last of 198.51.100.5; "
! ban4_has 198.51.100.5 || fail "198.51.100.5 is in ban4 although only hand-made bans could give way"
[ "$(set_elems ban4 | wc -l)" = 4 ] || fail "ban4 does not hold exactly its size: $(set_elems ban4)"
[ "$(ctl_metric nfsentry_bans_refused_total reason=kernel)" = 1 ] || fail "the refused ban is not counted"
[ "$(ctl_metric nfsentry_bans_displaced_total)" = 0 ] || fail "a hand-made ban gave way"
# Issue 10, item 8: the scan's event says what happened to its ban.
wait_for_event 'e["event"] == "scan" and e["src"] == "198.51.100.5" and e["action"] == "refused" and
	e["reason"].startswith("set full")'
no_event 'e["event"] == "scan" and e["src"] == "198.51.100.5" and e["action"] == "ban"'
daemon_alive || fail "the daemon died on a full set"

step "room again: the refused source's next scan (after its 10 s hold) is banned"
in_v nft delete element inet nfsentry ban4 "{ 192.0.2.1 }"
sleep 10
scan_from 198.51.100.5 31-60
wait_for_log "^banned 198.51.100.5 "
pass
