#!/bin/bash
# test-objects.sh MAP - nfsentryctl takes from the daemon's libraries only the code it shares
# with the daemon (tools/meson.build): core/addr.c, core/duration.c, evidence/recpcap.c. The
# linker's map (-Wl,-Map) lists each archive member it pulled in and the symbol it was for;
# a call to anything else of the daemon would pull in more, and fails here.
set -u
map=${1:?usage: test-objects.sh MAP}
allowed='core_addr.c.o core_duration.c.o evidence_recpcap.c.o'
if ! grep -q '^Archive member included' "$map"; then
	echo "1..0 # SKIP $map is not a GNU ld map"
	exit 0
fi
# The section runs to the first blank line after its entries; members of the daemon's
# archives look like daemon/libnfsentry-core.a.p/core_addr.c.o.
sec=$(sed -n '/^Archive member included/,/^[A-Z][a-z]* [a-z]/p' "$map")
got=$(echo "$sec" | grep -o 'libnfsentry[^ ]*\.a\.p/[^ ]*\.o' | sed 's|.*/||' | sort -u)
n=0 bad=0
for o in $got; do
	n=$((n + 1))
	if [[ " $allowed " == *" $o "* ]]; then
		echo "ok $n - $o is shared with the daemon"
	else
		bad=1
		why=$(echo "$sec" | grep -A1 "/$o\$" | tail -1 | xargs)
		echo "not ok $n - $o: nfsentryctl pulled in daemon code it should not share (for $why)"
	fi
done
n=$((n + 1))
if [ "$(echo "$got" | wc -w)" = 3 ]; then
	echo "ok $n - the three shared objects, linked from the daemon's own libraries"
else
	bad=1
	echo "not ok $n - expected $allowed, got: $(echo "$got" | tr "\n" " ")"
fi
echo "1..$n"
exit $bad
