#!/bin/bash
# The Debian 13 "trixie" stack (issue 14), beside the Debian 12 one:
#   build/trixie/xen/xen.elf    Xen 4.20 from trixie's xen-hypervisor-4.20-amd64
#   build/trixie/rootfs.cpio    dom0 rootfs: mmdebstrap of trixie (xen-utils-4.20,
#                               QEMU 10's qemu-system-xen, ...), cached in
#                               $CACHE/rootfs-trixie-<hash>.cpio like rootfs.sh
#   stack-trixie.sh [xen|rootfs|all]   (default all)
# The archive is the one this machine's apt sources name for bookworm (the
# trixie suite of the same mirror); the hypervisor .deb is fetched with apt in
# a private directory ($CACHE/apt-trixie: own sources list, lists and cache);
# the machine's apt configuration is not touched.
. "$(dirname "$0")/common.sh"

SUITE=trixie
XEN_VER=4.20
OUT=$BUILD/$SUITE
PACKAGES=(
	xen-utils-$XEN_VER xenstore-utils qemu-system-xen qemu-utils
	fio e2fsprogs util-linux fdisk procps kmod iproute2 python3
	libaio1t64 cpio
)

# The Debian archives of the machine's apt sources (deb822 or one-line): the
# URI that serves bookworm ($1 = bookworm) or bookworm-security ($1 =
# bookworm-security); deb.debian.org when none is found. XM2P_MIRROR and
# XM2P_SECURITY_MIRROR override.
debian_mirror() {
	local m
	m=$(awk -v want="$1" 'BEGIN { IGNORECASE = 1 }
		function hit() { return u && (" " s " ") ~ (" " want " ") }
		/^[ \t]*$/ { if (hit()) { print u; exit } u = s = ""; next }
		/^URIs:/ { sub(/^[^:]*:[ \t]*/, ""); split($0, a, /[ \t]+/); u = a[1] }
		/^Suites:/ { sub(/^[^:]*:[ \t]*/, ""); s = $0 }
		END { if (hit()) print u }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	[ -n "$m" ] || m=$(awk -v want="$1" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i ~ /^(https?|file):/ && $(i + 1) == want) { print $i; exit } }' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
	echo "$m"
}
MIRROR=${XM2P_MIRROR:-$(debian_mirror bookworm)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${XM2P_SECURITY_MIRROR:-$(debian_mirror bookworm-security)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# What mmdebstrap puts into a stable release's sources.list by itself.
SOURCES="deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main"

# apt-get in a private directory, trixie only.
APTDIR=$CACHE/apt-$SUITE
tapt() {
	apt-get -q -o Dir::Etc::sourcelist="$APTDIR/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache" \
		-o Dir::State::status=/dev/null -o APT::Architecture=amd64 "$@"
}
fetch_trixie_deb() { # $1 = package; prints the path of the cached .deb
	local deb
	mkdir -p "$CACHE/debs-$SUITE" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
	deb=$(ls "$CACHE/debs-$SUITE/$1"_*.deb 2>/dev/null | tail -n1 || true)
	if [ -z "$deb" ]; then
		echo "$SOURCES" > "$APTDIR/sources.list"
		say "apt update ($SUITE from $MIRROR, private lists in $APTDIR)" >&2
		tapt update >&2 || die "apt-get update of $SUITE failed"
		(cd "$CACHE/debs-$SUITE" && tapt download "$1" 2>&1 | grep -v '^W: Download is performed unsandboxed') >&2 ||
			die "apt-get download $1 ($SUITE) failed"
		deb=$(ls "$CACHE/debs-$SUITE/$1"_*.deb | tail -n1)
	fi
	printf '%s\n' "$deb"
}

do_xen() {
	local out=$OUT/xen/xen.elf deb
	[ -s "$out" ] && { say "xen ($SUITE): $(cat "$OUT/xen/version")"; return 0; }
	deb=$(fetch_trixie_deb "xen-hypervisor-$XEN_VER-amd64")
	mkdir -p "$OUT/xen"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards "./boot/xen-$XEN_VER-amd64.gz" | gunzip > "$out.tmp"
	mv "$out.tmp" "$out"
	echo "xen-hypervisor-$XEN_VER-amd64 $(dpkg-deb -f "$deb" Version)" > "$OUT/xen/version"
	say "xen ($SUITE): $(cat "$OUT/xen/version") -> ${out#"$TOP"/}"
}

do_rootfs() {
	local key out dir pkgs t0
	key=$( (echo "$SOURCES"; printf '%s\n' "${PACKAGES[@]}"; cat "$0") | sha1sum | cut -c1-12)
	out=$CACHE/rootfs-$SUITE-$key.cpio
	mkdir -p "$OUT"
	if [ -s "$out" ]; then
		say "dom0 rootfs ($SUITE): cached $(basename "$out") ($(du -h "$out" | cut -f1))"
		ln -sf "$out" "$OUT/rootfs.cpio"
		return 0
	fi
	command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run 'make deps'"
	dir=$OUT/rootfs.tmp
	rm -rf "$dir"
	mkdir -p "$CACHE"
	t0=$(date +%s)
	say "building the dom0 rootfs with mmdebstrap (Debian $SUITE from $MIRROR + $SUITE-updates + $SUITE-security, ${#PACKAGES[@]} packages)"
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
		"$SUITE" "$dir" - <<< "$SOURCES" 2>&1 |
		tee "$OUT/mmdebstrap.log" | grep -E '^I: (running|downloading|extracting|installing|cleaning)|^E:' || true
	[ -x "$dir/usr/sbin/xl" ] || die "mmdebstrap did not produce a usable rootfs (no xl; $OUT/mmdebstrap.log)"
	# Record what the tests ran on, and which xenstored the packages ship.
	{
		chroot "$dir" dpkg-query -W -f '${Package} ${Version}\n' \
			"xen-utils-$XEN_VER" xen-utils-common xenstore-utils qemu-system-xen qemu-utils fio python3
		for x in oxenstored xenstored; do
			[ -x "$dir/usr/lib/xen-$XEN_VER/bin/$x" ] && echo "xenstored-flavour $x"
		done
		true
	} > "$dir/etc/xen-m2p-versions"
	say "packing $(du -sh "$dir" | cut -f1) into $(basename "$out")"
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc) > "$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$dir"
	ln -sf "$out" "$OUT/rootfs.cpio"
	say "dom0 rootfs ($SUITE): $(basename "$out") ($(du -h "$out" | cut -f1)) in $(( $(date +%s) - t0 ))s"
}

case ${1:-all} in
xen) do_xen ;;
rootfs) do_rootfs ;;
all) do_xen; do_rootfs ;;
*) die "usage: $0 [xen|rootfs|all]" ;;
esac
