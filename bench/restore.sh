#!/bin/bash
# Benchmark: restoring saved bans after a reboot. N bans (IPv4 addresses of the benchmarking
# range 198.18.0.0/15, plus N/10 IPv6 /64s) are written to state_dir/bans as a previous run
# would; the daemon starts against freshly loaded, empty sets and puts them back in batches.
# Prints the time from start to the daemon's "restored" line and the elements in the sets.
# Usage: sudo bench/restore.sh [N=100000]
set -euo pipefail
N=${1:-100000}
# shellcheck source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

setup_netns
# Room for them: the shipped sets hold 1048576 each.
load_ruleset
write_config ban.max_history=1048576
now_ms=$(($(date +%s%3N)))
python3 - "$N" "$now_ms" >"$TMPD/state/bans" <<'PY'
import sys
n, now = int(sys.argv[1]), int(sys.argv[2])
print("# nfsentry bans v1: address offence timeout-seconds until-epoch-ms")
for i in range(n):
    print("198.%d.%d.%d 1 3600 %d" % (18 + (i >> 16) % 2, (i >> 8) & 255, i & 255, now + 3000000))
for i in range(n // 10):
    print("2001:db8:%x:%x::/64 2 7200 %d" % (i >> 16, i & 0xffff, now + 6000000))
PY
t0=$(date +%s%N)
start_daemon
t1=$(date +%s%N)
wait_for_log "^restored [0-9]+ saved bans" 60
line=$(grep -m1 "^restored" "$LOG")
in4=$(in_v nft list set inet nfsentry ban4 2>/dev/null | grep -o 'expires' | wc -l)
echo "$line"
printf 'restore of %d IPv4 bans and %d IPv6 /64s: daemon ready after %d ms; %d elements in ban4\n' \
	"$N" $((N / 10)) $(((t1 - t0) / 1000000)) "$in4"
echo "command: sudo bench/restore.sh $N (kernel $(uname -r), $(nproc) cores)"
