#!/bin/bash
# Issue 10, item 6: a SYN scan forged with the address of a client that holds a session with
# this host (it sent data and got data back, so it completed a handshake) is refused: an event
# with action "refused" and reason "active peer", no ban, no offence, and the session lives on.
# Repeating the scan does not escalate anything. IPv6: a forged scan from another address of
# the client's /64 bans that address alone. A scan from an address that is not active is still
# banned, and so is an active peer that a backdoor signature (which needs the handshake) names.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v hping3 >/dev/null || fail "needs hping3"
ECHO_PORT=7000
OTHER4=198.51.100.77    # forged, never talked to the victim
# The IPv6 client lives in a /64 of its own (the victim's /64 holds the victim's own address,
# which narrows bans there anyway).
C6=2001:db8:2::2
OTHER6=2001:db8:2::99   # forged, in the client's /64

setup
in_s ip addr add "$C6/64" dev veth-s nodad
in_v ip -6 route add 2001:db8:2::/64 dev veth-v
step "an echo server in the victim, a client session from the scanner (IPv4 and IPv6)"
ip netns exec "$VNS" socat "TCP6-LISTEN:$ECHO_PORT,fork,reuseaddr,ipv6only=0" EXEC:cat </dev/null >/dev/null 2>&1 &
wait_until 5 port_listening "$ECHO_PORT" || fail "no echo server"

session "$V4" c4
session "$V6" c6 "$C6"
wait_until 10 session_says c4 "ok 1" || fail "IPv4 session: $(cat "$TMPD/c4.out" 2>/dev/null)"
wait_until 10 session_says c6 "ok 1" || fail "IPv6 session: $(cat "$TMPD/c6.out" 2>/dev/null)"
# What the ruleset recorded (a ruleset without these sets fails below, at the scans).
set_has active4 "$S4" 2>/dev/null || echo "(note: $S4 not in active4)"
set_has active6 "$C6" 2>/dev/null || echo "(note: $C6 not in active6)"
set_has active6net "2001:db8:2::" 2>/dev/null || echo "(note: 2001:db8:2:: not in active6net)"

# forge4 SRC: 20 SYNs to closed ports 1-20 of the victim, with source SRC (hping3 -a).
forge4() {
	in_s timeout 30 hping3 -q -S -a "$1" -p ++1 -c 20 -i u2000 "$V4" >/dev/null 2>&1 || true
}
# forge6 SRC: the same over IPv6 (nmap -S: hping3 has no IPv6).
forge6() {
	timeout 60 ip netns exec "$SNS" nmap -6 -n -Pn -sS --max-retries 0 -S "$1" -e veth-s -p 1-20 "$V6" \
		>"$TMPD/nmap.out" 2>&1 || fail "nmap -S $1 failed: $(cat "$TMPD/nmap.out")"
}

step "a SYN scan forged with the IPv4 client's address is refused, with the reason"
forge4 "$S4"
wait_for_event 'e["event"] == "scan" and e["src"] == "'$S4'"'
sleep 0.5
ban4_gone "$S4" || fail "the forged scan got the client $S4 banned: $(set_elems ban4)"
no_event 'e["src"] == "'$S4'" and e["action"] == "ban"'
wait_for_event 'e["event"] == "scan" and e["src"] == "'$S4'" and e["action"] == "refused" and e["reason"] == "active peer"'
wait_for_log "^not banning $S4 .*active peer"

step "the same over IPv6"
forge6 "$C6"
wait_for_event 'e["event"] == "scan" and e["src"] == "2001:db8:2::/64" and e["action"] == "refused" and e["reason"] == "active peer"'
set_empty ban6 || fail "ban6 is not empty: $(set_elems ban6)"

step "the sessions live on"
touch "$TMPD/c4.go" "$TMPD/c6.go"
wait_until 10 session_says c4 "ok 2" || fail "IPv4 session after the forged scan: $(cat "$TMPD/c4.out")"
wait_until 10 session_says c6 "ok 2" || fail "IPv6 session after the forged scan: $(cat "$TMPD/c6.out")"

step "repeating the forged scan after the hold is refused again, and nothing escalates"
sleep 11 # the engine asks again only after its hold (10 s)
log_mark
forge4 "$S4"
wait_for_log "^not banning $S4 .*active peer"
[ "$(ctl_metric nfsentry_bans_refused_total reason=active)" -ge 3 ] || fail "refusals not counted"
ban4_gone "$S4" || fail "$S4 was banned"
! log_has "^banned $S4" || fail "the daemon banned $S4"

step "a forged scan from another address of the client's /64 bans that address alone"
forge6 "$OTHER6"
wait_until 10 ban6_has "$OTHER6" || fail "$OTHER6 not banned: $(set_elems ban6)"
! ban6_has "2001:db8:2::/64" || fail "the client's /64 was banned"
wait_for_log "narrowing the ban of 2001:db8:2::/64 to $OTHER6: the prefix holds an active peer"

step "a forged scan from an address that is not active is banned"
forge4 "$OTHER4"
wait_until 10 ban4_has "$OTHER4" || fail "$OTHER4 not banned: $(set_elems ban4)"
wait_for_event 'e["event"] == "scan" and e["src"] == "'$OTHER4'" and e["action"] == "ban" and "reason" not in e'

step "evidence that needs a handshake still bans an active peer: a root shell answers it"
root_shell_visit
wait_until 10 ban4_has "$S4" || fail "$S4 not banned for the root shell: $(set_elems ban4)"
# Offence 1: the refused scans before were no offence, so nothing escalated.
wait_for_event 'e["event"] == "ban" and e["src"] == "'$S4'" and e["detector"] == "root-sig" and e["action"] == "ban" and e["offence"] == 1'
pass
