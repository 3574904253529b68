#!/bin/bash
# The project's programs that run in dom0, built on the host (Debian 12, the
# same release as the dom0 rootfs) into build/dom0-bin/:
#  - the kselftest of the series, tools/testing/selftests/xen/ in build/linux
#    (absent on a series that does not carry it yet);
#  - tools/xen-mapblk, the mapping userspace block backend.
. "$(dirname "$0")/common.sh"
bin=$BUILD/dom0-bin
mkdir -p "$bin"
built=()
st=$TREE/tools/testing/selftests/xen
if [ -d "$st" ]; then
	say "building the xen kselftest from build/linux/tools/testing/selftests/xen"
	make -s -C "$st" OUTPUT="$bin/selftests" KHDR_INCLUDES="-I$TREE/usr/include -I$TREE/include/uapi" \
		CFLAGS="-O2 -Wall -Wextra -static -I$TREE/include/uapi -I$TREE/tools/testing/selftests" \
		> "$BUILD/logs/selftests.log" 2>&1 || { cat "$BUILD/logs/selftests.log"; die "selftest build failed"; }
	built+=(selftests)
fi
if [ -f "$TOP/tools/xen-mapblk/Makefile" ]; then
	say "building tools/xen-mapblk"
	make -s -C "$TOP/tools/xen-mapblk" OUT="$bin" || die "xen-mapblk build failed"
	built+=(xen-mapblk)
fi
say "dom0 programs: ${built[*]:-none}"
