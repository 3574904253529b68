#!/bin/bash
# Install every Debian package the project needs on a fresh Debian 12 host.
. "$(dirname "$0")/common.sh"

PKGS=(
	build-essential bc bison flex libelf-dev libssl-dev dwarves ccache git
	cpio xz-utils zstd rsync kmod python3 python3-ply python3-git perl sparse
	qemu-system-x86 mmdebstrap debian-archive-keyring
	libxen-dev libaio-dev
	pkgconf libglib2.0-dev
	gnuplot-nox
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
	say "all ${#PKGS[@]} packages installed"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
say "apt-get update"
apt-get update -q > "${TMPDIR:-/tmp}/xen-m2p-apt.log" 2>&1 ||
	{ tail -n 20 "${TMPDIR:-/tmp}/xen-m2p-apt.log"; die "apt-get update failed"; }
say "installing: ${missing[*]}"
for p in "${missing[@]}"; do
	apt-cache show "$p" > /dev/null 2>&1 || die "package $p is not available from the configured apt sources"
done
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
	> "${TMPDIR:-/tmp}/xen-m2p-apt.log" 2>&1 || {
	tail -n 20 "${TMPDIR:-/tmp}/xen-m2p-apt.log"
	for p in "${missing[@]}"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			echo "ERROR: package $p failed to install" >&2
	done
	die "apt-get install failed"
}
say "installed ${#missing[@]} packages"
