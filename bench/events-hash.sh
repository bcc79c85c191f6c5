#!/bin/bash
# Check: a change to the engine keeps its findings. Replays the synthetic capture of
# bench/gen-capture.py (fixed seed, traces of tests/traces mixed in) and every trace of
# tests/traces alone with `[detect] report_standard_ports = yes` (the detectors' raw findings),
# drops what differs from run to run (evidence tokens, which are keyed with a random secret),
# and prints one SHA-256 per input plus their counts per event and detector. Two builds with
# the same hashes raised the same events, in the same order, with the same fields.
#
# Usage: bench/events-hash.sh [N=300000 packets]  (NFSENTRY=path/to/nfsentry to compare builds)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300000}
NFSENTRY=${NFSENTRY:-build/daemon/nfsentry}
TRACES=${TRACES:-tests/traces}
[ -x "$NFSENTRY" ] || { echo "no nfsentry binary at $NFSENTRY (build it, or set NFSENTRY)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/nfsentry-evhash.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf '[detect]\nreport_standard_ports = yes\n' >"$tmp/audit.conf"
cap=${CAPTURE:-$tmp/big.pcap}
[ -f "$cap" ] || python3 bench/gen-capture.py -n "$N" --traces "$TRACES" "$cap"

# digest NAME PCAP: "sha256 count-by-detector NAME" of the replay's events, tokens left out.
digest() {
	"$NFSENTRY" replay "$2" -c "$tmp/audit.conf" 2>/dev/null | python3 -c '
import collections, hashlib, json, sys
h, c = hashlib.sha256(), collections.Counter()
for line in sys.stdin:
    e = json.loads(line)
    for k in ("token", "evidence_token"):
        e.pop(k, None)
    h.update(json.dumps(e, sort_keys=True).encode() + b"\n")
    c["%s/%s" % (e.get("event"), e.get("detector", "-"))] += 1
print(h.hexdigest()[:16], " ".join("%s=%d" % kv for kv in sorted(c.items())) or "-", sys.argv[1])' "$1"
}
digest synthetic "$cap"
for f in "$TRACES"/*.pcap "$TRACES"/*/*.pcap; do
	[ -f "$f" ] && digest "${f#"$TRACES"/}" "$f"
done
echo "command: bench/events-hash.sh $N (NFSENTRY=$NFSENTRY)"
