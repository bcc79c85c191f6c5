#!/bin/bash
# One batch, one element the kernel refuses (ban4 is full): the kernel aborts the whole
# transaction, the writer takes the refused element out and commits the rest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_netns
sed 's/size 1048576/size 2/' "$NFSENTRY_RULESET" > "$TMPD/small.nft"
load_ruleset "$TMPD/small.nft"
out=$(in_v "$NFSENTRY_COMMIT" 192.0.2.1 192.0.2.2 192.0.2.3 2001:db8:9::/64) || fail "nftset-commit failed: $out"
echo "$out"
[ "$(grep -c ' added$' <<<"$out")" = 3 ] || fail "expected 3 elements added"
grep -q '^192.0.2.3 ' <<<"$out" && ! grep -q '^192.0.2.3 added' <<<"$out" || fail "the third IPv4 element was not refused"
grep -q '^applied 3$' <<<"$out" || fail "expected 3 applied"
ban4_has 192.0.2.1 && ban4_has 192.0.2.2 || fail "accepted IPv4 elements missing: $(set_elems ban4)"
ban6_has 2001:db8:9::/64 || fail "IPv6 element missing: $(set_elems ban6)"
[ "$(elem_timeout ban4 192.0.2.1)" = 600 ] || fail "timeout not 600 s: $(set_elems ban4)"
pass
