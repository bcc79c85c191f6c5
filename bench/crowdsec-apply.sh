#!/bin/bash
# Benchmark (issue 13): N CrowdSec decisions at the bridge's start-up, seconds to the kernel.
#
# The fleet lab (tests/integration/fleetlab.sh): an offline LAPI (crowdsec 1.4.6) filled with N
# Ip-scope IPv4 ban decisions by `cscli decisions import` (setup, not measured), host B's daemon
# running, then host B's bridge started (apply only). Measured from the bridge's start to the
# daemon's notice that its fleet bans held reached N ("decisions of the fleet: ...; N fleet bans
# held", logged once the writer's batches are committed to the kernel), each line of B's log
# stamped as it is written (bash's EPOCHREALTIME, no fork); then, untimed, B's kernel set fleet4
# is counted and must hold all N (listing 100,000 elements takes seconds itself: polling the
# set would measure nft). Also the bridge's and the daemon's peak memory (VmHWM). The issue
# asks 100,000 within 2 s.
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
# B's log, each line stamped (seconds.microseconds) when it is read.
tail -n 0 -F "$LOG_B" 2>/dev/null | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done \
	>"$TMPD/b-stamped.log" &
FLEET_PIDS+=($!)
sleep 0.5
held_all() {
	awk -v n="$N" '/decisions of the fleet: .* fleet bans held/ {
		for (i = 1; i < NF; i++) if ($(i + 1) == "fleet" && $i + 0 >= n) { print $1; found = 1; exit }
	} END { exit !found }' "$TMPD/b-stamped.log" >"$TMPD/t1"
}
step "start B's bridge (apply only)"
t0=$EPOCHREALTIME
bridge_start B publish.enabled=false
wait_until 120 held_all || fail_fleet "daemon B never held $N fleet bans: $(grep 'decisions of the fleet' "$LOG_B" | tail -n 2)"
t1=$(cat "$TMPD/t1")
requests=$(grep -c 'decisions of the fleet' "$TMPD/b-stamped.log")
count=$(fleet4_count)
[ "$count" -ge "$N" ] || fail_fleet "the daemon says it holds $N, fleet4 lists $count"
hwm() { awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status"; }
secs=$(echo "$t1 - $t0" | bc -l)
printf 'crowdsec apply at start-up: %d decisions in the kernel %.2f s after the bridge started (%.0f/s), %d fleet requests; fleet4 lists %d\n' \
	"$N" "$secs" "$(echo "$N / $secs" | bc -l)" "$requests" "$count"
first=$(awk '/decisions of the fleet/ { print $1; exit }' "$TMPD/b-stamped.log")
printf '  of which: bridge start to the first fleet request answered %.2f s (login, GET stream, parse), then %d requests of 1000 in %.2f s (%.0f bans/s through the control socket and the writer)\n' \
	"$(echo "$first - $t0" | bc -l)" "$requests" "$(echo "$t1 - $first" | bc -l)" "$(echo "($N - 1000) / ($t1 - $first)" | bc -l)"
grep -o 'GET /v1/decisions/stream?startup=true HTTP/1.1 200 [^ ]*' "$LAPI_LOG" | tail -n 1 | sed 's/^/  the LAPI: /'
grep -m1 'fleet (start-up)' "${BRIDGE_LOG[B]}" || true
echo "peak memory: bridge $(hwm "${BRIDGE_PID[B]}"), daemon B $(hwm "$DAEMON_B_PID")"
echo "command: sudo bench/crowdsec-apply.sh $N (kernel $(uname -r), $(nproc) cores, crowdsec $(crowdsec -version 2>&1 | sed -n 's/.*version: //p'))"
