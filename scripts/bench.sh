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
#   BENCH_REPORT_ONLY=1  no boot: report from the existing build/runs/bench-*
. "$(dirname "$0")/common.sh"
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ "${BENCH_REPORT_ONLY:-0}" != 1 ]; then
	"$TOP/scripts/kernel.sh"; "$TOP/scripts/xen.sh"; "$TOP/scripts/rootfs.sh"; "$TOP/scripts/programs.sh"
	# the unpatched base, for the third column (skipped below if it is missing)
	BASELINE=1 "$TOP/scripts/kernel.sh" || say "the unpatched base kernel did not build: its boot is skipped"
fi
"$TOP/scripts/tcg-plugin.sh"
[ -x "$BUILD/dom0-bin/xm2p-mark" ] || die "no build/dom0-bin/xm2p-mark (make programs)"
command -v gnuplot > /dev/null || say "no gnuplot (make deps installs gnuplot-nox): no plots"

patched=$BUILD/kernel/arch/x86/boot/bzImage
base=$BUILD/base/kernel/arch/x86/boot/bzImage
kernels=${BENCH_KERNELS:-patched off base}
append=${BENCH_APPEND:-}
prefix=bench
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	kernels=patched append="xm2p.bench=quick $append" prefix=bench-quick
fi
runs=()
for k in $kernels; do
	case $k in
	patched) name=$prefix; args=(--kernel "$patched" --variant patched) ;;
	off) name=$prefix-off; args=(--kernel "$patched" --variant off); a="xen_m2p_override=off" ;;
	base) name=$prefix-base; args=(--kernel "$base" --variant base) ;;
	*) die "unknown kernel $k (patched, off, base)" ;;
	esac
	[ "$k" = off ] || a=
	if [ "$k" = base ] && [ ! -s "$base" ]; then
		say "no unpatched base kernel at ${base#"$TOP"/} (BASELINE=1 make kernel): its boot is skipped"
		continue
	fi
	if [ "${BENCH_REPORT_ONLY:-0}" != 1 ]; then
		start=$(date +%s)
		nice -n "${BENCH_NICE:-10}" "$TOP/scripts/boot.sh" --name "$name" --tests bench-icount \
			--timeout "${BENCH_TIMEOUT:-5400}" --plugin "$BUILD/tcg/libicount.so" \
			"${args[@]}" --append "$a $append" || die "boot $name failed"
		echo "$k $(( $(date +%s) - start ))" > "$BUILD/runs/$name/bench-walltime"
		r=$BUILD/runs/$name/results
		read -r _ verdict _ < "$r/summary" || verdict=none
		[ "$verdict" = PASS ] || { tail -n 30 "$r/bench-icount.log"; die "bench-icount failed in boot $name"; }
	fi
	runs+=("$k=$BUILD/runs/$name")
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
python3 "$TOP/tools/tcg-icount/bench-report.py" --out "$out" "${fp[@]}" "${runs[@]}"
say "report: ${out#"$TOP"/}/results.md"
