#!/bin/bash
# kill -9 of the daemon under load (a spoofed flood to closed ports, floodlab.sh, paced at
# 20,000 packets/s), twice:
# - a TCP connection opened before the kill keeps exchanging data while the daemon is gone
#   (its small packets go to the inspection queues, which are fail-open), and new connections
#   to open ports are made;
# - closed-port attempts stay dropped (fail-closed: no RST comes back);
# - no ban is lost: the bans stay in the kernel, and after the kernel lost them too (the table
#   loaded afresh, as after a reboot) the restarted daemon restores them from its saved table;
# - the restart is back to normal: running, verdicts flowing, a new scanner banned. The time
#   from exec to "running" and to the first verdict is printed (docs/benchmarks.md), not
#   asserted: this machine is shared.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/floodlab.sh"

S3=198.51.100.3 S5=198.51.100.5
flood_lab 1048576
in_s ip addr add $S3/24 dev veth-s
in_s ip addr add $S5/24 dev veth-s
# Prefix bans off: the flood's forged /16 would otherwise be banned /24 by /24 (test-flood covers
# that), and the restart is timed by its first verdict on a queued packet.
write_config ban.duration=10m scan.prefix_threshold=0
start_daemon
listen_tcp 8080

step "an echo service, and a client that talks to it every 50 ms"
ip netns exec "$VNS" socat TCP6-LISTEN:7777,fork,reuseaddr,ipv6only=0 PIPE </dev/null >/dev/null 2>&1 &
wait_until 5 port_listening 7777 || fail "no echo service"
ECHOES=$TMPD/echoes
ip netns exec "$SNS" timeout 120 python3 - "$V4" "$ECHOES" <<'EOF' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7777), timeout=10)
with open(sys.argv[2], "a", buffering=1) as out:
    for i in range(100000):
        msg = b"ping %d\n" % i
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(64)
            if not chunk:
                sys.exit(out.write("closed\n"))
            got += chunk
        out.write("%d\n" % i)
        time.sleep(0.05)
EOF
CLIENT=$!
echoes() { cat "$ECHOES" 2>/dev/null | awk '/^[0-9]/ { n++ } END { print n + 0 }'; }
echoes_reach() { [ "$(echoes)" -ge "$1" ]; }
wait_until 5 echoes_reach 5 || fail "the echo client does not get its echoes"

step "a ban before the kill, in the kernel and in the saved ban table"
scan -sS -p 1-30 -S $S3 -e veth-s
wait_for_log "^banned $S3 "
saved() { grep -q "$1" "$TMPD/state/bans" 2>/dev/null; }
wait_until 10 saved $S3 || fail "the ban of $S3 never reached the saved ban table"

# 20,000 packets/s; on an emulated CPU (tests/vm) a quarter of that: the guest's softirqs
# would otherwise starve its timers when the host is busy (an RCU stall wedged one run).
RATE=$((20000 / ${NFSENTRY_TIME_SCALE:-1}))
step "load: a spoofed flood at $RATE packets/s"
ip netns exec "$SNS" "$FLOODGEN" "$V4" "$FLOOD_NET" -t 60 -r "$RATE" -p "$FLOOD_PORTS" >/dev/null &
LOAD=$!
queued_some() { in_v awk '$1 < 8 { n += $8 } END { exit n == 0 }' /proc/net/netfilter/nfnetlink_queue; }
wait_until 5 queued_some || true

# closed_port_dropped: nmap's SYN to closed port 5555 gets no answer (filtered, not closed).
closed_port_dropped() {
	scan -sS -p 5555
	grep -q '^5555/tcp  *filtered' "$TMPD/nmap.out" || fail "port 5555 is not filtered: $(cat "$TMPD/nmap.out")"
}

# gone_checks: with the daemon dead, the service works and closed ports stay closed.
gone_checks() {
	local n
	n=$(echoes)
	wait_until 5 echoes_reach $((n + 10)) || fail "the connection opened before the kill stopped ($(echoes) echoes)"
	fetch_ok "$V4" 8080 || fail "a new connection to open port 8080 fails while the daemon is gone"
	closed_port_dropped
	ban4_has $S3 || fail "the ban of $S3 is gone from the kernel"
}

# restart: start the daemon and time it, from the victim namespace: from its exec to its
# "running:" line, and to its first verdict on a closed-port queue (the kernel's
# /proc/net/netfilter/nfnetlink_queue: ids handed out, minus those waiting or lost).
restart() {
	DAEMON_RUNS=$((DAEMON_RUNS + 1))
	LOG=$TMPD/daemon.$DAEMON_RUNS.log
	LOG_MARK=0
	local out
	out=$(in_v timeout 20 python3 - "$NFSENTRY" "$CONF" "$LOG" <<-'EOF'
	import subprocess, sys, time
	nfsentry, conf, log = sys.argv[1:]
	t0 = time.monotonic_ns()
	d = subprocess.Popen([nfsentry, "-c", conf], stdin=subprocess.DEVNULL, stdout=open(log, "w"),
	                     stderr=subprocess.STDOUT, start_new_session=True)
	print("pid", d.pid, flush=True)
	running = verdict = None
	while time.monotonic_ns() - t0 < 10e9 and not (running and verdict) and d.poll() is None:
	    now = (time.monotonic_ns() - t0) / 1e6
	    if running is None and " running: " in open(log).read():
	        running = now
	    if verdict is None:
	        for line in open("/proc/net/netfilter/nfnetlink_queue"):
	            f = [int(x) for x in line.split()]
	            if f[0] < 8 and f[7] - f[2] - f[6] > 0:
	                verdict = now
	    time.sleep(0.0005)
	if running and verdict:
	    print("restart: running after %.1f ms, first verdict after %.1f ms (from exec)" % (running, verdict))
	EOF
	) || fail "cannot start the daemon"
	DAEMON_PID=$(awk '$1 == "pid" { print $2 }' <<<"$out")
	grep -q '^restart: ' <<<"$out" || fail "the restarted daemon did not run and verdict within 10 s"
	grep '^restart: ' <<<"$out"
	daemon_alive || fail "the restarted daemon died"
}

step "kill -9 under load"
stop_daemon KILL
gone_checks

step "restart"
restart
log_has "^[1-9][0-9]* IPv4 and 0 IPv6 bans already in the kernel" || fail "the restarted daemon does not see the bans"
n=$(echoes)
wait_until 5 echoes_reach $((n + 10)) || fail "the connection stopped after the restart"
closed_port_dropped
scan -sS -p 1-30 -S $S5 -e veth-s
wait_for_log "^banned $S5 "
wait_until 10 saved $S5 || fail "the ban of $S5 never reached the saved ban table"

step "kill -9 again, and the kernel loses every ban (the table loaded afresh, as after a reboot)"
stop_daemon KILL
in_v nft delete table inet nfsentry
load_ruleset "$TMPD/flood.nft"
! ban4_has $S3 || fail "the fresh table still has the ban of $S3"
restart
log_has "^restored [1-9][0-9]* saved bans with their time left" || fail "no saved bans restored"
ban4_has $S3 && ban4_has $S5 || fail "the saved bans were not restored: $(set_elems ban4 | grep -E "$S3|$S5")"
n=$(echoes)
wait_until 5 echoes_reach $((n + 10)) || fail "the connection stopped after the second restart"
closed_port_dropped

kill "$LOAD" "$CLIENT" 2>/dev/null || true
wait "$LOAD" "$CLIENT" 2>/dev/null || true
grep -q closed "$ECHOES" && fail "the echo connection was closed"
echo "echoes exchanged over one connection: $(echoes)"
pass
