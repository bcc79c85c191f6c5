#!/bin/bash
# The daemon refuses to start, and names why, when the kernel side does not match; --check.
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

step "(c) --check"
write_config scan.threshold=abc
line=$(grep -n '^threshold = abc' "$CONF" | cut -d: -f1)
rc=0; out=$("$NFSENTRY" -c "$CONF" --check 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "--check on a bad config exited $rc: $out"
grep -q "^$CONF:$line:" <<<"$out" || fail "--check did not print $CONF:$line:, got: $out"
write_config
out=$("$NFSENTRY" -c "$CONF" --check 2>&1) || fail "--check on a good config failed: $out"
grep -q 'configuration OK' <<<"$out" || fail "--check on a good config printed: $out"
pass
