#!/bin/bash
# Benchmark: `nfsentryctl bans` with the fleet's bans at [fleet] max_bans (200,000): the
# daemon's resident memory before, at the peak of the answer and after it, and the client's
# time and memory; then the same listing of this host's bans only (--origin nfsentry,manual,
# as nfsentry-crowdsec asks). The fleet's bans go in through the control socket's `fleet`
# command, 1000 a request, as the bridge sends them. Prints the command and the figures.
# This is a benchmark, not a test: run it by hand, compare figures from one machine.
#
# Usage: sudo bench/ctl-bans.sh [N=200000]
set -euo pipefail
N=${1:-200000}
# shellcheck source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
need_ctl
echo "bench/ctl-bans.sh $N"
setup daemon.control_socket="$SOCK" fleet.max_bans="$N"
python3 - "$SOCK" "$N" <<'PY'
import json, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
for r in range(0, n, 1000):
    bans = [{"address": "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255), "seconds": 3600}
            for i in range(r, min(n, r + 1000))]
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(json.dumps({"command": "fleet", "ban": bans}).encode() + b"\n")
    a = json.loads(s.makefile().readline())
    s.close()
    if a.get("banned") != len(bans):
        sys.exit("fleet: %r" % {k: v for k, v in a.items() if k != "errors"})
print("%d fleet bans through the socket in %.2f s" % (n, time.monotonic() - t0))
PY
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status"; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status"; }
before=$(rss)
peak_before=$(hwm)
/usr/bin/time -f "%e %M" -o "$TMPD/time" "$NFSENTRYCTL" -s "$SOCK" bans >"$TMPD/bans.txt"
read -r secs kib <"$TMPD/time"
echo "nfsentryctl bans: $(($(wc -l <"$TMPD/bans.txt") - 1)) rows, $(stat -c %s "$TMPD/bans.txt") bytes of text, $secs s, client $((kib / 1024)) MiB"
echo "daemon resident: $((before / 1024)) MiB before, peak $(($(hwm) / 1024)) MiB (was $((peak_before / 1024)) MiB), $(($(rss) / 1024)) MiB after"
/usr/bin/time -f "%e" -o "$TMPD/time" "$NFSENTRYCTL" -s "$SOCK" bans --origin nfsentry,manual >/dev/null
echo "nfsentryctl bans --origin nfsentry,manual: $(cat "$TMPD/time") s"
