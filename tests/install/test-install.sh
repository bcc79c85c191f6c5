#!/bin/bash
# `meson install` into a scratch DESTDIR puts every file where the README says, the installed
# binary accepts the installed config, and systemd accepts the installed unit.
set -euo pipefail
build=${1:?build dir}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest meson install -C "$build" --no-rebuild >/dev/null
prefix=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}["prefix"])')
fail() { echo "FAIL: $*" >&2; exit 1; }
want=(
	"$prefix/sbin/nfsentry"
	"$prefix/sbin/nfsentryctl"
	"$prefix/sbin/nfsentry-crowdsec"
	/etc/nfsentry/crowdsec.conf
	"$prefix/share/man/man8/nfsentry-crowdsec.8"
	"$prefix/lib/sysusers.d/nfsentry-crowdsec.conf"
	/etc/nfsentry/nfsentry.conf
	/etc/nfsentry/nfsentry.nft
	"$prefix/share/doc/nfsentry/README.md"
)
for f in "${want[@]}"; do
	[ -e "$dest$f" ] || fail "missing $f"
	echo "ok - installed $f"
done
unit=$(find "$dest" -name nfsentry.service | head -n 1)
[ -n "$unit" ] || fail "missing nfsentry.service"
echo "ok - installed ${unit#"$dest"}"
[ "$("$dest$prefix/sbin/nfsentry" -c "$dest/etc/nfsentry/nfsentry.conf" --check)" = "configuration OK" ] ||
	fail "installed config does not pass --check"
echo "ok - installed binary accepts the installed config"
grep -q "^ExecStart=$prefix/sbin/nfsentry -c /etc/nfsentry/nfsentry.conf$" "$unit" || fail "unit ExecStart: $(grep ExecStart= "$unit")"
echo "ok - unit runs the installed binary with the installed config"
if command -v systemd-analyze >/dev/null; then
	# verify resolves ExecStart paths on this system: point them at the scratch install.
	sed "s#$prefix/sbin/nfsentry#$dest$prefix/sbin/nfsentry#g" "$unit" > "$dest/nfsentry.service"
	out=$(systemd-analyze verify "$dest/nfsentry.service" 2>&1 | grep -v -e "Failed to open /run/systemd" -e "not running" || true)
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	echo "ok - systemd-analyze verify"
fi
if command -v systemd-analyze >/dev/null; then
	# The unit's exposure (docs/security.md): at most 2.0 on systemd-analyze's scale of 0-10.
	exposure=$(systemd-analyze security --offline=true "$dest/nfsentry.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for nfsentry.service: \([0-9.]*\).*/\1/p')
	[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
	awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "unit exposure $exposure is over 2.0"
	echo "ok - systemd-analyze security: exposure $exposure (at most 2.0)"
fi

# The bridge's unit (crowdsec/): installed, accepted by systemd, as tight as the daemon's.
unit=$(find "$dest" -name nfsentry-crowdsec.service | head -n 1)
[ -n "$unit" ] || fail "missing nfsentry-crowdsec.service"
echo "ok - installed ${unit#"$dest"}"
grep -q "^ExecStart=$prefix/sbin/nfsentry-crowdsec -c /etc/nfsentry/crowdsec.conf$" "$unit" ||
	fail "bridge unit ExecStart: $(grep ExecStart= "$unit")"
echo "ok - the bridge's unit runs the installed binary with the installed config"
if command -v systemd-analyze >/dev/null; then
	sed "s#$prefix/sbin/nfsentry-crowdsec#$dest$prefix/sbin/nfsentry-crowdsec#g" "$unit" > "$dest/nfsentry-crowdsec.service"
	out=$(systemd-analyze verify "$dest/nfsentry-crowdsec.service" 2>&1 |
		grep -v -e "Failed to open /run/systemd" -e "not running" -e "man nfsentry-crowdsec(8)" || true)
	[ -z "$out" ] || fail "systemd-analyze verify nfsentry-crowdsec.service: $out"
	echo "ok - systemd-analyze verify nfsentry-crowdsec.service"
	exposure=$(systemd-analyze security --offline=true "$dest/nfsentry-crowdsec.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for nfsentry-crowdsec.service: \([0-9.]*\).*/\1/p')
	[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level for the bridge"
	awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "bridge unit exposure $exposure is over 2.0"
	echo "ok - systemd-analyze security nfsentry-crowdsec.service: exposure $exposure (at most 2.0)"
fi
