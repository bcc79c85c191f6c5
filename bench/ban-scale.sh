#!/bin/bash
# Benchmark: what the bans cost the traffic that is not banned. A router namespace forwards
# 60-byte UDP datagrams (bench/flood.c, as fast as one thread can send) to a sink, with
# nfsentry's shipped ruleset loaded (its prerouting chain looks every packet's source up in
# @ban4, @bannet4, @fleet4 and @fleetnet4, and fails the four IPv6 rules at their protocol
# check). Measured in one run, ROUNDS times over, the cases alternated within each round:
#
#   none:        no nfsentry table at all (the kernel alone);
#   0-nofleet:   the shipped ruleset without its four fleet rules (issue 13's lookups);
#   0:           the shipped ruleset, every set empty;
#   100k, 1M:    ban4 holding 100,000 and 1,000,000 elements (bench/ban-commit.c: the writer's
#                own batches; 198.19.0.0 and up, none of them the senders);
#   0-many, 1M-many: the same with MANY (65,000) senders instead of 16, so that each lookup
#                meets a bucket and elements that are not in the cache (real traffic has
#                many sources; 16 senders keep their 16 buckets hot);
#   1k-rules:    ban4 empty, and 1,000 rules `ip saddr X drop` in the prerouting chain (the
#                seed design: a rule per banned address; none matching the senders);
#   fleet-100k, fleet-200k: ban4 empty, fleet4 holding 100,000 and 200,000 elements (added
#                with nft -f; 198.40.0.0 and up), 16 senders.
#
# Figures: packets/s forwarded (an nft counter in the router's postrouting hook), median over
# the rounds, and each case's ratio to "0". Over veth the router's work runs on the sender's
# CPU, so a dearer lookup also slows the sender: the figure is the whole machine's, and on a
# shared machine it is noisy. So when perf(1) is there (PERF=0 turns it off) each case is
# also sampled (cpu-clock, every 50 us, all CPUs): the CPU time per forwarded packet of the
# sender and ksoftirqd (where the router's work runs), in total and in the set lookups'
# functions (nft_lookup_eval, the backends' lookups, jhash). CPU time per packet depends far
# less on what else runs than packets/s does. The script renices itself to -10.
# Usage: sudo bench/ban-scale.sh [T=5 seconds] [ROUNDS=3]   (env: MANY=65000, PERF=1)
set -euo pipefail
T=${1:-5} ROUNDS=${2:-3} MANY=${MANY:-65000} PERF=${PERF:-1}
cd "$(dirname "$0")/.."
NFSENTRY=${NFSENTRY:-build/daemon/nfsentry}
NFSENTRY_RULESET=${NFSENTRY_RULESET:-nft/nfsentry.nft}
BUILD=$(dirname "$(dirname "$NFSENTRY")")
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
if [ ! -x "$NFSENTRY" ] || [ ! -f "$BUILD/daemon/libnfsentry.a" ]; then
	echo "build nfsentry first (or set NFSENTRY)" >&2
	exit 1
fi
renice -n -10 -p $$ >/dev/null
command -v perf >/dev/null || PERF=0

# shellcheck source=lib.sh
. bench/lib.sh
tmp=$(mktemp -d)
router_lab bs
cc -O2 -o "$tmp/flood" bench/flood.c
cc -O2 -I. -Idaemon -I"$BUILD" -o "$tmp/ban-commit" bench/ban-commit.c "$BUILD/daemon/libnfsentry.a" -lmnl -lnftnl


in_r() { ip netns exec "$R" "$@"; }
# The shipped ruleset without the prerouting rules that look up the fleet's sets.
grep -v '^[[:space:]]*ip6\? saddr @fleet' "$NFSENTRY_RULESET" >"$tmp/nofleet.nft"
if [ "$(grep -c 'saddr @fleet' "$NFSENTRY_RULESET")" != 4 ] || grep -q 'saddr @fleet' "$tmp/nofleet.nft"; then
	echo "expected 4 fleet lookups in the prerouting chain of $NFSENTRY_RULESET" >&2
	exit 1
fi
load() { # none | ruleset | nofleet
	in_r nft flush ruleset
	case $1 in
	ruleset) in_r "$NFSENTRY" load-ruleset "$NFSENTRY_RULESET" >/dev/null ;;
	nofleet) in_r "$NFSENTRY" load-ruleset "$tmp/nofleet.nft" >/dev/null ;;
	esac
	in_r nft -f - <<'EOF'
table inet nfsbench {
	chain post {
		type filter hook postrouting priority 100; policy accept;
		udp dport 9 counter
	}
}
EOF
}
# fill FIRST COUNT: COUNT elements into ban4, or the script stops.
fill() {
	local out
	out=$(in_r "$tmp/ban-commit" "$1" "$2")
	[[ $out == "added $2 of $2 "* ]] || { echo "ban-commit: $out" >&2; exit 1; }
	echo "$out"
}
# fleet FIRST COUNT: COUNT elements into fleet4 (1 h timeout), with nft -f, or the script stops.
fleet() {
	python3 - "$1" "$2" >"$tmp/fleet.nft" <<'PY'
import ipaddress, sys
a, n = int(ipaddress.IPv4Address(sys.argv[1])), int(sys.argv[2])
for i in range(0, n, 10000):
    print("add element inet nfsentry fleet4 { %s }" % ", ".join(
        "%s timeout 1h" % ipaddress.IPv4Address(a + j) for j in range(i, min(n, i + 10000))))
PY
	in_r nft -f "$tmp/fleet.nft" || { echo "nft -f: fleet4 refused the elements" >&2; exit 1; }
}
# gc_walk: what the kernel's garbage collection of the sets with timeouts costs while ban4 holds
# 1,000,000 elements (nft_set_hash's rhash walks every element at each gc interval, 1 s by
# default, in a kworker): 5 s of workqueue tracepoints, the time in nft_rhash_gc.
gc_walk() {
	perf record -q -a -e workqueue:workqueue_execute_start,workqueue:workqueue_execute_end -o "$tmp/wq.data" \
		-- sleep 5 2>/dev/null
	perf script -i "$tmp/wq.data" 2>/dev/null | python3 -c '
import re, sys
start, runs = {}, []
for line in sys.stdin:
    m = re.search(r"\s([\d.]+):\s+workqueue:workqueue_execute_(start|end): "
                  r"work struct (0x[0-9a-f]+): function nft_rhash_gc", line)
    if not m:
        continue
    t, kind, work = float(m.group(1)), m.group(2), m.group(3)
    if kind == "start":
        start[work] = t
    elif work in start:
        runs.append(t - start.pop(work))
print("gc-walk", "%.1f" % (sum(runs) * 1000 / 5), "%.1f" % (max(runs, default=0) * 1000))' | tee -a "$tmp/gc"
}
counter() { nft_counter "$R" nfsbench post; }
measure() { # CASE [SENDERS=16]: appends "CASE forwarded_pps sender_pps cpu_ns lookup_ns" to the results
	local c0 c1 out prof="-1 -1"
	c0=$(counter)
	local flood=(ip netns exec "$S" "$tmp/flood" -i bs-s -m "$RMAC" -d 192.0.2.2 -s 198.18.0.1 -n "${2:-16}"
		-p udp -P 9 -t "$T")
	if [ "$PERF" = 1 ]; then
		perf record -q -a -e cpu-clock -c 50000 -o "$tmp/perf.data" -- "${flood[@]}" \
			>"$tmp/flood.out" 2>"$tmp/perf.err" ||
			{ cat "$tmp/perf.err" >&2; exit 1; }
		out=$(cat "$tmp/flood.out")
	else
		out=$("${flood[@]}")
	fi
	sleep 0.2
	c1=$(counter)
	# shellcheck disable=SC2016 # python
	[ "$PERF" = 1 ] && prof=$(perf script -i "$tmp/perf.data" -F comm,ip,sym 2>/dev/null | python3 -c '
import sys
# Samples of 50 us of CPU: the sender (flood) and ksoftirqd, where the router work runs.
pkts, tot, look = int(sys.argv[1]), 0, 0
for line in sys.stdin:
    p = line.split()
    if len(p) < 3 or not (p[0] == "flood" or p[0].startswith("ksoftirqd")):
        continue
    tot += 1
    backend = p[2].startswith(("nft_rhash", "nft_hash", "nft_rbtree", "nft_bitmap", "nft_pipapo"))
    if p[2] in ("nft_lookup_eval", "jhash") or backend and p[2].endswith("_lookup"):
        look += 1
print("%.0f %.1f" % (tot * 50000.0 / max(pkts, 1), look * 50000.0 / max(pkts, 1)))' $((c1 - c0)))
	python3 -c 'import sys
w = sys.argv[4].split()
print(sys.argv[1], "%.0f" % ((int(sys.argv[3]) - int(sys.argv[2])) / float(w[4])), w[6][1:], sys.argv[5])' \
		"$1" "$c0" "$c1" "$out" "$prof" | tee -a "$tmp/results"
}
# 1,000 per-address rules, in one transaction.
for i in $(seq 0 999); do
	echo "add rule inet nfsentry prerouting ip saddr 198.19.$((i >> 8)).$((i & 255)) drop"
done >"$tmp/rules.nft"

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); kernel $(uname -r)"
: >"$tmp/results"
for round in $(seq 1 "$ROUNDS"); do
	load none
	measure none
	load nofleet
	measure 0-nofleet
	load ruleset
	measure 0
	measure 0-many "$MANY"
	fill 198.19.0.0 100000 >/dev/null
	measure 100k
	filled=$(fill 198.20.134.160 900000)   # 198.19.0.0 + 100,000 on
	measure 1M
	measure 1M-many "$MANY"
	[ "$PERF" = 1 ] && gc_walk
	load ruleset   # flushes the table's rules; the sets keep their elements
	in_r nft flush set inet nfsentry ban4
	in_r nft -f "$tmp/rules.nft"
	[ "$(in_r nft list chain inet nfsentry prerouting | grep -c 'ip saddr 198\.19\.')" = 1000 ] ||
		{ echo "the 1,000 rules are not there" >&2; exit 1; }
	measure "1k-rules"
	load ruleset
	fleet 198.40.0.0 100000
	measure fleet-100k
	fleet 198.41.134.160 100000   # 198.40.0.0 + 100,000 on
	[ "$(in_r nft -j list set inet nfsentry fleet4 | grep -o '"timeout"' | wc -l)" -ge 200000 ] ||
		{ echo "fleet4 does not hold 200,000 elements" >&2; exit 1; }
	measure fleet-200k
	in_r nft flush set inet nfsentry fleet4
	echo "(round $round done; the 900,000 elements: $filled)"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/results" "$T" "$ROUNDS" "$MANY" <<'PY'
import statistics, sys
res = {}
for line in open(sys.argv[1]):
    case, fwd, sent, cpu, look = line.split()
    res.setdefault(case, []).append((float(fwd), float(sent), float(cpu), float(look)))
med = lambda case, i: statistics.median(x[i] for x in res[case])
base = med("0", 0)
perf = med("0", 2) >= 0
print("%-44s %12s %8s %12s %12s" % ("case (median of %s rounds)" % sys.argv[3], "forwarded/s", "vs 0",
                                     "CPU ns/pkt" if perf else "", "lookups ns" if perf else ""))
for case, label in (("none", "no nfsentry table"), ("0-nofleet", "ruleset without the 4 fleet lookups"),
                    ("0", "ban4 empty"), ("100k", "ban4 100,000 elements"), ("1M", "ban4 1,000,000 elements"),
                    ("0-many", "ban4 empty, %s senders" % sys.argv[4]),
                    ("1M-many", "ban4 1,000,000 elements, %s senders" % sys.argv[4]),
                    ("1k-rules", "1,000 rules ip saddr X drop"),
                    ("fleet-100k", "fleet4 100,000 elements"), ("fleet-200k", "fleet4 200,000 elements")):
    f = med(case, 0)
    print("%-44s %12.0f %8.2f" % (label, f, f / base) +
          (" %12.0f %12.1f" % (med(case, 2), med(case, 3)) if perf else ""))
print("per round, 1M / 0 forwarded: %s; 1M-many / 0-many: %s" % (
    ", ".join("%.2f" % (a[0] / b[0]) for a, b in zip(res["1M"], res["0"])),
    ", ".join("%.2f" % (a[0] / b[0]) for a, b in zip(res["1M-many"], res["0-many"]))))
print("command: sudo bench/ban-scale.sh %s %s" % (sys.argv[2], sys.argv[3]))
PY
if [ -s "$tmp/gc" ]; then
	awk '{ ms = ms " " $2; mx = mx " " $3 }
	     END { printf "rhash gc, ban4 at 1,000,000, per round: kworker ms a second:%s; longest walk, ms:%s\n",
		   ms, mx }' "$tmp/gc"
fi
