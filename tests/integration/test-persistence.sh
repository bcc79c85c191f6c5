#!/bin/bash
# Bans live in the kernel: they survive reloading the ruleset, kill -9 and a restart. A restart
# keeps what the kernel does not: the ban's detector and evidence token (nfsentryctl bans).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup ban.duration=10m
scan -sS -p 1-100
wait_for_log "^banned $S4 for 10m"
ban4_has "$S4" || fail "$S4 not in ban4 after the scan"

ctl_ban() {
	timeout 10 "${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}" -s "$TMPD/control.sock" --json bans |
		python3 -c 'import json, sys
for b in json.load(sys.stdin)["bans"]:
    if b["address"] == sys.argv[1]:
        print(b["detector"], b["offence"], b.get("token", "-"), b["origin"])' "$S4"
}
wait_until 10 eval '[ "$(ctl_ban | cut -d" " -f3)" != - ]' || fail "no evidence token for the ban: $(ctl_ban)"
before=$(ctl_ban)
[ "${before%% *}" = scan ] || fail "nfsentryctl bans: detector of $S4 is not scan: $before"

step "stop and start the daemon"
stop_daemon
start_daemon
after=$(ctl_ban)
[ "$after" = "$before" ] || fail "after a restart nfsentryctl bans says '$after' for $S4, before it said '$before'"

step "reload the ruleset"
load_ruleset
ban4_has "$S4" || fail "reloading the ruleset dropped the ban"

step "kill -9 the daemon"
stop_daemon KILL
ban4_has "$S4" || fail "killing the daemon dropped the ban"

step "start it again"
start_daemon
log_has "^1 IPv4 and 0 IPv6 bans already in the kernel" ||
	fail "the restarted daemon did not report the ban already in the kernel"
pass
