#!/bin/bash
# The systemd protocol, against a stand-in for systemd's notify socket: READY=1 once running,
# WATCHDOG=1 pings while the workers turn, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
# SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sock=$TMPD/notify.sock
got=$TMPD/notify.log
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        try:
            out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        except socket.timeout:
            break
' "$sock" "$got" &
listener=$!
wait_until 5 test -S "$sock" || fail "notify socket did not appear"

setup_netns
load_ruleset
write_config
DAEMON_PREFIX=(env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000)
start_daemon
notified() { grep -q -- "$1" "$got"; }
wait_until 5 notified "READY=1" || fail "no READY=1: $(cat "$got")"
wait_until 5 notified "WATCHDOG=1" || fail "no WATCHDOG=1 within 5 s with WatchdogSec=1s: $(cat "$got")"

kill -HUP "$DAEMON_PID"
wait_until 5 notified "RELOADING=1" || fail "no RELOADING=1 after SIGHUP: $(cat "$got")"
ready_again() { [ "$(grep -c "READY=1" "$got")" -ge 2 ]; }
wait_until 5 ready_again || fail "no READY=1 after the reload: $(cat "$got")"

stop_daemon TERM
[ "$DAEMON_RC" = 0 ] || fail "exit status $DAEMON_RC after SIGTERM"
notified "STOPPING=1" || fail "no STOPPING=1: $(cat "$got")"
kill "$listener"
pass
