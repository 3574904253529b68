# shellcheck shell=bash
# Shared settings for the host-side helpers. Sourced, not run.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/xen-m2p
LINUX_SOURCE_VERSION=${LINUX_SOURCE_VERSION:-6.12.117-1~deb12u1}
# The Debian release the hypervisor and the dom0 userspace come from (the
# same kernels boot on both): trixie = Debian 13, the current stable release
# and the default (Xen 4.20, QEMU 10.0; build/trixie/xen/,
# build/trixie/rootfs.cpio) or bookworm = Debian 12 (Xen 4.17, QEMU 7.2;
# build/xen/, build/rootfs.cpio).
export XM2P_STACK=${XM2P_STACK:-trixie}
# The other one: make check runs its controls after the default's full set.
case $XM2P_STACK in trixie) OTHER_STACK=bookworm ;; *) OTHER_STACK=trixie ;; esac
case $XM2P_STACK in
bookworm) XEN_VER=4.17 STACK_DIR=$BUILD ;;
trixie) XEN_VER=4.20 STACK_DIR=$BUILD/trixie ;;
*) printf 'ERROR: XM2P_STACK=%s: bookworm or trixie\n' "$XM2P_STACK" >&2; exit 1 ;;
esac
XEN_PKG=${XEN_PKG:-xen-hypervisor-$XEN_VER-amd64}
XEN_ELF=$STACK_DIR/xen/xen.elf
ROOTFS=$STACK_DIR/rootfs.cpio
TREE=$BUILD/linux            # scratch git tree: base commit + series
BASE_TAG=xen-m2p-base        # tag on the pristine-source commit
# The first N patches of patches/series are fixes of 6.12 that stand alone
# (no override code); scripts/standalone-check.sh builds and boots them so.
STANDALONE_FIXES=${STANDALONE_FIXES:-3}

say()  { printf '==> %s\n' "$*"; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The archive URI that the machine's apt sources use for suite $1 (deb822
# .sources or one-line .list); empty when none does.
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
# sources.list of the trixie stack on a Debian 12 host: the archives the
# machine uses for bookworm (deb.debian.org when it names none; XM2P_MIRROR,
# XM2P_SECURITY_MIRROR override), as mmdebstrap writes them for a stable
# release: the suite, -updates, -security.
stack_sources() {
	local m s
	m=${XM2P_MIRROR:-$(debian_mirror bookworm)}
	m=${m:-http://deb.debian.org/debian}
	s=${XM2P_SECURITY_MIRROR:-$(debian_mirror bookworm-security)}
	s=${s:-http://deb.debian.org/debian-security}
	printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
		"$m" "$XM2P_STACK" "$m" "$XM2P_STACK" "$s" "$XM2P_STACK"
}
# apt-get with a private sources list, lists and cache ($CACHE/apt-<stack>):
# the machine's apt configuration is neither read for sources nor changed.
stack_apt() {
	local d=$CACHE/apt-$XM2P_STACK
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	stack_sources > "$d/sources.list"
	apt-get -q -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" \
		-o Dir::State::status=/dev/null -o APT::Architecture=amd64 "$@"
}

# apt-get download into the cache, once. $1 = package[=version], $2 = the
# release to take it from (default: the stack's). bookworm (the host's
# release) with the machine's apt into $CACHE/debs; another release through
# stack_apt into $CACHE/debs-<release>. The kernel's source and config
# packages are Debian 12's whatever the stack ($LINUX_SOURCE_VERSION).
fetch_deb() {
	local pkg=$1 name=${1%%=*} ver deb dir=$CACHE/debs get=(apt-get download)
	local XM2P_STACK=${2:-$XM2P_STACK}
	if [ "$XM2P_STACK" != bookworm ]; then
		dir=$CACHE/debs-$XM2P_STACK get=(stack_apt download)
	fi
	mkdir -p "$dir"
	ver=${1#*=}
	[ "$ver" = "$1" ] && ver='*'
	# shellcheck disable=SC2086
	deb=$(ls "$dir"/${name}_${ver//\~/?}_*.deb 2>/dev/null | tail -n1 || true)
	if [ -z "$deb" ]; then
		# Progress goes to stderr: stdout is the .deb's path.
		say "downloading $pkg (cached in $dir)" >&2
		if [ "$XM2P_STACK" != bookworm ]; then
			stack_apt update >&2 || die "apt-get update of $XM2P_STACK (private lists in $CACHE/apt-$XM2P_STACK) failed"
		fi
		(cd "$dir" && "${get[@]}" "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed') >&2 ||
			die "apt-get download $pkg failed (run 'make deps' first?)"
		# shellcheck disable=SC2086
		deb=$(ls "$dir"/${name}_*.deb | tail -n1)
	fi
	printf '%s\n' "$deb"
}
