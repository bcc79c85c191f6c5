#!/bin/bash
# Benchmark: what the queue path costs live, in the integration tests' two-namespace lab
# (tests/integration/lib.sh): a sender, and a victim that receives. Three setups, each
# measured in the same run on the same traffic:
#
#   (a) no queue rule: the kernel alone (no nfsentry table);
#   (b) the shipped ruleset (nft/nfsentry.nft, loaded by `nfsentry load-ruleset`: xt NFQUEUE
#       through nft_compat on kernels without nft_queue), its queues 0-1 and 8-9 served by
#       bench/nfq-accept.c, a reader written like libnetfilter_queue's examples/nf-queue.c
#       that accepts everything (same copy range, queue length and flags as nfsentry);
#   (c) the same ruleset served by nfsentry ([scan] verdict = accept, so that every setup
#       lets the packets on to the same place).
#
# Two workloads:
#   small: 60-byte UDP datagrams to a closed port, from 16 source addresses (so that both
#     closed-port queues, `queue num 0-1` hashed by flow, are busy), sent for T seconds by
#     bench/flood.c as fast as one thread can. Figure: packets/s that passed the input hook
#     (an nft counter at priority 100, after nfsentry's chain), and the sender's rate.
#   bulk: one iperf3 TCP stream to a listening port for T seconds. Figure: Gbit/s received.
#     With the shipped ruleset only a connection's edges, first kilobyte and small packets
#     are queued; "bulk, all queued" sends every packet of the stream to the inspection queues
#     (a rule `tcp dport 5201 goto inspect_queue` first in chain inspect, and the same from
#     port 5201 in output), the worst case.
#   segments: one iperf3 TCP stream of small segments (100-byte writes with TCP_NODELAY,
#     `iperf3 -l 100 -N`: about 200 bytes a segment; client on the sender's CPU, server on the
#     readers', `-A`), so that the per-packet rules of the ruleset's chains (chain input's
#     active-peer `update @spoke4` fires for every data segment) weigh more than in the bulk
#     stream's 64 KiB GSO packets. Figure: the stream's packets/s past the input hook (a
#     counter at priority 100), and its Gbit/s. The stream has two stable states: small
#     segments, sender-bound at about 0.2-0.3 Gbit/s, or, once the sender gets ahead, writes
#     coalesced into GSO packets of tens of KiB (about 0.6 Gbit/s, a few thousand packets/s).
#     Which one a run settles in varies from run to run, so the median is taken over the runs
#     whose packets averaged at most 400 bytes, and the count of such runs is printed.
# Printed: each setup's figure, c/b and b/a, and the change in the kernel's queue counters
# over each run (/proc/net/netfilter/nfnetlink_queue: packets handed to the reader, dropped
# because the queue was full, dropped because the reader's socket was full).
#
# The flood's sender is pinned to CPU 0, the queue readers (nfq-accept, nfsentry) to CPU 1;
# iperf3 is not pinned. Whatever else the machine runs shares those cores: the figures are of
# the whole machine, the ratios within one run; ROUNDS runs of every setup, medians printed.
# The script renices itself (and so everything it starts) to -10, so that background work at
# nice 0 (builds, fuzzers, VMs) takes less from the figures. Installs iperf3 if missing.
# Usage: sudo bench/live-path.sh [T=5 seconds] [ROUNDS=3]
# The binary and the ruleset of setups (b) and (c) come from $NFSENTRY and $NFSENTRY_RULESET
# (tests/integration/lib.sh; default: this tree's build and nft/nfsentry.nft). To compare with
# another commit, build it in a worktree and point both there, e.g.
#   sudo NFSENTRY=/tmp/old/build/daemon/nfsentry NFSENTRY_RULESET=/tmp/old/nft/nfsentry.nft bench/live-path.sh
set -euo pipefail
T=${1:-5} ROUNDS=${2:-3}
BENCH=$(cd "$(dirname "$0")" && pwd)
renice -n -10 -p $$ >/dev/null
command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
# shellcheck source=../tests/integration/lib.sh
. "$BENCH/../tests/integration/lib.sh"
# shellcheck source=lib.sh
. "$BENCH/lib.sh"

cc -O2 -o "$TMPD/flood" "$BENCH/flood.c"
cc -O2 -o "$TMPD/nfq-accept" "$BENCH/nfq-accept.c" -lmnl -lnetfilter_queue

setup_netns
in_v sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-v.rp_filter=0
VMAC=$(in_v cat /sys/class/net/veth-v/address)
in_s ip neigh replace "$V4" lladdr "$VMAC" dev veth-s nud permanent
write_config scan.verdict=accept daemon.log_level=notice
# The sender (and the kernel's receive path, which runs on the sending CPU over veth) on one
# core, the queue readers on the other: nfq-accept and nfsentry get the same share.
SENDER_CPU=0 READER_CPU=$(($(nproc) > 1 ? 1 : 0))
# shellcheck disable=SC2034 # start_daemon (lib.sh) runs the daemon under it
DAEMON_PREFIX=(taskset -c "$READER_CPU")

# The measuring table: what got past every other input chain.
cat >"$TMPD/bench.nft" <<'EOF'
table inet nfsbench {
	chain input {
		type filter hook input priority 100; policy accept;
		udp dport 9 counter
	}
	chain input_tcp {
		type filter hook input priority 100; policy accept;
		tcp dport 5201 counter
	}
}
EOF
# The shipped ruleset with every packet of port 5201 queued for inspection.
# (The second "chain inspect {": the first only declares it, and the file flushes it after.)
awk '{ print } /^\tchain inspect \{$/ && ++n == 2 { print "\t\ttcp dport 5201 goto inspect_queue"; print "\t\ttcp sport 5201 goto inspect_queue" }' \
	"$NFSENTRY_RULESET" >"$TMPD/all-queued.nft"
grep -q 'tcp dport 5201 goto inspect_queue' "$TMPD/all-queued.nft" || fail "could not write the all-queued ruleset"

READERS=()
stop_readers() {
	local p
	for p in "${READERS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${READERS[@]}"; do wait "$p" 2>/dev/null || true; done
	READERS=()
	[ -z "$DAEMON_PID" ] || stop_daemon
}
# setup a|b|c [RULESET]: the victim's tables and queue readers for one setup.
setup_case() {
	stop_readers
	in_v nft flush ruleset
	in_v nft -f "$TMPD/bench.nft"
	[ "$1" = a ] && return 0
	load_ruleset "${2:-$NFSENTRY_RULESET}"
	if [ "$1" = b ]; then
		local q
		# Not through in_v: $! must be the reader itself, not a subshell running a function.
		for q in 0 1; do ip netns exec "$VNS" taskset -c "$READER_CPU" "$TMPD/nfq-accept" "$q" & READERS+=($!); done
		for q in 8 9; do ip netns exec "$VNS" taskset -c "$READER_CPU" "$TMPD/nfq-accept" -f "$q" & READERS+=($!); done
		sleep 0.5
		[ "$(in_v awk 'END { print NR }' /proc/net/netfilter/nfnetlink_queue)" = 4 ] || fail "nfq-accept did not bind 4 queues"
	else
		start_daemon
	fi
}
# qstat: "to_reader full_drops socket_drops" summed over the victim's queues. The kernel numbers
# a packet (id_sequence) only once it is past the queue-full check, so the first figure counts
# what was handed to the reader, and arrivals are the sum of the first two.
qstat() {
	in_v awk '{ q += $8; f += $6; u += $7 } END { printf "%d %d %d\n", q, f, u }' /proc/net/netfilter/nfnetlink_queue
}
# cpu_ticks: user plus system clock ticks of the queue readers (every thread), 0 without any.
cpu_ticks() {
	local p t=0 f
	for p in "${READERS[@]}" $DAEMON_PID; do
		read -ra f <"/proc/$p/stat" || continue
		# after "(comm)", utime and stime are fields 14 and 15 (comm has no spaces here)
		t=$((t + f[13] + f[14]))
	done
	echo "$t"
}
counter() { nft_counter "$VNS" nfsbench input; }
tcp_counter() { nft_counter "$VNS" nfsbench input_tcp; }

# One measurement; prints "FIGURE SENDER_RATE TO_READER FULL SOCK READER_CPU_TICKS".
measure_small() {
	local c0 c1 q0 q1 out k0 k1
	c0=$(counter) q0=$(qstat) k0=$(cpu_ticks)
	out=$(in_s taskset -c "$SENDER_CPU" "$TMPD/flood" -i veth-s -m "$VMAC" -d "$V4" -s 198.18.0.1 -n 16 -p udp -P 9 -t "$T")
	sleep 0.3
	c1=$(counter) q1=$(qstat) k1=$(cpu_ticks)
	python3 -c 'import sys
c0, c1, t = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
q0, q1 = [int(x) for x in sys.argv[4].split()], [int(x) for x in sys.argv[5].split()]
sent = sys.argv[6].split()
print("%.0f %.0f %d %d %d %d" % ((c1 - c0) / float(sent[4]), float(sent[6][1:]), *(b - a for a, b in zip(q0, q1)),
                                 int(sys.argv[8]) - int(sys.argv[7])))' \
		"$c0" "$c1" "$T" "$q0" "$q1" "$out" "$k0" "$k1"
}
measure_bulk() {
	local q0 q1 gbps k0 k1
	q0=$(qstat) k0=$(cpu_ticks)
	gbps=$(in_s timeout $((T + 20)) iperf3 -c "$V4" -t "$T" -J 2>/dev/null | python3 -c '
import json, sys
print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))') || gbps=0
	q1=$(qstat) k1=$(cpu_ticks)
	python3 -c 'import sys
q0, q1 = [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
print("%s - %d %d %d %d" % (sys.argv[1], *(b - a for a, b in zip(q0, q1)), int(sys.argv[5]) - int(sys.argv[4])))' \
		"$gbps" "$q0" "$q1" "$k0" "$k1"
}
# The small-segment stream: "PACKETS/S GBIT/S TO_READER FULL SOCK READER_CPU_TICKS".
measure_segments() {
	local c0 c1 q0 q1 k0 k1 out
	c0=$(tcp_counter) q0=$(qstat) k0=$(cpu_ticks)
	out=$(in_s timeout $((T + 20)) iperf3 -c "$V4" -t "$T" -l 100 -N -A "$SENDER_CPU,$READER_CPU" -J 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["end"]["sum_received"]
print("%.6f %.3f" % (r["seconds"], r["bits_per_second"] / 1e9))') || out="0 0"
	c1=$(tcp_counter) q1=$(qstat) k1=$(cpu_ticks)
	python3 -c 'import sys
secs, gbps = sys.argv[3].split()
q0, q1 = [int(x) for x in sys.argv[4].split()], [int(x) for x in sys.argv[5].split()]
pps = (int(sys.argv[2]) - int(sys.argv[1])) / float(secs) if float(secs) else 0
print("%.0f %s %d %d %d %d" % (pps, gbps, *(b - a for a, b in zip(q0, q1)), int(sys.argv[7]) - int(sys.argv[6])))' \
		"$c0" "$c1" "$out" "$q0" "$q1" "$k0" "$k1"
}

in_v iperf3 -s -D -I "$TMPD/iperf3.pid" >/dev/null
wait_until 5 port_listening 5201 || fail "iperf3 did not listen"

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); kernel $(uname -r)"
: >"$TMPD/results"
for round in $(seq 1 "$ROUNDS"); do
	for c in a b c; do
		setup_case "$c"
		echo "small $c $(measure_small)" | tee -a "$TMPD/results"
		echo "bulk $c $(measure_bulk)" | tee -a "$TMPD/results"
		echo "segments $c $(measure_segments)" | tee -a "$TMPD/results"
		[ "$c" = a ] && continue
		setup_case "$c" "$TMPD/all-queued.nft"
		echo "bulk-all $c $(measure_bulk)" | tee -a "$TMPD/results"
	done
	echo "(round $round done)"
done
stop_readers
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$TMPD/results" "$T" "$ROUNDS" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
res = {}
hz = int(sys.argv[4])
for line in open(sys.argv[1]):
    w, c, fig, sender, queued, full, sock, ticks = line.split()
    res.setdefault((w, c), []).append((float(fig), sender, int(queued), int(full), int(sock), int(ticks)))
def small_segments(x):  # the segments stream's runs that stayed in small segments (see the header)
    return x[0] > 0 and float(x[1]) * 1e9 / 8 / x[0] <= 400
def med(w, c):
    v = [x for x in res.get((w, c), []) if w != "segments" or small_segments(x)]
    return statistics.median(x[0] for x in v) if v else None
units = {"small": "packets/s", "bulk": "Gbit/s", "bulk-all": "Gbit/s", "segments": "packets/s"}
print("%-36s %12s %12s %12s %8s %8s" % ("workload (median of %s)" % sys.argv[3], "(a) kernel", "(b) nfq-accept", "(c) nfsentry", "c/b", "b/a"))
for w in ("small", "bulk", "bulk-all", "segments"):
    a, b, c = med(w, "a"), med(w, "b"), med(w, "c")
    fmt = (lambda x: "%.0f" % x) if units[w] == "packets/s" else (lambda x: "%.2f" % x)
    print("%-36s %12s %14s %12s %8s %8s" % ("%s, %s" % (w, units[w]), fmt(a) if a is not None else "-",
          fmt(b) if b is not None else "-", fmt(c) if c is not None else "-",
          "%.2f" % (c / b) if b and c else "-", "%.2f" % (b / a) if a and b else "-"))
print("segments: runs in small segments (a, b, c): %s" % ", ".join(
    "%d of %d" % (sum(map(small_segments, res.get(("segments", c), []))), len(res.get(("segments", c), [])))
    for c in "abc"))
# The readers' CPU time per packet handed to them: what serving the queue costs in the reader
# (its system time includes the verdict's re-injection, which carries the packet on).
def us_per_pkt(w, c):
    v = [x[5] / hz * 1e6 / x[2] for x in res.get((w, c), []) if x[2]]
    return statistics.median(v) if v else None
for w in ("small", "bulk-all"):
    b, c = us_per_pkt(w, "b"), us_per_pkt(w, "c")
    if b and c:
        print("%-36s %12s %14.2f %12.2f %8.2f" % ("%s, reader CPU us/packet" % w, "", b, c, c / b))
print("per run: kernel queue counters (to the reader / dropped, queue full / dropped, reader's socket full),")
print("         readers' CPU seconds, sender packets/s (segments: the stream's Gbit/s):")
for (w, c), v in sorted(res.items()):
    for fig, sender, q, f, s, k in v:
        print("  %-9s (%s) %10d / %8d / %8d   cpu %6.2f s   sender %s" % (w, c, q, f, s, k / hz, sender))
print("command: sudo bench/live-path.sh %s %s" % (sys.argv[2], sys.argv[3]))
PY
