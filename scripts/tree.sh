#!/bin/bash
# Build the scratch git tree: commit 1 = pristine Debian source (tag
# xen-m2p-base), then every patch of patches/series applied with git am.
#
# Idempotent: an existing tree whose commits are exactly the applied series
# is re-synced when patches/ changed; a tree with local work (commits or
# edits made since the last sync) is left alone unless FORCE=1.
. "$(dirname "$0")/common.sh"

tarball=$BUILD/linux-source-$LINUX_SOURCE_VERSION.tar.xz
series=$TOP/patches/series
g() { git -C "$TREE" "$@"; }
patches_id() { (cd "$TOP/patches" && cat series $(grep -v '^#' series) 2>/dev/null) | sha1sum | cut -c1-12; }

if [ ! -d "$TREE/.git" ]; then
	[ -s "$tarball" ] || "$TOP/scripts/source.sh"
	say "unpacking $(basename "$tarball") into build/linux"
	rm -rf "$TREE" && mkdir -p "$TREE"
	tar -xf "$tarball" -C "$TREE" --strip-components=1 \
		--checkpoint=10000 --checkpoint-action='ttyout=.'
	echo
	say "committing the pristine source (this takes a minute)"
	g init -q -b master
	g config user.name "xen-m2p developers"
	g config user.email "dev@xen-m2p.invalid"
	g config gc.auto 0
	g add -A -f . >/dev/null
	g commit -q -m "Debian linux-source-6.12 $LINUX_SOURCE_VERSION (pristine)"
	g tag -f "$BASE_TAG" >/dev/null
fi

want=$(patches_id)
state=$TREE/.git/xen-m2p-synced
if [ -e "$state" ]; then
	read -r had head < "$state"
	if [ "$(g rev-parse HEAD)" != "$head" ] || [ -n "$(g status --porcelain --untracked-files=no)" ]; then
		if [ "${FORCE:-0}" != 1 ]; then
			if [ "$had" != "$want" ]; then
				die "build/linux has local work AND patches/ changed since the last sync; 'make export' first, or FORCE=1 make tree to throw the tree's work away"
			fi
			say "build/linux has local work (not exported yet); leaving it alone"
			exit 0
		fi
	elif [ "$had" = "$want" ]; then
		say "build/linux is in sync with patches/ ($(g rev-list --count "$BASE_TAG"..HEAD) patches on $BASE_TAG)"
		exit 0
	fi
fi

say "applying patches/series onto $BASE_TAG"
g am --abort >/dev/null 2>&1 || true
g checkout -q -f master
g reset -q --hard "$BASE_TAG"
n=0
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	n=$((n + 1))
	printf '  [%02d] %s\n' "$n" "$p"
	if ! g am -q --whitespace=nowarn "$TOP/patches/$p" > "$BUILD/am.log" 2>&1; then
		cat "$BUILD/am.log" >&2
		g am --show-current-patch=diff 2>/dev/null | head -n 40 >&2 || true
		g am --abort >/dev/null 2>&1 || true
		die "patch $p does not apply (failing hunk above)"
	fi
done < "$series"
echo "$want $(g rev-parse HEAD)" > "$state"
say "build/linux: $n patches on $BASE_TAG"
