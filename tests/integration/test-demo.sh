#!/bin/bash
# scripts/demo.sh, the first thing a new user runs, runs clean: the scanner is banned, shown in
# nft, then unbanned, and nothing it prints is an error or a warning (issue 11: it once printed
# "evidence records are off: cannot create /var/lib/nfsentry/evidence").
set -euo pipefail
. "$(dirname "$0")/lib.sh"

step "scripts/demo.sh"
ctl=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
rc=0
NFSENTRY=$NFSENTRY NFSENTRYCTL=$ctl timeout 120 bash "$LIB_DIR/../../scripts/demo.sh" >"$TMPD/demo.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "the demo exited $rc: $(tail -n 20 "$TMPD/demo.out")"
for want in "nfsentry: banned 198.51.100.2 for 2m" "elements = { 198.51.100.2 timeout 2m" \
	"connection timed out: dropped at prerouting -450" "unbanned 198.51.100.2"; do
	grep -qF "$want" "$TMPD/demo.out" || fail "the demo did not print '$want': $(cat "$TMPD/demo.out")"
done
! grep -iE "error|warning|not ok|unexpected" "$TMPD/demo.out" || fail "the demo printed the lines above"
pass
