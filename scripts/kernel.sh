#!/bin/bash
# Build the dom0 test kernel (bzImage, everything built in).
#   kernel.sh            patched tree (build/linux)     -> build/kernel/
#   BASELINE=1 kernel.sh pristine base (build/base/linux, a worktree of the
#                        base tag)                       -> build/base/kernel/
# Config: allnoconfig + tiny-base + x86 tiny + configs/dom0-test.config
# + configs/debug.config (unless DEBUG_KERNEL=0)
# (+ $EXTRA_CONFIG), merged in one pass; regenerated when an input changes.
. "$(dirname "$0")/common.sh"

if [ -n "${KSRC:-}" ]; then
	src=$KSRC out=${KOUT:?KSRC needs KOUT} what="${KWHAT:-$KSRC}"
elif [ "${BASELINE:-0}" = 1 ]; then
	src=$BUILD/base/linux out=${KOUT:-$BUILD/base/kernel} what="unpatched base"
	if [ ! -d "$src" ]; then
		[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
		say "checking out the pristine base into build/base/linux"
		mkdir -p "$BUILD/base"
		git -C "$TREE" worktree prune
		git -C "$TREE" worktree add -q --detach "$src" "$BASE_TAG"
	fi
else
	src=$TREE out=${KOUT:-$BUILD/kernel} what="patched ($(git -C "$TREE" rev-list --count "$BASE_TAG"..HEAD) patches)"
	"$TOP/scripts/tree.sh"
fi

export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
# Every tree sits at <dir>/linux with its output at <dir>/kernel, so that
# with CCACHE_BASEDIR the compiler sees the same relative paths in every
# tree (patched, base, bisect) and unchanged files hit the cache; the
# absolute path in -fmacro-prefix-map is mapped away by the option itself.
export CCACHE_BASEDIR=$BUILD
export CCACHE_IGNOREOPTIONS='-fmacro-prefix-map=*'
export CCACHE_NOHASHDIR=1
export CCACHE_COMPILERCHECK=content
export KBUILD_BUILD_TIMESTAMP="${KBUILD_BUILD_TIMESTAMP:-2024-01-01}"
export KBUILD_BUILD_USER=xen-m2p KBUILD_BUILD_HOST=rig
mkdir -p "$out" "$BUILD/logs" "$CCACHE_DIR"
ccache -M 8G >/dev/null
jobs=${JOBS:-$(nproc)}
kmake() { make -C "$src" O="$out" ARCH=x86 CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs" "$@"; }

frags=("$src/kernel/configs/tiny-base.config" "$src/arch/x86/configs/tiny.config" \
	"$TOP/configs/dom0-test.config")
# The debug options (lockdep, atomic-sleep checks, DEBUG_VM, ...) go into
# every test kernel unless DEBUG_KERNEL=0.
[ "${DEBUG_KERNEL:-1}" = 0 ] || frags+=("$TOP/configs/debug.config")
# Options of the series, where this tree has them.
mkdir -p "$out"
while read -r line; do
	sym=$(sed -n 's/^\(# \)\?CONFIG_\([A-Za-z0-9_]*\).*/\2/p' <<< "$line")
	[ -n "$sym" ] && grep -rqs --include='Kconfig*' -x "config $sym" "$src/arch/x86" "$src/drivers" "$src/lib" &&
		echo "$line"
done < "$TOP/configs/series.config" > "$out/series.config"
frags+=("$out/series.config")
[ -n "${EXTRA_CONFIG:-}" ] && frags+=("$TOP/$EXTRA_CONFIG")
cfgid=$(cat "${frags[@]}" | sha1sum | cut -c1-12)
if [ "$(cat "$out/.xen-m2p-config" 2>/dev/null)" != "$cfgid" ] || [ ! -e "$out/.config" ]; then
	say "configuring $what kernel in ${out#"$TOP"/}"
	(cd "$src" && ARCH=x86 scripts/kconfig/merge_config.sh -n -O "$out" "${frags[@]}") \
		> "$out/kconfig.log" 2>&1 ||
		{ tail -n 30 "$out/kconfig.log"; die "kernel configuration failed"; }
	# merge_config reports every fragment value that did not survive.
	# Only our own fragments count: tiny-base asks for 32-bit-only symbols.
	own=$(cat "${frags[@]:2}" | sed -n 's/^\(# \)\?\(CONFIG_[A-Za-z0-9_]*\).*/\2/p' | sort -u)
	if grep -A2 "^Value requested for" "$out/kconfig.log" |
		grep -F -w -f <(echo "$own") | grep '^Value requested' > "$out/.config-mismatch"; then
		sed -n '1,60p' "$out/.config-mismatch"
		die "config fragment values were not honoured (see above)"
	fi
	echo "$cfgid" > "$out/.xen-m2p-config"
fi

tag=$(realpath --relative-to="$BUILD" "$out" | tr / -)
log=$BUILD/logs/build-$tag.log
say "building $what kernel (log: ${log#"$TOP"/}, ccache: $CCACHE_DIR)"
start=$(date +%s)
set +e
kmake bzImage ${KMAKE_EXTRA:-} 2>&1 | tee "$log" |
	awk '/^  (CC|AS|LD|AR)/ { n++; if (n % 400 == 0) { printf "    ... %d objects\n", n; fflush() } }
	     /warning:|error:/ { print "    " $0; fflush() }'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
	tail -n 40 "$log"
	die "kernel build failed ($what), full log: ${log#"$TOP"/}"
fi
say "built ${out#"$TOP"/}/arch/x86/boot/bzImage ($(stat -c %s "$out/arch/x86/boot/bzImage") bytes, $(( $(date +%s) - start )) s)"
