#!/bin/bash
# Scenario 2: nmap from a second network namespace of the guest gets the attacker banned, and
# an administrator sees it everywhere: the element with its expiry in `nft list ruleset`, the
# `banned ...` line in `journalctl -u nfsentry`, the JSON events in the events file, and
# `nfsentryctl bans`, as root and as a member of [daemon] control_group (a user refused before
# the group is configured, and answered after).
source "$(dirname "$0")/lib.sh"

need_installed
banned "$ATTACKER4" && fail "expected $ATTACKER4 not banned before its scan; ban4 holds it"
step "nmap -sS -p 1-40 $TARGET4 from namespace attacker ($ATTACKER4)"
scan
cat "$STATE/nmap.out"
wait_until 60 banned "$ATTACKER4" ||
	fail "expected $ATTACKER4 in set ban4 after its scan; nft list set inet nfsentry ban4: $(nft list set inet nfsentry ban4 2>&1)"

step "nft list ruleset: the element and its expiry"
nft list ruleset | grep -E "$ATTACKER4 timeout [0-9a-z]+ expires [0-9a-z]+" ||
	fail "expected '$ATTACKER4 timeout T expires E' in nft list ruleset; set ban4: $(nft list set inet nfsentry ban4)"
left=$(ban_expires "$ATTACKER4")
[ "$left" -gt 0 ] && [ "$left" -le 600 ] ||
	fail "expected the first ban to expire within [ban] duration (10m, 600 s); it has $left s left"

step "journalctl -u nfsentry: the ban"
wait_until 30 journal_has "banned $ATTACKER4 for [0-9a-z]+ \(offence 1\)" ||
	fail "expected 'banned $ATTACKER4 for DURATION (offence 1): ...' in journalctl -u nfsentry; it has: $(journal_since_mark | tail -n 15)"
journal_since_mark | grep "banned $ATTACKER4"

step "$EVENTS: the scan and the ban"
# events EVENT: the lines of the events file about the attacker with event EVENT and action ban.
events() { jq -c --arg e "$1" --arg s "$ATTACKER4" 'select(.event == $e and .src == $s and .action == "ban")' "$EVENTS"; }
has_event() { [ -n "$(events "$1" 2>/dev/null)" ]; }
for event in scan ban; do
	wait_until 30 has_event "$event" ||
		fail "expected a \"$event\" event from $ATTACKER4 with action ban in $EVENTS; it has: $(tail -n 5 "$EVENTS" 2>&1)"
	events "$event"
done

step "nfsentryctl bans as root"
out=$(ctl_bans_has "$ATTACKER4") || fail "expected $ATTACKER4 in nfsentryctl bans (as root); it printed: $out"
echo "$out"

step "nfsentryctl bans as a member of control_group"
getent group nfsadmin >/dev/null || groupadd --system nfsadmin
id alice >/dev/null 2>&1 || useradd --system --no-create-home --gid nfsadmin --shell /usr/sbin/nologin alice
if out=$(ctl_bans_has "$ATTACKER4" alice); then
	fail "expected alice refused before control_group names her group; nfsentryctl bans printed: $out"
fi
echo "before: $out"
grep -q 'permission denied' <<<"$out" || fail "expected 'permission denied' for alice before control_group; nfsentryctl said: $out"
# The daemon runs as systemd's dynamic user, without CAP_CHOWN: it can only give the socket to
# a group it is a member of, so the group goes into the unit too, as SupplementaryGroups= of
# a drop-in (what `systemctl edit nfsentry` writes). Both are undone at the end.
cp "$CONF" "$STATE/nfsentry.conf.orig"
sed -i 's/^;\?control_group =.*/control_group = nfsadmin/' "$CONF"
grep -qx 'control_group = nfsadmin' "$CONF" || fail "expected to set control_group in $CONF; it has: $(grep control_group "$CONF")"
# Without the drop-in the daemon must refuse to start and say what to add.
systemctl restart nfsentry && fail "expected systemctl restart nfsentry to fail with control_group = nfsadmin and no SupplementaryGroups=; it succeeded"
wait_until 30 eval 'journalctl -u nfsentry -b --no-pager | grep -q "add SupplementaryGroups=nfsadmin to the unit with .systemctl edit nfsentry."' ||
	fail "expected the journal to say 'add SupplementaryGroups=nfsadmin to the unit'; it ends: $(journalctl -u nfsentry -b --no-pager | tail -n 5)"
systemctl reset-failed nfsentry || true
mkdir -p /etc/systemd/system/nfsentry.service.d
printf '[Service]\nSupplementaryGroups=nfsadmin\n' >/etc/systemd/system/nfsentry.service.d/control-group.conf
systemctl daemon-reload
systemctl restart nfsentry || fail "expected systemctl restart nfsentry to succeed with control_group = nfsadmin and SupplementaryGroups=nfsadmin; it failed"
wait_until 60 active || fail "expected nfsentry active after the restart; is-active says $(systemctl is-active nfsentry)"
wait_until 30 ctl_bans_has "$ATTACKER4" alice >/dev/null ||
	fail "expected alice (group nfsadmin = control_group) to see $ATTACKER4 in nfsentryctl bans; it printed: $(ctl_bans_has "$ATTACKER4" alice)"
ls -l /run/nfsentry/control.sock
ctl_bans_has "$ATTACKER4" alice

step "back to the shipped configuration"
cp "$STATE/nfsentry.conf.orig" "$CONF"
rm -r /etc/systemd/system/nfsentry.service.d
systemctl daemon-reload
systemctl restart nfsentry || fail "systemctl restart nfsentry failed with the shipped configuration"
wait_until 60 active || fail "expected nfsentry active after the restart; is-active says $(systemctl is-active nfsentry)"
echo "PASS: vm-systemd/$NAME"
