#!/bin/bash
# The project's programs that run in dom0, built on the host (Debian 12, the
# same release as the dom0 rootfs) into build/dom0-bin/:
#  - the kselftest of the series, tools/testing/selftests/xen/ in build/linux
#    (absent on a series that does not carry it yet);
#  - tools/xen-mapblk, the mapping userspace block backend;
#  - tools/tcg-icount/xm2p-mark, the benchmark's marker program.
. "$(dirname "$0")/common.sh"
bin=$BUILD/dom0-bin
mkdir -p "$bin"
built=()
st=${SELFTEST_SRC:-$TREE/tools/testing/selftests/xen}
if [ -d "$st" ]; then
	say "building the xen kselftest (${st#"$TOP"/})"
	hdr=$BUILD/uapi-headers
	make -s -C "$TREE" O="$hdr" ARCH=x86 headers > "$BUILD/logs/headers.log" 2>&1 ||
		{ cat "$BUILD/logs/headers.log"; die "make headers failed"; }
	mkdir -p "$bin/selftests"
	for c in "$st"/*.c; do
		gcc -O2 -Wall -Wextra -Werror -static -isystem "$hdr/usr/include" \
			-I"$TREE/tools/testing/selftests" "$c" -o "$bin/selftests/$(basename "$c" .c)" ||
			die "selftest $(basename "$c") does not build"
	done
	built+=(selftests)
fi
if [ -f "$TOP/tools/xen-mapblk/Makefile" ]; then
	say "building tools/xen-mapblk"
	make -s -C "$TOP/tools/xen-mapblk" || die "xen-mapblk build failed"
	cp "$TOP/tools/xen-mapblk/xen-mapblk" "$TOP/tools/xen-mapblk/blkif-fuzz" "$bin/"
	built+=(xen-mapblk)
fi
# tools/tcg-icount's marker program, for the instruction-count benchmark
# (tests/bench-icount.sh): static, so it also runs from a guest's initramfs.
gcc -O2 -Wall -Wextra -Werror -static -I"$TOP/tools/tcg-icount" "$TOP/tools/tcg-icount/xm2p-mark.c" \
	-o "$bin/xm2p-mark" || die "xm2p-mark does not build"
built+=(xm2p-mark)
# A PV guest for the pygrub-guest scenario: this project's kernel (it boots
# as a PV domU too) and a static /init that prints a marker and powers off.
gcc -O2 -Wall -Wextra -Werror -static "$TOP/tools/guest-init/guest-init.c" -o "$bin/guest-init" ||
	die "guest-init does not build"
built+=(guest-init)
if [ -s "$BUILD/kernel/arch/x86/boot/bzImage" ]; then
	cp "$BUILD/kernel/arch/x86/boot/bzImage" "$bin/guest-kernel"
	built+=(guest-kernel)
fi
say "dom0 programs: ${built[*]:-none}"
