#!/bin/bash
# With the explicit-services alternative, only listed ports are open: a listener on an unlisted
# port does not keep it from counting as closed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sed -e 's/^\(\s*\)\(socket transparent\)/\1# \2/' \
    -e 's/^\(\s*\)# \(tcp dport @services_tcp goto inspect\)/\1\2/' \
    -e 's/^\(\s*\)# \(udp dport @services_udp goto inspect\)/\1\2/' \
    "$NFSENTRY_RULESET" >"$TMPD/services.nft"
echo 'add element inet nfsentry services_tcp { 8080 }' >>"$TMPD/services.nft"

setup_netns
load_ruleset "$TMPD/services.nft"
rules=$(in_v nft list chain inet nfsentry input 2>/dev/null)
if ! grep -q 'tcp dport @services_tcp goto inspect' <<<"$rules" || grep -q socket <<<"$rules"; then
	fail "the sed did not switch to explicit services: $rules"
fi
write_config scan.threshold=15
start_daemon

listen_tcp 8080 8081
fetch_ok "$V4" 8080 || fail "the scanner cannot reach listed port 8080"
step "scan of 8081-8095 (15 ports, 8081 has a listener but is not listed)"
scan -sS -p 8081-8095
wait_for_log "^banned $S4 for 30s \(offence 1\): 15 closed ports"
ban4_has "$S4" || fail "$S4 not in ban4"
pass
