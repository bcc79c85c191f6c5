#!/bin/bash
# The test command: installs dependencies, builds, runs the unit suite and the fuzz suite (the
# fuzzing corpus replayed; both need no root) and the integration suite (root: network
# namespaces, real nftables and nfnetlink_queue), and ends with "N passed, N failed".
# Usage, as root: scripts/test.sh [extra meson test args]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
	bash scripts/deps.sh
else
	echo "not root: skipping the dependency install; the integration suite will be skipped" >&2
fi
[ -f build/build.ninja ] || meson setup build --prefix=/usr --sysconfdir=/etc
meson compile -C build
rc=0
meson test -C build --suite unit --suite fuzz --suite integration --print-errorlogs "$@" || rc=$?

# Summarise from meson's own log. In CI a skipped suite is a failure: it proves nothing.
python3 - "$rc" <<'PY'
import json, os, sys
rc = int(sys.argv[1])
passed = failed = skipped = 0
with open("build/meson-logs/testlog.json") as f:
    for line in f:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
if os.environ.get("CI") and skipped:
    print(f"error: {skipped} tests skipped in CI (integration tests need root)", file=sys.stderr)
    failed += skipped
    skipped = 0
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or rc else 0)
PY
