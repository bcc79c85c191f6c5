#!/bin/bash
# Benchmark: bans per second, and the time from the threshold packet to the element in the
# kernel, in the integration tests' namespace lab (tests/integration/lib.sh) with the shipped
# ruleset. Four ways of banning, measured in one run:
#
#   batch:     N addresses through the ban writer's own nftset_commit() (bench/ban-commit.c):
#              transactions of 256 exclusive, acked NEWSETELEM messages;
#   nft elem:  K addresses, one `nft add element inet nfsentry ban4 { X timeout 10m }`
#              process each (what a script around nft would do);
#   nft rule:  K addresses, one `nft add rule inet nfsentry prerouting ip saddr X drop`
#              process each (the seed design: a rule per banned address); the rate of the
#              first and the last 100 is printed too, as each rule makes the next one dearer;
#   daemon:    S spoofed sources each send UDP to 12 closed ports (bench/flood.c, paced at
#              RATE packets/s, source after source, so all S cross the threshold of 10 in
#              the same tenth of the run): the whole path, queue -> tracker -> ban queue ->
#              writer -> kernel. Figures from the daemon's ban events: bans per second
#              between the first and the last kernel ack, and each ban's latency from the
#              threshold packet's arrival in the kernel (its skb timestamp; a helper turns
#              kernel timestamps on, as in bench/ban-latency.sh) to the kernel's ack.
#
# The unloaded latency (bans one at a time, nmap) is bench/ban-latency.sh's. The script
# renices itself (and so the daemon) to -10 against background work.
# Usage: sudo bench/ban-path.sh [N=20000] [K=1000] [S=20000] [RATE=20000]
set -euo pipefail
N=${1:-20000} K=${2:-1000} S=${3:-20000} RATE=${4:-20000}
BENCH=$(cd "$(dirname "$0")" && pwd)
renice -n -10 -p $$ >/dev/null
# shellcheck source=../tests/integration/lib.sh
. "$BENCH/../tests/integration/lib.sh"
BUILD=$(dirname "$(dirname "$NFSENTRY")")   # the build tree: its daemon/libnfsentry.a
cc -O2 -o "$TMPD/flood" "$BENCH/flood.c"
cc -O2 -I"$BENCH/.." -I"$BENCH/../daemon" -I"$BUILD" -o "$TMPD/ban-commit" "$BENCH/ban-commit.c" \
	"$BUILD/daemon/libnfsentry.a" -lmnl -lnftnl

setup_netns
load_ruleset
elems() { in_v nft list set inet nfsentry ban4 | grep -o 'expires' | wc -l; }
t_ms() { date +%s%3N; }
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); kernel $(uname -r)"

# 1. The batch path.
batch=$(in_v "$TMPD/ban-commit" 198.18.0.1 "$N")
echo "batch:    $batch"
[ "$(elems)" -eq "$N" ] || fail "ban4 holds $(elems) elements, not $N"
in_v nft flush set inet nfsentry ban4

# 2. One nft process per element.
t0=$(t_ms)
for i in $(seq 0 $((K - 1))); do
	in_v nft add element inet nfsentry ban4 "{ 198.19.$((i >> 8)).$((i & 255)) timeout 10m }"
done
t1=$(t_ms)
[ "$(elems)" -eq "$K" ] || fail "ban4 holds $(elems) elements, not $K"
nft_elem=$(python3 -c "print('%.0f' % ($K / (($t1 - $t0) / 1000)))")
echo "nft elem: $K elements in $((t1 - t0)) ms ($nft_elem elements/s)"
in_v nft flush set inet nfsentry ban4

# 3. One nft process per rule, into the prerouting chain.
: >"$TMPD/rule-times"
for i in $(seq 0 $((K - 1))); do
	[ $((i % 100)) = 0 ] && t_ms >>"$TMPD/rule-times"
	in_v nft add rule inet nfsentry prerouting ip saddr "198.19.$((i >> 8)).$((i & 255))" drop
done
t_ms >>"$TMPD/rule-times"
rules=$(in_v nft -a list chain inet nfsentry prerouting | grep -c 'ip saddr 198\.19\.' || true)
[ "$rules" -eq "$K" ] || fail "prerouting holds $rules address rules, not $K"
read -r nft_rule rule_first rule_last < <(python3 -c '
import sys
t = [int(x) for x in open(sys.argv[1])]
k = int(sys.argv[2])
print("%.0f %.0f %.0f" % (k / ((t[-1] - t[0]) / 1000), 100 / ((t[1] - t[0]) / 1000), 100 / ((t[-1] - t[-2]) / 1000)))' \
	"$TMPD/rule-times" "$K")
echo "nft rule: $K rules at $nft_rule rules/s (first 100: $rule_first/s, last 100: $rule_last/s)"
load_ruleset   # the shipped rules again, without the address rules

# 4. The daemon.
ip netns exec "$VNS" timeout 600 python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 29, 1)  # SO_TIMESTAMP (asm-generic): skb timestamps on
time.sleep(600)' &
in_v sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-v.rp_filter=0
VMAC=$(in_v cat /sys/class/net/veth-v/address)
in_s ip neigh replace "$V4" lladdr "$VMAC" dev veth-s nud permanent
# prefix_threshold = 0: the storm's sources share /24s, whose distributed-scan bans would cut
# the later sources off before their own (docs/security.md, item 4); this measures the
# per-source ban path.
write_config scan.threshold=10 ban.duration=10m scan.prefix_threshold=0 daemon.log_level=notice
start_daemon
sleep 0.5
qdrop0=$(in_v awk '{ n += $6 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue)
flood=$(in_s "$TMPD/flood" -i veth-s -m "$VMAC" -d "$V4" -s 198.18.0.1 -n "$S" -p udp -P 1001 -k 12 \
	-c $((S * 12)) -r "$RATE")
echo "daemon:   flood $flood"
settled() { # no new ban event for a second
	local n
	n=$(grep -c '"event":"ban"' "$EVENTS" || true)
	[ "$n" = "${SETTLE_N:-x}" ] && return 0
	SETTLE_N=$n
	sleep 1
	return 1
}
wait_until 120 settled || fail "bans still coming after 120 s"
qdrop=$(($(in_v awk '{ n += $6 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue) - qdrop0))
# The metrics file is rewritten every 5 s: wait for one written after the last ban.
touch "$TMPD/settled"
metrics_fresh() { [ "$TMPD/metrics.prom" -nt "$TMPD/settled" ]; }
wait_until 10 metrics_fresh || fail "no fresh metrics file"
lost=$(awk '/^nfsentry_queue_ban_requests_lost_total/ { n += $2 } END { print n + 0 }' "$TMPD/metrics.prom")
grep -q '"latency_us"' "$EVENTS" || fail "no ban events with latency_us"
grep -q 'threshold packet arrived' "$LOG" || fail "no kernel timestamps: latencies would start at our receive"
in4=$(elems)
read -r daemon_rate daemon_line < <(python3 - "$EVENTS" "$S" <<'PY'
import datetime, json, sys
acks, lat = [], []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] != "ban":
        continue
    t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    acks.append(t)
    lat.append(e["latency_us"])
acks.sort(); lat.sort()
n = len(acks)
span = acks[-1] - acks[0]
first_pkt = min(a - l / 1e6 for a, l in zip(acks, lat))
q = lambda p: lat[min(n - 1, int(n * p))]
print("%.0f %d of %s sources banned; %.0f bans/s between the first and the last ack (%.3f s); "
      "all in %.3f s from the first threshold packet; latency min %d us, median %d us, p90 %d us, max %d ms"
      % (n / span if span > 0 else 0, n, sys.argv[2], n / span if span > 0 else 0, span, acks[-1] - first_pkt,
         lat[0], q(0.5), q(0.9), lat[-1] // 1000))
PY
)
echo "daemon:   $daemon_line; ban4 holds $in4; probes dropped by full queues: $qdrop; ban requests lost to the full ban queue: $lost"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
batch_rate=$(echo "$batch" | sed -E 's/.*\(([0-9]+) elements\/s.*/\1/')
python3 - "$batch_rate" "$nft_elem" "$nft_rule" "$daemon_rate" <<'PY'
import sys
b, e, r, d = (float(x) for x in sys.argv[1:5])
print("%-44s %12s %10s" % ("bans per second", "", "ratio"))
print("%-44s %12.0f %10s" % ("batch (nftset_commit, 256 per transaction)", b, "1"))
print("%-44s %12.0f %10.4f" % ("one nft add element process per ban", e, e / b))
print("%-44s %12.0f %10.4f" % ("one nft add rule process per ban (seed)", r, r / b))
print("%-44s %12.0f %10.4f" % ("daemon, threshold packet to kernel ack", d, d / b))
PY
echo "command: sudo bench/ban-path.sh $N $K $S $RATE (kernel $(uname -r), $(nproc) cores)"
