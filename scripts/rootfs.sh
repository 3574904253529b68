#!/bin/bash
# The dom0 root filesystem: Debian packages of the stack only (XM2P_STACK:
# bookworm = Debian 12, trixie = Debian 13), packed as an uncompressed newc
# cpio (booted as the initramfs, rdinit=/init). Cached outside the checkout,
# keyed by the stack, its sources, the package list and this script; rebuilt
# when missing. trixie comes from the archives the machine's apt sources name
# for bookworm (scripts/common.sh stack_sources), given to mmdebstrap on
# stdin: the machine's apt configuration is not touched.
# The project's own files (tests/, tools) go into a small overlay cpio that
# scripts/boot.sh appends at every boot, so editing a test never rebuilds this.
. "$(dirname "$0")/common.sh"

libaio=libaio1
[ "$XM2P_STACK" = bookworm ] || libaio=libaio1t64	# Debian 13's 64-bit time_t rename
PACKAGES=(
	"xen-utils-$XEN_VER" xenstore-utils qemu-system-xen qemu-utils
	fio e2fsprogs util-linux fdisk procps kmod iproute2 python3
	"$libaio" cpio
)
# bookworm: mmdebstrap's own sources (the suite, -updates, -security);
# trixie: the same archives' trixie suites, on stdin.
mirror=() sources=
if [ "$XM2P_STACK" != bookworm ]; then mirror=(-) sources=$(stack_sources); fi
key=$( (echo "$XM2P_STACK"; echo "$sources"; printf '%s\n' "${PACKAGES[@]}"; cat "$0") | sha1sum | cut -c1-12)
out=$CACHE/rootfs-$XM2P_STACK-$key.cpio
mkdir -p "$STACK_DIR" "$CACHE"
if [ -s "$out" ]; then
	say "dom0 rootfs ($XM2P_STACK): cached $(basename "$out") ($(du -h "$out" | cut -f1))"
	ln -sf "$out" "$ROOTFS"
	exit 0
fi
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run 'make deps'"
dir=$STACK_DIR/rootfs.tmp
rm -rf "$dir"
t0=$(date +%s)
say "building the dom0 rootfs with mmdebstrap (Debian $XM2P_STACK, ${#PACKAGES[@]} packages)"
pkgs=$(IFS=,; echo "${PACKAGES[*]}")
mmdebstrap --variant=minbase --mode=root --include="$pkgs" \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--customize-hook='echo dom0 > "$1/etc/hostname"' \
	--customize-hook='ln -sf /proc/mounts "$1/etc/mtab"' \
	--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
	"$XM2P_STACK" "$dir" "${mirror[@]}" < <(echo "$sources") 2>&1 | tee "$STACK_DIR/mmdebstrap.log" |
	grep -E '^I: (running|downloading|extracting|installing|cleaning)|^E:' || true
[ -x "$dir/usr/sbin/xl" ] || die "mmdebstrap did not produce a usable rootfs (no xl; ${STACK_DIR#"$TOP"/}/mmdebstrap.log)"
# Record what the tests ran on (results/versions of every boot).
{
	echo "stack $XM2P_STACK"
	chroot "$dir" dpkg-query -W -f '${Package} ${Version}\n' \
		"xen-utils-$XEN_VER" qemu-system-xen qemu-utils fio python3
} > "$dir/etc/xen-m2p-versions"
say "packing $(du -sh "$dir" | cut -f1) into $(basename "$out")"
(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc) > "$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$dir"
ln -sf "$out" "$ROOTFS"
say "dom0 rootfs ($XM2P_STACK): $(basename "$out") ($(du -h "$out" | cut -f1)) in $(( $(date +%s) - t0 ))s"
