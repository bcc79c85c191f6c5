#!/bin/bash
# Issue 10, item 2: a UDP scan in link-layer broadcast frames. Frames to ff:ff:ff:ff:ff:ff (or
# to an IPv6 multicast MAC) that carry this host's unicast address are delivered to its UDP
# sockets like any other: an open port answers. They must count, decided by the IP
# destination; while datagrams to a broadcast or multicast IP address (which reach every host
# on the link) are still never queued nor counted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RAWPROBE=$LIB_DIR/rawprobe.py
BCAST=ff:ff:ff:ff:ff:ff
setup
# An open UDP port that answers every datagram, on an IPv4 and an IPv6 socket (a v4-mapped
# one would not take IPv4 multicast). One process: every answer goes out at once.
ip netns exec "$VNS" python3 -c '
import select, socket
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.bind(("0.0.0.0", 7000))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(("::", 7000))
while True:
    for s in select.select([s4, s6], [], [])[0]:
        _, peer = s.recvfrom(2048)
        s.sendto(b"hi\n", peer)
' </dev/null >/dev/null 2>&1 &
udp_listening() { [ "$(in_v ss -Hlun "sport = :7000" | wc -l)" = 2 ]; }
wait_until 5 udp_listening || fail "nothing listens on UDP port 7000"

# send MAC SRC DST: the open port 7000 first, and its answer (in $TMPD/probe.out) awaited
# before the closed ports 1-100: once banned, the source could not even answer the victim's
# neighbour solicitation.
send() {
	in_s python3 "$RAWPROBE" veth-s "$1" udp "$2" "$3" 7000 1 >"$TMPD/probe.out" &&
		in_s python3 "$RAWPROBE" veth-s "$1" udp "$2" "$3" 1-100 0.2 >/dev/null ||
		fail "rawprobe.py udp $2 -> $3 failed"
}

step "broadcast and multicast IP destinations: never queued"
# From addresses of their own, so that nothing of this step counts toward the next ones.
in_s ip addr add 198.51.100.3/24 dev veth-s
in_s ip addr add 2001:db8:1::3/64 dev veth-s nodad
send "$BCAST" 198.51.100.3 198.51.100.255
grep -qx "udp 7000" "$TMPD/probe.out" || fail "the open port did not answer a datagram to 198.51.100.255"
send "$BCAST" 198.51.100.3 255.255.255.255
grep -qx "udp 7000" "$TMPD/probe.out" || fail "the open port did not answer a datagram to 255.255.255.255"
# The all-hosts and all-nodes groups, which every host has joined.
send 01:00:5e:00:00:01 198.51.100.3 224.0.0.1
grep -qx "udp 7000" "$TMPD/probe.out" || fail "the open port did not answer a datagram to 224.0.0.1"
send 33:33:00:00:00:01 2001:db8:1::3 ff02::1
grep -qx "udp 7000" "$TMPD/probe.out" || fail "the open port did not answer a datagram to ff02::1"
[ "$(queued_packets)" = 0 ] || fail "$(queued_packets) broadcast or multicast datagrams were queued"
assert_not_banned

step "100 closed UDP ports in ff:ff:ff:ff:ff:ff frames to $V4"
send "$BCAST" "$S4" "$V4"
grep -qx "udp 7000" "$TMPD/probe.out" || fail "the open port did not answer in a broadcast frame"
wait_for_log "^banned $S4 for 30s \(offence 1\): .*udp"
ban4_has "$S4" || fail "$S4 not in ban4: $(set_elems ban4)"

step "the same in IPv6, frames to the all-nodes MAC 33:33:00:00:00:01, to $V6"
send 33:33:00:00:00:01 "$S6" "$V6"
grep -qx "udp 7000" "$TMPD/probe.out" || fail "the open port did not answer over IPv6"
wait_for_log "^banned $S6 for 30s \(offence 1\): .*udp"
pass
