#!/bin/bash
# A scanner in [allow] networks crosses the threshold but is not banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup allow.networks="$S4/32"
scan -sS -p 1-100
wait_for_log "^not banning $S4 .*allowlisted by $S4(/32)?$"
assert_not_banned
step "the scan event says the ban was refused, and why (issue 10, item 8)"
wait_for_event 'e["event"] == "scan" and e["src"] == "'$S4'" and e["action"] == "refused" and
	e["reason"] in ("allowlisted '$S4'", "allowlisted '$S4'/32")'
no_event 'e["action"] == "ban"'

step "a backdoor whose action is ban: its ban is refused too, said by a ban event"
root_shell_visit
wait_for_event 'e["event"] == "backdoor" and e["detector"] == "root-sig" and e["src"] == "'$S4'"'
wait_for_event 'e["event"] == "ban" and e["detector"] == "root-sig" and e["src"] == "'$S4'" and
	e["action"] == "refused" and e["reason"] in ("allowlisted '$S4'", "allowlisted '$S4'/32")'
assert_not_banned
pass
