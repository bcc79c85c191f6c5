#!/bin/bash
# This host's resolver (a nameserver line of resolv_conf) is never banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

echo "nameserver $S4" >"$TMPD/resolv.conf.test"
setup allow.resolv_conf="$TMPD/resolv.conf.test"
scan -sS -p 1-100
wait_for_log "^not banning $S4 .*protected peer $S4"
assert_not_banned
# Issue 10, item 8: the event says the ban was refused, and why.
wait_for_event 'e["event"] == "scan" and e["src"] == "'$S4'" and e["action"] == "refused" and
	e["reason"] == "protected peer (resolver)"'
no_event 'e["action"] == "ban"'
pass
