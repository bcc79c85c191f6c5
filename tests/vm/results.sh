# shellcheck shell=bash
# Sourced by tests/vm/run.sh and tests/vm/systemd/run.sh: reads the scenarios' results that a
# guest left in a directory (NAME.rc: "RC SECONDS"; NAME.log) and reports them.

# vm_results GROUP DIR TIMEOUT NAME...: prints PASS: GROUP/NAME or FAIL: GROUP/NAME for each
# scenario, then the end of each failure's log; sets the array FAILED to the names that failed.
vm_results() {
	local group=$1 dir=$2 limit=$3 name rc secs
	shift 3
	FAILED=()
	for name in "$@"; do
		if [ ! -f "$dir/$name.rc" ]; then
			echo "FAIL: $group/$name: no result (the VM stopped, or hit the ${limit}s limit, first)"
			FAILED+=("$name")
			continue
		fi
		read -r rc secs <"$dir/$name.rc"
		if [ "$rc" = 0 ]; then
			echo "PASS: $group/$name (${secs}s)"
		else
			echo "FAIL: $group/$name: exit $rc after ${secs}s"
			FAILED+=("$name")
		fi
	done
	for name in "${FAILED[@]}"; do
		[ -f "$dir/$name.log" ] || continue
		echo "--- $group/$name: log ---"
		tail -n 80 "$dir/$name.log"
	done
}
