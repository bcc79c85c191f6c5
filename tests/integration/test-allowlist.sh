#!/bin/bash
# A scanner in [allow] networks crosses the threshold but is not banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup allow.networks="$S4/32"
scan -sS -p 1-100
wait_for_log "^not banning $S4 .*allowlisted by $S4(/32)?$"
assert_not_banned
pass
