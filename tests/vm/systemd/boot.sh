#!/bin/bash
# Baked into the systemd VM group's image as /usr/local/sbin/nfsentry-vm-boot, run by
# nfsentry-vm.service after multi-user.target on every boot: mounts the job's two 9p shares
# (tests/vm/systemd/run.sh: "in" read-only, with the package and the scenarios; "out"
# writable, for the results) and runs the job's guest.sh. Output goes to the journal and to
# out/boot-N.log, not to the serial console. Without the shares (booted by hand) it does nothing.
set -euo pipefail
mkdir -p /run/nfsentry-vm/in /run/nfsentry-vm/out
modprobe 9pnet_virtio
mount -t 9p -o trans=virtio,version=9p2000.L,ro nfsentry-in /run/nfsentry-vm/in || exit 0
mount -t 9p -o trans=virtio,version=9p2000.L,rw nfsentry-out /run/nfsentry-vm/out
exec /bin/bash /run/nfsentry-vm/in/guest.sh
