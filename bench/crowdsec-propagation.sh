#!/bin/bash
# Benchmark (issue 13): time from host A's threshold packet to host B's kernel set.
#
# The fleet lab (tests/integration/fleetlab.sh), the bridges with their defaults (publish batch
# 1s, update_frequency 10s) unless given. For each of N scanner addresses in turn, nmap probes
# 12 closed ports of A; the address is banned on A, published by A's bridge, pulled by B's. Two
# parts, each measured: A's own latency T_A (threshold packet's arrival to A's kernel ack, from
# A's log "in the kernel T us after the threshold packet arrived") and the trip from A's set to
# B's fleet4 (both polled with `nft get element` every 20 ms, so up to ~20 ms late). The figure
# is T_A + trip. A random pause (0..update_frequency) between scans keeps them out of step with
# B's polls. Prints min, median, p90, max and the command.
# This is a benchmark, not a test: run it by hand, compare figures from one machine.
#
# Usage: sudo bench/crowdsec-propagation.sh [N=20] [UPDATE_S=10] [BATCH=1s]
set -euo pipefail
N=${1:-20}
FLEET_UPDATE=${2:-10}
BATCH=${3:-1s}
# shellcheck source=../tests/integration/fleetlab.sh
. "$(dirname "$0")/../tests/integration/fleetlab.sh"

fleet_hosts scan.threshold=10 ban.duration=10m
bridge_start A publish.batch="$BATCH"
bridge_start B publish.batch="$BATCH"
# skb timestamps on (net_enable_timestamp), so A measures from the packet's arrival.
in_v timeout 3600 python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 29, 1)  # SO_TIMESTAMP (asm-generic)
time.sleep(3600)' &
sleep 1
has() { ip netns exec "$1" nft get element inet nfsentry "$2" "{ $3 }" >/dev/null 2>&1; }
: >"$TMPD/figures"
for i in $(seq 1 "$N"); do
	src=198.51.100.$((100 + i))
	in_s ip addr add "$src/24" dev br0
	sleep "$(python3 -c "import random; print(random.uniform(0, $FLEET_UPDATE))")"
	log_mark
	timeout 30 ip netns exec "$SNS" nmap -n -Pn --max-retries 0 -sS -p 1001-1012 -S "$src" -e br0 "$V4" >/dev/null 2>&1 &
	ta='' tb=''
	deadline=$(( $(ms_now) + 3 * FLEET_UPDATE * 1000 + 30000 ))
	while [ -z "$tb" ] && [ "$(ms_now)" -lt "$deadline" ]; do
		[ -n "$ta" ] || { has "$VNS" ban4 "$src" && ta=$(ms_now); }
		[ -n "$ta" ] && has "$BNS" fleet4 "$src" && tb=$(ms_now)
		sleep 0.02
	done
	wait $! || true
	[ -n "$tb" ] || fail_fleet "$src: not in B's fleet4 (A's ban4 at ${ta:-never})"
	wait_for_log "^banned $src .*in the kernel [0-9]+ us after the threshold packet arrived" 5
	us=$(tail -n "+$((LOG_MARK + 1))" "$LOG" | sed -n "s/^banned $src .*in the kernel \([0-9]*\) us after.*/\1/p" | head -n 1)
	echo "$(( tb - ta + us / 1000 )) $(( tb - ta )) $(( us / 1000 ))" >>"$TMPD/figures"
	echo "$src: $(tail -n 1 "$TMPD/figures" | awk '{ print $1 " ms (A " $3 " ms + A->B " $2 " ms)" }')"
done
sort -n "$TMPD/figures" | awk -v cmd="sudo bench/crowdsec-propagation.sh $N $FLEET_UPDATE $BATCH" -v krel="$(uname -r)" -v cpus="$(nproc)" \
	-v batch="$BATCH" -v upd="$FLEET_UPDATE" '
	{ v[NR] = $1 }
	END {
		printf "propagation, A threshold packet to B kernel set, %d bans: min %d ms, median %d ms, p90 %d ms, max %d ms\n",
			NR, v[1], v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR]
		printf "command: %s (kernel %s, %s cores; publish batch %s, update_frequency %ss)\n", cmd, krel, cpus, batch, upd
	}'
