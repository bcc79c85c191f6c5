#!/bin/bash
# Issue 13, the attacker's view: a burst of bans while A's bridge is stalled (SIGSTOP: what a slow
# LAPI or a stuck HTTP request does to it). The daemon does not wait for its watcher: it drops
# what the watcher's bounded buffer cannot hold and tells it "lost"; banning goes on meanwhile.
# Resumed, the bridge re-reads `bans` and publishes every ban it missed, each once.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

N=2000
fleet_setup ban.duration=1h
step "A's bridge stopped; $N bans on A through the control socket"
kill -STOP "${BRIDGE_PID[A]}"
python3 - "$TMPD/control.sock" "$N" <<'PY' || fail_fleet "the bans through the control socket"
import json, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(json.dumps({"command": "ban", "address": "10.9.%d.%d" % (i >> 8, i & 255), "seconds": 3600}).encode() + b"\n")
    r = json.loads(s.makefile().readline())
    if not r.get("ok"):
        sys.exit("ban %d refused: %s" % (i, r))
    s.close()
PY
[ "$(fleet_elems A ban4 | grep -c '^10\.9\.')" = "$N" ] || fail_fleet "A's ban4 lacks some of the $N bans while its bridge is stopped"

step "the bridge resumed: every ban published, once"
kill -CONT "${BRIDGE_PID[A]}"
published() { [ "$(lapi_alerts_of host-A | grep -c '^Ip:10\.9\.')" -ge "$N" ]; }
wait_until 120 published || fail_fleet "only $(lapi_alerts_of host-A | grep -c '^Ip:10\.9\.') of $N bans published 120 s after the bridge resumed"
sleep $((UPDATE + 1))
dups=$(lapi_alerts_of host-A | grep '^Ip:10\.9\.' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || fail_fleet "$dups bans were published more than once"
# Whether the watch overflowed depends on the socket buffers too: said, not asserted.
if bridge_log_has A 'not published yet'; then echo "the bridge was told it lost events and re-read bans"; fi
bridge_alive A || fail_fleet "bridge A died"
wait_until $((UPDATE + 5)) fleet_has B fleet4 10.9.7.207 || fail_fleet "B did not apply the burst"
pass
