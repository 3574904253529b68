#!/bin/bash
# Splice build/check/report.md (made by `make check`) into README.md between
# the status markers. Run after a full `make check`.
. "$(dirname "$0")/common.sh"
rep=${1:-$BUILD/check/report.md}
[ -s "$rep" ] || die "no $rep: run make check first"
python3 - "$TOP/README.md" "$rep" <<'PY'
import sys
readme, rep = sys.argv[1], sys.argv[2]
s = open(readme).read()
b, e = "<!-- status:begin -->", "<!-- status:end -->"
i, j = s.index(b) + len(b), s.index(e)
s = s[:i] + "\n" + open(rep).read().rstrip() + "\n" + s[j:]
open(readme + ".tmp", "w").write(s)
PY
mv "$TOP/README.md.tmp" "$TOP/README.md"
say "README.md status updated from ${rep#"$TOP"/}"
