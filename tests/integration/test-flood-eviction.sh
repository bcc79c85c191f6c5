#!/bin/bash
# Issue 10, item 9: flooding the source table. Between each probe of a real scanner, a flood
# of forged one-port sources larger than the table (1.07 times max_sources, the attack's
# ratio: 70,000 against 65,536; here 4,400 against 4,096 to keep it quick). With plain LRU
# eviction the flood pushed the scanner out before each of its probes and it was never
# banned; with the probation stage (docs/security.md, item 9) the forged sources only churn
# probation, and the scanner is banned after its threshold of ports.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
FLOODGEN=${NFSENTRY_FLOODGEN:-$LIB_DIR/../../build/tests/integration/floodgen}
[ -x "$FLOODGEN" ] || { echo "FAIL: no floodgen binary at $FLOODGEN (build it first)" >&2; exit 1; }

MAX=4096
FLOOD=4400           # forged sources between two probes: 1.07 x MAX
FORGED=10.0.0.0/8    # 16 M addresses: forged sources hardly ever repeat
THRESHOLD=10
PROBES=14

setup_netns
load_ruleset
# No gateway: the route must not make the scanner a protected gateway. Nothing answers the
# forged SYNs (closed ports, dropped), so no neighbour is ever looked up.
in_v ip route add "$FORGED" dev veth-v
in_v sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-v.rp_filter=0
# A kernel queue that holds a whole round: no forged packet is dropped unseen on a busy machine.
write_config scan.max_sources=$MAX scan.threshold=$THRESHOLD scan.window=10m ban.duration=5m \
	queue.max_len=16384 daemon.log_level=notice
start_daemon

received() { ctl_metric nfsentry_queue_packets_total; }
sent=0 probes=0
for i in $(seq "$PROBES"); do
	# A different seed each round: new forged sources, one packet (one port) each.
	in_s "$FLOODGEN" "$V4" "$FORGED" -n "$FLOOD" -r 40000 -H 0 -p 20000-29999 -s "$((RANDOM * 32768 + RANDOM + i))" \
		>"$TMPD/floodgen.out" || fail "floodgen failed"
	sent=$((sent + FLOOD))
	# The daemon has seen the whole flood before the next probe (or the ratio is not held).
	wait_until 30 eval '[ "$(received)" -ge "$((sent + i - 1))" ]' ||
		fail "round $i: the daemon received $(received) packets, $((sent + i - 1)) were sent"
	ban4_has "$S4" && break
	step "probe $i: port $((40000 + i)) from the scanner after $FLOOD forged sources"
	scan -sS -p "$((40000 + i))"
	probes=$i
done
wait_until 10 ban4_has "$S4" ||
	fail "the scanner was never banned: $(received) packets received; the flood evicted it before each probe"
echo "banned $S4 after $probes probes; the table held $(ctl_metric nfsentry_sources_tracked) sources"
[ "$probes" -le $((THRESHOLD + 2)) ] || fail "banned only after $probes probes (threshold $THRESHOLD)"
ev=$(ctl_metric nfsentry_sources_evicted_total stage=probation)
[ "$ev" -ge $(((sent - MAX) * 99 / 100)) ] || fail "only $ev forged sources evicted from probation: the flood did not overflow the table"
[ "$(ctl_metric nfsentry_sources_evicted_total stage=main)" -lt 16 ] || fail "the flood pushed sources out of the main stage"
for a in $(set_elems ban4 | awk '{ print $1 }'); do
	[ "$a" = "$S4" ] || fail "forged source $a was banned"
done
pass
