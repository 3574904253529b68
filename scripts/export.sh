#!/bin/bash
# Inverse of tree.sh: write the scratch tree's commits back into patches/.
. "$(dirname "$0")/common.sh"

[ -d "$TREE/.git" ] || die "no scratch tree; run 'make tree' first"
g() { git -C "$TREE" "$@"; }
[ -z "$(g status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes; commit them first"
rm -f "$TOP"/patches/*.patch
g format-patch -q --zero-commit --no-signature --no-numbered \
	-o "$TOP/patches" "$BASE_TAG"..HEAD
(cd "$TOP/patches" && ls -1 -- *.patch 2>/dev/null || true) > "$TOP/patches/series"
want=$( (cd "$TOP/patches" && cat series $(cat series)) | sha1sum | cut -c1-12)
echo "$want $(g rev-parse HEAD)" > "$TREE/.git/xen-m2p-synced"
say "exported $(wc -l < "$TOP/patches/series") patches to patches/"
