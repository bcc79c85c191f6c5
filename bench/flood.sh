#!/bin/bash
# Benchmark: a spoofed-source SYN flood to closed ports at full rate, for minutes, in the
# integration tests' lab (tests/integration/floodlab.sh, the flood test's: random sources of
# 10.123.0.0/16, half of the packets from 100 heavy sources that cross the scan threshold,
# among them an allowlisted address, the gateway and the victim's own address).
#
# Prints the command, then: what the sender sent (packets/s), what became of every packet
# (banned at prerouting, dropped on a full queue, queued; received by nfsentry or lost to
# ENOBUFS), nfsentry's receive rate and RSS every INTERVAL seconds, and the bans (added,
# refused because ban4 was full, refused as allowlisted or protected). The books must
# balance, as in test-flood.sh; the figures are not asserted.
#
# PROFILE small: the test's tables (max_sources 1024, ban4 of 32, evidence max_mb 2, bans of
#   20 s); default: the shipped defaults (max_sources 65536, ban4 of 1,048,576, bans of 10 m).
# Usage: sudo bench/flood.sh [SECONDS=180] [PROFILE=small] [INTERVAL=10]
# (Build first: floodgen is built with the tests, build/tests/integration/floodgen.)
set -euo pipefail
SECS=${1:-180} PROFILE=${2:-small} INTERVAL=${3:-10}
# shellcheck source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
# shellcheck source=../tests/integration/floodlab.sh
. "$LIB_DIR/floodlab.sh"

case $PROFILE in
small) flood_lab 32; flood_config ;;
default) flood_lab 1048576; flood_config scan.max_sources=65536 detect.max_flows=65536 ban.max_history=100000 \
	evidence.max_rings=16384 evidence.max_mb=256 ban.duration=10m ;;
*) fail "PROFILE is small or default, not $PROFILE" ;;
esac
start_daemon
idle=$(rss_kb)
echo "command: sudo bench/flood.sh $SECS $PROFILE $INTERVAL (kernel $(uname -r), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"

flood_run "$SECS"
flood_tail
wait_until 30 queues_idle || fail "packets still wait in the queues 30 s after the flood"
daemon_alive || fail "the daemon died under the flood"
flood_account
awk -v s="$SENT" -v t="$SECS" 'BEGIN { printf "sent at %.0f packets/s\n", s / t }'

echo "every $INTERVAL s: nfsentry's receive rate (closed-port queues), its RSS, ban4's elements"
awk -v iv="$INTERVAL" '
	{ t[NR] = $1; rss[NR] = $2; bans[NR] = $3; rx[NR] = $4 }
	END {
		p = 0
		for (i = 1; i <= NR; i++)
			if (t[i] - (p ? t[p] : 0) >= iv || i == NR) {
				dt = t[i] - (p ? t[p] : 0)
				printf "  t=%4ds  %8.0f packets/s  RSS %6d kB  %7d bans\n", t[i],
					(dt > 0 ? (rx[i] - (p ? rx[p] : 0)) / dt : 0), rss[i], bans[i]
				p = i
			}
	}' "$TMPD/samples"
echo "RSS: idle $idle kB, max $(awk '$2 > m { m = $2 } END { print m + 0 }' "$TMPD/samples") kB, now $(rss_kb) kB, bound $(flood_rss_bound_kb "$idle") kB"
echo "bans: $(ctl_metric nfsentry_bans_added_total) added, $(ctl_metric nfsentry_bans_refused_total reason=kernel) refused by the kernel (set full)," \
	"$(ctl_metric nfsentry_bans_refused_total reason=allowlisted) allowlisted, $(ctl_metric nfsentry_bans_refused_total reason=protected) protected;" \
	"$(ban4_count) in ban4 now; allowlisted or protected ever in ban4: $(awk 'NF > 4' "$TMPD/samples" | wc -l)"
