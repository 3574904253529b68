#!/bin/bash
# The fixes at the head of the series, on their own: build 6.12 plus the
# first $STANDALONE_FIXES patches of patches/series (none of the override)
# and boot it with the scenarios those fixes are about. A distro or stable
# tree can take them without the rest; this shows they build and work so.
#   STANDALONE_FIXES=N      how many leading patches (default in common.sh)
#   STANDALONE_TESTS="..."  scenarios to run
# Results: build/runs/standalone/results/summary; exit status 0 when every
# scenario passed.
. "$(dirname "$0")/common.sh"
n=${STANDALONE_FIXES:?}
"$TOP/scripts/tree.sh" >/dev/null
c=$(git -C "$TREE" rev-list --reverse "$BASE_TAG"..HEAD | sed -n "${n}p")
[ -n "$c" ] || die "the series has fewer than $n patches"
wt=$BUILD/standalone/linux
mkdir -p "$BUILD/standalone"
if [ ! -d "$wt" ]; then
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$wt" "$c"
else
	git -C "$wt" checkout -q --detach "$c"
fi
# Standalone means: no override code at all in that prefix.
if git -C "$wt" grep -q -e m2p_add_override -e XEN_M2P_OVERRIDE; then
	die "patches 1..$n contain override code: they do not stand alone"
fi
say "6.12 + patches 1..$n:"
git -C "$TREE" log --reverse --format='    %s' "$BASE_TAG..$c"
KSRC=$wt KOUT=$BUILD/standalone/kernel KWHAT="6.12 + $n standalone fixes" "$TOP/scripts/kernel.sh"
"$TOP/scripts/boot.sh" --name standalone --variant standalone \
	--kernel "$BUILD/standalone/kernel/arch/x86/boot/bzImage" \
	--tests "${STANDALONE_TESTS:-mapblk-attach blkback-self-attach live-backend-removal zz-dom0-health mapblk-closed-pending mapblk-dead-discard mapblk-kill}" \
	--timeout "${STANDALONE_TIMEOUT:-1800}"
s=$BUILD/runs/standalone/results/summary
[ -s "$s" ] || die "no results from the standalone boot"
cat "$s"
! awk '$2 != "PASS"' "$s" | grep -q .
