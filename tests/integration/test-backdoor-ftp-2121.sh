#!/bin/bash
# ftp-sig: vsftpd on port 2121 greets with "220 ": one ftp-sig backdoor event, alert, no ban.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x /usr/sbin/vsftpd ] || fail "needs /usr/sbin/vsftpd (vsftpd)"

FTP_SIG='e["event"] == "backdoor" and e["detector"] == "ftp-sig"'

setup
step "vsftpd on port 2121"
mkdir -p "$TMPD/empty" "$TMPD/ftproot"
echo hello >"$TMPD/ftproot/hello.txt"
cat >"$TMPD/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_port=2121
background=NO
anonymous_enable=YES
local_enable=NO
anon_root=$TMPD/ftproot
secure_chroot_dir=$TMPD/empty
seccomp_sandbox=NO
pasv_enable=YES
EOF
ip netns exec "$VNS" /usr/sbin/vsftpd "$TMPD/vsftpd.conf" </dev/null >"$TMPD/vsftpd.log" 2>&1 &
wait_until 5 port_listening 2121 || fail "vsftpd did not listen on 2121: $(cat "$TMPD/vsftpd.log")"

step "an anonymous listing from the scanner"
timeout 15 ip netns exec "$SNS" curl -s --max-time 10 "ftp://$V4:2121/" >"$TMPD/listing" 2>&1 ||
	fail "curl ftp://$V4:2121/ failed: $(cat "$TMPD/listing") $(cat "$TMPD/vsftpd.log")"
grep -q hello.txt "$TMPD/listing" || fail "the listing lacks hello.txt: $(cat "$TMPD/listing")"
wait_for_event "$FTP_SIG"
events_match "$FTP_SIG and e['class'] == 'ftp/smtp' and e['action'] == 'alert' and e['dport'] == 2121 and
	e['src'] == '$S4' and e['dst'] == '$V4' and e['sent_by'] == 'server' and e['strength'] == 'strong' and
	e['evidence'].startswith('220')" >/dev/null ||
	fail "the ftp-sig event is not as expected: $(events_match "$FTP_SIG")"
[ "$(event_count "$FTP_SIG")" = 1 ] || fail "more than one ftp-sig event: $(events_match "$FTP_SIG")"
no_event 'e["event"] == "backdoor" and e["detector"] != "ftp-sig"'
assert_not_banned
pass
