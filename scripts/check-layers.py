#!/usr/bin/env python3
"""check-layers.py - every #include in daemon/ runs down the layers of daemon/meson.build.

    scripts/check-layers.py DAEMON_DIR LAYER...        # bottom first, as daemon/meson.build lists them
    scripts/check-layers.py --graph DAEMON_DIR LAYER... # the include graph between folders

The compiler already refuses an upward include in a .c file (each layer compiles against an
include directory holding only its own layer and those below). This check also reads the
headers, which are compiled only where another file includes them, and names the file, the
line and both layers. A layer is a folder of DAEMON_DIR or a top-level file's name without its
extension (e.g. "foo.h" for foo.c and foo.h); a file of no layer (main.c) is above all.
Exit status 0: all includes run down; 1: an upward or unknown include, one line each.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
IGNORED = {"build-config.h"}   # generated in the build directory: not part of any layer


def layer_of(rel, names):
    """The layer of a file at @rel (relative to the daemon directory), or None (the top)."""
    parts = rel.split("/")
    if len(parts) > 1:
        return parts[0] if parts[0] in names else "?" + parts[0]
    stem = os.path.splitext(parts[0])[0]
    for n in names:
        if os.path.splitext(n)[0] == stem:
            return n
    return None


def main(argv):
    graph = argv[:1] == ["--graph"]
    if graph:
        argv = argv[1:]
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    root, order = argv[0], argv[1:]
    rank = {n: i for i, n in enumerate(order)}
    bad, edges = [], {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in sorted(filenames):
            if not fn.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, root)
            src = layer_of(rel, order)
            if src is not None and src.startswith("?"):
                bad.append(f"{path}: folder {src[1:]} is in no layer of daemon/meson.build")
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m or m.group(1) in IGNORED:
                        continue
                    inc = m.group(1)
                    # A quoted include finds the including file's own folder first.
                    if os.path.exists(os.path.join(dirpath, inc)):
                        dst = layer_of(os.path.relpath(os.path.join(dirpath, inc), root), order)
                    else:
                        dst = layer_of(inc, order)
                    if dst != src:
                        key = (src or "main", dst or "main")
                        edges[key] = edges.get(key, 0) + 1
                    if dst is None or dst.startswith("?"):
                        bad.append(f"{path}:{lineno}: includes \"{inc}\", which is in no layer of daemon/meson.build")
                    elif src is not None and rank[dst] > rank[src]:
                        bad.append(f"{path}:{lineno}: layer {src} includes \"{inc}\" of layer {dst}, "
                                   f"which is above it (daemon/meson.build: {' < '.join(order)})")
    if graph:
        for (s, d), n in sorted(edges.items(), key=lambda e: (rank.get(e[0][0], len(order)), e[0][1])):
            up = " UP" if s in rank and d in rank and rank[d] > rank[s] else ""
            print(f"{s} -> {d} ({n}){up}")
        return 0
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
