#!/bin/bash
# Disassemble xen_pte_val() (and the mfn_to_pfn() it calls, when gcc did not
# inline it) of the unpatched base and of the patched kernel, for comparing
# the instructions of mfn_to_pfn()'s round trip, the fast path the series
# must not lengthen. Writes build/fastpath/{base,patched}.txt.
. "$(dirname "$0")/common.sh"
out=$BUILD/fastpath
mkdir -p "$out"
dis() { # vmlinux symbol-address
	objdump -d --no-show-raw-insn --start-address=0x$2 \
		--stop-address=$(printf '0x%x' $((0x$2 + 0x100))) "$1" |
		awk '/^[0-9a-f]+ <.*>:$/ { n++ } n == 1'
}
for v in base patched; do
	k=$BUILD/kernel/vmlinux; [ $v = base ] && k=$BUILD/base/kernel/vmlinux
	[ -s "$k" ] || die "no $k (make kernel; BASELINE=1 make kernel)"
	a=$(nm "$k" | awk '$3 == "xen_pte_val" { print $1 }')
	{
		dis "$k" "$a"
		# the mfn_to_pfn() copy xen_pte_val() calls, if any
		c=$(dis "$k" "$a" | sed -n 's/.*call *\([0-9a-f]*\) <mfn_to_pfn>.*/\1/p' | head -n 1)
		[ -n "$c" ] && { echo; dis "$k" "$c"; }
	} > "$out/$v.txt"
	say "$v: build/fastpath/$v.txt ($(grep -c '^ *[0-9a-f]*:' "$out/$v.txt") instructions listed)"
done
