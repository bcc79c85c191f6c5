#!/bin/bash
# Scenario 5: a reboot of the guest (`systemctl reboot`; run.sh boots the same disk again). The
# kernel's sets are empty at boot; nfsentry, started by systemd, puts the ban back from its
# state directory with the time it had left: less than before the reboot, more than 0.
source "$(dirname "$0")/lib.sh"

case $PHASE in
1)
	need_installed
	need_ban
	left=$(ban_expires "$ATTACKER4")
	echo "$left $(date +%s) $(cat /proc/sys/kernel/random/boot_id)" >"$STATE/before"
	step "$ATTACKER4 has $left s left; systemctl reboot"
	exit 100   # guest.sh reboots and runs phase 2
	;;
2)
	read -r before at boot_id <"$STATE/before"
	[ "$(cat /proc/sys/kernel/random/boot_id)" != "$boot_id" ] || fail "expected a new boot (boot_id); it is the same"
	step "rebooted $(($(date +%s) - at)) s after the ban had $before s left"
	wait_until 60 active || fail "expected nfsentry active after the reboot (enabled); is-active says $(systemctl is-active nfsentry)"
	wait_until 60 banned "$ATTACKER4" ||
		fail "expected $ATTACKER4 back in set ban4 after the reboot; the set: $(nft list set inet nfsentry ban4 2>&1)"
	left=$(ban_expires "$ATTACKER4")
	nft list set inet nfsentry ban4 | grep -E "$ATTACKER4 timeout"
	[ "$left" -gt 0 ] && [ "$left" -lt "$before" ] ||
		fail "expected the ban back with the time it had left (between 0 and $before s); it expires in $left s"
	# The clock ran on while the guest was down: the time left counts it (10 s for rounding).
	down=$(($(date +%s) - at))
	[ "$left" -le $((before - down + 10)) ] ||
		fail "expected at most $before - $down + 10 s left ($down s passed since); it expires in $left s"
	journalctl -b -u nfsentry --no-pager -o cat | grep -E 'restored [1-9][0-9]* saved bans' ||
		fail "expected 'restored N saved bans with their time left' in journalctl -b -u nfsentry; it has: $(journalctl -b -u nfsentry --no-pager -o cat | tail -n 15)"
	out=$(ctl_bans_has "$ATTACKER4") || fail "expected $ATTACKER4 in nfsentryctl bans after the reboot; it printed: $out"
	echo "$out"
	echo "ban back with $left s left (had $before s before the reboot)"
	;;
*) fail "no phase $PHASE" ;;
esac
echo "PASS: vm-systemd/$NAME"
