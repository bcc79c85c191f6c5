#!/bin/bash
# An IPv6 scan bans the scanner's /64, which then covers any other address in it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
listen_tcp 8080
fetch_ok "$V6" 8080 || fail "before the scan, the scanner cannot reach [$V6]:8080"

step "IPv6 SYN scan of ports 1-100"
scan -6 -sS -p 1-100
wait_for_log "^banned 2001:db8:1::/64 for 30s \(offence 1\): "
ban6_has 2001:db8:1::/64 || fail "2001:db8:1::/64 not in ban6: $(set_elems ban6)"

step "another address of the banned /64"
in_s ip addr add 2001:db8:1::99/64 dev veth-s nodad
drops=$(drop_counter 6)
! fetch_ok "$V6" 8080 2001:db8:1::99 || fail "2001:db8:1::99 still reaches [$V6]:8080"
[ "$(drop_counter 6)" -gt "$drops" ] || fail "the ban6 drop counter did not rise ($drops)"
pass
