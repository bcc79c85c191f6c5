#!/bin/bash
# Issue 10, item 3: the free window inside a narrowed IPv6 /64. This host's own /64 holds a
# protected address (its own), so a scanner there is banned as a /128. The /64 used to be
# tracked as one source with a 10 s hold after its ban request: every other address of the
# /64 went uncounted meanwhile (15 ports of a second address, 676 SYNs of nmap from a third
# before its ban). Now such a /64 is tracked address by address.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

A=2001:db8:1::a B=2001:db8:1::b C=2001:db8:1::c
THRESHOLD=10
setup ban.duration=5m scan.threshold=$THRESHOLD
for a in $A $B $C; do in_s ip addr add "$a/64" dev veth-s nodad; done
listen_tcp 8080
# Every packet from C before any filter, to count what it sent before its ban.
in_v nft -f - <<EOF2
table ip6 count {
	chain pre {
		type filter hook prerouting priority -500; policy accept;
		ip6 saddr $C counter
	}
}
EOF2
sent_by_c() { in_v nft list chain ip6 count pre | awk '$1 == "ip6" && $2 == "saddr" { print $6 }'; }

step "A scans 15 closed ports: banned as a /128"
scan -6 -sS -p 2001-2015 -S "$A" -e veth-s
wait_until 10 ban6_has "$A" || fail "$A not in ban6: $(set_elems ban6)"
! ban6_has 2001:db8:1::/64 || fail "the victim's own /64 was banned"

step "B, in the same /64, scans 15 closed ports at once: counted, and banned"
scan -6 -sS -p 3001-3015 -S "$B" -e veth-s
wait_until 5 ban6_has "$B" ||
	fail "$B was not banned after 15 closed ports (its ports went uncounted after $A's ban): $(set_elems ban6)"
wait_for_event 'e["event"] == "scan" and e["src"] == "'$B'" and e["ports"] >= '$THRESHOLD

step "nmap from C, a third address, 200 ports at 100 a second: banned after about the threshold"
drops=$(drop_counter 6)
scan -6 -sS -p 1-200 --max-rate 100 -S "$C" -e veth-s
wait_until 5 ban6_has "$C" || fail "$C was not banned: $(set_elems ban6)"
# What reached the daemon from C: all it sent, less what the ban dropped at prerouting.
seen=$(( $(sent_by_c) - ($(drop_counter 6) - drops) ))
echo "C sent $(sent_by_c) packets; $seen reached the daemon before its ban"
[ "$seen" -le $((THRESHOLD * 2)) ] || fail "$seen of C's packets reached the daemon before its ban (threshold $THRESHOLD)"

step "a neighbour in the /64 is not cut off"
in_s ip addr add 2001:db8:1::77/64 dev veth-s nodad
fetch_ok "$V6" 8080 2001:db8:1::77 || fail "a neighbour in the victim's /64 was cut off"
pass
