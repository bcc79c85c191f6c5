#!/bin/bash
# interactive (Zhang & Paxson sec. 3): keystrokes at human intervals to an echo service on a
# non-standard port make one "interactive" backdoor event (Gamma and alpha >= 0.2), at the
# first evaluation, 30 s after the flow's first data. A bulk download on another
# non-standard port makes no backdoor event at all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

INTERACTIVE='e["event"] == "backdoor" and e["detector"] == "interactive"'

setup
step "an echo service on 7000, a web server with a 20 MB file on 8000"
ip netns exec "$VNS" socat TCP-LISTEN:7000,reuseaddr EXEC:cat </dev/null >/dev/null 2>&1 &
mkdir "$TMPD/www"
head -c 20000000 /dev/zero >"$TMPD/www/big"
ip netns exec "$VNS" python3 -m http.server -b "$V4" -d "$TMPD/www" 8000 </dev/null >"$TMPD/http.log" 2>&1 &
wait_until 5 port_listening 7000 || fail "no echo service on 7000"
wait_until 5 port_listening 8000 || fail "no web server on 8000: $(cat "$TMPD/http.log")"

step "36 s of keystrokes (one byte each, 60-600 ms apart, fixed seed) to port 7000"
timeout 60 ip netns exec "$SNS" python3 -c '
import random, socket, sys, time
random.seed(7)
s = socket.create_connection((sys.argv[1], 7000), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sent = echoed = 0
end = time.monotonic() + 36
while time.monotonic() < end:
    s.sendall(random.choice(b"abcdefghijklmnopqrstuvwxyz \r").to_bytes(1, "big"))
    sent += 1
    echoed += len(s.recv(16))
    time.sleep(random.uniform(0.06, 0.6))
s.close()
print("sent", sent, "echoed", echoed)
' "$V4" >"$TMPD/typist.out" 2>&1 &
TYPIST=$!

step "meanwhile, download the 20 MB file from port 8000"
timeout 30 ip netns exec "$SNS" curl -s -o "$TMPD/big.copy" "http://$V4:8000/big" ||
	fail "the download from port 8000 failed"
[ "$(stat -c %s "$TMPD/big.copy")" = 20000000 ] || fail "the download is incomplete"

wait_for_event "$INTERACTIVE" 45
wait "$TYPIST" || fail "the typist failed: $(cat "$TMPD/typist.out")"
echo "$(cat "$TMPD/typist.out"); $(events_match "$INTERACTIVE")"
events_match "$INTERACTIVE and e['class'] == 'interactive' and e['action'] == 'alert' and
	e['src'] == '$S4' and e['dst'] == '$V4' and e['dport'] == 7000 and e['sent_by'] == 'client' and
	e['gamma'] >= 0.2 and e['alpha'] >= 0.2 and e['packets'] >= 8 and e['small'] >= 8 and
	29 <= e['seconds'] <= 37" >/dev/null ||
	fail "the interactive event is not as expected ($(cat "$TMPD/typist.out")): $(events_match "$INTERACTIVE")"
[ "$(event_count "$INTERACTIVE")" = 1 ] || fail "more than one interactive event: $(events_match "$INTERACTIVE")"
no_event 'e["event"] == "backdoor" and e["detector"] != "interactive"'
no_event 'e.get("dport") == 8000 or e.get("sport") == 8000'
assert_not_banned
pass
