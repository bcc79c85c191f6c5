#!/bin/bash
# Bans live in the kernel: they survive reloading the ruleset, kill -9 and a restart.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup ban.duration=10m
scan -sS -p 1-100
wait_for_log "^banned $S4 for 10m"
ban4_has "$S4" || fail "$S4 not in ban4 after the scan"

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
