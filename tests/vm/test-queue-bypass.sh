#!/bin/bash
# What the two queue statements do when nothing reads them, as the kernel's nft_queue applies
# them (in the VM, with the ruleset loaded verbatim): `queue num 8-9 bypass`, the inspection
# path, is fail-open: connections to an open port go on before the daemon starts and after it
# is killed. `queue num 0-1`, closed-port attempts, is fail-closed: they are dropped (nmap:
# filtered), not answered with a reset as without the ruleset (closed).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

# port_state PORT: nmap's state for TCP PORT of the victim, seen from the scanner.
port_state() {
	timeout 60 ip netns exec "$SNS" nmap -n -Pn --max-retries 1 -sS -p "$1" "$V4" 2>&1 |
		awk -v p="$1/tcp" '$1 == p { print $2 }'
}
# inspected_packets: packets the daemon got from its inspection queues (8 and up).
inspected_packets() {
	log_mark
	kill -USR1 "$DAEMON_PID"
	wait_for_log '^tracking [0-9]+ sources' 5
	tail -n "+$((LOG_MARK + 1))" "$LOG" | awk '$1 == "queue" && $2 + 0 >= 8 { n += $3 } END { print n + 0 }'
}

setup_netns
load_ruleset
write_config
listen_tcp 4000

step "no daemon: the open port answers (bypass), the closed one is silent (dropped)"
fetch_ok "$V4" 4000 || fail "no daemon: port 4000 unreachable, the inspection queue is not fail-open"
state=$(port_state 9999)
[ "$state" = filtered ] || fail "no daemon: closed port 9999 is '$state', not filtered (dropped)"

step "the daemon reads the inspection queues"
start_daemon
fetch_ok "$V4" 4000 || fail "with the daemon: port 4000 unreachable"
[ "$(inspected_packets)" -gt 0 ] || fail "the daemon got nothing from queues 8-9"

step "killed: the open port still answers, the closed one is still silent"
stop_daemon KILL
fetch_ok "$V4" 4000 || fail "after kill -9: port 4000 unreachable, the inspection queue is not fail-open"
state=$(port_state 9999)
[ "$state" = filtered ] || fail "after kill -9: closed port 9999 is '$state', not filtered (dropped)"

step "without the ruleset the kernel answers the closed port itself"
in_v nft flush ruleset
state=$(port_state 9999)
[ "$state" = closed ] || fail "without the ruleset: port 9999 is '$state', not closed"
pass
