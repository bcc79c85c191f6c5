#!/bin/bash
# The daemon refuses to start, and names why, when the kernel side does not match; --check;
# [allow] networks that are wrong (an empty entry) or that disable banning (0.0.0.0/0, ::/0); a
# second daemon on the same queues; ban sets declared so the kernel cannot hold the bans.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_netns
write_config

step "(b) no ruleset loaded"
run_daemon_fg
[ "$RUN_RC" != 0 ] || fail "started without the ruleset"
grep -q 'load-ruleset' <<<"$RUN_OUT" || fail "no hint to run load-ruleset: $RUN_OUT"

step "(a) [queue] queues = 3, ruleset queues to 0-1"
load_ruleset
write_config queue.queues=3
run_daemon_fg
[ "$RUN_RC" != 0 ] || fail "started with queues = 3"
grep -qE 'queue.*[^0-9]2([^0-9]|$)' <<<"$RUN_OUT" || fail "the error does not name queue 2: $RUN_OUT"

step "(f) a ban set the kernel would keep in an rbtree (policy memory) or without timeouts"
# An edited ruleset: with `policy memory`, nf_tables keeps ban4 in an rbtree that takes one
# address and refuses the rest with EEXIST, which the writer reads as "already banned". The
# daemon must refuse to start and name the set, not log bans that never land.
edited_ruleset() { # SED-EXPR: the shipped ruleset with ban4's declaration edited, loaded afresh
	sed "/^\tset ban4 {/,/^\t}/{$1}" "$NFSENTRY_RULESET" >"$TMPD/edited.nft"
	in_v nft delete table inet nfsentry
	load_ruleset "$TMPD/edited.nft"
}
write_config
edited_ruleset 's/^\(\t*\)flags timeout$/&\n\1policy memory/'
in_v nft list set inet nfsentry ban4 | grep "policy memory" >/dev/null || fail "the edited ruleset has no policy memory"
run_daemon_fg
[ "$RUN_RC" != 0 ] || fail "started with ban4 declared policy memory"
grep -q "set ban4 of table inet nfsentry declares \`policy memory\`" <<<"$RUN_OUT" ||
	fail "the error does not name ban4's policy: $RUN_OUT"
edited_ruleset '/flags timeout/d'
run_daemon_fg
[ "$RUN_RC" != 0 ] || fail "started with ban4 lacking flags timeout"
grep -q "set ban4 of table inet nfsentry lacks \`flags timeout\`" <<<"$RUN_OUT" ||
	fail "the error does not say ban4 lacks timeouts: $RUN_OUT"
in_v nft delete table inet nfsentry
load_ruleset

step "(c) --check"
write_config scan.threshold=abc
line=$(grep -n '^threshold = abc' "$CONF" | cut -d: -f1)
rc=0; out=$("$NFSENTRY" -c "$CONF" --check 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "--check on a bad config exited $rc: $out"
grep -q "^$CONF:$line:" <<<"$out" || fail "--check did not print $CONF:$line:, got: $out"
write_config
out=$("$NFSENTRY" -c "$CONF" --check 2>&1) || fail "--check on a good config failed: $out"
grep -q 'configuration OK' <<<"$out" || fail "--check on a good config printed: $out"

step "(d) [allow] networks: an empty entry is an error; 0.0.0.0/0 and ::/0 are warned about"
write_config allow.networks=",,,"
line=$(grep -n '^networks = ,,,' "$CONF" | cut -d: -f1)
rc=0; out=$("$NFSENTRY" -c "$CONF" --check 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "--check accepted networks = ,,, (exit $rc): $out"
grep -q "^$CONF:$line: networks: empty entry" <<<"$out" || fail "--check did not name $CONF:$line: $out"
write_config allow.networks="127.0.0.0/8, ::1/128, 0.0.0.0/0"
line=$(grep -n '^networks = ' "$CONF" | cut -d: -f1)
warn4="^warning: $CONF:$line: networks: 0.0.0.0/0 allowlists every IPv4 address: no IPv4 source is ever banned$"
out=$("$NFSENTRY" -c "$CONF" --check 2>&1) || fail "--check refused 0.0.0.0/0: $out"
grep -q 'configuration OK' <<<"$out" && grep -qE "$warn4" <<<"$out" || fail "--check did not warn about 0.0.0.0/0: $out"
start_daemon
log_has "$warn4" || fail "no warning about 0.0.0.0/0 at start"
write_config allow.networks="127.0.0.0/8, ::/0"
log_mark
kill -HUP "$DAEMON_PID"
wait_for_log "^configuration reloaded"
log_has "^warning: $CONF:$line: networks: ::/0 allowlists every IPv6 address: no IPv6 source is ever banned$" ||
	fail "no warning about ::/0 on reload"
! log_has "0.0.0.0/0" || fail "a warning about 0.0.0.0/0, no longer in the file"

step "(e) a second daemon while the first holds the queues"
# The kernel answers its bind with EPERM, which reads like a missing capability: the error must
# say that another process holds the queue, and the first daemon must go on banning.
write_config
log_mark
kill -HUP "$DAEMON_PID"
wait_for_log "^configuration reloaded"
run_daemon_fg
[ "$RUN_RC" != 0 ] || fail "a second daemon started on the same queues"
grep -q "cannot bind queue 0: another process holds it (is nfsentry already running?" <<<"$RUN_OUT" ||
	fail "the second daemon did not say that another process holds queue 0: $RUN_OUT"
! grep -q "Operation not permitted\|CAP_NET_ADMIN" <<<"$RUN_OUT" || fail "it blames the capabilities: $RUN_OUT"
daemon_alive || fail "the first daemon died"
scan -sS -p 1-100
wait_for_log "^banned $S4 for 30s \(offence 1\): "
pass
