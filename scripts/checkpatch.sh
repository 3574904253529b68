#!/bin/bash
# checkpatch --strict on every patch of the series: 0 errors, 0 warnings.
. "$(dirname "$0")/common.sh"
[ -d "$TREE" ] || "$TOP/scripts/tree.sh"
# spdxcheck.py needs python3-ply from Debian, not whatever python3 is first.
export PATH=/usr/bin:$PATH
bad=0 n=0
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	n=$((n + 1))
	o=$(cd "$TREE" && ./scripts/checkpatch.pl --strict --no-summary --show-types -q "$TOP/patches/$p" 2>&1) || true
	# checkpatch seeds its CamelCase list from #defines, typedefs and type
	# names in include/, not from enum constants, so every use of Xen's
	# enum xenbus_state (XenbusStateClosed, ...: include/xen/interface/io/
	# xenbus.h) is flagged. Those, and only those, are not counted.
	o=$(printf '%s\n' "$o" | awk 'BEGIN { RS = ""; ORS = "\n\n" }
		!/^CHECK:CAMELCASE: Avoid CamelCase: <XenbusState[A-Za-z]+>\n/' | sed '/./,$!d')
	o=${o%%$'\n'}
	if [ -n "$o" ]; then
		echo "== $p"; echo "$o"; bad=$((bad + 1))
	else
		echo "ok $p"
	fi
done < "$TOP/patches/series"
echo "checkpatch --strict: $n patches, $bad with errors, warnings or checks"
[ $bad = 0 ]
