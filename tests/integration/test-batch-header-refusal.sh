#!/bin/bash
# The kernel refusing a batch as a whole: without CAP_NET_ADMIN it answers the batch's
# header (NFNL_MSG_BATCH_BEGIN) with EPERM and none of the messages in it. The commit reports
# that EPERM at once, not a timeout after waiting for acks that never come, and adds nothing.
# (test-batch-refusal.sh: one refused element in a batch the kernel takes.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_netns
load_ruleset
# Root keeps at exec only the capabilities of its bounding set: everything but CAP_NET_ADMIN.
rc=0
out=$(in_v timeout 30 setpriv --inh-caps=-net_admin --bounding-set=-net_admin -- \
	"$NFSENTRY_COMMIT" 192.0.2.1 192.0.2.2 2>&1) || rc=$?
echo "$out (exit $rc)"
[ "$rc" = 1 ] || fail "nftset-commit without CAP_NET_ADMIN: exit $rc, not 1"
grep -qx 'commit: Operation not permitted' <<<"$out" || fail "expected EPERM from the commit: $out"
set_empty ban4 || fail "a refused batch added elements: $(set_elems ban4)"
pass
