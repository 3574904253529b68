#!/bin/bash
# What a distro build sees: compile the directories the series touches under
# Debian's own amd64 kernel config (linux-config-6.12), modules included,
# with W=1. Any warning in a file the series touches fails the check.
. "$(dirname "$0")/common.sh"
"$TOP/scripts/tree.sh" >/dev/null
out=$BUILD/kernel-distro
deb=$(fetch_deb "linux-config-6.12=$LINUX_SOURCE_VERSION")
mkdir -p "$out" "$BUILD/logs"
cfg=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/config.amd64_none_amd64.xz' | xz -d | sha1sum | cut -c1-12)
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache} CCACHE_BASEDIR=$BUILD CCACHE_COMPILERCHECK=content
export CCACHE_IGNOREOPTIONS='-fmacro-prefix-map=*' CCACHE_NOHASHDIR=1
kmake() { make -C "$TREE" O="$out" ARCH=x86 CC="ccache gcc" HOSTCC="ccache gcc" -j"${JOBS:-$(nproc)}" "$@"; }
if [ "$(cat "$out/.xen-m2p-config" 2>/dev/null)" != "$cfg" ]; then
	say "configuring with Debian's config.amd64_none_amd64 ($LINUX_SOURCE_VERSION)"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/config.amd64_none_amd64.xz' | xz -d > "$out/.config"
	"$TREE/scripts/config" --file "$out/.config" --set-str SYSTEM_TRUSTED_KEYS "" \
		--set-str SYSTEM_REVOCATION_KEYS "" --set-str MODULE_SIG_KEY "certs/signing_key.pem" \
		-d DEBUG_INFO_BTF -d MODULE_SIG_ALL
	kmake olddefconfig > "$BUILD/logs/distro-config.log" 2>&1
	echo "$cfg" > "$out/.xen-m2p-config"
fi
touched=$(git -C "$TREE" diff --name-only "$BASE_TAG"..HEAD -- '*.c' '*.h' | sort -u)
dirs="arch/x86/xen/ drivers/xen/ drivers/block/"
say "building $dirs (W=1) under Debian's config"
log=$BUILD/logs/distro-build.log
start=$(date +%s)
kmake W=1 $dirs > "$log" 2>&1 || { grep -E 'error|Error' "$log" | head -n 30; die "distro-config build failed (log: ${log#"$TOP"/})"; }
warn=0
for f in $touched; do
	if grep -F "$f:" "$log" | grep -E 'warning:|error:'; then warn=1; fi
done
[ $warn = 0 ] || die "W=1 warnings in files the series touches (log: ${log#"$TOP"/})"
say "Debian config: $dirs build, modules included, no W=1 warning in the $(echo "$touched" | grep -c .) touched files ($(( $(date +%s) - start ))s)"
