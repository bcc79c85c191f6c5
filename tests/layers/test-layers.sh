#!/bin/sh
# test-layers.sh - the daemon's includes run down the layers of daemon/meson.build
# (scripts/check-layers.py), and the check still finds what it is for: an upward include and a
# folder in no layer, in the fixture tree beside this script. TAP.
# Usage: test-layers.sh CHECK DAEMON_DIR LAYER...   (bottom first)
check=$1 daemon=$2
shift 2
fixture=$(dirname "$0")/daemon
echo "1..4"

if out=$(python3 "$check" "$daemon" "$@"); then
	echo "ok 1 - every include in daemon/ runs down the layers"
else
	echo "not ok 1 - every include in daemon/ runs down the layers"
	echo "$out" | sed 's/^/# /'
fi

out=$(python3 "$check" "$fixture" low high stray)
if [ $? -eq 1 ] && echo "$out" | grep -q '^.*/low/low.h:4: layer low includes "high/high.h" of layer high, which is above it'; then
	echo "ok 2 - an upward include is named with its file, line and both layers"
else
	echo "not ok 2 - an upward include is named with its file, line and both layers"
fi
if [ "$(echo "$out" | wc -l)" -eq 1 ]; then
	echo "ok 3 - includes of the own folder, down, and from a top-level file pass"
else
	echo "not ok 3 - includes of the own folder, down, and from a top-level file pass"
	echo "$out" | sed 's/^/# /'
fi

out=$(python3 "$check" "$fixture" low high)
if [ $? -eq 1 ] && echo "$out" | grep -q '/stray/stray.c: folder stray is in no layer'; then
	echo "ok 4 - a folder in no layer is named"
else
	echo "not ok 4 - a folder in no layer is named"
	echo "$out" | sed 's/^/# /'
fi
