#!/bin/bash
# Issue 10, item 1: IPv6 extension headers must not hide a scan. The kernel walks any chain of
# extension headers and delivers the SYN behind it: an open port answers SYN-ACK, so a
# closed-port attempt behind the same chain must count against its source.
#   - 9 to 12 destination options headers (more than the decoder used to walk);
#   - 2 KB of destination options (on a 9000-byte MTU), which puts the TCP header far beyond
#     [queue] copy_range: the daemon reads the kernel's (protocol, port) tag in the mark;
#   - with [scan] verdict = accept the attempt goes on with mark 0 (the tag never leaks into
#     the host's later rules) and the kernel answers it with a reset.
# Frames are written on a packet socket (rawprobe.py) from sources in other /64s.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RAWPROBE=$LIB_DIR/rawprobe.py
setup
listen_tcp 8080
MAC=$(in_v cat /sys/class/net/veth-v/address)
in_v ip link set veth-v mtu 9000
in_s ip link set veth-s mtu 9000
# Scanner prefixes, on-link for the victim.
for p in 5 6 7; do
	in_s ip addr add "2001:db8:$p::2/64" dev veth-s nodad
	in_v ip -6 route add "2001:db8:$p::/64" dev veth-v
done

# probe SRC KIND: the open port 8080, then the closed ports 1-30, behind KIND's headers; the open port
# must answer SYN-ACK (the kernel delivered it). The answers are in $TMPD/probe.out.
probe() {
	in_s python3 "$RAWPROBE" veth-s "$MAC" "$2" "$1" "$V6" 8080,1-30 1 >"$TMPD/probe.out" ||
		fail "rawprobe.py $2 failed"
	grep -qx "synack 8080" "$TMPD/probe.out" ||
		fail "$2 from $1: the open port did not answer SYN-ACK: $(tr '\n' ' ' <"$TMPD/probe.out")"
}

step "SYNs behind 9 to 12 destination options headers, from 2001:db8:5::2"
probe 2001:db8:5::2 syn6-mixed
! grep -q "^rst " "$TMPD/probe.out" || fail "a closed port answered (verdict drop): $(cat "$TMPD/probe.out")"
wait_for_log "^banned 2001:db8:5::/64 for 30s \(offence 1\): "
ban6_has 2001:db8:5::/64 || fail "2001:db8:5::/64 not in ban6: $(set_elems ban6)"

step "SYNs behind 2 KB of destination options (TCP past copy_range), from 2001:db8:6::2"
probe 2001:db8:6::2 syn6-deep-1
wait_for_log "^banned 2001:db8:6::/64 for 30s \(offence 1\): "
wait_for_event 'e["event"] == "scan" and e["src"] == "2001:db8:6::/64" and e["class"] == "syn" and e["ports"] >= 10'

step "verdict accept: the attempt goes on with mark 0, and the kernel resets it"
stop_daemon
# A threshold out of reach: every probe is counted and accepted, none is banned.
write_config scan.verdict=accept scan.threshold=100
start_daemon
# A later input chain of the host's own counts what reaches it with a mark.
in_v nft -f - <<'EOF'
table inet h1mark {
	chain input {
		type filter hook input priority filter + 10; policy accept;
		ip6 saddr 2001:db8:7::/64 tcp dport 1-30 meta mark != 0 counter name marked
		ip6 saddr 2001:db8:7::/64 tcp dport 1-30 meta mark 0 counter name unmarked
	}
	counter marked {}
	counter unmarked {}
}
EOF
probe 2001:db8:7::2 syn6-deep-4
resets=$(grep -c "^rst " "$TMPD/probe.out" || true)
[ "$resets" = 30 ] || fail "verdict accept: $resets of 30 closed ports answered with a reset"
counter() { in_v nft -j list counter inet h1mark "$1" | python3 -c 'import json,sys; print([o["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "counter" in o][0])'; }
[ "$(counter marked)" = 0 ] || fail "$(counter marked) accepted attempts kept the tag in their mark"
[ "$(counter unmarked)" -ge 30 ] || fail "only $(counter unmarked) attempts reached the later chain with mark 0"
ports_seen() { [ "$(queued_packets)" -ge 30 ]; }
wait_until 5 ports_seen || fail "the daemon got $(queued_packets) attempts, not 30"
pass
