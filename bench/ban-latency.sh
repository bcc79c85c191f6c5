#!/bin/bash
# Benchmark: time from the threshold-crossing packet to the ban being in the kernel set.
#
# N scanner addresses each probe 12 closed ports (nmap -sS) of a victim running nfsentry in
# a network namespace lab (the integration tests' lab, tests/integration/lib.sh). For each ban
# the daemon logs "in the kernel T us after the threshold packet arrived": T runs from the
# packet's arrival in the kernel (its skb timestamp, which the kernel takes once any socket
# asks for SO_TIMESTAMP, as a helper here does) to the kernel's ack of the NEWSETELEM batch.
# Prints min, median, p90 and max, and the command.
# This is a benchmark, not a test: run it by hand, compare figures from one machine.
#
# Usage: sudo bench/ban-latency.sh [N=50]
set -euo pipefail
N=${1:-50}
# shellcheck source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

setup scan.threshold=10 ban.duration=10m
# skb timestamps on (net_enable_timestamp), so the daemon measures from the packet's arrival.
in_v timeout 600 python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 29, 1)  # SO_TIMESTAMP (asm-generic)
time.sleep(600)' &
sleep 1
for i in $(seq 1 "$N"); do
	in_s ip addr add "198.51.100.$((100 + i))/24" dev veth-s
done
step "$N sources, 12 closed ports each"
for i in $(seq 1 "$N"); do
	timeout 30 ip netns exec "$SNS" nmap -n -Pn --max-retries 0 -sS -p 1001-1012 -S "198.51.100.$((100 + i))" \
		-e veth-s "$V4" >/dev/null 2>&1 || true
done
bans_logged() { [ "$(grep -c '^banned ' "$LOG")" -ge "$1" ]; }
wait_until 10 bans_logged "$N" || fail "only $(grep -c '^banned ' "$LOG") of $N bans logged"

grep -q 'threshold packet arrived' "$LOG" || fail "no kernel timestamps: figures would start at our receive"
grep -o 'in the kernel [0-9-]* us' "$LOG" | awk '{ print $4 }' | sort -n | awk -v cmd="sudo bench/ban-latency.sh $N" -v krel="$(uname -r)" -v cpus="$(nproc)" '
	{ v[NR] = $1 }
	END {
		printf "ban latency, threshold packet arrival to kernel ack, %d bans: min %d us, median %d us, p90 %d us, max %d us\n",
			NR, v[1], v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR]
		printf "command: %s (kernel %s, %s cores)\n", cmd, krel, cpus
	}'
echo "elements in ban4: $(set_elems ban4 | wc -l)"
