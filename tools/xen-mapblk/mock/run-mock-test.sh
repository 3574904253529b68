#!/bin/sh
# Run blkif-fuzz against xen-mapblk, both linked with mock/mock-xen.c.
# Not Xen: this checks the ring/xenstore/AIO logic of the two programs only.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/xen-mapblk-mock.XXXXXX")
export MOCK_XEN_DIR="$work/xen"
img="$work/disk.img"
fail=0
truncate -s 4M "$img"

run_fuzz() { # $1: name, rest: fuzz args
	name=$1; shift
	"$here/xen-mapblk" --frontend-domid 0 --devid 51760 --image "$img" \
		--no-frontend-nodes --stats 2>"$work/be-$name.log" &
	be=$!
	"$here/blkif-fuzz" --devid 51760 --timeout 5 "$@" >"$work/fuzz-$name.tap" 2>&1
	frc=$?
	wait $be; brc=$?
	cat "$work/fuzz-$name.tap"
	echo "# backend log ($name):"; sed 's/^/#   /' "$work/be-$name.log"
	if [ $frc -ne 0 ] || [ $brc -ne 0 ]; then
		echo "FAIL: $name: fuzz exit $frc, backend exit $brc"; fail=1
	fi
	if grep -q LEAK "$work/be-$name.log"; then echo "FAIL: $name: leaked mappings"; fail=1; fi
}

run_fuzz single
run_fuzz order2 --ring-order 2
run_fuzz nobogus --no-bogus-ring

# SIGTERM with a full ring in flight
rm -rf "$MOCK_XEN_DIR"
"$here/xen-mapblk" --frontend-domid 0 --devid 51760 --image "$img" \
	--no-frontend-nodes --stats 2>"$work/be-sigterm.log" &
be=$!
"$here/blkif-fuzz" --devid 51760 --timeout 5 --sigterm-backend $be >"$work/fuzz-sigterm.tap" 2>&1
frc=$?
wait $be; brc=$?
tail -4 "$work/fuzz-sigterm.tap"
echo "# backend log (sigterm):"; grep -v rejected "$work/be-sigterm.log" | sed 's/^/#   /'
if [ $frc -ne 0 ] || [ $brc -ne 0 ]; then echo "FAIL: sigterm: fuzz exit $frc, backend exit $brc"; fail=1; fi
if grep -q LEAK "$work/be-sigterm.log"; then echo "FAIL: sigterm: leaked mappings"; fail=1; fi

# SIGTERM while waiting for the frontend: nodes removed, exit 0
rm -rf "$MOCK_XEN_DIR"
"$here/xen-mapblk" --frontend-domid 0 --devid 51728 --image "$img" --stats 2>"$work/be-term.log" &
be=$!
sleep 0.5
[ -d "$MOCK_XEN_DIR/xs/local/domain/0/backend/vbd/0/51728" ] || { echo "FAIL: backend dir missing"; fail=1; }
kill -TERM $be; wait $be; brc=$?
sed 's/^/#   /' "$work/be-term.log"
[ $brc -eq 0 ] || { echo "FAIL: SIGTERM exit $brc"; fail=1; }
[ -d "$MOCK_XEN_DIR/xs/local/domain/0/backend/vbd/0/51728" ] && { echo "FAIL: nodes left after SIGTERM"; fail=1; }
[ -d "$MOCK_XEN_DIR/xs/local/domain/0/device/vbd/51728" ] && { echo "FAIL: fe nodes left after SIGTERM"; fail=1; }

[ $fail -eq 0 ] && echo "mock test: PASS" || echo "mock test: FAIL (logs in $work)"
[ $fail -eq 0 ] && rm -rf "$work"
exit $fail
