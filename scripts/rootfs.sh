#!/bin/bash
# The dom0 root filesystem: Debian 12 packages only, packed as an uncompressed
# newc cpio (booted as the initramfs, rdinit=/init). Cached outside the
# checkout, keyed by the package list and this script; rebuilt when missing.
# The project's own files (tests/, tools) go into a small overlay cpio that
# scripts/boot.sh appends at every boot, so editing a test never rebuilds this.
. "$(dirname "$0")/common.sh"

PACKAGES=(
	xen-utils-4.17 xenstore-utils qemu-system-xen qemu-utils
	fio e2fsprogs util-linux fdisk procps kmod iproute2 python3
	libaio1 cpio
)
key=$( (printf '%s\n' "${PACKAGES[@]}"; cat "$0") | sha1sum | cut -c1-12)
out=$CACHE/rootfs-$key.cpio
if [ -s "$out" ]; then
	say "dom0 rootfs: cached $(basename "$out") ($(du -h "$out" | cut -f1))"
	ln -sf "$out" "$BUILD/rootfs.cpio"
	exit 0
fi
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run 'make deps'"
dir=$BUILD/rootfs.tmp
rm -rf "$dir"
mkdir -p "$BUILD" "$CACHE"
say "building the dom0 rootfs with mmdebstrap (Debian bookworm, ${#PACKAGES[@]} packages)"
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
	bookworm "$dir" 2>&1 | grep -E '^I: (running|downloading|extracting|installing|cleaning)|^E:' || true
[ -x "$dir/usr/sbin/xl" ] || die "mmdebstrap did not produce a usable rootfs (no xl)"
# Record what the tests ran on.
chroot "$dir" dpkg-query -W -f '${Package} ${Version}\n' \
	xen-utils-4.17 qemu-system-xen qemu-utils fio python3 > "$dir/etc/xen-m2p-versions"
say "packing $(du -sh "$dir" | cut -f1) into $(basename "$out")"
(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc) > "$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$dir"
ln -sf "$out" "$BUILD/rootfs.cpio"
say "dom0 rootfs: $(basename "$out") ($(du -h "$out" | cut -f1))"
