# shellcheck shell=bash
# Helpers of the systemd VM group's scenarios (test-NAME.sh), run in the guest by guest.sh.
# The guest is a booted Debian 12 with systemd as PID 1; the scenarios reach nfsentry only as
# an administrator would: apt, systemctl, journalctl, nft, nfsentryctl.
#
# Network: the guest's root namespace is the target (198.51.100.1/24 on vm-target); the
# attacker is network namespace "attacker" (198.51.100.2/24 on vm-attacker), joined by a veth
# pair. Only TEST-NET addresses; nothing leaves the guest (it has no network device).

set -euo pipefail

NAME=$(basename "$0" .sh)
NAME=${NAME#test-}
DEB=${NFSENTRY_VM_DEB:?run by guest.sh}
STATE=${NFSENTRY_VM_STATE:?run by guest.sh}
PHASE=${NFSENTRY_VM_PHASE:-1}
SCALE=${NFSENTRY_TIME_SCALE:-1}
TARGET4=198.51.100.1 ATTACKER4=198.51.100.2
CONF=/etc/nfsentry/nfsentry.conf
EVENTS=/var/log/nfsentry/events.json
export SYSTEMD_PAGER="" SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive

step() { echo "== $*"; }

# fail MESSAGE: says what was expected and what was seen (the caller's message), then what an
# administrator would look at next: the unit's status and its journal.
fail() {
	echo "FAIL: vm-systemd/$NAME: $*"
	echo "--- systemctl status nfsentry"
	systemctl status --no-pager -l nfsentry 2>&1 | head -n 20 || true
	echo "--- journalctl -u nfsentry (last 30 lines)"
	journalctl -u nfsentry --no-pager -n 30 2>&1 || true
	exit 1
}

# wait_until SECONDS COMMAND...: bounded wait, SECONDS stretched by NFSENTRY_TIME_SCALE.
wait_until() {
	local deadline=$(($(date +%s) + $1 * SCALE))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

installed() { [ "$(dpkg-query -W -f='${Status}' nfsentry 2>/dev/null)" = "install ok installed" ]; }
active() { [ "$(systemctl is-active nfsentry)" = active ]; }
main_pid() { systemctl show -p MainPID --value nfsentry; }

# The journal of the unit after a cursor taken with journal_mark.
journal_mark() { JOURNAL_CURSOR=$(journalctl -u nfsentry -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'); }
journal_since_mark() {
	if [ -n "${JOURNAL_CURSOR:-}" ]; then
		journalctl -u nfsentry --no-pager -o cat --after-cursor="$JOURNAL_CURSOR"
	else
		journalctl -u nfsentry --no-pager -o cat
	fi
}
journal_has() { journal_since_mark | grep -E -- "$1" >/dev/null; }

# install_package: `apt install ./nfsentry_VERSION_amd64.deb` from its directory, offline
# (the image holds every dependency).
install_package() {
	(cd "$(dirname "$DEB")" && apt-get install -y -q "./$(basename "$DEB")") ||
		fail "apt-get install ./$(basename "$DEB") failed (output above)"
}
# need_installed: for a scenario run alone; the install scenario checks the install itself.
need_installed() {
	installed || { step "installing the package first"; install_package; }
	wait_until 60 active || fail "nfsentry.service is not active: $(systemctl is-active nfsentry)"
}

need_attacker() {
	ip netns list | grep -qw attacker && return 0
	ip netns add attacker
	ip link add vm-target type veth peer name vm-attacker netns attacker
	ip addr add "$TARGET4/24" dev vm-target
	ip link set vm-target up
	ip -n attacker link set lo up
	ip -n attacker addr add "$ATTACKER4/24" dev vm-attacker
	ip -n attacker link set vm-attacker up
}

# scan [SOURCE]: a SYN scan of 40 closed ports of the target from the attacker namespace,
# from SOURCE (default the attacker's address; another one is added to its side of the veth
# pair). nmap's wait for answers is stretched like the waits.
scan() {
	local src=${1:-$ATTACKER4} spoof=()
	need_attacker
	if [ "$src" != "$ATTACKER4" ]; then
		ip -n attacker addr replace "$src/24" dev vm-attacker
		spoof=(-S "$src" -e vm-attacker)
	fi
	timeout $((60 * SCALE)) ip netns exec attacker nmap -n -Pn -sS --max-retries 0 \
		--min-rtt-timeout "$((250 * SCALE))ms" "${spoof[@]}" -p 1-40 "$TARGET4" >"$STATE/nmap.out" 2>&1 ||
		fail "nmap from $src failed: $(cat "$STATE/nmap.out")"
}

# ban_expires ADDR: the seconds the ban of ADDR has left, from `nft list set inet nfsentry
# ban4` as an administrator reads it ("ADDR timeout 10m expires 9m58s120ms"); empty when
# ADDR is not in the set.
ban_expires() {
	nft list set inet nfsentry ban4 2>/dev/null | tr ',{}' '\n\n\n' | awk -v a="$1" '
		$1 == a { for (i = 2; i < NF; i++) if ($i == "expires") e = $(i + 1) }
		END {
			if (e == "") exit
			s = 0
			while (match(e, /^[0-9]+(ms|d|h|m|s)/)) {
				n = substr(e, 1, RLENGTH); e = substr(e, RLENGTH + 1)
				u = n; sub(/^[0-9]+/, "", u); v = n + 0
				s += u == "d" ? v * 86400 : u == "h" ? v * 3600 : u == "m" ? v * 60 : u == "s" ? v : 0
			}
			print s
		}'
}
banned() { [ -n "$(ban_expires "$1")" ]; }

# need_ban: the attacker banned (a scan when it is not, as the scan scenario does).
need_ban() {
	banned "$ATTACKER4" && return 0
	step "banning the attacker first"
	scan
	wait_until 60 banned "$ATTACKER4" || fail "expected $ATTACKER4 in set ban4 after nmap; the set: $(nft list set inet nfsentry ban4 2>&1)"
}

# ctl_bans_has ADDR [USER]: `nfsentryctl bans`, as root or as USER, lists ADDR.
ctl_bans_has() {
	local out
	if [ -n "${2:-}" ]; then
		out=$(runuser -u "$2" -- nfsentryctl bans 2>&1) || { echo "$out"; return 1; }
	else
		out=$(nfsentryctl bans 2>&1) || { echo "$out"; return 1; }
	fi
	echo "$out"
	grep -qw -- "$1" <<<"$out"
}
