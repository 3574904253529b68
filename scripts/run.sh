#!/bin/bash
# make run: build what is missing, boot Xen + the patched dom0, local-attach
# a qcow2 guest disk with the qdisk backend, run pygrub on it and an O_DIRECT
# fio job with verification; print the summary; non-zero exit on failure.
. "$(dirname "$0")/common.sh"
"$TOP/scripts/deps.sh"
"$TOP/scripts/kernel.sh"
"$TOP/scripts/xen.sh"
"$TOP/scripts/rootfs.sh"
"$TOP/scripts/programs.sh"
"$TOP/scripts/boot.sh" --name run --tests demo --timeout 900 "$@"
r=$BUILD/runs/run/results
echo
echo "Xen $(sed -n 's/^xen_version *: *//p' "$r/versions" 2>/dev/null), dom0 $(cut -d' ' -f3 "$r/uname")"
sed -n '/^  attached/,/^  m2p leaks/p' "$r/demo.log"
read -r _ verdict took rest < "$r/summary"
echo "result: $verdict ($took) $rest"
[ "$verdict" = PASS ] || { echo "log: build/runs/run/results/demo.log"; tail -n 20 "$r/demo.log"; exit 1; }
