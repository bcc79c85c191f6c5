#!/bin/bash
# The kernel set is the truth: after an admin unbans by hand, a new scan is banned again
# (as a repeat offence), and an address already in the set is not re-counted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup ban.duration=10m ban.factor=4
scan -sS -p 1-100
wait_for_log "^banned $S4 for 10m \(offence 1\)"

# After a ban request a source may not request again for 10 s (the tracker's hold, which
# bounds repeat requests while the ban lands); unban and rescan after it.
sleep 10
step "unban by hand, scan again"
in_v nft delete element inet nfsentry ban4 "{ $S4 }" 2>/dev/null
ban4_gone "$S4" || fail "nft delete element did not unban"
fetch_ok "$V4" 22 2>/dev/null || true # any traffic now reaches the host again
scan -sS -p 200-300
wait_for_log "^banned $S4 for 40m \(offence 2\)" 15
[ "$(elem_timeout ban4 "$S4")" = 2400 ] || fail "second ban's timeout is not 40m: $(set_elems ban4)"
pass
