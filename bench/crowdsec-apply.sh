#!/bin/bash
# Benchmark (issue 13): N CrowdSec decisions at the bridge's start-up, seconds to the kernel.
#
# The fleet lab (tests/integration/fleetlab.sh): an offline LAPI (crowdsec 1.4.6) filled with N
# Ip-scope IPv4 ban decisions by `cscli decisions import` (setup, not measured), host B's daemon
# running, then host B's bridge started (apply only). Measured from the bridge's start to B's
# kernel set fleet4 holding all N (polled every 0.1 s; each poll lists the set, so the figure
# is late by at most one poll and one listing, printed beside it). Also the bridge's and the
# daemon's peak memory (VmHWM). The issue asks 100,000 within 2 s.
# This is a benchmark, not a test: run it by hand, compare figures from one machine.
#
# Usage: sudo bench/crowdsec-apply.sh [N=100000]
set -euo pipefail
N=${1:-100000}
# shellcheck source=../tests/integration/fleetlab.sh
. "$(dirname "$0")/../tests/integration/fleetlab.sh"

fleet_hosts
step "import $N decisions into the LAPI (setup)"
python3 -c '
import json, sys
n = int(sys.argv[1])
json.dump([{"duration": "4h", "origin": "bench", "reason": "bench", "scope": "ip", "type": "ban",
            "value": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)} for i in range(1, n + 1)], sys.stdout)
' "$N" >"$TMPD/decisions.json"
t=$(ms_now)
timeout 1200 cscli -c "$LAPI_DIR/config.yaml" decisions import -i "$TMPD/decisions.json" >"$TMPD/import.out" 2>&1 ||
	fail_fleet "cscli decisions import: $(tail -n 3 "$TMPD/import.out")"
echo "imported $N in $(( ($(ms_now) - t) / 1000 )) s"

fleet4_count() { in_b nft -j list set inet nfsentry fleet4 2>/dev/null | python3 -c '
import json, sys
print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))'; }
fleet4_full() {
	local t
	t=$(ms_now)
	COUNT=$(fleet4_count)
	LIST_MS=$(( $(ms_now) - t ))
	[ "$COUNT" -ge "$N" ]
}
step "start B's bridge (apply only)"
t0=$(ms_now)
bridge_start B publish.enabled=false
wait_until 120 fleet4_full || fail_fleet "fleet4 holds $COUNT of $N after 120 s"
t1=$(ms_now)
hwm() { awk '/VmHWM/ { print $2 / 1024 " MiB" }' "/proc/$1/status"; }
printf 'crowdsec apply at start-up: %d decisions in the kernel (fleet4) %.2f s after the bridge started (%d/s); last poll listed the set in %d ms\n' \
	"$N" "$(echo "($t1 - $t0) / 1000" | bc -l)" "$(( N * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1) ))" "$LIST_MS"
echo "peak memory: bridge $(hwm "${BRIDGE_PID[B]}"), daemon B $(hwm "$DAEMON_B_PID")"
echo "command: sudo bench/crowdsec-apply.sh $N (kernel $(uname -r), $(nproc) cores, crowdsec $(crowdsec -version 2>&1 | sed -n 's/.*version: //p'))"
