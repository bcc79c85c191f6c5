#!/bin/bash
# Scenario 3: `systemctl reload nfsentry` with a broken configuration is refused: the daemon
# says so in the journal and goes on with the old configuration (same MainPID, still banning,
# still answering nfsentryctl). `systemctl restart` (the configuration mended) keeps the ban.
source "$(dirname "$0")/lib.sh"

need_installed
need_ban
pid=$(main_pid)
cp "$CONF" "$STATE/nfsentry.conf.good"
step "a broken configuration, then systemctl reload (MainPID $pid)"
printf '\n[scan]\nthreshold = lots\n' >>"$CONF"
journal_mark
systemctl reload nfsentry || fail "expected systemctl reload to deliver SIGHUP and return 0; it failed"
wait_until 30 journal_has 'reload refused, keeping the running configuration' ||
	fail "expected 'reload refused, keeping the running configuration: ...' in journalctl -u nfsentry after the reload; it has: $(journal_since_mark)"
journal_since_mark | grep 'reload refused'
active || fail "expected nfsentry still active after the refused reload; is-active says $(systemctl is-active nfsentry)"
[ "$(main_pid)" = "$pid" ] || fail "expected the same MainPID $pid after the refused reload; it is $(main_pid)"
out=$(ctl_bans_has "$ATTACKER4") || fail "expected nfsentryctl bans to list $ATTACKER4 after the refused reload; it printed: $out"

step "still banning on the old configuration: a scan from 198.51.100.3"
scan 198.51.100.3
wait_until 60 banned 198.51.100.3 ||
	fail "expected 198.51.100.3 banned after its scan (old configuration still running); set ban4: $(nft list set inet nfsentry ban4)"
journal_has 'banned 198\.51\.100\.3 for' || fail "expected 'banned 198.51.100.3 for ...' in the journal; it has: $(journal_since_mark)"
journal_since_mark | grep 'banned 198.51.100.3'

step "systemctl restart: the bans stay"
cp "$STATE/nfsentry.conf.good" "$CONF"
before=$(ban_expires "$ATTACKER4")
systemctl restart nfsentry || fail "systemctl restart nfsentry failed (configuration restored)"
wait_until 60 active || fail "expected nfsentry active after the restart; is-active says $(systemctl is-active nfsentry)"
[ "$(main_pid)" != "$pid" ] || fail "expected a new MainPID after systemctl restart; it is still $pid"
left=$(ban_expires "$ATTACKER4")
[ -n "$left" ] || fail "expected $ATTACKER4 still in set ban4 after the restart; the set: $(nft list set inet nfsentry ban4)"
[ "$left" -le "$before" ] || fail "expected the ban's time left to go on running down over the restart (was $before s); it is $left s"
wait_until 30 ctl_bans_has "$ATTACKER4" >/dev/null ||
	fail "expected the restarted daemon to list $ATTACKER4 in nfsentryctl bans; it printed: $(ctl_bans_has "$ATTACKER4")"
out=$(ctl_bans_has "$ATTACKER4")
echo "$out"
# The kernel keeps only address and time: the detector comes from the daemon's saved table.
grep -qE "^$ATTACKER4 +scan " <<<"$out" || fail "expected nfsentryctl bans to still say detector scan for $ATTACKER4 after the restart; it printed: $out"
echo "PASS: vm-systemd/$NAME"
