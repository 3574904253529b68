#!/bin/bash
# make bench: instructions per I/O, counted by QEMU's TCG with the plugin
# tools/tcg-icount, for every block path, on three kernels: the patched
# kernel, the patched kernel with xen_m2p_override=off, the unpatched base.
# Each boot runs tests/bench-icount.sh in dom0; tools/tcg-icount/bench-report.py
# joins its measurements with the plugin's marker lines and writes
# bench/results.md and one plot per workload, bench/icount-<workload>.png.
#
# Environment:
#   BENCH_NO_BUILD=1   do not run kernel.sh, xen.sh, rootfs.sh, programs.sh
#                      (use what build/ has; the plugin is still built)
#   BENCH_QUICK=1      one boot (patched), one workload, two paths, 1 run;
#                      report in build/runs/bench-quick/results.md only
#   BENCH_KERNELS="patched off base"   which boots (default all three)
#   BENCH_APPEND="..." more dom0 command-line words (xm2p.bench_runs=N,
#                      xm2p.bench_paths=a,b, ...: see tests/bench-icount.sh)
#   BENCH_TIMEOUT=S    per boot (default 5400 s)
#   BENCH_KERNEL=F     the patched bzImage to boot (default build/kernel's)
#   BENCH_JOBS=N       boots run at once (default: the host's CPUs, at most 3)
#   BENCH_REPORT_ONLY=1  no boot: report from the existing build/runs/bench-*
#   BENCH_MORE="KERNEL=build/runs/NAME[:path,...] ..."  more boots to report: e.g. a
#                      boot of some paths only (BENCH_APPEND=xm2p.bench_paths=..
#                      run by hand with the same boot.sh options); their
#                      rows replace the main boot's of the same path
#
# QEMU runs with -icount shift=0,sleep=off and one vCPU (boot.sh --icount 0
# --smp 1): the machine's clocks advance by one nanosecond per executed
# instruction, not with the host's time, and one vCPU means no cross-CPU
# spinning. What the plugin counts then does not depend on how fast or how
# loaded the host is, so the boots run side by side, one host CPU each.
. "$(dirname "$0")/common.sh"
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ "${BENCH_REPORT_ONLY:-0}" != 1 ]; then
	"$TOP/scripts/kernel.sh"; "$TOP/scripts/xen.sh"; "$TOP/scripts/rootfs.sh"; "$TOP/scripts/programs.sh"
	# the unpatched base, for the third column (skipped below if it is missing)
	BASELINE=1 "$TOP/scripts/kernel.sh" || say "the unpatched base kernel did not build: its boot is skipped"
fi
"$TOP/scripts/tcg-plugin.sh"
[ -x "$BUILD/dom0-bin/xm2p-mark" ] || die "no build/dom0-bin/xm2p-mark (make programs)"
command -v gnuplot > /dev/null || say "no gnuplot (make deps installs gnuplot-nox): no plots"

# The kernels the boots run, dom0's and the guest's, are copied first, so
# that a rebuild meanwhile (make kernel, make check) cannot mix builds.
snap=$BUILD/bench-kernels
mkdir -p "$snap"
patched=$snap/patched-bzImage base=$snap/base-bzImage guest=$snap/guest-bzImage
if [ "${BENCH_REPORT_ONLY:-0}" != 1 ]; then
	cp "${BENCH_KERNEL:-$BUILD/kernel/arch/x86/boot/bzImage}" "$patched"
	cp "$BUILD/dom0-bin/guest-kernel" "$guest"
	rm -f "$base"
	[ -s "$BUILD/base/kernel/arch/x86/boot/bzImage" ] && cp "$BUILD/base/kernel/arch/x86/boot/bzImage" "$base"
fi
kernels=${BENCH_KERNELS:-patched off base}
append=${BENCH_APPEND:-}
prefix=bench
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	kernels=patched append="xm2p.bench=quick $append" prefix=bench-quick
fi
qemu_opts="--icount 0 --smp 1" qemu_desc="-icount shift=0,sleep=off -smp 1"   # what boot.sh makes of them
jobs=${BENCH_JOBS:-$(nproc)}
[ "$jobs" -le 3 ] || jobs=3
runs=() names=() pids=()
for k in $kernels; do
	case $k in
	patched) name=$prefix; args=(--kernel "$patched" --variant patched) ;;
	off) name=$prefix-off; args=(--kernel "$patched" --variant off); a="xen_m2p_override=off" ;;
	base) name=$prefix-base; args=(--kernel "$base" --variant base) ;;
	*) die "unknown kernel $k (patched, off, base)" ;;
	esac
	[ "$k" = off ] || a=
	# Lockdep's dependency validation off from boot in every variant: the
	# base reports patch 1's gntdev lock inversion at its first gntdev map
	# (on Debian 13, dom0's QEMU at boot, before any test runs) and then
	# switches lockdep off for good, which would make its kernel several
	# times cheaper than the others'. All keep lockdep's bookkeeping.
	a="lockdep.prove_locking=0 $a"
	if [ "$k" = base ] && [ ! -s "$base" ]; then
		say "no unpatched base kernel at build/base/kernel/arch/x86/boot/bzImage (BASELINE=1 make kernel): its boot is skipped"
		continue
	fi
	runs+=("$k=$BUILD/runs/$name") names+=("$name")
	[ "${BENCH_REPORT_ONLY:-0}" != 1 ] || continue
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 5; done
	(
		start=$(date +%s)
		# shellcheck disable=SC2086 # $qemu_opts: words
		"$TOP/scripts/boot.sh" --name "$name" --tests bench-icount \
			--timeout "${BENCH_TIMEOUT:-5400}" --plugin "$BUILD/tcg/libicount.so" \
			$qemu_opts --guest-kernel "$guest" \
			"${args[@]}" --append "$a $append" > "$BUILD/logs/$name.log" 2>&1 ||
			{ tail -n 30 "$BUILD/logs/$name.log"; die "boot $name failed (log: build/logs/$name.log)"; }
		echo "$k $(( $(date +%s) - start ))" > "$BUILD/runs/$name/bench-walltime"
		{
			echo "kernel $(md5sum < "${args[1]}" | cut -d' ' -f1) ${args[1]#"$TOP"/}"
			echo "guest-kernel $(md5sum < "$guest" | cut -d' ' -f1) ${guest#"$TOP"/}"
			echo "host-load $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, at the end)"
		} > "$BUILD/runs/$name/bench-info"
		say "boot $name done in $(( $(date +%s) - start )) s"
	) &
	pids+=($!)
	say "boot $name started (log: build/logs/$name.log)"
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || die "a benchmark boot failed"
for name in "${names[@]}"; do
	r=$BUILD/runs/$name/results
	read -r _ verdict _ < "$r/summary" || verdict=none
	[ "$verdict" = PASS ] || { tail -n 30 "$r/bench-icount.log"; die "bench-icount failed in boot $name"; }
done
[ ${#runs[@]} -gt 0 ] || die "no boot to report"

fp=()
if [ -s "$BUILD/kernel/vmlinux" ] && [ -s "$BUILD/base/kernel/vmlinux" ]; then
	fp=(--vmlinux "patched=$BUILD/kernel/vmlinux" --vmlinux "base=$BUILD/base/kernel/vmlinux")
fi
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	out=$BUILD/runs/bench-quick
else
	out=$TOP/bench
	mkdir -p "$out"
fi
for m in ${BENCH_MORE:-}; do
	d=${m#*=} && d=${d%%:*}
	case $m in patched=* | off=* | base=*) [ -s "$TOP/$d/icount.txt" ] || [ -s "$d/icount.txt" ] || die "BENCH_MORE: no $d/icount.txt" ;;
	*) die "BENCH_MORE wants KERNEL=RUNDIR[:path,...] words, not '$m'" ;; esac
	case $d in /*) runs+=("$m") ;; *) runs+=("${m%%=*}=$TOP/${m#*=}") ;; esac
done
python3 "$TOP/tools/tcg-icount/bench-report.py" --out "$out" --qemu "$qemu_desc" \
	"${fp[@]}" "${runs[@]}"
say "report: ${out#"$TOP"/}/results.md"
