#!/bin/bash
# The guest side of tests/vm/systemd/run.sh, started on every boot by the image's
# nfsentry-vm.service (boot.sh) from the read-only share /run/nfsentry-vm/in. Runs the job's
# scenarios in order, each as test-NAME.sh, and writes NAME.log and NAME.rc ("RC SECONDS")
# to the writable share /run/nfsentry-vm/out. Then powers off.
#
# Several boots: progress is kept on the guest's own disk (/var/lib/nfsentry-vm), which the
# overlay keeps across reboots. A scenario that exits 100 asks for a reboot; it is run again
# after the boot with NFSENTRY_VM_PHASE one higher (1 on the first run), and its own state
# directory NFSENTRY_VM_STATE kept.
set -uo pipefail

IN=/run/nfsentry-vm/in
OUT=/run/nfsentry-vm/out
PROGRESS=/var/lib/nfsentry-vm
# shellcheck source=/dev/null
source "$IN/job"
mkdir -p "$PROGRESS"
boot=$(($(cat "$PROGRESS/boots" 2>/dev/null || echo 0) + 1))
echo "$boot" >"$PROGRESS/boots"
exec >>"$OUT/guest.log" 2>&1
echo "== boot $boot at $(date -u +%T), up $(cut -d' ' -f1 /proc/uptime) s: $(systemctl is-system-running)"

# A scenario gets 10 minutes of emulated time at most; run.sh's limit bounds the whole VM.
for name in "${SCENARIOS[@]}"; do
	[ -f "$PROGRESS/$name.done" ] && continue
	phase=$(cat "$PROGRESS/$name.phase" 2>/dev/null || echo 1)
	mkdir -p "$PROGRESS/$name"
	echo "== $name (phase $phase) at $(date -u +%T)"
	start=$(date +%s)
	rc=0
	NFSENTRY_VM_PHASE=$phase NFSENTRY_VM_STATE=$PROGRESS/$name NFSENTRY_VM_DEB=$IN/$DEB \
		timeout -k 10 600 bash "$IN/test-$name.sh" >>"$OUT/$name.log" 2>&1 </dev/null || rc=$?
	secs=$(($(cat "$PROGRESS/$name.secs" 2>/dev/null || echo 0) + $(date +%s) - start))
	echo "$secs" >"$PROGRESS/$name.secs"
	if [ "$rc" = 100 ]; then
		echo "$((phase + 1))" >"$PROGRESS/$name.phase"
		echo "== $name asks for a reboot"
		sync
		touch "$OUT/reboot"
		systemctl --no-block reboot
		exit 0
	fi
	echo "== $name: exit $rc after ${secs}s"
	echo "$rc $secs" >"$OUT/$name.rc"
	touch "$PROGRESS/$name.done"
done
echo "== done at $(date -u +%T)"
sync
systemctl --no-block poweroff
