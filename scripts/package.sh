#!/bin/bash
# Builds the Debian package (debian/) and checks it: installs the build dependencies with
# apt-get, runs `dpkg-buildpackage -us -uc -b` on a copy of the tree, runs `lintian --pedantic`
# on the result (any error or warning not overridden in debian/ fails), and copies
# nfsentry-crowdsec_VERSION_ARCH.deb (the CrowdSec bridge) and nfsentry_VERSION_ARCH.deb into OUTDIR.
#
# Usage (as root, Debian 12): scripts/package.sh [OUTDIR]     OUTDIR defaults to dist/ here.
# The build and lintian talk on stderr; stdout gets the .debs' absolute paths, one a line, the
# nfsentry .deb LAST (CI takes it with `tail -n1`).
# DEB_BUILD_OPTIONS=nocheck skips the unit and fuzz suites (and their build dependencies).
#
# The build runs in a scratch copy under /var/tmp: dpkg-buildpackage writes its products
# beside the source directory and leaves obj-*/ and debian/nfsentry/ in it, and neither this
# tree nor its parent should change.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${1:-$SRC/dist}
exec 3>&1 1>&2   # only the path goes to stdout
die() { echo "FAIL: package: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (apt-get installs the build dependencies)"
[ -f "$SRC/debian/control" ] || die "no debian/control in $SRC"

export DEBIAN_FRONTEND=noninteractive
updated=
apt_install() {
	[ -n "$updated" ] || { apt-get update -q; updated=1; }
	apt-get install -y -q --no-install-recommends "$@"
}

# The tools, then the package's own Build-Depends (debian/control), each only when missing.
tools=(dpkg-dev debhelper lintian build-essential)
missing=()
for p in "${tools[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

profiles=()
case " ${DEB_BUILD_OPTIONS:-} " in
*" nocheck "*) profiles=(-Pnocheck) ;;
esac

# One version, meson.build's: the changelog must agree.
meson_version=$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -n 1)
deb_version=$(cd "$SRC" && dpkg-parsechangelog -SVersion)
[ -n "$meson_version" ] || die "no version : '...' line in meson.build"
[ "$meson_version" = "$deb_version" ] ||
	die "meson.build says version $meson_version, debian/changelog $deb_version: add a changelog entry (dch -v $meson_version)"
arch=$(dpkg --print-architecture)

work=$(mktemp -d /var/tmp/nfsentry-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$work/nfsentry-$deb_version
mkdir "$tree"
# The tree as it is (uncommitted changes too), without build products or VCS data.
tar -C "$SRC" -c --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=./dist \
	--exclude='./obj-*' --exclude=./debian/nfsentry --exclude=./debian/nfsentry-crowdsec \
	--exclude=./debian/tmp --exclude=./debian/.debhelper \
	--exclude=./debian/files --exclude='./debian/*.substvars' --exclude='./debian/*.log' \
	--exclude=./debian/debhelper-build-stamp . | tar -C "$tree" -x

if ! (cd "$tree" && dpkg-checkbuilddeps "${profiles[@]}" 2>/dev/null); then
	[ -n "$updated" ] || { apt-get update -q; updated=1; }
	apt-get build-dep -y -q --no-install-recommends "${profiles[@]}" "$tree"
fi

echo "== dpkg-buildpackage -us -uc -b ${profiles[*]} (in $tree)"
(cd "$tree" && dpkg-buildpackage -us -uc -b "${profiles[@]}")

deb=$work/nfsentry_${deb_version}_$arch.deb
deb_crowdsec=$work/nfsentry-crowdsec_${deb_version}_$arch.deb
changes=$work/nfsentry_${deb_version}_$arch.changes
for d in "$deb_crowdsec" "$deb"; do
	[ -f "$d" ] || die "dpkg-buildpackage made no $(basename "$d"): $(ls "$work")"
done

# The .changes names the .debs and the .buildinfo: lintian checks them all. Overrides with
# their reasons are in debian/nfsentry.lintian-overrides and debian/nfsentry-crowdsec.lintian-overrides.
echo "== lintian --pedantic $(basename "$changes")"
lintian --pedantic --display-info --display-experimental --fail-on error,warning "$changes" ||
	die "lintian found errors or warnings (above): fix them, or override with a reason in debian/PACKAGE.lintian-overrides"

mkdir -p "$OUTDIR"
for d in "$deb_crowdsec" "$deb"; do
	cp "$d" "$OUTDIR/"
	echo "$(cd "$OUTDIR" && pwd)/$(basename "$d")" >&3
done
