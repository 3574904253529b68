#!/bin/sh
# Runs scenarios inside dom0: run-tests.sh NAME... (NAME = file in
# scenarios/ without .sh, or "all"). Each scenario runs in its own directory
# on the ext4 scratch disk with a time limit; its output goes to
# /results/<name>.log and its verdict to /results/summary:
#   <name> PASS|FAIL|SKIP <seconds>s <last line of output>
# Exit codes: 0 pass, 77 skip, anything else fail.
. ${XM2P:-/xen-m2p}/tests/lib.sh
dir=$XM2P/tests/scenarios
# "all": in name order, except that scenarios marked "# order: last" (those
# that can leave dom0 wedged when they fail) run after every other one, and
# without those marked "# matrix-only" (too slow for make check's budget);
# "every": the same with them (make check-matrix).
if [ "$*" = all ] || [ "$*" = every ]; then
	skip_re='^# matrix-only'; [ "$*" = every ] && skip_re='^# matrix-only: never'
	set -- $(cd $dir && for f in *.sh; do grep -q -e '^# order: last' -e "$skip_re" $f || echo ${f%.sh}; done) \
		$(cd $dir && for f in $(grep -l '^# order: last' *.sh); do grep -q "$skip_re" $f || echo ${f%.sh}; done)
fi
for t in "$@"; do
	[ "$t" = kunit ] && continue  # KUnit ran at boot; the host parses it
	f=$dir/$t.sh; [ -f "$f" ] || f=$XM2P/tests/$t.sh
	if [ ! -f "$f" ]; then
		echo "$t FAIL 0s no such scenario" >> /results/summary; continue
	fi
	limit=$(sed -n "s/^# timeout: *//p" "$f"); limit=${limit:-600}
	step "scenario $t (limit ${limit}s)"
	wd=/scratch/$t; [ -d /scratch ] || wd=/tmp/$t
	mkdir -p "$wd"
	start=$(date +%s)
	(cd "$wd" && timeout -k 10 "$limit" sh "$f") > "/results/$t.log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	case $rc in
	0) v=PASS ;; 77) v=SKIP ;; 124|137) v=FAIL; echo "TIMEOUT after ${limit}s" >> "/results/$t.log" ;; *) v=FAIL ;;
	esac
	last=$(grep -v '^[[:space:]]*$' "/results/$t.log" | tail -n 1 | cut -c1-160)
	echo "$t $v ${took}s $last" >> /results/summary
	step "scenario $t: $v (${took}s) $last"
	rm -rf "$wd"
done
