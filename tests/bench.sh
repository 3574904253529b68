# `make bench`: fio through three paths side by side in one boot: the raw
# image with O_DIRECT in dom0, QEMU qdisk (QMP attach, cache.direct=on),
# and xen-mapblk (gntdev-mapped frames, native AIO, O_DIRECT). TCG time is
# not real time: compare the ratios, not the numbers. Also gntdev map/unmap
# hypercalls per request from the series' counters.
# timeout: 1500
. $XM2P/tests/lib.sh
RT=${XM2P_BENCH_SECONDS:-20}
img=$PWD/bench.img
dd if=/dev/urandom of=$img bs=1M count=256 status=none
jobs="randread:4k randwrite:4k read:256k"
run_fio() { # $1 = file, $2 = rw, $3 = bs -> "iops bw_KiB"
	fio --name=b --filename="$1" --direct=1 --ioengine=libaio --rw=$2 --bs=$3 \
		--iodepth=16 --size=192M --time_based --runtime=$RT --output-format=json > fio.json 2>/dev/null ||
		{ echo "0 0"; return; }
	python3 -c 'import json,sys; j=json.load(open("fio.json"))["jobs"][0]; d=j["read"] if j["read"]["io_bytes"] else j["write"]; print("%.0f %.0f" % (d["iops"], d["bw"]))'
}
bench_target() { # $1 = label, $2 = file
	for j in $jobs; do
		r=$(run_fio "$2" "${j%:*}" "${j#*:}")
		echo "$1 ${j%:*} ${j#*:} $r" >> bench.tsv
	done
}
: > bench.tsv
bench_target raw-odirect $img
file='{"driver": "file", "filename": "'$img'", "aio": "threads", "cache": {"direct": true}}'
qmp blockdev-add '{"node-name": "bench0", "driver": "raw", "cache": {"direct": true}, "file": '"$file"'}' >/dev/null || fail "blockdev-add"
qmp device_add '{"driver": "xen-disk", "id": "xvdb", "vdev": "xvdb", "drive": "bench0"}' >/dev/null || fail "device_add"
wait_attached xvdb qdisk || fail "qdisk attach"
bench_target qdisk /dev/xvdb
qmp device_del '{"id": "xvdb"}' >/dev/null
i=0; while [ -b /dev/xvdb ]; do i=$((i+1)); [ $i -gt 120 ] && break; sleep 0.5; done
sleep 1; qmp blockdev-del '{"node-name": "bench0"}' >/dev/null
b0=$(m2p_stat map_batches); h0=$(m2p_stat hypercalls); u0=$(m2p_stat unmap_batches)
mapblk_start xvdc $img
wait_for_dev /dev/xvdc 60 || fail "xen-mapblk attach"
bench_target xen-mapblk /dev/xvdc
mapblk_stop xvdc > mapblk-stop.log 2>&1
b1=$(m2p_stat map_batches); h1=$(m2p_stat hypercalls); u1=$(m2p_stat unmap_batches)
reqs=$(sed -n 's/.*stats(exit): requests=\([0-9]*\).*/\1/p' mapblk-stop.log)
echo "| path | job | bs | IOPS | KiB/s | IOPS vs raw |"
echo "|---|---|---|---|---|---|"
awk '$1 == "raw-odirect" { base[$2] = $4 } { rows[NR] = $0 } END {
	for (i = 1; i <= NR; i++) { split(rows[i], f, " ");
		printf "| %s | %s | %s | %s | %s | %.2f |\n", f[1], f[2], f[3], f[4], f[5], (base[f[2]] ? f[4] / base[f[2]] : 0) } }' bench.tsv
if [ -n "$b1" ] && [ -n "$reqs" ] && [ "$reqs" -gt 0 ]; then
	echo
	echo "xen-mapblk: $reqs requests, $((b1 - b0)) map batches, $((u1 - u0)) unmap batches, $((h1 - h0)) grant hypercalls: $(python3 -c "print('%.2f' % (($h1 - $h0) / $reqs))") hypercalls per request (map + unmap, kernel mappings included)"
fi
echo "ok: bench done (${RT}s per job, TCG: ratios only)"
