#!/bin/bash
# root-sig: a root shell bound to port 4444 greets its client with "# ": a strong root-sig
# backdoor event, action ban; the client is banned and cannot connect again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROOT_SIG='e["event"] == "backdoor" and e["detector"] == "root-sig"'

setup
step "a root shell on port 4444 (socat EXEC:'sh -i', as an intruder leaves it)"
# As root, sh -i prompts "# " on stderr (sent to the socket too). Without a tty, dash first
# warns "sh: 0: can't access tty; job control turned off" in the same packet: root-sig
# recognises the prompt ending that packet.
ip netns exec "$VNS" socat TCP-LISTEN:4444,reuseaddr EXEC:'sh -i',stderr </dev/null >"$TMPD/shell.log" 2>&1 &
wait_until 5 port_listening 4444 || fail "socat did not listen on 4444"

step "the scanner connects and waits 2 s"
timeout 10 ip netns exec "$SNS" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 4444), timeout=3)
end, got = time.time() + 2, b""
s.settimeout(0.2)
while time.time() < end:
    try:
        d = s.recv(100)
        if not d:
            break
        got += d
    except socket.timeout:
        pass
print(repr(got))
' "$V4" >"$TMPD/client.out" 2>&1 || true
wait_for_event "$ROOT_SIG"
events_match "$ROOT_SIG and e['class'] == 'root-shell' and e['strength'] == 'strong' and
	e['action'] == 'ban' and e['sent_by'] == 'server' and e['src'] == '$S4' and e['dst'] == '$V4' and
	e['dport'] == 4444 and e['evidence'] == '# '" >/dev/null ||
	fail "the root-sig event is not as expected (client got $(cat "$TMPD/client.out")): $(events_match "$ROOT_SIG")"
[ "$(event_count "$ROOT_SIG")" = 1 ] || fail "more than one root-sig event: $(events_match "$ROOT_SIG")"

step "the client is banned"
wait_for_event "e['event'] == 'ban' and e['src'] == '$S4' and e['detector'] == 'root-sig' and e['action'] == 'ban' and
	e['seconds'] == 30 and e['offence'] == 1 and e['latency_us'] >= 0"
wait_until 5 ban4_has "$S4" || fail "$S4 not in ban4: $(set_elems ban4)"
rc=0
timeout 10 ip netns exec "$SNS" socat -u -T 2 "TCP:$V4:4444,connect-timeout=2" STDOUT </dev/null \
	>"$TMPD/second.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "a second connection from the banned client succeeded: $(cat "$TMPD/second.out")"
daemon_alive || fail "the daemon died"
pass
