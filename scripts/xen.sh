#!/bin/bash
# The hypervisor: Debian's xen-hypervisor-4.17-amd64, /boot/xen-4.17-amd64.gz
# gunzipped into build/xen/xen.elf (QEMU loads it with -kernel as multiboot).
. "$(dirname "$0")/common.sh"

out=$BUILD/xen/xen.elf
[ -s "$out" ] && { say "xen: $(cat "$BUILD/xen/version")"; exit 0; }
deb=$(fetch_deb "$XEN_PKG")
mkdir -p "$BUILD/xen"
dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './boot/xen-4.17-amd64.gz' | gunzip > "$out.tmp"
mv "$out.tmp" "$out"
echo "$XEN_PKG $(dpkg-deb -f "$deb" Version)" > "$BUILD/xen/version"
say "xen: $(cat "$BUILD/xen/version") -> build/xen/xen.elf"
