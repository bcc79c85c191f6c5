#!/bin/bash
# In the VM (tests/vm/run.sh verbatim-ruleset): on a stock kernel the shipped ruleset loads
# verbatim with `nft -f`, silently; its two queue statements are the kernel's own queue
# expression (nft_queue) with the numbers and flags the file writes, and nothing goes through
# nft_compat (the xt NFQUEUE target `nfsentry load-ruleset` falls back to).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
[ "${NFSENTRY_LOAD:-}" = nft ] ||
	fail "run it in the VM (tests/vm/run.sh verbatim-ruleset): it needs NFSENTRY_LOAD=nft and nft_queue"

setup_netns
load_ruleset
[ ! -s "$TMPD/load-ruleset.out" ] || fail "nft -f printed: $(cat "$TMPD/load-ruleset.out")"

step "nft lists native queue statements, as written"
in_v nft -j list ruleset >"$TMPD/ruleset.json" 2>"$TMPD/list.err" || fail "nft list ruleset failed"
[ ! -s "$TMPD/list.err" ] || fail "nft list ruleset warned: $(cat "$TMPD/list.err")"
python3 - "$TMPD/ruleset.json" >"$TMPD/queues" <<'PY' || fail "$(cat "$TMPD/queues")"
import json, sys
queues, xt = [], []
for obj in json.load(open(sys.argv[1]))["nftables"]:
    rule = obj.get("rule")
    for x in (rule or {}).get("expr", []):
        if "queue" in x:
            q = x["queue"]
            queues.append((rule["chain"], json.dumps(q["num"]), q.get("flags", "")))
        if "xt" in x:
            xt.append((rule["chain"], x["xt"]))
want = [("inspect_queue", '{"range": [8, 9]}', "bypass"), ("input", '{"range": [0, 1]}', ""),
        ("closed_queue", '{"range": [0, 1]}', ""), ("sctp_queue", '{"range": [0, 1]}', "bypass")]
if xt or sorted(queues) != sorted(want):
    print("queue statements %s (want %s), xt expressions %s" % (sorted(queues), want, xt))
    sys.exit(1)
PY

step "the kernel runs them with nft_queue; nft_compat holds none"
uses() { awk -v m="$1" '$1 == m { print $3 }' /proc/modules; }
[ "$(uses nft_queue)" -ge 2 ] 2>/dev/null || fail "nft_queue is not in use: $(grep nft_ /proc/modules)"
[ "$(uses nft_compat)" -eq 0 ] 2>/dev/null || [ -z "$(uses nft_compat)" ] ||
	fail "nft_compat is in use ($(uses nft_compat))"
pass
