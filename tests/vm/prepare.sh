#!/bin/bash
# Prepares a stock Debian kernel for the VM suite (tests/vm/run.sh): the kernel and its modules
# from linux-image-<abi>-amd64, and an initramfs (static busybox, the virtio and 9p modules,
# tests/vm/init) that mounts the host's root read-only over 9p and runs the job there.
#
# Usage: tests/vm/prepare.sh [CACHE_DIR]     (root; default /var/cache/nfsentry-vm)
# Prints the kernel's directory: CACHE_DIR/<package>/ with vmlinuz, initramfs.gz, release
# (the kernel release, e.g. 6.1.0-56-amd64) and root/ (the package extracted, depmod run:
# `modprobe -d CACHE_DIR/<package>/root MODULE` loads its modules).
#
# The package is the one linux-image-amd64 depends on now (apt-cache), or NFSENTRY_VM_KERNEL
# (e.g. linux-image-6.1.0-56-amd64). It is fetched with `apt-get download` only when it is not
# in the cache yet, and then replaces the kernels cached before. Without apt lists the newest
# kernel in the cache is used.
# CACHE_DIR must not be under /tmp or /run: the guest mounts tmpfs there.
set -euo pipefail

VM_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-/var/cache/nfsentry-vm}
die() { echo "prepare: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (apt-get download, depmod into the cache)"
for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip; do
	command -v "$tool" >/dev/null || die "needs $tool (scripts/deps.sh)"
done
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || die "needs a static /bin/busybox (busybox-static)"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
case $CACHE/ in /tmp/* | /run/*) die "$CACHE is hidden in the guest (tmpfs on /tmp and /run)" ;; esac

# One preparation at a time; the others wait and find it done.
exec 9>"$CACHE/.lock"
flock -w 600 9 || die "$CACHE/.lock is held for more than 10 minutes"

pkg=${NFSENTRY_VM_KERNEL:-$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')}
if [ -z "$pkg" ]; then
	pkg=$(find "$CACHE" -mindepth 2 -maxdepth 2 -name initramfs.gz -printf '%h\n' 2>/dev/null |
		xargs -r -n1 basename | sort -V | tail -n 1)
	[ -n "$pkg" ] || die "apt-cache does not know linux-image-amd64 (run apt-get update) and nothing is cached"
	echo "prepare: no apt lists; using the cached $pkg" >&2
fi
dir=$CACHE/$pkg
# The initramfs is written last: its presence means the rest is complete. It is rebuilt when
# tests/vm/init or this script is newer.
if [ -s "$dir/initramfs.gz" ] && [ "$dir/initramfs.gz" -nt "$VM_DIR/init" ] &&
   [ "$dir/initramfs.gz" -nt "$VM_DIR/prepare.sh" ]; then
	echo "$dir"
	exit 0
fi

work=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -s "$dir/release" ]; then
	echo "prepare: downloading $pkg" >&2
	# _apt cannot write into the cache; apt-get then downloads as root, and says so: not news.
	(cd "$work" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
		true
	deb=$(find "$work" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg failed (stale apt lists? run apt-get update)"
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$dir/root"
	release=$(basename "$(find "$dir/root/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
	[ -n "$release" ] && [ -f "$dir/root/boot/vmlinuz-$release" ] || die "$deb holds no kernel"
	depmod -b "$dir/root" "$release"
	cp "$dir/root/boot/vmlinuz-$release" "$dir/vmlinuz"
	dpkg-deb -f "$deb" Version >"$dir/version"
	echo "$release" >"$dir/release"
	rm -f "$deb"
	# A new kernel replaces the old ones (about 400 MB each).
	find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'linux-image-*' ! -name "$pkg" -exec rm -rf {} +
fi
release=$(cat "$dir/release")

# The initramfs: busybox, the modules that reach the host's root (with their dependencies,
# in load order), and the init script.
echo "prepare: building the initramfs for $release" >&2
ird=$work/initramfs
mkdir -p "$ird/bin" "$ird/sbin" "$ird/usr/bin" "$ird/usr/sbin" "$ird/lib/modules"
cp /bin/busybox "$ird/bin/busybox"
cp "$VM_DIR/init" "$ird/init"
chmod 755 "$ird/init"
: >"$ird/modules"
for mod in virtio_pci 9pnet_virtio 9p; do
	modprobe -d "$dir/root" -S "$release" --show-depends "$mod" >"$work/deps" ||
		die "modprobe --show-depends $mod failed for $release"
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue   # "builtin NAME": nothing to load
		rel=${path#"$dir/root/"}
		grep -qxF "$rel" "$ird/modules" && continue
		mkdir -p "$ird/$(dirname "$rel")"
		cp "$path" "$ird/$rel"
		echo "$rel" >>"$ird/modules"
	done <"$work/deps"
done
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"
mv "$work/initramfs.gz" "$dir/initramfs.gz"
echo "$dir"
