# shellcheck shell=bash
# Shared settings for the host-side helpers. Sourced, not run.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/xen-m2p
LINUX_SOURCE_VERSION=${LINUX_SOURCE_VERSION:-6.12.117-1~deb12u1}
XEN_PKG=${XEN_PKG:-xen-hypervisor-4.17-amd64}
TREE=$BUILD/linux            # scratch git tree: base commit + series
BASE_TAG=xen-m2p-base        # tag on the pristine-source commit
# The first N patches of patches/series are fixes of 6.12 that stand alone
# (no override code); scripts/standalone-check.sh builds and boots them so.
STANDALONE_FIXES=${STANDALONE_FIXES:-3}

say()  { printf '==> %s\n' "$*"; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# apt-get download into the cache, once. $1 = package[=version]
fetch_deb() {
	local pkg=$1 name=${1%%=*} ver deb
	mkdir -p "$CACHE/debs"
	ver=${1#*=}
	[ "$ver" = "$1" ] && ver='*'
	# shellcheck disable=SC2086
	deb=$(ls "$CACHE"/debs/${name}_${ver//\~/?}_*.deb 2>/dev/null | tail -n1 || true)
	if [ -z "$deb" ]; then
		# Progress goes to stderr: stdout is the .deb's path.
		say "downloading $pkg (cached in $CACHE/debs)" >&2
		(cd "$CACHE/debs" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed') >&2 ||
			die "apt-get download $pkg failed (run 'make deps' first?)"
		# shellcheck disable=SC2086
		deb=$(ls "$CACHE"/debs/${name}_*.deb | tail -n1)
	fi
	printf '%s\n' "$deb"
}
