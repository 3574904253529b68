#!/bin/bash
# The hypervisor of the stack (XM2P_STACK, scripts/common.sh): Debian's
# xen-hypervisor-$XEN_VER-amd64, /boot/xen-$XEN_VER-amd64.gz gunzipped into
# build/xen/xen.elf (bookworm, Xen 4.17) or build/trixie/xen/xen.elf (trixie,
# Xen 4.20). QEMU loads it with -kernel as multiboot.
. "$(dirname "$0")/common.sh"

out=$XEN_ELF
[ -s "$out" ] && { say "xen ($XM2P_STACK): $(cat "$STACK_DIR/xen/version")"; exit 0; }
deb=$(fetch_deb "$XEN_PKG")
mkdir -p "$STACK_DIR/xen"
dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards "./boot/xen-$XEN_VER-amd64.gz" | gunzip > "$out.tmp"
mv "$out.tmp" "$out"
echo "$XEN_PKG $(dpkg-deb -f "$deb" Version)" > "$STACK_DIR/xen/version"
say "xen ($XM2P_STACK): $(cat "$STACK_DIR/xen/version") -> ${out#"$TOP"/}"
