#!/bin/bash
# make check: the whole suite. Every line of build/check/results.tsv is one
# test (name, verdict, detail); the last line printed is "N passed, N failed".
#
# Stages: the series applies; checkpatch; the patched and the unpatched
# kernel build; the dom0 programs build; three boots (patched, patched with
# the override off, unpatched base) each running every scenario of tests/;
# the KUnit suites of the patched boot; bisect and distro builds.
# Expected outcomes per kernel come from tests/expect (negative controls).
#   CHECK_VARIANTS="patched off base"  which boots to run
#   CHECK_STACKS="trixie bookworm"     the Debian stacks to boot them on
#                                      (XM2P_STACK, scripts/common.sh; default
#                                      the default stack, then the other one).
#                                      The first stack runs the full set (the
#                                      patched kernel every scenario, off and
#                                      base the controls); each further one
#                                      the controls on the kernels of
#                                      CHECK_OTHER_VARIANTS (default: patched
#                                      only), or everything on every kernel
#                                      with CHECK_MATRIX=1. Boots and report
#                                      columns are <stack>-<variant>
#   CHECK_TESTS=all                    which scenarios (every kernel)
#   CHECK_MATRIX=1                     every scenario on every kernel
#   BASELINE=1                         every scenario, unpatched base only
#   CHECK_STANDALONE=1                 6.12 + the standalone fixes only, booted
#   CHECK_BISECT=1 CHECK_DISTRO=1      the series-hygiene builds (every prefix;
#                                      Debian's config with W=1 and sparse):
#                                      on with CHECK_MATRIX=1, off otherwise, so
#                                      that make check fits a fresh machine
#                                      in about an hour (README)
. "$(dirname "$0")/common.sh"

# make check BASELINE=1: every scenario on the unpatched base only.
if [ "${BASELINE:-0}" = 1 ]; then
	CHECK_VARIANTS=${CHECK_VARIANTS:-base} CHECK_MATRIX=1
fi
out=$BUILD/check
if [ "${CHECK_REJUDGE:-0}" = 1 ]; then
	rm -rf "$BUILD/check.prev" && mv "$out" "$BUILD/check.prev"
fi
rm -rf "$out" && mkdir -p "$out"
res=$out/results.tsv
: > "$res"
t0=$(date +%s)
stage() { say "[$(( $(date +%s) - t0 ))s] $*"; echo "$1 $(( $(date +%s) - t0 ))" >> "$out/stages"; }
record() { # name verdict detail
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$res"
	printf '  %-44s %s %s\n' "$1" "$2" "$3"
}
STACKS=${CHECK_STACKS:-$XM2P_STACK $OTHER_STACK}
for st in $STACKS; do case $st in bookworm|trixie) ;; *) die "CHECK_STACKS: $st is not bookworm or trixie" ;; esac; done
# A boot's label: the variant alone with one stack, <stack>-<variant> with more.
label() { # stack variant
	if [ "$(wc -w <<< "$STACKS")" -gt 1 ]; then echo "$1-$2"; else echo "$2"; fi
}
# The stack a results directory ran on (the "stack" line of its versions).
stack_of() { awk '$1 == "stack" { print $2; exit }' "$1/versions" 2>/dev/null | grep . || echo bookworm; }
# Expected verdict of a boot-time test on a kernel variant and stack
# (tests/expect: VARIANT is a variant, *, <stack>-<variant> or <stack>-*;
# the last matching line wins).
expect() { # test variant stack -> pass|fail|known
	awk -v t="$1" -v v="$2" -v s="$3" '$1 == t && ($2 == v || $2 == "*" || $2 == s "-" v || $2 == s "-*") { e = $3 }
		END { print (e ? e : "pass") }' "$TOP/tests/expect"
}
# The stack and variant judge() and judge_run() work on: set by their callers.
stk=$XM2P_STACK var=patched
judge() { # test label got(PASS|FAIL|SKIP|MISSING) detail
	local want; want=$(expect "$1" "$var" "$stk")
	case "$3:$want" in
	PASS:pass|PASS:known) record "$2/$1" PASS "$4" ;;
	FAIL:known|MISSING:known) record "$2/$1" SKIP "known failure, see tests/expect: $4" ;;
	FAIL:fail|MISSING:fail) record "$2/$1" PASS "expected failure (negative control): $4" ;;
	SKIP:*) record "$2/$1" SKIP "$4" ;;
	PASS:fail) record "$2/$1" FAIL "passed but was expected to fail: $4" ;;
	*) record "$2/$1" FAIL "$4" ;;
	esac
}

judge_run() { # label results-dir (stk and var set)
	local v=$1 r=$2 name verdict took rest suites s f ok nok
	while read -r name verdict took rest; do
		judge "$name" "$v" "$verdict" "$took $rest"
	done < "$r/summary"
	# KUnit: each suite's TAP from debugfs; a suite passes when every case is ok.
	suites=$( (ls "$r/kunit" 2>/dev/null | sed 's/\.tap$//'
		awk -v v="$var" -v s="$stk" '$2 == v || $2 == "*" || $2 == s "-" v || $2 == s "-*" { print $1 }' \
			"$TOP/tests/expect" | sed -n 's/^kunit://p') | sort -u)
	for s in $suites; do
		f=$r/kunit/$s.tap
		if [ ! -s "$f" ]; then judge "kunit:$s" $v MISSING "suite not in this kernel"; continue; fi
		nok=$(grep -c -E '^\s*not ok ' "$f" || true)
		ok=$(grep -c -E '^\s*ok ' "$f" || true)
		if [ "$nok" = 0 ] && [ "$ok" -gt 0 ]; then
			judge "kunit:$s" $v PASS "$ok ok"
		else
			judge "kunit:$s" $v FAIL "$nok not ok: $(grep -E '^\s*not ok ' "$f" | sed 's/^\s*//' | head -n 3 | paste -sd';')"
		fi
	done
}

# CHECK_REJUDGE=1: no builds, no boots; judge the results of the last run
# again (after tests/expect changed) and rewrite the report.
if [ "${CHECK_REJUDGE:-0}" = 1 ]; then
	prev=$BUILD/check.prev
	[ -s "$prev/results.tsv" ] || die "nothing to re-judge"
	awk -F'\t' '$1 !~ /\//' "$prev/results.tsv" > "$res"
	cp "$prev/stages" "$out/" 2>/dev/null || true
	for d in "$prev"/results-*; do
		[ -d "$d" ] || continue
		v=${d##*/results-} var=${d##*-} stk=$(stack_of "$d")
		cp -a "$d" "$out/"
		awk -F'\t' -v v="$v/boot" '$1 == v' "$prev/results.tsv" >> "$res"
		judge_run "$v" "$out/results-$v"
	done
	"$TOP/scripts/report.sh" "$out" > "$out/report.md"
	echo "re-judged; report: build/check/report.md"
	exit 0
fi

stage "series: apply patches/series onto Debian linux-source $LINUX_SOURCE_VERSION"
if "$TOP/scripts/tree.sh" > "$out/tree.log" 2>&1; then
	record series-applies PASS "$(grep -c . "$TOP/patches/series" || true) patches"
else
	tail -n 20 "$out/tree.log"; record series-applies FAIL "see build/check/tree.log"
fi
grep -q 'local work' "$out/tree.log" && say "NOTE: build/linux has unexported work; testing the scratch tree, not patches/"

if [ -s "$TOP/patches/series" ]; then
	stage "checkpatch --strict"
	if "$TOP/scripts/checkpatch.sh" > "$out/checkpatch.log" 2>&1; then
		record checkpatch PASS "$(tail -n 1 "$out/checkpatch.log")"
	else
		record checkpatch FAIL "$(tail -n 1 "$out/checkpatch.log") (build/check/checkpatch.log)"
	fi
fi

stage "kernels"
for v in patched base; do
	if [ $v = base ]; then b=(env BASELINE=1); else b=(env -u BASELINE); fi
	if "${b[@]}" "$TOP/scripts/kernel.sh" > "$out/kernel-$v.log" 2>&1; then
		record "kernel-$v-builds" PASS "$(tail -n 1 "$out/kernel-$v.log" | sed 's/^==> //')"
	else
		tail -n 30 "$out/kernel-$v.log"; record "kernel-$v-builds" FAIL "see build/check/kernel-$v.log"
	fi
done

stage "dom0 programs"
if "$TOP/scripts/programs.sh" > "$out/programs.log" 2>&1; then
	record programs-build PASS "$(tail -n 1 "$out/programs.log" | sed 's/^==> //')"
else
	tail -n 30 "$out/programs.log"; record programs-build FAIL "see build/check/programs.log"
fi

first=1
for stk in $STACKS; do
vars=${CHECK_VARIANTS:-patched off base}
if [ $first = 0 ] && [ "${CHECK_MATRIX:-0}" != 1 ] && [ -z "${CHECK_VARIANTS:-}" ]; then vars=${CHECK_OTHER_VARIANTS:-patched}; fi
for var in $vars; do
	v=$(label "$stk" "$var")
	case $var in
	patched) k=$BUILD/kernel args=() ;;
	off) k=$BUILD/kernel args=(--append "$(sed -n 's/^# off-switch: *//p' "$TOP/tests/expect")") ;;
	base) k=$BUILD/base/kernel args=() ;;
	esac
	k=$k/arch/x86/boot/bzImage
	[ -s "$k" ] || { record "$v/boot" FAIL "no kernel"; continue; }
	# On the first stack, the patched kernel runs every scenario but the
	# "# matrix-only" ones; the two negative-control kernels, and every
	# kernel on a further stack, run the ones where the override or the
	# stack can make a difference (the controls), unless CHECK_MATRIX=1
	# (make check-matrix) asks for all of them, matrix-only ones included,
	# on every kernel and stack.
	if [ "${CHECK_MATRIX:-0}" = 1 ]; then
		tests=${CHECK_TESTS:-every}
	elif [ -n "${CHECK_TESTS:-}" ] || { [ $var = patched ] && [ $first = 1 ]; }; then
		tests=${CHECK_TESTS:-all}
	else
		tests=$(sed -n 's/^# controls: *//p' "$TOP/tests/expect")
	fi
	stage "boot: $var kernel on $stk, scenarios: $tests"
	if XM2P_STACK=$stk "$TOP/scripts/boot.sh" --name "check-$v" --kernel "$k" --variant $var \
		--tests "$tests" --timeout "${CHECK_BOOT_TIMEOUT:-2400}" "${args[@]}" \
		2>&1 | tee "$out/boot-$v.log"; then
		record "$v/boot" PASS "dom0 booted and reported"
	else
		record "$v/boot" FAIL "$(tail -n 1 "$out/boot-$v.log")"
		continue
	fi
	r=$BUILD/runs/check-$v/results
	cp -a "$r" "$out/results-$v"
	judge_run "$v" "$out/results-$v"
done
first=0
done

if [ "${CHECK_BISECT:-${CHECK_MATRIX:-0}}" = 1 ] && [ -s "$TOP/patches/series" ]; then
	stage "bisect: build every prefix of the series"
	if "$TOP/scripts/bisect-check.sh" > "$out/bisect.log" 2>&1; then
		record bisect-builds PASS "$(tail -n 1 "$out/bisect.log" | sed 's/^==> //')"
	else
		tail -n 20 "$out/bisect.log"; record bisect-builds FAIL "$(tail -n 1 "$out/bisect.log")"
	fi
fi
if [ "${CHECK_DISTRO:-${CHECK_MATRIX:-0}}" = 1 ] && [ -s "$TOP/patches/series" ]; then
	stage "distro: touched directories under Debian's amd64 config, with modules"
	if "$TOP/scripts/distro-build.sh" > "$out/distro.log" 2>&1; then
		record distro-config-build PASS "$(tail -n 1 "$out/distro.log" | sed 's/^==> //')"
	else
		tail -n 20 "$out/distro.log"; record distro-config-build FAIL "$(tail -n 1 "$out/distro.log")"
	fi
fi

if [ "${CHECK_STANDALONE:-${CHECK_MATRIX:-0}}" = 1 ] && [ -s "$TOP/patches/series" ]; then
	stage "standalone: 6.12 plus the first $STANDALONE_FIXES patches, built and booted"
	"$TOP/scripts/standalone-check.sh" > "$out/standalone.log" 2>&1
	s=$BUILD/runs/standalone/results/summary
	if [ -s "$s" ]; then
		while read -r name verdict took rest; do
			[ "$verdict" = PASS ] && v=PASS || v=FAIL
			record "standalone/$name" $v "$took $rest"
		done < "$s"
	else
		tail -n 20 "$out/standalone.log"; record standalone/boot FAIL "$(tail -n 1 "$out/standalone.log")"
	fi
fi

stage "done"
"$TOP/scripts/report.sh" "$out" > "$out/report.md" || true
echo
say "report: build/check/report.md; per-boot results: build/runs/check-*/results/"
awk -F'\t' '$2 == "FAIL" { print "FAILED: " $1 ": " $3 }' "$res"
p=$(awk -F'\t' '$2 == "PASS"' "$res" | wc -l)
f=$(awk -F'\t' '$2 == "FAIL"' "$res" | wc -l)
k=$(awk -F'\t' '$2 == "SKIP"' "$res" | wc -l)
if [ "$k" -gt 0 ]; then echo "$p passed, $f failed, $k skipped"; else echo "$p passed, $f failed"; fi
[ "$f" = 0 ]
