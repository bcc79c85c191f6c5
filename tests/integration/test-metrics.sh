#!/bin/bash
# The metrics file: valid Prometheus text, rewritten every few seconds, and its numbers follow
# what happened (a scan: packets on queue 0/1, one scan detection, one ban, the kernel's own
# queue counters, the latency histogram).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

M=$TMPD/metrics.prom
setup
wait_until 8 test -s "$M" || fail "no metrics file after 8 s"
scan -sS -p 1-100
wait_for_log "^banned $S4 "
metric() { python3 - "$M" "$1" <<'PY'
import re, sys
want, total = sys.argv[2], 0
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    m = re.fullmatch(r'([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)\n', line)
    if not m:
        sys.exit("not Prometheus text: %r" % line)
    if (m.group(1) + (m.group(2) or "")).startswith(want):
        total += float(m.group(3))
print(int(total))
PY
}
fresh() { [ "$(metric nfsentry_bans_added_total)" = 1 ]; }
wait_until 10 fresh || fail "nfsentry_bans_added_total is not 1 after 10 s: $(cat "$M")"
[ "$(metric 'nfsentry_detections_total{detector="scan"}')" = 1 ] || fail "scan detections is not 1"
[ "$(metric nfsentry_queue_packets_total)" -ge 10 ] || fail "fewer than 10 packets counted on the queues"
[ "$(metric nfsentry_kernel_queue_id_sequence)" -ge 10 ] || fail "the kernel's queue counters are missing"
[ "$(metric nfsentry_ban_latency_seconds_count)" = 1 ] || fail "the latency histogram has no ban"
[ "$(metric 'nfsentry_ban_latency_seconds_bucket{le="+Inf"}')" = 1 ] || fail "the +Inf bucket is not 1"
[ "$(metric nfsentry_bans_active)" = 1 ] || fail "nfsentry_bans_active is not 1"
[ "$(metric nfsentry_ban_batches_total)" = 1 ] || fail "one ban, but nfsentry_ban_batches_total is not 1"
[ "$(stat -c %a "$M")" = 644 ] || fail "the metrics file is not world-readable"
pass
