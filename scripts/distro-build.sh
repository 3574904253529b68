#!/bin/bash
# What a distro build sees: compile the directories the series touches under
# Debian's own amd64 kernel config (linux-config-6.12), modules included,
# with W=1. Any warning in a file the series touches fails the check, and so
# does a sparse warning on a line the series added.
. "$(dirname "$0")/common.sh"
"$TOP/scripts/tree.sh" >/dev/null
out=$BUILD/kernel-distro
deb=$(fetch_deb "linux-config-6.12=$LINUX_SOURCE_VERSION" bookworm)
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
sparse_note="; sparse not run"
# sparse (C=2) on the touched files that this config compiles: a warning on
# a line the series added fails; the base's own warnings in those files are
# counted and left alone.
objs=$(for f in $touched; do
	case $f in *.c) if [ -f "$out/${f%.c}.o" ]; then echo "${f%.c}.o"; fi ;; esac
done)
if command -v sparse > /dev/null && [ -n "$objs" ]; then
	slog=$BUILD/logs/distro-sparse.log
	kmake C=2 $objs > "$slog" 2>&1 || die "sparse run failed (log: ${slog#"$TOP"/})"
	added=$BUILD/logs/distro-added-lines
	git -C "$TREE" diff -U0 "$BASE_TAG" -- $touched | awk '
		/^\+\+\+ b\// { f = substr($2, 3) }
		/^@@/ { split($3, a, ","); s = substr(a[1], 2); n = (a[2] == "" ? 1 : a[2]);
			for (i = 0; i < n; i++) print f ":" s + i }' > "$added"
	new=$(sed -e "s|^$TREE/||" -e 's|^\(\.\./\)*linux/||' "$slog" |
		grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' |
		awk -F: 'NR == FNR { add[$1 ":" $2] = 1; next } ($1 ":" $2) in add' "$added" - || true)
	[ -z "$new" ] || { echo "$new"; die "sparse warnings on lines the series added (log: ${slog#"$TOP"/})"; }
	sparse_note="; sparse (C=2) on the $(echo $objs | wc -w) objects: $(grep -cE ': (warning|error):' "$slog" || true) warnings, none on a line the series added"
fi
say "Debian config: $dirs build, modules included, no W=1 warning in the $(echo "$touched" | grep -c .) touched files$sparse_note ($(( $(date +%s) - start ))s)"
