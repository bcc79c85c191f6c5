#!/bin/bash
# A repeat offender gets duration * factor; the offence history survives a restart.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup ban.duration=2s ban.factor=3
step "first offence"
scan -sS -p 1-100
wait_for_log "^banned $S4 for 2s \(offence 1\)"
[ "$(elem_timeout ban4 "$S4")" = 2 ] || fail "first ban's timeout is not 2s: $(set_elems ban4)"
wait_until 6 ban4_gone "$S4" || fail "the first ban did not expire"

step "restart the daemon"
stop_daemon TERM
[ "$DAEMON_RC" = 0 ] || fail "SIGTERM: the daemon exited with $DAEMON_RC"
start_daemon

step "second offence"
scan -sS -p 1-100
wait_for_log "^banned $S4 for 6s \(offence 2\)"
[ "$(elem_timeout ban4 "$S4")" = 6 ] || fail "second ban's timeout is not 6s: $(set_elems ban4)"
pass
