#!/bin/bash
# Scenario 4: the watchdog. A daemon that stops answering (kill -STOP) is killed by systemd
# once WatchdogSec (30 s) passes without a ping, and restarted (Restart=on-failure): a new
# MainPID, active again, the journal names the watchdog, and the bans are intact.
source "$(dirname "$0")/lib.sh"

need_installed
need_ban
wd=$(systemctl show -p WatchdogUSec --value nfsentry)
[ "$wd" = 30s ] || fail "expected WatchdogSec=30s on nfsentry.service; systemctl show says WatchdogUSec=$wd"
pid=$(main_pid)
journal_mark
step "kill -STOP $pid at $(date -u +%T)"
start=$(date +%s)
kill -STOP "$pid"
restarted() { active && [ "$(main_pid)" != "$pid" ] && [ "$(main_pid)" != 0 ]; }
# 30 s of watchdog, then SIGABRT, RestartSec=2s and a start under emulation: bounded by the
# watchdog plus the usual stretched wait.
wait_until $((30 / SCALE + 30)) restarted ||
	fail "expected systemd to restart nfsentry (new MainPID) after the 30 s watchdog; after $(($(date +%s) - start)) s it is $(systemctl is-active nfsentry) with MainPID $(main_pid)"
echo "restarted after $(($(date +%s) - start)) s: MainPID $(main_pid)"
journal_has 'Watchdog timeout' || fail "expected systemd's 'Watchdog timeout' for nfsentry.service in the journal; it has: $(journal_since_mark)"
journal_since_mark | grep -E 'Watchdog timeout|Main process exited|Scheduled restart'
kill -0 "$pid" 2>/dev/null && fail "expected the stopped daemon $pid gone; it is still there"
banned "$ATTACKER4" || fail "expected $ATTACKER4 still in set ban4 after the watchdog restart; the set: $(nft list set inet nfsentry ban4)"
wait_until 30 ctl_bans_has "$ATTACKER4" >/dev/null ||
	fail "expected the restarted daemon to list $ATTACKER4 in nfsentryctl bans; it printed: $(ctl_bans_has "$ATTACKER4")"
ctl_bans_has "$ATTACKER4"
echo "PASS: vm-systemd/$NAME"
