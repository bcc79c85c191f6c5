#!/bin/bash
# The systemd VM group: boots a Debian 12 root file system with systemd as PID 1 (Debian's
# stock kernel, qemu TCG) and drives nfsentry the way an administrator does: the package,
# systemctl, journalctl, nft and nfsentryctl (docs/testing-vm.md, "Real systemd").
#
# Usage: sudo tests/vm/systemd/run.sh [--cache DIR] [--timeout SECONDS] [--logs DIR] DEB [SCENARIO...]
#   DEB              the package, nfsentry_VERSION_amd64.deb (scripts/package.sh); the bridge's
#                    package nfsentry-crowdsec_VERSION_amd64.deb beside it (scenario crowdsec)
#   SCENARIO         test-SCENARIO.sh of this directory; default all, in the order of
#                    $SCENARIOS. They run in that order in one guest and share its state (the
#                    package, the ban); each makes what it needs when run alone.
#   --cache DIR      where prepare.sh keeps the image (default $NFSENTRY_VM_CACHE, or
#                    /var/cache/nfsentry-vm)
#   --timeout SECS   hard limit on all boots together (default: 120 + 120 per scenario)
#   --logs DIR       keep every scenario's log (NAME.log), the guest's and the consoles there
# NFSENTRY_TIME_SCALE (default 4) stretches the scenarios' waits for the emulated CPU.
# Prints PASS: vm-systemd/NAME or FAIL: vm-systemd/NAME for each scenario, and the log of each
# failure; exits 0 when all passed, 1 otherwise, 77 when not root.
#
# Each run boots a throw-away qcow2 overlay of the cached image. A scenario may ask for a
# reboot (test-reboot.sh): the guest reboots with `systemctl reboot`, qemu (-no-reboot) exits,
# and this script boots the same overlay again; the guest goes on where it stopped.
set -euo pipefail

SD_DIR=$(cd "$(dirname "$0")" && pwd)
SCENARIOS=(install scan reload watchdog security crowdsec reboot remove)
MAX_BOOTS=4
CACHE=${NFSENTRY_VM_CACHE:-/var/cache/nfsentry-vm}
TIMEOUT=
LOGS=
usage() { echo "usage: $0 [--cache DIR] [--timeout SECONDS] [--logs DIR] DEB [SCENARIO...]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--logs) LOGS=$2; shift 2 ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
DEB=$1
shift
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the systemd VM group needs root (mmdebstrap, the image cache)"
	exit 77
fi
die() { echo "FAIL: vm-systemd: $*" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || die "needs qemu-system-x86_64 (qemu-system-x86; scripts/deps.sh)"
command -v qemu-img >/dev/null || die "needs qemu-img (qemu-utils; scripts/deps.sh)"
[ -f "$DEB" ] || die "no package at $DEB (scripts/package.sh builds it)"
case $(basename "$DEB") in nfsentry_*.deb) ;; *) die "$DEB is not named nfsentry_VERSION_ARCH.deb" ;; esac
# scripts/package.sh puts the bridge's package beside it, of the same version.
DEB_CROWDSEC=$(dirname "$DEB")/nfsentry-crowdsec_$(basename "$DEB" | sed 's/^nfsentry_//')

# The chosen scenarios, in the group's order.
[ $# -gt 0 ] || set -- "${SCENARIOS[@]}"
for name in "$@"; do
	printf '%s\n' "${SCENARIOS[@]}" | grep -qxF -- "$name" || die "no scenario $name (one of: ${SCENARIOS[*]})"
done
chosen=()
for name in "${SCENARIOS[@]}"; do
	printf '%s\n' "$@" | grep -qxF -- "$name" && chosen+=("$name")
done
TIMEOUT=${TIMEOUT:-$((120 + 120 * ${#chosen[@]}))}
if printf '%s\n' "${chosen[@]}" | grep -qx crowdsec; then
	[ -f "$DEB_CROWDSEC" ] || die "scenario crowdsec needs $DEB_CROWDSEC (scripts/package.sh builds it beside $DEB)"
fi
SCALE=${NFSENTRY_TIME_SCALE:-4}

IMG=$("$SD_DIR/prepare.sh" "$CACHE") || die "tests/vm/systemd/prepare.sh failed"
if [ -n "$LOGS" ]; then
	mkdir -p "$LOGS"
	JOB=$(realpath "$LOGS")
	rm -rf "$JOB/in" "$JOB/out" "$JOB"/console-*.log "$JOB/overlay.qcow2"
else
	JOB=$(mktemp -d "${TMPDIR:-/tmp}/nfsentry-vm-systemd.XXXXXX")
fi
QEMU_PID=
cleanup() {
	# QEMU_PID is timeout(1)'s, which passes TERM on to qemu.
	[ -z "$QEMU_PID" ] || kill -TERM "$QEMU_PID" 2>/dev/null || true
	rm -f "$JOB/overlay.qcow2"
	[ -n "$LOGS" ] || rm -rf "$JOB"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in: what the guest reads (the package under its own name, the guest side of the scenarios,
# the job); out: what it writes.
mkdir -p "$JOB/in" "$JOB/out"
cp "$DEB" "$JOB/in/"
[ ! -f "$DEB_CROWDSEC" ] || cp "$DEB_CROWDSEC" "$JOB/in/"
cp "$SD_DIR/guest.sh" "$SD_DIR/lib.sh" "$SD_DIR"/test-*.sh "$JOB/in/"
{
	echo "# Written by tests/vm/systemd/run.sh; read by guest.sh in the guest."
	printf 'SCENARIOS=('; printf ' %q' "${chosen[@]}"; echo ' )'
	printf 'DEB=%q\n' "$(basename "$DEB")"
	printf 'export NFSENTRY_VM_DEB_CROWDSEC=%q\n' "/run/nfsentry-vm/in/$(basename "$DEB_CROWDSEC")"
	printf 'export NFSENTRY_TIME_SCALE=%q\n' "$SCALE"
} >"$JOB/in/job"
qemu-img create -q -f qcow2 -b "$IMG/image.raw" -F raw "$JOB/overlay.qcow2"

echo "vm-systemd: Debian 12, systemd, kernel $(cat "$IMG/release") ($(basename "$IMG")), TCG," \
	"time scale $SCALE, limit ${TIMEOUT}s: ${chosen[*]}"
start=$(date +%s)
deadline=$((start + TIMEOUT))
qemu_rc=0
boots=0
# One qemu per boot. TCG, not KVM (KVM hangs on some hosts; tests/vm/run.sh). No network
# device: the scenarios make their own veth pair. -no-reboot: a reboot in the guest ends this
# qemu, and the loop decides whether to boot again (the guest asked for it: out/reboot).
while :; do
	boots=$((boots + 1))
	left=$((deadline - $(date +%s)))
	[ "$left" -gt 0 ] || { qemu_rc=124; break; }
	timeout -k 10 "$left" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
		-nodefaults -no-user-config -nographic -no-reboot -nic none \
		-serial "file:$JOB/console-$boots.log" -monitor none \
		-kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 quiet loglevel=4" \
		-drive "file=$JOB/overlay.qcow2,format=qcow2,if=virtio,cache=unsafe" \
		-virtfs "local,path=$JOB/in,mount_tag=nfsentry-in,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$JOB/out,mount_tag=nfsentry-out,security_model=none,multidevs=remap" \
		</dev/null >"$JOB/qemu.out" 2>&1 &
	QEMU_PID=$!
	qemu_rc=0
	wait "$QEMU_PID" || qemu_rc=$?
	QEMU_PID=
	[ "$qemu_rc" = 0 ] && [ -f "$JOB/out/reboot" ] && [ "$boots" -lt "$MAX_BOOTS" ] || break
	rm -f "$JOB/out/reboot"
done
elapsed=$(($(date +%s) - start))

# shellcheck source=tests/vm/results.sh
source "$SD_DIR/../results.sh"
vm_results vm-systemd "$JOB/out" "$TIMEOUT" "${chosen[@]}"
if [ ${#FAILED[@]} -gt 0 ] || [ "$qemu_rc" != 0 ]; then
	[ "$qemu_rc" != 124 ] || echo "the VM was killed after the ${TIMEOUT}s limit"
	echo "--- guest (last 20 lines) ---"
	tail -n 20 "$JOB/out/guest.log" 2>/dev/null || true
	echo "--- console of boot $boots (last 30 lines), qemu exit $qemu_rc ---"
	tail -n 30 "$JOB/console-$boots.log" 2>/dev/null || true
	tail -n 20 "$JOB/qemu.out" 2>/dev/null || true
fi
echo "vm-systemd: $((${#chosen[@]} - ${#FAILED[@]})) passed, ${#FAILED[@]} failed in ${elapsed}s ($boots boots)"
[ ${#FAILED[@]} = 0 ]
