#!/bin/bash
# Boot a Debian 13 ("trixie") stack + a dom0 kernel under QEMU (TCG) and run
# scenarios in dom0: scripts/boot.sh's logic with the stack as a parameter
# (issue 14; what of it goes into boot.sh is in
# tests/findings/debian13-stack-proposed-rig.diff).
#
#   boot-trixie.sh [--stack trixie|bookworm] [--name NAME] [--kernel BZIMAGE]
#                  [--tests "a b c"] [--append WORDS] [--timeout S]
#                  [--cpu QEMU_CPU] [--variant V] [--xen-append WORDS]
#                  [--probe FILE.sh]...  (an extra scenario, copied into the
#                                         overlay only; name it in --tests)
#
# Differences from boot.sh:
# - Xen and the rootfs come from the stack: trixie = build/trixie/{xen/xen.elf,
#   rootfs.cpio} (scripts/stack-trixie.sh), bookworm = build/{xen/xen.elf,rootfs.cpio}.
# - Runs go to build/trixie/runs/NAME (not build/runs: another boot.sh may be
#   running with the same checkout), with the kernel copied there at the start
#   (make kernel may replace build/kernel meanwhile).
# - The overlay's copy of tests/lib.sh (and demo.sh) gets the stack-neutral
#   Xen paths of the proposed rig diff (XENDIR found at run time, pygrub under it); the
#   checkout's tests/ are not modified.
# - The progress lines carry the seconds since QEMU started; the one of
#   "dom0 up" is kept in build/trixie/runs/NAME/timing.
. "$(dirname "$0")/common.sh"

stack=trixie name=trixie-run kernel= tests=kunit append= limit=900 variant=patched
cpu=${XM2P_CPU:-qemu64,+svm,+npt} xen_extra= probes=()
while [ $# -gt 0 ]; do
	case $1 in
	--stack) stack=$2; shift ;;
	--name) name=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--tests) tests=$2; shift ;;
	--append) append=$2; shift ;;
	--timeout) limit=$2; shift ;;
	--variant) variant=$2; shift ;;
	--cpu) cpu=$2; shift ;;
	--xen-append) xen_extra=$2; shift ;;
	--probe) probes+=("$2"); shift ;;
	*) die "unknown option $1" ;;
	esac
	shift
done
case $stack in
trixie) xen=$BUILD/trixie/xen/xen.elf rootfs=$BUILD/trixie/rootfs.cpio
	[ -s "$xen" ] && [ -s "$rootfs" ] || "$TOP/scripts/stack-trixie.sh" ;;
bookworm) xen=$BUILD/xen/xen.elf rootfs=$BUILD/rootfs.cpio
	[ -s "$xen" ] || "$TOP/scripts/xen.sh"; [ -s "$rootfs" ] || "$TOP/scripts/rootfs.sh" ;;
*) die "unknown stack $stack" ;;
esac
[ -n "$kernel" ] || kernel=$BUILD/kernel/arch/x86/boot/bzImage
[ -s "$kernel" ] || die "no kernel at $kernel (make kernel)"

run=$BUILD/trixie/runs/$name
rm -rf "$run" && mkdir -p "$run/results"
cp "$kernel" "$run/bzImage"

# The project's files, appended to the Debian rootfs as a second cpio.
ov=$run/overlay
mkdir -p "$ov/xen-m2p/bin"
cp -a "$TOP/tests" "$ov/xen-m2p/"
for p in "${probes[@]}"; do cp "$p" "$ov/xen-m2p/tests/scenarios/"; done
# the proposed rig diff, tests/lib.sh and tests/demo.sh: no Xen version in the paths.
sed -i -e 's|^XENDIR=/usr/lib/xen-4\.17/bin$|XENDIR=$(ls -d /usr/lib/xen-[0-9]*/bin 2>/dev/null \| sort -V \| tail -n 1)|' \
	-e 's|/usr/lib/xen-4\.17/bin/pygrub|$XENDIR/pygrub|' "$ov/xen-m2p/tests/lib.sh"
sed -i -e 's|/usr/lib/xen-4\.17/bin/pygrub|$XENDIR/pygrub|' "$ov/xen-m2p/tests/demo.sh"
! grep -n 'xen-4\.17' "$ov/xen-m2p/tests/lib.sh" "$ov/xen-m2p/tests/demo.sh" || die "tests/lib.sh changed: update the overlay edit"
cp "$TOP/tests/dom0/init" "$ov/init"
[ -d "$BUILD/dom0-bin" ] && cp -a "$BUILD/dom0-bin/." "$ov/xen-m2p/bin/"
(cd "$ov" && find . -mindepth 1 | cpio --quiet -o -H newc) > "$run/overlay.cpio"
cat "$rootfs" "$run/overlay.cpio" > "$run/initrd.cpio"
rm -rf "$ov" "$run/overlay.cpio"

truncate -s 0 "$run/results.img" && truncate -s 256M "$run/results.img"
truncate -s 0 "$run/scratch.img" && truncate -s 8G "$run/scratch.img"

tests=$(echo "$tests" | tr ' ' ':')
xen_cmd="console=com1 com1=115200,8n1 dom0_mem=2048M,max:2048M dom0_max_vcpus=2 loglvl=all guest_loglvl=all $xen_extra"
dom0_cmd="console=hvc0 earlyprintk=xen rdinit=/init panic=5 log_buf_len=8M xm2p.tests=$tests xm2p.variant=$variant $append"
say "booting $stack: $(basename "$xen") + dom0 [$name] cpu $cpu: tests ${tests//:/ }; console: ${run#"$TOP"/}/console.log, limit ${limit}s"
start=$(date +%s)
timeout -k 10 "$limit" qemu-system-x86_64 -accel tcg -cpu "$cpu" -m 3072 -smp 2 \
	-display none -monitor none -nic none -no-reboot -serial "file:$run/console.log" \
	-kernel "$xen" -append "$xen_cmd" \
	-initrd "$run/bzImage ${dom0_cmd//,/,,},$run/initrd.cpio" \
	-drive "file=$run/results.img,if=virtio,format=raw" \
	-drive "file=$run/scratch.img,if=virtio,format=raw,cache=unsafe" &
qpid=$!
python3 "$TOP/scripts/follow.py" "$run/console.log" $qpid | while IFS= read -r l; do
	t=$(( $(date +%s) - start ))
	case $l in *"dom0 up:"*) echo "dom0-up ${t}s" >> "$run/timing" ;; esac
	printf '  [%4ss]%s\n' "$t" "$l"
done &
tpid=$!
rc=0
wait $qpid || rc=$?
wait $tpid 2>/dev/null || true
took=$(( $(date +%s) - start ))
echo "total ${took}s rc=$rc" >> "$run/timing"
rm -f "$run/initrd.cpio" "$run/scratch.img"
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
[ -s "$run/results/summary" ] && cat "$run/results/summary"
exit 0
