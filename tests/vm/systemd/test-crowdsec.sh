#!/bin/bash
# Scenario (issue 13): the bridge's package under systemd. `apt install ./nfsentry-crowdsec_*.deb`
# installs nfsentry-crowdsec.service disabled and stopped (it needs credentials first); Debian's
# own crowdsec (installed offline in the image) is the LAPI on 127.0.0.1:8080. With a machine and
# a bouncer registered by cscli, the credentials file written and the unit started: a decision
# added with `cscli decisions add` reaches the kernel set fleet4, the host's own ban (a scan)
# reaches the LAPI with origin nfsentry, the journal shows neither secret, the unit's sandbox
# is rated, and `systemctl stop` ends it cleanly.
source "$(dirname "$0")/lib.sh"

DEB_CS=${NFSENTRY_VM_DEB_CROWDSEC:?run by guest.sh with the nfsentry-crowdsec package}
PW=vm-machine-pw-$$-$RANDOM KEY=vm-bouncer-key-$$-$RANDOM
CREDS=/etc/nfsentry/crowdsec.credentials
bridge_fail() {
	echo "--- systemctl status nfsentry-crowdsec"
	systemctl status --no-pager -l nfsentry-crowdsec 2>&1 | head -n 20 || true
	echo "--- journalctl -u nfsentry-crowdsec (last 30 lines)"
	journalctl -u nfsentry-crowdsec --no-pager -n 30 2>&1 || true
	fail "$@"
}
bridge_active() { [ "$(systemctl is-active nfsentry-crowdsec)" = active ]; }
lapi_up() { cscli decisions list -o json >/dev/null 2>&1; }
in_fleet4() { nft get element inet nfsentry fleet4 "{ $1 }" >/dev/null 2>&1; }
lapi_has() {
	cscli decisions list -a -o json 2>/dev/null | jq -e --arg v "$1" --arg o "$2" \
		'[.[]?.decisions[]? | select(.value == $v and .origin == $o)] | length > 0' >/dev/null
}

need_installed
step "apt install ./$(basename "$DEB_CS")"
(cd "$(dirname "$DEB_CS")" && apt-get install -y -q "./$(basename "$DEB_CS")") ||
	fail "apt-get install ./$(basename "$DEB_CS") failed (output above)"
[ -x /usr/sbin/nfsentry-crowdsec ] || fail "no /usr/sbin/nfsentry-crowdsec after the install"
state=$(systemctl is-enabled nfsentry-crowdsec 2>&1 || true)
[ "$state" = disabled ] || bridge_fail "expected nfsentry-crowdsec.service installed disabled (it needs credentials first); is-enabled says $state"
bridge_active && bridge_fail "expected nfsentry-crowdsec.service not started by the install"

step "crowdsec's LAPI; a machine and a bouncer for this host"
wait_until 120 lapi_up || fail "cscli cannot reach crowdsec's LAPI: $(cscli decisions list 2>&1 | tail -n 3; systemctl status --no-pager crowdsec | head -n 5)"
cscli machines add nfsentry-vm --password "$PW" -f "$STATE/machine.yaml" >/dev/null 2>&1 || fail "cscli machines add failed"
cscli bouncers add nfsentry-vm -k "$KEY" >/dev/null 2>&1 || fail "cscli bouncers add failed"
# Root's alone: systemd hands the unit's user a copy (LoadCredential=).
(umask 077 && printf '[machine]\nid = nfsentry-vm\npassword = %s\n\n[bouncer]\napi_key = %s\n' "$PW" "$KEY" >"$CREDS")
getent group nfsentry-crowdsec >/dev/null || fail "no group nfsentry-crowdsec after the install (its sysusers.d file)"
getent passwd nfsentry-crowdsec >/dev/null || fail "no user nfsentry-crowdsec after the install (its sysusers.d file)"

step "nfsentry.conf: [fleet] group = nfsentry-crowdsec (the bridge's commands on the control socket)"
grep -qx ';group =' "$CONF" || fail "no ';group =' line ([fleet]) in $CONF to set"
sed -i 's/^;group =$/group = nfsentry-crowdsec/' "$CONF"
systemctl restart nfsentry || fail "systemctl restart nfsentry failed"
wait_until 60 active || fail "nfsentry.service not active after the restart"
nfsentry-crowdsec --check >"$STATE/check.out" 2>&1 || fail "nfsentry-crowdsec --check: $(cat "$STATE/check.out")"

step "systemctl start nfsentry-crowdsec"
systemctl start nfsentry-crowdsec || bridge_fail "systemctl start nfsentry-crowdsec failed"
wait_until 30 bridge_active || bridge_fail "nfsentry-crowdsec.service not active"
journal_cs() { journalctl -u nfsentry-crowdsec --no-pager -o cat; }
watching() { journal_cs | grep -q "watching nfsentry's bans"; }
wait_until 30 watching || bridge_fail "the bridge does not watch nfsentry's bans: $(journal_cs | tail -n 5)"

step "cscli decisions add reaches the kernel"
cscli decisions add --ip 203.0.113.9 --duration 1h >/dev/null 2>&1 || fail "cscli decisions add failed"
wait_until 30 in_fleet4 203.0.113.9 || bridge_fail "203.0.113.9 not in set fleet4 30 s after cscli decisions add: $(nft list set inet nfsentry fleet4 2>&1)"
nfsentryctl bans | grep -w 203.0.113.9 | grep -qw crowdsec ||
	bridge_fail "nfsentryctl bans does not show 203.0.113.9 with origin crowdsec: $(nfsentryctl bans 2>&1)"

step "this host's ban reaches the LAPI"
need_ban
wait_until 30 lapi_has "$ATTACKER4" nfsentry ||
	bridge_fail "$ATTACKER4 banned here is not in the LAPI with origin nfsentry: $(cscli decisions list -a 2>&1)"

step "no secret in the journal"
if journal_cs | grep -qF -e "$PW" -e "$KEY"; then bridge_fail "the journal of nfsentry-crowdsec shows a secret"; fi

step "systemd-analyze security nfsentry-crowdsec.service (reported)"
systemd-analyze security --no-pager nfsentry-crowdsec.service 2>&1 | grep -E 'Overall exposure' || true

step "systemctl stop"
systemctl stop nfsentry-crowdsec
result=$(systemctl show -p Result --value nfsentry-crowdsec)
[ "$result" = success ] || bridge_fail "nfsentry-crowdsec stopped with Result=$result"

# The scenarios share the guest: leave it as `remove` expects (no file of ours in /etc/nfsentry
# but the packages'). The credentials file is the administrator's: a purge keeps it.
step "apt purge nfsentry-crowdsec; the credentials file and [fleet] group undone"
apt-get purge -y -q nfsentry-crowdsec >/dev/null || fail "apt-get purge nfsentry-crowdsec failed"
[ -e /usr/sbin/nfsentry-crowdsec ] && fail "/usr/sbin/nfsentry-crowdsec left after apt purge nfsentry-crowdsec"
rm -f "$CREDS"
sed -i 's/^group = nfsentry-crowdsec$/;group =/' "$CONF"
systemctl restart nfsentry || fail "systemctl restart nfsentry failed"
wait_until 60 active || fail "nfsentry.service not active after the restart"
echo "PASS: vm-systemd/$NAME"
