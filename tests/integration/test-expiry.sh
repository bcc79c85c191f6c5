#!/bin/bash
# The kernel expires a ban after [ban] duration.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup ban.duration=3s
scan -sS -p 1-100
wait_for_log "^banned $S4 for 3s "
[ "$(elem_timeout ban4 "$S4")" = 3 ] || fail "ban4 element timeout is not 3s: $(set_elems ban4)"
wait_until 8 ban4_gone "$S4" || fail "$S4 still in ban4 8 s after the ban: $(set_elems ban4)"
pass
