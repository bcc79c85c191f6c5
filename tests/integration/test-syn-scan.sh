#!/bin/bash
# A TCP SYN scan gets the scanner banned; afterwards even an open port is unreachable from it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
listen_tcp 8080
fetch_ok "$V4" 8080 || fail "before the scan, the scanner cannot reach open port 8080"

step "SYN scan of ports 1-100"
scan -sS -p 1-100
wait_for_log "^banned $S4 for 30s \(offence 1\): "
ban4_has "$S4" || fail "$S4 not in ban4: $(set_elems ban4)"

drops=$(drop_counter 4)
! fetch_ok "$V4" 8080 || fail "a banned scanner still reaches open port 8080"
[ "$(drop_counter 4)" -gt "$drops" ] || fail "the ban4 drop counter did not rise ($drops)"
pass
