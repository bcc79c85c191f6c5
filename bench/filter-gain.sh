#!/bin/bash
# Benchmark: the filtering gain of the inspection path (Zhang & Paxson sec. 2.4, 3.4): what
# fraction of a real trace's packets the shipped ruleset sends to userspace.
#
# Each trace in tests/traces is rewritten onto lab addresses (IPv4 into 198.18.0.0/15,
# IPv6 into 2001:db8::/32, host bits kept; tcprewrite --pnat) and Ethernet framing, then sent
# with tcpreplay through a router namespace that runs the shipped ruleset (forward hook ->
# chain inspect) to a sink namespace. nft counters on a copy of the ruleset count the
# forwarded TCP packets and those the inspection path queues. No daemon is bound: the
# inspection queue is fail-open (bypass), so everything still flows. No packet leaves the
# namespaces this script creates.
#
# Usage: sudo bench/filter-gain.sh        (needs tcpreplay, nftables, iproute2)
set -euo pipefail
cd "$(dirname "$0")/.."
NFSENTRY=${NFSENTRY:-build/daemon/nfsentry}
TRACES=${TRACES:-tests/traces}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v tcprewrite >/dev/null || { echo "needs tcpreplay (apt-get install tcpreplay)" >&2; exit 1; }

# shellcheck source=lib.sh
. bench/lib.sh
tmp=$(mktemp -d)
router_lab fg

# The shipped ruleset with counters: forwarded TCP packets, and those queued for inspection.
sed -e 's/^\(\s*\)meta l4proto tcp jump inspect$/\1meta l4proto tcp counter jump inspect/' \
    -e 's/^\(\s*\)queue num 8-9 bypass$/\1counter queue num 8-9 bypass/' nft/nfsentry.nft > "$tmp/ruleset.nft"
ip netns exec "$R" "$NFSENTRY" load-ruleset "$tmp/ruleset.nft" >/dev/null

counter() { nft_counter "$R" nfsentry "$1"; } # CHAIN: packets of the first counter in it

printf '%-42s %8s %8s %8s\n' trace packets queued share
tot_all=0 tot_q=0
for f in "$TRACES"/*.pcap; do
	name=$(basename "$f")
	tcprewrite --infile="$f" --outfile="$tmp/r.pcap" --dlt=enet --enet-dmac="$RMAC" --enet-smac=02:00:00:00:00:01 \
		--pnat=0.0.0.0/0:198.18.0.0/15,[::/0]:[2001:db8::/32] --fixcsum >/dev/null 2>&1 || { echo "$name: tcprewrite failed" >&2; continue; }
	before_all=$(counter forward) before_q=$(counter inspect_queue)
	ip netns exec "$S" tcpreplay -q -i fg-s --topspeed "$tmp/r.pcap" >/dev/null 2>&1 || true
	sleep 0.2
	all=$(( $(counter forward) - before_all )) q=$(( $(counter inspect_queue) - before_q ))
	tot_all=$((tot_all + all)) tot_q=$((tot_q + q))
	printf '%-42s %8d %8d %7s%%\n' "$name" "$all" "$q" "$(python3 -c "print(round(100*$q/$all,1) if $all else '-')")"
done
printf '%-42s %8d %8d %7s%%\n' "all traces (TCP packets forwarded)" "$tot_all" "$tot_q" "$(python3 -c "print(round(100*$tot_q/$tot_all,1) if $tot_all else '-')")"
echo "command: sudo bench/filter-gain.sh (kernel $(uname -r))"
