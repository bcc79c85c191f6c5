#!/bin/bash
# Malformed packets on the wire (tests/integration/malformed.py writes whole frames from the
# scanner): truncated and lying transport headers, bad IPv4 headers, IPv6 extension-header
# chains, fragments (tiny, overlapping, reassembling into a truncated header). For each kind,
# 5 copies to a closed port. Those the kernel lets through to the closed-port queue are
# verdicted (nothing waits in the queue afterwards) and each is counted as a decode error
# unless it is a valid packet after all; the kernel drops the rest before any hook and counts
# them itself. The daemon never crashes and still bans afterwards.
# IPv4 is reassembled before the input hook; IPv6 fragments meet it one by one, and only the
# first one (the ports) is queued: a fragmented datagram to an open port gets through whole.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MALFORMED=$LIB_DIR/malformed.py
N=5
setup
MAC=$(in_v cat /sys/class/net/veth-v/address)

waiting() { in_v awk '{ n += $3 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue; }
nothing_waiting() { [ "$(waiting)" = 0 ]; }
kernel_mib() { in_v nstat -asz "$1" | awk -v k="$1" '$1 == k { print $2 }'; }
queued() { ctl_metric nfsentry_queue_packets_total; }
queued_reach() { [ "$(queued)" -ge "$1" ]; }

# kind NAME QUEUED MALFORMED [KERNEL_COUNTER]: send N packets (or fragment sets) of NAME;
# QUEUED of each reach the daemon, MALFORMED of each are decode errors; KERNEL_COUNTER (a
# name nstat knows) rises by at least N.
kind() {
	local name=$1 q=$2 m=$3 mib=${4:-} p0 m0 k0=0 p1 m1 k1
	p0=$(queued)
	m0=$(ctl_metric nfsentry_queue_decode_errors_total)
	[ -z "$mib" ] || k0=$(kernel_mib "$mib")
	in_s python3 "$MALFORMED" veth-s "$MAC" "$name" "$N" || fail "malformed.py $name failed"
	[ "$q" = 0 ] || wait_until 5 queued_reach $((p0 + N * q)) ||
		fail "$name: $(($(queued) - p0)) packets reached the daemon, not $((N * q))"
	sleep 0.3 # anything more than expected would show up now
	wait_until 5 nothing_waiting || fail "$name: $(waiting) packets still wait in the kernel queue"
	p1=$(queued)
	m1=$(ctl_metric nfsentry_queue_decode_errors_total)
	[ $((p1 - p0)) = $((N * q)) ] || fail "$name: $((p1 - p0)) packets reached the daemon, not $((N * q))"
	[ $((m1 - m0)) = $((N * m)) ] || fail "$name: $((m1 - m0)) decode errors, not $((N * m))"
	if [ -n "$mib" ]; then
		k1=$(kernel_mib "$mib")
		[ $((k1 - k0)) -ge "$N" ] || fail "$name: the kernel's $mib rose by $((k1 - k0)), not $N"
	fi
	echo "$name: $((p1 - p0)) queued, $((m1 - m0)) decode errors${mib:+, kernel $mib +$((k1 - k0))}"
	daemon_alive || fail "the daemon died on $name"
}

step "IPv4: a valid IP header, a transport header that is not"
kind tcp-truncated 1 1
kind tcp-doff-short 1 1
kind tcp-doff-long 1 1
kind udp-len-long 1 1
kind udp-len-short 1 1
step "IPv4 headers the kernel refuses before any hook"
kind ihl-short 0 0 IpInHdrErrors
kind ihl-long 0 0 IpInHdrErrors
kind totlen-long 0 0 IpExtInTruncatedPkts
kind bad-version 0 0 IpInHdrErrors
kind bad-checksum 0 0 IpInHdrErrors
step "IPv4 fragments: reassembled before the input hook"
kind frag-tiny 1 0 IpReasmOKs
kind frag-overlap 0 0 IpExtReasmOverlaps
kind frag-truncated 1 1 IpReasmOKs
step "IPv6: truncated, many or too long extension headers, fragments"
kind v6-tcp-truncated 1 1
# Nine headers and a TCP header past copy_range are valid (issue 10, item 1): queued, no
# decode error (the kernel would reach the TCP header; the tag says which port it was).
kind v6-exthdr-9 1 0
kind v6-exthdr-past-capture 1 0
kind v6-exthdr-overrun 1 1
kind v6-exthdr-3 1 0
kind v6-plen-long 0 0 Ip6InTruncatedPkts
kind v6-frag 1 0 Ip6ReasmReqds
kind v6-frag-overlap 1 0 Ip6ReasmReqds
kind v6-atomic-frag 1 0

step "the daemon's count matches the kernel's: nothing lost"
ids=$(in_v awk '$1 < 8 { n += $8 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue)
[ "$(queued)" = "$ids" ] || fail "the daemon got $(queued) packets, the kernel queued $ids"

step "fragmented datagrams to an open UDP port arrive whole, over IPv4 and IPv6"
ip netns exec "$VNS" socat -u UDP6-RECVFROM:5000,fork OPEN:"$TMPD/udp.out",creat,append </dev/null >/dev/null 2>&1 &
udp_listening() { in_v ss -Hlun "sport = :5000" | grep -q .; }
wait_until 5 udp_listening || fail "socat did not listen on UDP port 5000"
in_s python3 -c '
import socket, sys
for fam, host, fill in ((socket.AF_INET6, sys.argv[1], b"6"), (socket.AF_INET, sys.argv[2], b"4")):
    socket.socket(fam, socket.SOCK_DGRAM).sendto(fill * 3000, (host, 5000))
' "$V6" "$V4"
got() { [ "$(tr -d '\n' <"$TMPD/udp.out" 2>/dev/null | wc -c)" = 6000 ]; }
wait_until 5 got || fail "the fragmented datagrams did not both arrive: $(tr -s 0-9 <"$TMPD/udp.out" 2>/dev/null)"

step "the daemon still bans"
scan -sS -p 1-30
wait_for_log "^banned $S4 "
pass
