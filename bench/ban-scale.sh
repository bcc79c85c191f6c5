#!/bin/bash
# Benchmark: what the bans cost the traffic that is not banned. A router namespace forwards
# 60-byte UDP datagrams from 16 source addresses (bench/flood.c, as fast as one thread can
# send) to a sink, with nfsentry's shipped ruleset loaded (its prerouting chain looks every
# packet's source up in @ban4 before anything else). Measured in one run, ROUNDS times over:
#
#   none:      no nfsentry table at all (the kernel alone);
#   0:         the shipped ruleset, ban4 empty;
#   100k, 1M:  ban4 holding 100,000 and 1,000,000 elements (bench/ban-commit.c: the writer's
#              own batches; 198.19.0.0 and up, none of them the senders);
#   1k rules:  ban4 empty, and 1,000 rules `ip saddr X drop` in the prerouting chain (the
#              seed design: a rule per banned address; none matching the senders).
#
# Figure: packets/s forwarded (an nft counter in the router's postrouting hook), median over
# the rounds, and each case's ratio to "0". Over veth the router's work runs on the sender's
# CPU, so a dearer lookup also slows the sender: the figure is the whole machine's. The
# script renices itself to -10 against background work.
# Usage: sudo bench/ban-scale.sh [T=5 seconds] [ROUNDS=3]
set -euo pipefail
T=${1:-5} ROUNDS=${2:-3}
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

# shellcheck source=lib.sh
. bench/lib.sh
tmp=$(mktemp -d)
router_lab bs
cc -O2 -o "$tmp/flood" bench/flood.c
cc -O2 -I. -Idaemon -I"$BUILD" -o "$tmp/ban-commit" bench/ban-commit.c "$BUILD/daemon/libnfsentry.a" -lmnl -lnftnl


in_r() { ip netns exec "$R" "$@"; }
load() { # none | ruleset
	in_r nft flush ruleset
	[ "$1" = none ] || in_r "$NFSENTRY" load-ruleset "$NFSENTRY_RULESET" >/dev/null
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
counter() { nft_counter "$R" nfsbench post; }
measure() { # CASE: appends "CASE forwarded_pps sender_pps" to the results
	local c0 c1 out
	c0=$(counter)
	out=$(ip netns exec "$S" "$tmp/flood" -i bs-s -m "$RMAC" -d 192.0.2.2 -s 198.18.0.1 -n 16 -p udp -P 9 -t "$T")
	sleep 0.2
	c1=$(counter)
	python3 -c 'import sys
w = sys.argv[4].split()
print(sys.argv[1], "%.0f" % ((int(sys.argv[3]) - int(sys.argv[2])) / float(w[4])), w[6][1:])' "$1" "$c0" "$c1" "$out" |
		tee -a "$tmp/results"
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
	load ruleset
	measure 0
	fill 198.19.0.0 100000 >/dev/null
	measure 100k
	filled=$(fill 198.20.134.160 900000)   # 198.19.0.0 + 100,000 on
	measure 1M
	load ruleset   # flushes the table's rules; the sets keep their elements
	in_r nft flush set inet nfsentry ban4
	in_r nft -f "$tmp/rules.nft"
	[ "$(in_r nft list chain inet nfsentry prerouting | grep -c 'ip saddr 198\.19\.')" = 1000 ] ||
		{ echo "the 1,000 rules are not there" >&2; exit 1; }
	measure "1k-rules"
	echo "(round $round done; the 900,000 elements: $filled)"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/results" "$T" "$ROUNDS" <<'PY'
import statistics, sys
res = {}
for line in open(sys.argv[1]):
    case, fwd, sent = line.split()
    res.setdefault(case, []).append((float(fwd), float(sent)))
base = statistics.median(x[0] for x in res["0"])
print("%-40s %14s %14s %8s" % ("ban4 / rules (median of %s)" % sys.argv[3], "forwarded/s", "sender/s", "vs 0"))
for case, label in (("none", "no nfsentry table"), ("0", "ban4 empty"), ("100k", "ban4 100,000 elements"),
                    ("1M", "ban4 1,000,000 elements"), ("1k-rules", "1,000 rules ip saddr X drop")):
    f = statistics.median(x[0] for x in res[case])
    s = statistics.median(x[1] for x in res[case])
    print("%-40s %14.0f %14.0f %8.2f" % (label, f, s, f / base))
print("command: sudo bench/ban-scale.sh %s %s" % (sys.argv[2], sys.argv[3]))
PY
