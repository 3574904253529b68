#!/bin/bash
# Fetch Debian's linux-source-6.12 .deb (cached outside the checkout) and pull
# the kernel tarball out of it into build/. The tree target unpacks it.
. "$(dirname "$0")/common.sh"

tarball=$BUILD/linux-source-$LINUX_SOURCE_VERSION.tar.xz
if [ -s "$tarball" ]; then
	say "linux-source-6.12 $LINUX_SOURCE_VERSION: $(basename "$tarball") present"
	exit 0
fi
deb=$(fetch_deb "linux-source-6.12=$LINUX_SOURCE_VERSION" bookworm)
say "extracting the kernel tarball from $(basename "$deb")"
mkdir -p "$BUILD"
dpkg-deb --fsys-tarfile "$deb" |
	tar -xO --wildcards '*/linux-source-6.12.tar.xz' > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
say "source: Debian linux-source-6.12 $LINUX_SOURCE_VERSION"
