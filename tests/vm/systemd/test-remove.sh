#!/bin/bash
# Scenario 7: `apt remove nfsentry` stops the daemon and leaves no nfsentry rule in the kernel;
# `apt purge nfsentry` then leaves no nfsentry file or state (configuration, bans, events,
# the unit, systemd's DynamicUser directories).
source "$(dirname "$0")/lib.sh"

need_installed
need_ban
step "apt remove nfsentry"
apt-get remove -y -q nfsentry || fail "apt-get remove nfsentry failed (output above)"
state=$(systemctl is-active nfsentry) || true
[ "$state" != active ] || fail "expected nfsentry.service stopped after apt remove; is-active says $state"
load=$(systemctl show -p LoadState --value nfsentry)
[ "$load" = not-found ] || fail "expected the unit gone after apt remove (LoadState not-found); systemctl says LoadState=$load"
echo "nfsentry.service: $state, LoadState=$load"
if nft list ruleset | grep -n nfsentry; then
	fail "expected no nfsentry rule or table left in the kernel after apt remove; nft list ruleset has the lines above"
fi
pgrep -x nfsentry && fail "expected no nfsentry process after apt remove; pgrep finds the above"

step "apt purge nfsentry"
apt-get purge -y -q nfsentry || fail "apt-get purge nfsentry failed (output above)"
status=$(dpkg-query -W -f='${db:Status-Abbrev}' nfsentry 2>/dev/null || true)
case $status in "" | "un "* | "pn "*) ;; *) fail "expected dpkg to know nothing of nfsentry after the purge (un/pn); dpkg-query says '$status'" ;; esac
dpkg -l nfsentry 2>&1 | tail -n 1 || true
left=()
for path in /etc/nfsentry /var/lib/nfsentry /var/lib/private/nfsentry /var/log/nfsentry \
	/var/log/private/nfsentry /run/nfsentry /etc/logrotate.d/nfsentry \
	/lib/systemd/system/nfsentry.service /usr/lib/systemd/system/nfsentry.service \
	/etc/systemd/system/nfsentry.service /etc/systemd/system/multi-user.target.wants/nfsentry.service \
	/usr/sbin/nfsentry /usr/bin/nfsentryctl /usr/sbin/nfsentryctl; do
	[ -e "$path" ] || [ -L "$path" ] && left+=("$path")
done
[ ${#left[@]} = 0 ] || fail "expected no nfsentry file left after apt purge; found: $(ls -ld "${left[@]}" 2>&1)"
# (nfsentry-vm is the test harness: its unit, its shares and the disk's label.)
found=$(find /etc /var /run /usr /lib/systemd -name '*nfsentry*' ! -name '*nfsentry-vm*' ! -path '/var/lib/nfsentry-vm/*' \
	! -path '/run/nfsentry-vm/*' 2>/dev/null || true)
[ -z "$found" ] || fail "expected nothing named nfsentry left after apt purge; find lists: $found"
echo "PASS: vm-systemd/$NAME"
