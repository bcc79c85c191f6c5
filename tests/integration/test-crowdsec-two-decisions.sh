#!/bin/bash
# Issue 13: an address with two decisions in the LAPI stays banned until its last decision goes.
# The stream repeats deleted entries and gives one entry per value (the longest decision): the
# bridge keeps value -> decision ids, so deleting one decision of two must not lift the ban,
# and deleting the second must.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

X=203.0.113.77
fleet_setup
# (`cscli decisions list` shows one decision per value; the alerts hold them all.)
ids_of() {
	lapi_cscli alerts list -a -o json --limit 0 2>/dev/null | python3 -c '
import json, sys
print(" ".join(str(d["id"]) for a in json.load(sys.stdin) or [] for d in a.get("decisions") or []
               if d["value"] == sys.argv[1]))' "$1"
}
step "two decisions on $X (1h, then 2h)"
lapi_cscli decisions add --ip "$X" --duration 1h >/dev/null 2>&1 || fail_fleet "cscli decisions add 1h"
wait_until $((UPDATE + 1)) fleet_has B fleet4 "$X" || fail_fleet "$X (1h) did not reach B"
lapi_cscli decisions add --ip "$X" --duration 2h >/dev/null 2>&1 || fail_fleet "cscli decisions add 2h"
sleep $((UPDATE + 1))
ids=$(ids_of "$X")
echo "decision ids on $X: $ids"
set -- $ids
[ $# = 2 ] || fail_fleet "expected two decisions on $X in the LAPI, got: $ids"
hi=$(( $1 > $2 ? $1 : $2 )) lo=$(( $1 > $2 ? $2 : $1 ))

step "delete the newer (2h) decision, $hi: $X stays banned"
lapi_cscli decisions delete --id "$hi" >/dev/null 2>&1 || fail_fleet "cscli decisions delete --id $hi"
sleep $((2 * UPDATE + 1))
fleet_has B fleet4 "$X" || fail_fleet "deleting one of two decisions lifted $X on B (decision $lo is still active: $(ids_of "$X"))"

step "delete the other, $lo: $X is lifted"
lapi_cscli decisions delete --id "$lo" >/dev/null 2>&1 || fail_fleet "cscli decisions delete --id $lo"
wait_until $((UPDATE + 1)) fleet_gone B fleet4 "$X" || fail_fleet "$X still banned on B after its last decision was deleted"
pass
