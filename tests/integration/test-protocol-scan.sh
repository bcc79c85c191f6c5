#!/bin/bash
# Issue 10, item 5: nmap -sO (IP protocol scan) and nmap -sY (SCTP INIT scan) get the scanner
# banned, over IPv4 and IPv6. Only the kernel knows which protocols nothing on the host
# handles; it answers those with ICMP protocol unreachable (IPv6: parameter problem,
# unrecognized next header), which the output chain queues and the daemon counts against the
# quoted source: (protocol, 0), or (sctp, port) when the kernel has no SCTP. The verdict drop
# keeps the answer from the scanner: nmap learns no protocol. The kernel's ICMP rate limit (a
# burst of 6, then one a second per destination) paces the count: nmap's own default run,
# with its retries, lasts long enough to be banned (about 4 s after its start here).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ ! -e /proc/net/sctp ] || echo "note: this kernel has SCTP loaded; nmap -sY's INITs are answered with ABORT (not counted: README)"

# nmap_default ARGS...: nmap with its default retries and timing (lib.sh's scan() sends each
# probe once), bounded by its own host timeout (a scan whose answers come back, rate-limited,
# slows down for minutes); the output is in $TMPD/nmap.out.
nmap_default() {
	timeout 90 ip netns exec "$SNS" nmap -n -Pn --host-timeout 40s "$@" >"$TMPD/nmap.out" 2>&1 ||
		fail "nmap $* failed: $(cat "$TMPD/nmap.out")"
}

setup
# A second IPv4 address and an IPv6 /64 of the scanner's own, on-link for the victim.
in_s ip addr add 198.51.100.3/24 dev veth-s
in_s ip addr add 2001:db8:5::2/64 dev veth-s nodad
in_v ip -6 route add 2001:db8:5::/64 dev veth-v

step "nmap -sO from $S4"
nmap_default -sO "$V4"
wait_for_log "^banned $S4 for 30s \(offence 1\): .*proto [0-9]+"
# nmap's probes for TCP and UDP themselves (an ACK, an empty datagram) count as ports: "mixed".
wait_for_event 'e["event"] == "scan" and e["src"] == "'"$S4"'" and e["counts"]["proto"] >= 5 and e["class"] in ("proto", "mixed")'
ban4_has "$S4" || fail "$S4 not in ban4: $(set_elems ban4)"
! grep -Eq '^[0-9]+ +closed ' "$TMPD/nmap.out" || fail "nmap -sO learned closed protocols: $(grep closed "$TMPD/nmap.out")"
grep -q "Nmap done" "$TMPD/nmap.out" || fail "nmap -sO did not finish: $(cat "$TMPD/nmap.out")"

step "nmap -sY (SCTP INIT) of ports 1-100 from 198.51.100.3"
nmap_default -sY -p 1-100 -S 198.51.100.3 -e veth-s "$V4"
wait_for_log "^banned 198.51.100.3 for 30s \(offence 1\): .*sctp [0-9]+"
wait_for_event 'e["event"] == "scan" and e["src"] == "198.51.100.3" and e["class"] == "sctp" and e["proto"] == 132 and 1 <= e["dport"] <= 100'

step "nmap -6 -sO from 2001:db8:5::2"
nmap_default -6 -sO -S 2001:db8:5::2 -e veth-s "$V6"
wait_for_log "^banned 2001:db8:5::/64 for 30s \(offence 1\): .*proto [0-9]+"
ban6_has 2001:db8:5::/64 || fail "2001:db8:5::/64 not in ban6: $(set_elems ban6)"

step "nmap -6 -sY of ports 1-100 from $S6"
nmap_default -6 -sY -p 1-100 -S "$S6" -e veth-s "$V6"
wait_for_log "^banned $S6 for 30s \(offence 1\): .*sctp [0-9]+"

step "the kernel's answers to a peer this host contacted are not queued"
# The victim sent a datagram to 198.51.100.4 (peers4): the answers to its protocol probes go
# out untouched, as its packets to closed ports are never queued.
in_s ip addr add 198.51.100.4/24 dev veth-s
in_v sh -c "echo x | timeout 2 socat - UDP4-SENDTO:198.51.100.4:9" || true
set_has peers4 198.51.100.4 || fail "198.51.100.4 is not in peers4: $(set_elems peers4)"
before=$(queued_packets)
scan -sO -S 198.51.100.4 -e veth-s
sleep 1
[ "$(queued_packets)" = "$before" ] || fail "$(($(queued_packets) - before)) answers to a peer were queued"
! log_has "^banned 198.51.100.4 " || fail "a recent outbound peer was banned for its protocol probes"
pass
