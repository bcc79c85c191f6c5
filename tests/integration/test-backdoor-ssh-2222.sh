#!/bin/bash
# ssh-sig: an OpenSSH server on port 2222 is reported (alert, the client not banned); the same
# server on port 22, its standard port, is not; nor is it on 2222 under `allow = ssh-sig 2222 * *`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/sshd >/dev/null || fail "needs sshd (openssh-server)"
command -v ssh >/dev/null || fail "needs ssh (openssh-client)"

SSHD_PID=
# sshd_on PORT: (re)start OpenSSH's sshd in the victim namespace on PORT.
sshd_on() {
	[ -z "$SSHD_PID" ] || { kill "$SSHD_PID"; wait "$SSHD_PID" 2>/dev/null || true; }
	[ -f "$TMPD/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -f "$TMPD/hostkey"
	mkdir -p /run/sshd   # its privilege separation directory
	ip netns exec "$VNS" /usr/sbin/sshd -D -e -f /dev/null -o Port="$1" -o HostKey="$TMPD/hostkey" \
		-o PidFile=none >"$TMPD/sshd.$1.log" 2>&1 &
	SSHD_PID=$!
	wait_until 5 port_listening "$1" || fail "sshd did not listen on port $1: $(cat "$TMPD/sshd.$1.log")"
}
# ssh_try PORT: an ssh login from the scanner; it fails at authentication, which is enough.
ssh_try() {
	timeout 15 ip netns exec "$SNS" ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -p "$1" "nobody@$V4" true \
		>"$TMPD/ssh.out" 2>&1 || true
	grep -q 'Permission denied' "$TMPD/ssh.out" || fail "ssh to port $1 did not reach authentication: $(cat "$TMPD/ssh.out")"
	sleep 1   # the daemon saw the banners before they were delivered; give it a moment to write
}
BACKDOOR='e["event"] == "backdoor"'
SSH_SIG='e["event"] == "backdoor" and e["detector"] == "ssh-sig"'

setup
step "sshd on port 2222: one ssh-sig alert"
sshd_on 2222
ssh_try 2222
wait_for_event "$SSH_SIG"
[ "$(event_count "$SSH_SIG")" = 1 ] || fail "expected one ssh-sig event, got: $(events_match "$SSH_SIG")"
events_match "$SSH_SIG and e['class'] == 'ssh' and e['action'] == 'alert' and e['dport'] == 2222 and
	e['src'] == '$S4' and e['dst'] == '$V4' and e['proto'] == 'tcp' and e['strength'] == 'strong' and
	e['evidence'].startswith('SSH-2.0-OpenSSH') and e['initiator_known'] is True" >/dev/null ||
	fail "the ssh-sig event is not as expected: $(events_match "$SSH_SIG")"
[ "$(event_count "$BACKDOOR")" = 1 ] || fail "other backdoor events besides ssh-sig: $(events_match "$BACKDOOR")"
no_event 'e["event"] == "ban"'
assert_not_banned
# The backdoor is the server: the evidence must be its banner. (OpenSSH's client sends its
# own banner first; checked last so that the steps below still run.)
first_event=$(events_match "$SSH_SIG")

step "sshd on port 22, its standard port: nothing"
: >"$EVENTS"
sshd_on 22
ssh_try 22
no_event "$BACKDOOR"

step "allow = ssh-sig 2222 * *: nothing on 2222 either"
stop_daemon
write_config "detect.allow=ssh-sig 2222 * *"
: >"$EVENTS"
start_daemon
sshd_on 2222
ssh_try 2222
no_event "$BACKDOOR"
daemon_alive || fail "the daemon died"

step "the ssh-sig event of port 2222 quoted the server's banner"
python3 -c 'import json, sys; sys.exit(json.loads(sys.argv[1])["sent_by"] != "server")' "$first_event" ||
	fail "ssh-sig on 2222 reported sent_by != server (the client's banner, not the server's): $first_event"
pass
