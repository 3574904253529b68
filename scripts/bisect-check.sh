#!/bin/bash
# Bisectability: build the test kernel at every prefix of the series, in
# a separate worktree and output dir, incrementally (ccache helps on top).
. "$(dirname "$0")/common.sh"
"$TOP/scripts/tree.sh" >/dev/null
wt=$BUILD/bisect/linux
mkdir -p "$BUILD/bisect"
if [ ! -d "$wt" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$wt" "$BASE_TAG"
fi
commits=$(git -C "$TREE" rev-list --reverse "$BASE_TAG"..HEAD)
n=$(echo "$commits" | grep -c . || true)
i=0
for c in $commits; do
	i=$((i + 1))
	subj=$(git -C "$TREE" log -1 --format=%s "$c")
	say "[$i/$n] $subj"
	git -C "$wt" checkout -q --detach "$c"
	KSRC=$wt KOUT=$BUILD/bisect/kernel KWHAT="prefix $i/$n" "$TOP/scripts/kernel.sh" > "$BUILD/logs/bisect-$i.log" 2>&1 ||
		{ tail -n 30 "$BUILD/logs/bisect-$i.log"; die "prefix $i/$n does not build: $subj"; }
done
say "all $n prefixes of the series build"
