#!/bin/bash
# make bench: boot the patched kernel and run tests/bench.sh; the table goes
# to bench/results.md with the versions and the date.
. "$(dirname "$0")/common.sh"
"$TOP/scripts/kernel.sh"; "$TOP/scripts/xen.sh"; "$TOP/scripts/rootfs.sh"; "$TOP/scripts/programs.sh"
"$TOP/scripts/boot.sh" --name bench --tests bench --timeout 1800 "$@"
r=$BUILD/runs/bench/results
read -r _ verdict _ < "$r/summary"
[ "$verdict" = PASS ] || { tail -n 30 "$r/bench.log"; die "bench failed"; }
mkdir -p "$TOP/bench"
{
	echo "# Benchmark: fio through three paths, one boot"
	echo
	echo "Produced by \`make bench\` on $(date -u +%Y-%m-%d), dom0 $(cut -d' ' -f3 "$r/uname"), $(sed -n 's/^xen_version *: */Xen /p' "$r/versions"), QEMU TCG on a 2-core host."
	echo "Numbers are TCG numbers: only the ratios between rows of this one run mean anything."
	echo
	grep -v '^ok:' "$r/bench.log" | grep -v '^xen-mapblk: \(created\|serving\|stopping\|removed\|stats\|exit\)'
} > "$TOP/bench/results.md"
cat "$TOP/bench/results.md"
