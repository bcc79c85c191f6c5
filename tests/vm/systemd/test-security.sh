#!/bin/bash
# Scenario 6: `systemd-analyze security nfsentry.service` on the booted system rates the
# unit's sandbox at an overall exposure of at most 2.0 (0 is the best, 10 the worst).
source "$(dirname "$0")/lib.sh"

need_installed
step "systemd-analyze security nfsentry.service"
out=$(systemd-analyze security --no-pager nfsentry.service 2>&1) || true
echo "$out" | grep -vE '^✓' || true   # the table without the settings already passed
exposure=$(sed -n 's/.*Overall exposure level for nfsentry\.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$exposure" ] || fail "expected 'Overall exposure level for nfsentry.service: N' from systemd-analyze security; it printed: $out"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' ||
	fail "expected an overall exposure of at most 2.0; systemd-analyze security rates nfsentry.service $exposure (the ✗ lines above are what counts)"
echo "overall exposure $exposure (at most 2.0)"
echo "PASS: vm-systemd/$NAME"
