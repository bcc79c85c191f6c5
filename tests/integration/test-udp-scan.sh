#!/bin/bash
# A UDP scan gets the scanner banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
step "UDP scan of ports 1-30"
scan -sU -p 1-30
wait_for_log "^banned $S4 for 30s \(offence 1\): .*udp"
ban4_has "$S4" || fail "$S4 not in ban4: $(set_elems ban4)"
pass
