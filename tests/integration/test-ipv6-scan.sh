#!/bin/bash
# An IPv6 scan from another /64 bans that whole /64, which then covers any other address in
# it (rotating addresses does not escape). A scanner inside this host's own /64 is banned as
# a /128: banning the /64 would cut off the host's neighbours, and it holds the host itself.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
listen_tcp 8080
# A second prefix on the link for the scanner, reachable from the victim on-link.
in_s ip addr add 2001:db8:5::2/64 dev veth-s nodad
in_v ip -6 route add 2001:db8:5::/64 dev veth-v
fetch_ok "$V6" 8080 2001:db8:5::2 || fail "before the scan, 2001:db8:5::2 cannot reach [$V6]:8080"

step "IPv6 SYN scan of ports 1-100 from 2001:db8:5::2"
scan -6 -sS -p 1-100 -S 2001:db8:5::2 -e veth-s
wait_for_log "^banned 2001:db8:5::/64 for 30s \(offence 1\): "
ban6_has 2001:db8:5::/64 || fail "2001:db8:5::/64 not in ban6: $(set_elems ban6)"

step "another address of the banned /64"
in_s ip addr add 2001:db8:5::99/64 dev veth-s nodad
drops=$(drop_counter 6)
! fetch_ok "$V6" 8080 2001:db8:5::99 || fail "2001:db8:5::99 still reaches [$V6]:8080"
[ "$(drop_counter 6)" -gt "$drops" ] || fail "the ban6 drop counter did not rise ($drops)"

step "a scanner in the victim's own /64 is banned alone"
fetch_ok "$V6" 8080 "$S6" || fail "before its scan, $S6 cannot reach [$V6]:8080"
scan -6 -sS -p 1-100 -S "$S6" -e veth-s
wait_for_log "^banned $S6 for 30s \(offence 1\): "
# The /64 holds this host's own address: it is tracked, and banned, address by address.
! ban6_has 2001:db8:1::/64 || fail "the victim's own /64 was banned"
ban6_has "$S6/128" || ban6_has "$S6" || fail "$S6 not in ban6: $(set_elems ban6)"
in_s ip addr add 2001:db8:1::77/64 dev veth-s nodad
fetch_ok "$V6" 8080 2001:db8:1::77 || fail "a neighbour in the victim's /64 was cut off"
pass
