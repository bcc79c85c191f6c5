#!/bin/bash
# Builds the disk image of the systemd VM group (tests/vm/systemd/run.sh): a Debian 12 root
# file system with systemd as PID 1 and Debian's stock kernel, made by mmdebstrap from the
# host's own apt sources, with the test runner unit (nfsentry-vm.service) baked in.
#
# Usage: tests/vm/systemd/prepare.sh [CACHE_DIR]     (root; default /var/cache/nfsentry-vm)
# Prints the image's directory: CACHE_DIR/systemd-<recipe hash>/ with image.raw (ext4, the
# whole root file system; never written: each boot gets a qcow2 overlay), vmlinuz and
# initrd.img (from the image's /boot, so modules and initrd match the kernel) and release.
#
# The recipe is this script, the baked files (nfsentry-vm.service, boot.sh) and the apt
# sources; its hash names the directory, so a changed recipe builds a new image and removes
# the old ones (about 1 GB each, sparse). Building takes 2 to 4 minutes and needs the archive.
set -euo pipefail

SD_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-/var/cache/nfsentry-vm}
exec 3>&1 1>&2   # stdout gets one line: the directory (mke2fs and the rest talk on stderr)
die() { echo "prepare: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap's root mode, device nodes in the image)"
for tool in mmdebstrap mke2fs sha256sum; do
	command -v "$tool" >/dev/null || die "needs $tool (scripts/deps.sh)"
done

# The host's own Debian sources (deb822 or one-line format): the guest gets what the host has.
sources=
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
	[ -f "$f" ] && grep -qE '^[^#]*(deb\.debian\.org|debian-security|/debian)' "$f" && sources+="$(cat "$f")"$'\n\n'
done
[ -n "$sources" ] || die "no Debian apt sources in /etc/apt (sources.list or sources.list.d)"

# What the guest needs: systemd as PID 1; the kernel (with nft_queue) and its initrd; the
# tools of the scenarios (nft, ip, nmap, ps, jq); and, since the guest has no network, the
# libraries the nfsentry package depends on, so `apt install ./nfsentry_*.deb` resolves offline.
pkgs=(
	systemd systemd-sysv udev dbus kmod procps linux-image-amd64
	nftables iproute2 nmap jq
	libmnl0 libnetfilter-queue1 libnfnetlink0 libnftnl11 libnftables1 libinih1 libsodium23
	libsystemd0 libjansson4 libpcap0.8
	# nfsentry-crowdsec (test-crowdsec.sh): its library, and the LAPI it talks to
	libcurl4 crowdsec
)
hash=$(cat "$0" "$SD_DIR/nfsentry-vm.service" "$SD_DIR/boot.sh" <(printf '%s\n' "$sources" "${pkgs[@]}") |
	sha256sum | cut -c1-12)
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
dir=$CACHE/systemd-$hash
exec 9>"$CACHE/.systemd.lock"
flock -w 900 9 || die "$CACHE/.systemd.lock is held for more than 15 minutes"
# The directory is renamed into place when complete: an image.raw in it means it is whole.
if [ -s "$dir/image.raw" ]; then
	echo "$dir" >&3
	exit 0
fi

work=$(mktemp -d "$CACHE/.systemd-work.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "prepare: building the Debian 12 root file system (mmdebstrap, 2 to 4 minutes)" >&2
printf '%s' "$sources" >"$work/sources"
cp "$SD_DIR/nfsentry-vm.service" "$SD_DIR/boot.sh" "$work/"
# The customize hooks run on the host with the root file system as $1.
# - the runner: boot.sh mounts the job's shares and runs its guest.sh; the unit starts it
#   after multi-user.target.
# - no getty (the serial console only carries the boot messages), no apt timers (nothing to
#   fetch: the guest has no network), fstab for the root device.
# crowdsec's postinst registers to the Central API (online) unless online_api_credentials.yaml
# exists non-empty before it runs (as scripts/deps.sh does on the host): the essential hook
# runs before the --include packages are installed.
mmdebstrap --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" \
	--essential-hook='mkdir -p "$1/etc/crowdsec"; printf "# no Central API: the VM is offline\\nurl: https://api.crowdsec.net/\\n" >"$1/etc/crowdsec/online_api_credentials.yaml"' \
	--customize-hook="install -m 0755 '$work/boot.sh' \"\$1/usr/local/sbin/nfsentry-vm-boot\"" \
	--customize-hook="install -m 0644 '$work/nfsentry-vm.service' \"\$1/etc/systemd/system/\"" \
	--customize-hook='chroot "$1" systemctl enable nfsentry-vm.service' \
	--customize-hook='chroot "$1" systemctl set-default multi-user.target' \
	--customize-hook='chroot "$1" systemctl mask serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer' \
	--customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$1/etc/fstab"; echo nfsentry-vm >"$1/etc/hostname"' \
	bookworm "$work/root" "$work/sources" >"$work/mmdebstrap.log" 2>&1 ||
	{ tail -n 30 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }

release=$(basename "$(find "$work/root/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
[ -n "$release" ] && [ -f "$work/root/boot/vmlinuz-$release" ] && [ -f "$work/root/boot/initrd.img-$release" ] ||
	die "the root file system has no kernel and initrd (linux-image-amd64, initramfs-tools)"
mkdir -p "$work/out"
cp "$work/root/boot/vmlinuz-$release" "$work/out/vmlinuz"
cp "$work/root/boot/initrd.img-$release" "$work/out/initrd.img"
echo "$release" >"$work/out/release"
# ext4 straight from the directory (no loop mount); 3 GB, sparse: room for the package, logs
# and a few reboots' journals.
mke2fs -q -t ext4 -L nfsentry-vm -d "$work/root" "$work/out/image.raw" 3G >/dev/null ||
	die "mke2fs -d failed"
rm -rf "$dir"
mv "$work/out" "$dir.tmp" && mv "$dir.tmp" "$dir"
# A new recipe replaces the images built before.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'systemd-*' ! -name "systemd-$hash" -exec rm -rf {} +
echo "$dir" >&3
