#!/bin/bash
# Self-test of the icount TCG plugin: boots the dom0 kernel bare (no Xen)
# under TCG with marker-test as /init of an initramfs, and checks the counts
# between its markers against the instructions it is known to execute.
#   tools/tcg-icount/selftest.sh [--bench]
# --bench also boots the same without the plugin and prints the slowdown.
# KERNEL=bzImage (default build/kernel's), SMP=vCPUs (default 1), N, M, K: the
# loop and syscall counts of marker-test (1000000, 250000, 1000).
# Last line: "N passed, N failed"; exit 0 when all passed.
. "$(dirname "$0")/../../scripts/common.sh"

KERNEL=${KERNEL:-$BUILD/kernel/arch/x86/boot/bzImage}
SMP=${SMP:-1}
N=${N:-1000000} M=${M:-250000} K=${K:-1000}
bench=0
[ "${1:-}" = --bench ] && bench=1
[ -s "$KERNEL" ] || die "no kernel $KERNEL (make kernel, or KERNEL=...)"
so=$BUILD/tcg/libicount.so
if ! make -s -C "$TOP/tools/tcg-icount" O="$BUILD/tcg" 2>/dev/null || [ ! -s "$so" ]; then
	"$TOP/scripts/tcg-plugin.sh"
fi
w=$BUILD/tcg/selftest
rm -rf "$w"
mkdir -p "$w/root"
gcc -O2 -Wall -Wextra -Werror -static -DN_LOOP="$N" -DM_LOOP="$M" -DK_SYSCALL="$K" \
	"$TOP/tools/tcg-icount/marker-test.c" -o "$w/root/init" || die "marker-test does not build"
(cd "$w/root" && echo init | cpio --quiet -o -H newc) > "$w/initramfs.cpio"

# $1: log name; the rest: extra QEMU arguments.  Prints the wall seconds.
boot() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	timeout -k 5 120 qemu-system-x86_64 -accel tcg -cpu qemu64 -m 256 -smp "$SMP" \
		-nographic -no-reboot -kernel "$KERNEL" -initrd "$w/initramfs.cpio" \
		-append "console=ttyS0 rdinit=/init panic=1 quiet" "$@" \
		< /dev/null > "$w/$name.log" 2>&1 || true
	t1=$(date +%s.%N)
	grep -q 'marker-test: done' "$w/$name.log" ||
		{ tail -n 20 "$w/$name.log" >&2; die "$name boot: marker-test did not run"; }
	echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }'
}

say "booting ${KERNEL#"$TOP"/} bare with marker-test as /init, plugin loaded (-smp $SMP)"
t_plugin=$(boot plugin -plugin "$so,out=$w/icount.out")

# "cmd.label field value" for the executing vCPU's own line of each marker.
awk '/^(start|stop|sample) / { key = $1 "." $2; who = $3; next }
     /^vcpu / && key != "" && $2 == who {
	print key, "xen", $3; print key, "kernel", $4; print key, "user", $5
	print key, "hypercalls", $6; print key, "syscalls", $7; key = ""
     }
     /^exit / { print "exit xen", $4; print "exit kernel", $5; print "exit user", $6 }' \
	"$w/icount.out" > "$w/values"
val() { awk -v k="$1" -v f="$2" '$1 == k && $2 == f { print $3; f = "" }' "$w/values"; }

pass=0 fail=0
# $1 what, $2 measured, $3 op (eq, gt), $4 expected
check() {
	local ok=0
	case $3 in
	eq) [ "$2" = "$4" ] && ok=1 ;;
	gt) [ -n "$2" ] && [ "$2" -gt "$4" ] && ok=1 ;;
	esac
	if [ $ok = 1 ]; then
		pass=$((pass + 1))
		printf 'ok    %-44s %s (%s %s)\n' "$1" "$2" "$3" "$4"
	else
		fail=$((fail + 1))
		printf 'FAIL  %-44s %s (expected %s %s)\n' "$1" "${2:-missing}" "$3" "$4"
	fi
}
delta() { # key1 key2 field
	local a b
	a=$(val "$1" "$3") b=$(val "$2" "$3")
	[ -n "$a" ] && [ -n "$b" ] && echo $((b - a))
}
check "label 1 user, start->sample (1+4N+1)" "$(delta start.1 sample.1 user)" eq $((4 * N + 2))
check "label 1 user, sample->stop (1+4M+1)" "$(delta sample.1 stop.1 user)" eq $((4 * M + 2))
check "label 1 xen, start->stop" "$(delta start.1 stop.1 xen)" eq 0
check "label 2 user, XM2P_MARK start->stop" "$(delta start.2 stop.2 user)" eq 1
check "label 3 user, start->stop (1+4K+1)" "$(delta start.3 stop.3 user)" eq $((4 * K + 2))
check "label 3 user syscalls (K)" "$(delta start.3 stop.3 syscalls)" eq "$K"
check "label 3 kernel syscalls (hypercalls, bare)" "$(delta start.3 stop.3 hypercalls)" eq 0
check "label 3 kernel insns (K getpid)" "$(delta start.3 stop.3 kernel)" gt "$K"
check "exit xen (bare kernel: none)" "$(val exit xen)" eq 0
check "exit kernel" "$(val exit kernel)" gt 0
check "exit user >= stop.3 user" "$(val exit user)" gt $(($(val stop.3 user) - 1))
say "counts: ${w#"$TOP"/}/icount.out"

if [ $bench = 1 ]; then
	say "booting the same without the plugin"
	t_bare=$(boot bare)
	say "wall time: with plugin ${t_plugin}s, without ${t_bare}s, ratio $(echo "$t_plugin $t_bare" | awk '{ printf "%.2f", $1 / $2 }')"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
