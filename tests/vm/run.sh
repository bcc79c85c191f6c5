#!/bin/bash
# Boots Debian's stock kernel in qemu (TCG) and runs integration scenarios inside it, with the
# shipped ruleset loaded verbatim by `nft -f` (native queue statements, nft_queue).
#
# Usage: sudo tests/vm/run.sh [--cache DIR] [--timeout SECONDS] [--logs DIR] NAME...
#   NAME: a scenario, tests/integration/test-NAME.sh (or tests/vm/test-NAME.sh).
#   --cache DIR      the kernel cache of tests/vm/prepare.sh (default $NFSENTRY_VM_CACHE, or
#                    /var/cache/nfsentry-vm)
#   --timeout SECS   hard limit on the whole VM run (default: 120 + 300 per scenario)
#   --logs DIR       keep every scenario's log (NAME.log), NAME.rc and the console there
# NFSENTRY, NFSENTRY_RULESET, NFSENTRY_COMMIT and NFSENTRYCTL as for the integration tests
# (default: the build tree ./build). NFSENTRY_TIME_SCALE (default 4) stretches the scenarios'
# waits for the emulated CPU. Prints each scenario's result, and the log of each failure;
# exits 0 when all passed, 1 otherwise, 77 when not root.
#
# The guest sees the host's / read-only, with tmpfs on /tmp and /run: the source tree, the
# binaries and the cache must be elsewhere. Its results come back through a second, writable
# 9p share (a temporary job directory).
set -euo pipefail

VM_DIR=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$VM_DIR/../.." && pwd)
CACHE=${NFSENTRY_VM_CACHE:-/var/cache/nfsentry-vm}
TIMEOUT=
LOGS=
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--logs) LOGS=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "usage: $0 [--cache DIR] [--timeout SECONDS] [--logs DIR] NAME..." >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--cache DIR] [--timeout SECONDS] [--logs DIR] NAME..." >&2; exit 2; }
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the VM suite needs root (apt-get download, the guest runs as root)"
	exit 77
fi
die() { echo "FAIL: vm: $*" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || die "needs qemu-system-x86_64 (qemu-system-x86; scripts/deps.sh)"

NFSENTRY=$(realpath "${NFSENTRY:-$SRC/build/daemon/nfsentry}")
NFSENTRY_RULESET=$(realpath "${NFSENTRY_RULESET:-$SRC/nft/nfsentry.nft}")
NFSENTRY_COMMIT=$(realpath "${NFSENTRY_COMMIT:-$SRC/build/tests/integration/nftset-commit}")
NFSENTRYCTL=$(realpath "${NFSENTRYCTL:-$SRC/build/tools/nfsentryctl}")
[ -x "$NFSENTRY" ] || die "no nfsentry binary at $NFSENTRY (build it first)"
for path in "$SRC" "$NFSENTRY" "$NFSENTRY_RULESET" "$NFSENTRY_COMMIT" "$NFSENTRYCTL"; do
	case $path/ in
	/tmp/* | /run/*) die "$path is under /tmp or /run, which the guest covers with tmpfs" ;;
	esac
done
for name in "$@"; do
	[ -f "$SRC/tests/integration/test-$name.sh" ] || [ -f "$VM_DIR/test-$name.sh" ] ||
		die "no scenario $name (tests/integration/test-$name.sh)"
	[ "$(printf '%s\n' "$@" | grep -cxF -- "$name")" = 1 ] || die "$name is named twice (one result file each)"
done
TIMEOUT=${TIMEOUT:-$((120 + 300 * $#))}
SCALE=${NFSENTRY_TIME_SCALE:-4}

KDIR=$("$VM_DIR/prepare.sh" "$CACHE") || die "tests/vm/prepare.sh failed"
if [ -n "$LOGS" ]; then
	mkdir -p "$LOGS"
	JOB=$(realpath "$LOGS")
	rm -f "$JOB"/*.log "$JOB"/*.rc "$JOB/job"
else
	JOB=$(mktemp -d "${TMPDIR:-/tmp}/nfsentry-vm.XXXXXX")
fi
QEMU_PID=
cleanup() {
	# QEMU_PID is timeout(1)'s, which passes TERM on to qemu.
	[ -z "$QEMU_PID" ] || kill -TERM "$QEMU_PID" 2>/dev/null || true
	[ -n "$LOGS" ] || rm -rf "$JOB"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
	echo '#!/bin/bash'
	echo "# Written by tests/vm/run.sh; run by tests/vm/init in the guest."
	for var in NFSENTRY NFSENTRY_RULESET NFSENTRY_COMMIT NFSENTRYCTL; do
		printf 'export %s=%q\n' "$var" "${!var}"
	done
	printf 'export NFSENTRY_VM_MODULES=%q\n' "$KDIR/root"
	printf 'export NFSENTRY_TIME_SCALE=%q\n' "$SCALE"
	printf 'export NFSENTRY_VM_TEST_TIMEOUT=%q\n' "$((120 * SCALE))"
	printf 'exec /bin/bash %q' "$VM_DIR/guest.sh"
	printf ' %q' "$@"
	echo
} >"$JOB/job"

echo "vm: $(cat "$KDIR/release") ($(basename "$KDIR") $(cat "$KDIR/version")), TCG, time scale $SCALE," \
	"limit ${TIMEOUT}s: $*"
start=$(date +%s)
# TCG, not KVM: KVM is not available everywhere (and hangs on some hosts). The host's root is
# shared read-only; the job directory read-write. No network device: the scenarios build their
# own veth pairs in namespaces.
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
	-nodefaults -no-user-config -nographic -no-reboot -nic none \
	-serial "file:$JOB/console.log" -monitor none \
	-kernel "$KDIR/vmlinuz" -initrd "$KDIR/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$JOB,mount_tag=job,security_model=none,multidevs=remap" \
	</dev/null >"$JOB/qemu.out" 2>&1 &
QEMU_PID=$!
qemu_rc=0
wait "$QEMU_PID" || qemu_rc=$?
QEMU_PID=
elapsed=$(($(date +%s) - start))

# shellcheck source=tests/vm/results.sh
source "$VM_DIR/results.sh"
vm_results vm "$JOB" "$TIMEOUT" "$@"
if [ ${#FAILED[@]} -gt 0 ] || [ "$qemu_rc" != 0 ]; then
	[ "$qemu_rc" != 124 ] || echo "the VM was killed after ${TIMEOUT}s"
	echo "--- console (last 40 lines), qemu exit $qemu_rc ---"
	tail -n 40 "$JOB/console.log" 2>/dev/null || true
	tail -n 20 "$JOB/qemu.out" 2>/dev/null || true
fi
echo "vm: $(($# - ${#FAILED[@]})) passed, ${#FAILED[@]} failed in ${elapsed}s"
[ ${#FAILED[@]} = 0 ]
