#!/bin/bash
# A self-contained demonstration (root): two network namespaces joined by a veth pair, the
# shipped ruleset and the daemon in one ("host"), nmap in the other ("scanner"). Shows the
# scanner being banned and `nft list ruleset` with the ban counting down. Removes everything
# it made on exit. Usage, as root: scripts/demo.sh
# With NFSENTRY and NFSENTRYCTL set (tests/integration/test-demo.sh), it uses those binaries and
# neither installs nor builds anything.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
if [ -z "${NFSENTRY:-}" ] || [ -z "${NFSENTRYCTL:-}" ]; then
	bash scripts/deps.sh
	[ -f build/build.ninja ] || meson setup build --prefix=/usr --sysconfdir=/etc >/dev/null
	meson compile -C build >/dev/null
	NFSENTRY=build/daemon/nfsentry NFSENTRYCTL=build/tools/nfsentryctl
fi

HOST=nfsentry-demo-host SCAN=nfsentry-demo-scanner
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$HOST" 2>/dev/null || true
	ip netns del "$SCAN" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
inhost() { ip netns exec "$HOST" "$@"; }

step "lab: $HOST (198.51.100.1) <-veth-> $SCAN (198.51.100.2)"
ip netns add "$HOST"
ip netns add "$SCAN"
ip link add demo-host netns "$HOST" type veth peer name demo-scan netns "$SCAN"
ip -n "$HOST" addr add 198.51.100.1/24 dev demo-host
ip -n "$SCAN" addr add 198.51.100.2/24 dev demo-scan
for ns in "$HOST" "$SCAN"; do ip -n "$ns" link set lo up; done
ip -n "$HOST" link set demo-host up
ip -n "$SCAN" link set demo-scan up
ip netns exec "$HOST" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo hello from the host' &
pids+=($!)

step "nfsentry load-ruleset nft/nfsentry.nft"
inhost "$NFSENTRY" load-ruleset nft/nfsentry.nft

step "nfsentry -c demo.conf (threshold 10 closed ports, first ban 2m)"
printf '[daemon]\nstate_dir = %s/state\nevents = %s/events.json\nmetrics_file = %s/metrics.prom\ncontrol_socket = %s/control.sock\n[ban]\nduration = 2m\n' \
	"$tmp" "$tmp" "$tmp" "$tmp" > "$tmp/demo.conf"
# Started directly (not through a function or pipe) so $! is the daemon itself.
ip netns exec "$HOST" "$NFSENTRY" -c "$tmp/demo.conf" 2>>"$tmp/log" &
pids+=($!)
log() { sed 's/^/  nfsentry: /' "$tmp/log"; : > "$tmp/log"; }
for _ in $(seq 100); do grep -q "running:" "$tmp/log" && break; sleep 0.1; done
log

step "the scanner reaches the open port 8080"
ip netns exec "$SCAN" curl -s -m 2 telnet://198.51.100.1:8080 </dev/null || true

step "nmap -sS -p 1-1000 198.51.100.1 (from the scanner)"
ip netns exec "$SCAN" nmap -n -Pn -sS -p 1-1000 --max-retries 0 198.51.100.1 | grep -E "open|filtered|done" || true
sleep 0.5
log

step "nft list ruleset (in the host)"
inhost nft list table inet nfsentry 2>/dev/null | sed -n '/set ban4/,/^	}/p;/chain prerouting/,/^	}/p'

step "the scanner now gets nothing, not even the open port"
if ip netns exec "$SCAN" curl -s -m 2 telnet://198.51.100.1:8080 </dev/null; then echo "  (unexpected: connected)"; else echo "  connection timed out: dropped at prerouting -450"; fi
inhost nft list chain inet nfsentry prerouting 2>/dev/null | grep "@ban4"

step "the events file (one JSON object per line) and nfsentryctl bans"
cat "$tmp/events.json"
"$NFSENTRYCTL" -s "$tmp/control.sock" bans

step "unban: nfsentryctl unban 198.51.100.2 (or nft delete element inet nfsentry ban4 { 198.51.100.2 })"
"$NFSENTRYCTL" -s "$tmp/control.sock" unban 198.51.100.2
ip netns exec "$SCAN" curl -s -m 2 telnet://198.51.100.1:8080 </dev/null || true
echo
