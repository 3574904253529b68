#!/bin/bash
# Boot Xen + a dom0 kernel under QEMU (TCG) and run scenarios in dom0. The
# hypervisor and the dom0 rootfs are those of XM2P_STACK (scripts/common.sh:
# trixie = Debian 13, Xen 4.20, the default; bookworm = Debian 12, Xen 4.17),
# fetched and built by scripts/xen.sh and scripts/rootfs.sh when missing; the
# stack is recorded in results/versions. Both stacks boot with the same --cpu.
#
#   boot.sh [--name NAME] [--kernel BZIMAGE] [--tests "a b c"|all|kunit]
#           [--append "dom0 cmdline words"] [--timeout SECONDS]
#           [--cpu QEMU_CPU]   (default qemu64,+svm,+npt: SVM with nested
#                               paging lets Xen run PVH guests under TCG;
#                               Debian's Xen has no shadow paging, so +svm
#                               alone is not enough; XM2P_CPU overrides)
#           [--plugin SO[,ARGS]] (a TCG plugin, e.g. build/tcg/libicount.so;
#                               ",out=FILE" defaults to build/runs/NAME/icount.txt)
#           [--icount SHIFT]   (QEMU -icount shift=SHIFT,sleep=off: the
#                               guests' clocks advance by 2^SHIFT ns per
#                               executed instruction, not with the host's
#                               time; single-threaded TCG; for make bench)
#           [--smp N]          (vCPUs of the machine and of dom0, default 2)
#           [--guest-kernel F] (the bzImage scenarios boot as a domU,
#                               default build/dom0-bin/guest-kernel)
#
# The console (Xen on com1, dom0 on hvc0) goes to build/runs/NAME/console.log;
# lines starting "XM2P:" are echoed here as progress. Results come back on a
# raw results disk (tar, written by dom0 at the end) unpacked into
# build/runs/NAME/results/: summary (one line per scenario), per-scenario
# logs, dmesg, KUnit TAP from debugfs. Exit 0 only if dom0 wrote its results
# and nothing in summary failed; on timeout or crash, prints the console tail.
. "$(dirname "$0")/common.sh"

name=run kernel= tests=kunit append= limit=900 variant=patched cpu=${XM2P_CPU:-qemu64,+svm,+npt} plugin=
icount= smp=2 guest_kernel=
while [ $# -gt 0 ]; do
	case $1 in
	--name) name=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--tests) tests=$2; shift ;;
	--append) append=$2; shift ;;
	--timeout) limit=$2; shift ;;
	--variant) variant=$2; shift ;;
	--cpu) cpu=$2; shift ;;
	--plugin) plugin=$2; shift ;;
	--icount) icount=$2; shift ;;
	--smp) smp=$2; shift ;;
	--guest-kernel) guest_kernel=$2; shift ;;
	*) die "unknown option $1" ;;
	esac
	shift
done
[ -n "$kernel" ] || kernel=$BUILD/kernel/arch/x86/boot/bzImage
[ -s "$kernel" ] || die "no kernel at $kernel (make kernel)"
[ -s "$XEN_ELF" ] || "$TOP/scripts/xen.sh"
[ -s "$ROOTFS" ] || "$TOP/scripts/rootfs.sh"
case $smp in [1-9]) ;; *) die "--smp wants 1 to 9 vCPUs, not '$smp'" ;; esac
case $icount in '' | [0-9]) ;; *) die "--icount wants a shift of 0 to 9, not '$icount'" ;; esac
[ -z "$guest_kernel" ] || [ -s "$guest_kernel" ] || die "no guest kernel at $guest_kernel"

run=$BUILD/runs/$name
rm -rf "$run" && mkdir -p "$run/results"

# The project's files, appended to the Debian rootfs as a second cpio.
ov=$run/overlay
mkdir -p "$ov/xen-m2p/bin"
cp -a "$TOP/tests" "$ov/xen-m2p/"
cp "$TOP/tests/dom0/init" "$ov/init"
[ -d "$BUILD/dom0-bin" ] && cp -a "$BUILD/dom0-bin/." "$ov/xen-m2p/bin/"
[ -z "$guest_kernel" ] || cp "$guest_kernel" "$ov/xen-m2p/bin/guest-kernel"
(cd "$ov" && find . -mindepth 1 | cpio --quiet -o -H newc) > "$run/overlay.cpio"
cat "$ROOTFS" "$run/overlay.cpio" > "$BUILD/initrd-$name.cpio"
rm -rf "$ov"

truncate -s 0 "$run/results.img" && truncate -s 256M "$run/results.img"
truncate -s 0 "$BUILD/scratch-$name.img" && truncate -s 8G "$BUILD/scratch-$name.img"

tests=$(echo "$tests" | tr ' ' ':')
xen_cmd="console=com1 com1=115200,8n1 dom0_mem=2048M,max:2048M dom0_max_vcpus=$smp loglvl=all guest_loglvl=all"
# QEMU separates multiboot modules with ',' ("a,,b" for a literal comma).
dom0_cmd="console=hvc0 earlyprintk=xen rdinit=/init panic=5 log_buf_len=8M xm2p.tests=$tests xm2p.variant=$variant xm2p.stack=$XM2P_STACK $append"
say "booting Xen $XEN_VER ($XM2P_STACK) + dom0 ($(basename "$(dirname "$(dirname "$(dirname "$(dirname "$kernel")")")")")) [$name]: tests ${tests//:/ }; console: ${run#"$TOP"/}/console.log, limit ${limit}s"
start=$(date +%s)
qemu_extra=()
if [ -n "$plugin" ]; then
	case $plugin in *out=*) ;; *) plugin="$plugin,out=$run/icount.txt" ;; esac
	qemu_extra=(-plugin "$plugin")
fi
[ -z "$icount" ] || qemu_extra+=(-icount "shift=$icount,sleep=off")
timeout -k 10 "$limit" qemu-system-x86_64 -accel tcg -cpu "$cpu" "${qemu_extra[@]}" -m 3072 -smp "$smp" \
	-display none -monitor none -nic none -no-reboot -serial "file:$run/console.log" \
	-kernel "$XEN_ELF" -append "$xen_cmd" \
	-initrd "$kernel ${dom0_cmd//,/,,},$BUILD/initrd-$name.cpio" \
	-drive "file=$run/results.img,if=virtio,format=raw" \
	-drive "file=$BUILD/scratch-$name.img,if=virtio,format=raw,cache=unsafe" &
qpid=$!
# Progress: follow the console for the init's XM2P: lines.
python3 "$TOP/scripts/follow.py" "$run/console.log" $qpid &
tpid=$!
rc=0
wait $qpid || rc=$?     # set -e must not end us here: a timeout is reported below
wait $tpid 2>/dev/null || true
took=$(( $(date +%s) - start ))
rm -f "$BUILD/initrd-$name.cpio" "$BUILD/scratch-$name.img"
tr -d '\r' < "$run/console.log" > "$run/console.txt"

tar -xf "$run/results.img" -C "$run/results" 2>/dev/null || true
if [ ! -e "$run/results/summary" ] && [ ! -e "$run/results/dmesg.txt" ]; then
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then why="timed out after ${limit}s"; else why="QEMU exited ($rc) without results"; fi
	echo "---- last 60 lines of ${run#"$TOP"/}/console.txt ----"
	tail -n 60 "$run/console.txt"
	echo "----"
	die "boot [$name] $why; full console log: ${run#"$TOP"/}/console.txt"
fi
say "boot [$name] finished in ${took}s"
exit 0
