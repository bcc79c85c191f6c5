#!/bin/bash
# Issue 12, items 1 to 3: the real ban writer, in a namespace with the shipped ruleset, while
# evidence tokens come back from another thread (tests/integration/writer-saves.c). Every save
# of state_dir/bans holds each ban once, a step back of the wall clock does not stop the saves,
# and a token that arrives after the writer's thread has stopped is saved.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_netns
load_ruleset
mkdir -p "$TMPD/state"
out=$(timeout 100 ip netns exec "$VNS" "$NFSENTRY_WRITER_SAVES" "$TMPD/state" 2000 2>&1) ||
	fail "writer-saves: $out"
echo "$out"
pass
