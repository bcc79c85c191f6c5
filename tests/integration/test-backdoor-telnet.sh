#!/bin/bash
# telnet-sig: a telnet server (inetutils telnetd) on port 2323 negotiates options with the
# telnet client: one telnet-sig backdoor event, alert, no ban. On port 23 nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x /usr/sbin/telnetd ] || fail "needs /usr/sbin/telnetd (inetutils-telnetd)"
command -v telnet >/dev/null || fail "needs telnet (inetutils-telnet)"

TELNET_SIG='e["event"] == "backdoor" and e["detector"] == "telnet-sig"'
BACKDOOR='e["event"] == "backdoor"'

# telnetd_on PORT: telnetd in the victim namespace, one per connection, on the accepted socket
# itself (nofork: telnetd wants a real socket, as from inetd).
telnetd_on() {
	ip netns exec "$VNS" socat "TCP-LISTEN:$1,reuseaddr,fork" EXEC:"/usr/sbin/telnetd -h",nofork \
		</dev/null >"$TMPD/telnetd.$1.log" 2>&1 &
	wait_until 5 port_listening "$1" || fail "no telnetd on port $1: $(cat "$TMPD/telnetd.$1.log")"
}
# telnet_session PORT: the telnet client from the scanner: a user name, a password, gone.
telnet_session() {
	{ sleep 1; printf 'nobody\r\n'; sleep 1; printf 'wrong\r\n'; sleep 2; } |
		timeout 15 ip netns exec "$SNS" telnet "$V4" "$1" >"$TMPD/telnet.$1.out" 2>&1 || true
	grep -qi 'login' "$TMPD/telnet.$1.out" || fail "no login prompt over telnet on $1: $(cat "$TMPD/telnet.$1.out")"
}

setup
step "telnetd on port 2323: one telnet-sig alert"
telnetd_on 2323
telnet_session 2323
wait_for_event "$TELNET_SIG"
events_match "$TELNET_SIG and e['class'] == 'telnet' and e['action'] == 'alert' and e['dport'] == 2323 and
	e['src'] == '$S4' and e['dst'] == '$V4' and e['evidence'].startswith('IAC ')" >/dev/null ||
	fail "the telnet-sig event is not as expected: $(events_match "$TELNET_SIG")"
[ "$(event_count "$TELNET_SIG")" = 1 ] || fail "more than one telnet-sig event: $(events_match "$TELNET_SIG")"
assert_not_banned

step "telnetd on port 23, its standard port: nothing"
: >"$EVENTS"
telnetd_on 23
telnet_session 23
sleep 1
no_event "$BACKDOOR"
pass
