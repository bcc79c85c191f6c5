#!/bin/bash
# SIGHUP applies a new configuration, and refuses a broken one without stopping.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup scan.threshold=50
step "20 ports with threshold 50"
scan -sS -p 1-20
assert_not_banned

step "reload with threshold 10"
write_config scan.threshold=10
kill -HUP "$DAEMON_PID"
wait_for_log "configuration reloaded"
scan -sS -p 21-40
wait_for_log "^banned $S4 "
ban4_has "$S4" || fail "$S4 not in ban4"

step "reload with a syntax error, after logrotate moved the events file away"
log_mark
echo "this is not ini" >>"$CONF"
mv "$EVENTS" "$EVENTS.1"
kill -HUP "$DAEMON_PID"
wait_for_log "reload refused"
sleep 0.5
daemon_alive || fail "the daemon died after a refused reload"
# logrotate's postrotate sends the same SIGHUP: the file is reopened even when the config is not.
[ -e "$EVENTS" ] || fail "no new $EVENTS after the SIGHUP: still writing to the rotated file ($(ls "$(dirname "$EVENTS")"))"
pass
