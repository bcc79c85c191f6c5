#!/bin/bash
# The test VM's PID 1, in the host's tree mounted read-only (tests/vm/init), started by the job
# script of tests/vm/run.sh. Loads the kernel's netfilter modules, runs each scenario given
# (tests/integration/test-NAME.sh, or tests/vm/test-NAME.sh) with the ruleset loaded verbatim
# by `nft -f`, writes NAME.log and NAME.rc into the job share and powers the VM off.
#
# Environment (from the job script): NFSENTRY_VM_MODULES (the kernel package's extracted root,
# for modprobe -d), NFSENTRY_VM_TEST_TIMEOUT (seconds per scenario), NFSENTRY_TIME_SCALE and
# what the integration tests need (NFSENTRY, NFSENTRY_RULESET, NFSENTRY_COMMIT, NFSENTRYCTL).
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
VM_DIR=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$VM_DIR/../.." && pwd)
OUT=/run/nfsentry-vm

# PID 1 must not return: power off (qemu exits; -no-reboot and panic=-1 catch the rest).
trap 'sync; echo o >/proc/sysrq-trigger; sleep 60' EXIT
say() { echo "nfsentry-vm: $*" >/dev/console; }

say "booted $(uname -r) in $(cut -d' ' -f1 /proc/uptime) s"
hostname nfsentry-vm
ip link set lo up

# The kernel loads modules on demand (nft's expressions such as quota, veth) through
# /proc/sys/kernel/modprobe; point it at the package's modules. The ones the queue path needs
# are loaded up front too, so that a missing one fails here, by name. nft_compat is not among
# them: the ruleset must load without it (tests/vm/test-verbatim-ruleset.sh).
printf '#!/bin/sh\nexec /sbin/modprobe -d %q "$@"\n' "$NFSENTRY_VM_MODULES" >/run/modprobe
chmod 755 /run/modprobe
echo /run/modprobe >/proc/sys/kernel/modprobe
for mod in nf_tables nft_queue nfnetlink_queue nft_socket nft_fib_inet veth; do
	modprobe -d "$NFSENTRY_VM_MODULES" "$mod" || { say "cannot load module $mod"; exit 1; }
done

# The scenarios load the ruleset as shipped, with nft -f, and check that nft lists native queue
# statements (tests/integration/lib.sh, load_ruleset).
export NFSENTRY_LOAD=nft
for name in "$@"; do
	script=$SRC/tests/integration/test-$name.sh
	[ -f "$VM_DIR/test-$name.sh" ] && script=$VM_DIR/test-$name.sh
	start=$(date +%s)
	rc=0
	(cd "$SRC" && exec timeout -k 10 "$NFSENTRY_VM_TEST_TIMEOUT" bash "$script") \
		</dev/null >"$OUT/$name.log" 2>&1 || rc=$?
	[ "$rc" != 124 ] || echo "TIMEOUT: still running after $NFSENTRY_VM_TEST_TIMEOUT s" >>"$OUT/$name.log"
	echo "$rc $(($(date +%s) - start))" >"$OUT/$name.rc"
	say "$name: exit $rc after $(($(date +%s) - start)) s"
done
