# The former `make bench` (wall clock; `make bench` now counts instructions
# with tests/bench-icount.sh): run by hand with scripts/boot.sh --tests bench.
# fio through three paths side by side in one boot: the raw
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
qmp_add_xen_disk xvdb bench0 || fail "device_add"
wait_attached xvdb qdisk || fail "qdisk attach"
a0=$(m2p_stat added); q0=$(m2p_stat hypercalls)
bench_target qdisk /dev/xvdb
a1=$(m2p_stat added); q1=$(m2p_stat hypercalls)
ios=$(awk '{ print $1 + $5 }' /sys/block/xvdb/stat)
qmp device_del '{"id": "xvdb"}' >/dev/null
i=0; while [ -b /dev/xvdb ]; do i=$((i+1)); [ $i -gt 120 ] && break; sleep 0.5; done
sleep 1; qmp blockdev-del '{"node-name": "bench0"}' >/dev/null
b0=$(m2p_stat map_batches); h0=$(m2p_stat hypercalls); u0=$(m2p_stat unmap_batches)
mapblk_start xvdc $img --no-persistent	# per-request grant mapping, as before
wait_for_dev /dev/xvdc 60 || fail "xen-mapblk attach"
bench_target xen-mapblk /dev/xvdc
mapblk_stop xvdc > mapblk-stop.log 2>&1
b1=$(m2p_stat map_batches); h1=$(m2p_stat hypercalls); u1=$(m2p_stat unmap_batches)
reqs=$(sed -n 's/.*stats(exit): requests=\([0-9]*\).*/\1/p' mapblk-stop.log)
# A domU with a remote backend: the same fio job in a PV guest booted with
# the override on and with it off, alternated, on a qdisk disk. The series
# must add no override entry there (blkfront marks nothing since its share
# marks were dropped); the guest reports its own counter.
guest_fio() { # $1 = on|off -> "IOPS added_entries" on stdout
	rm -rf ird guest.log; mkdir -p ird
	cat > ird/run.sh <<RUN
i=0; while [ ! -b /dev/xvda ] && [ \$i -lt 60 ]; do i=\$((i + 1)); sleep 1; done
mkdir -p /sys/kernel/debug; mount -t debugfs debugfs /sys/kernel/debug
fio --thread --name=g --filename=/dev/xvda --direct=1 --ioengine=libaio --rw=randread \
	--bs=4k --iodepth=16 --size=64M --time_based --runtime=$RT > /tmp/g.log 2>&1 || cat /tmp/g.log
echo "GUEST-IOPS \$(grep -o -m 1 'IOPS=[0-9.k]*' /tmp/g.log | cut -d= -f2) added \$(grep '^added' /sys/kernel/debug/xen/m2p_override/stats | tr -dc 0-9)"
RUN
	guest_initrd gi.gz sh fio cut grep tr mkdir mount > /dev/null || return 1
	cat > g.cfg <<CFG
name = "bench-guest"
type = "pv"
memory = 512
vcpus = 1
kernel = "$XM2P/bin/guest-kernel"
ramdisk = "$PWD/gi.gz"
extra = "console=hvc0 rdinit=/init xen_m2p_override=$1"
disk = [ 'format=raw,vdev=xvda,access=rw,backendtype=qdisk,target=$img' ]
on_poweroff = "destroy"
CFG
	xl create g.cfg > /dev/null 2>&1 || return 1
	wait_domain_gone bench-guest 300 > /dev/null || return 1
	sleep 1
	r=$(sed -n 's/.*GUEST-IOPS \([0-9.k]*\) added \([0-9]*\).*/\1 \2/p' \
		/var/log/xen/console/guest-bench-guest.log | tail -n 1 |
		awk '{ v = $1; if (v ~ /k$/) v = substr(v, 1, length(v) - 1) * 1000; print v, $2 }')
	echo "guest run, override $1: $(grep -o 'GUEST-IOPS.*' /var/log/xen/console/guest-bench-guest.log | tail -n 1)" >&2
	if [ -z "$r" ]; then
		echo "guest ($1): no result; its console:" >&2
		tail -n 15 /var/log/xen/console/guest-bench-guest.log >&2
	fi
	echo "$r"
}
if [ -s $XM2P/bin/guest-kernel ]; then
	for round in 1 2; do
		for m in on off; do
			r=$(guest_fio $m)
			[ -n "$r" ] && echo "$m $r" >> guest.tsv
		done
	done
fi

echo "| path | job | bs | IOPS | KiB/s | IOPS vs raw |"
echo "|---|---|---|---|---|---|"
awk '$1 == "raw-odirect" { base[$2] = $4 } { rows[NR] = $0 } END {
	for (i = 1; i <= NR; i++) { split(rows[i], f, " ");
		printf "| %s | %s | %s | %s | %s | %.2f |\n", f[1], f[2], f[3], f[4], f[5], (base[f[2]] ? f[4] / base[f[2]] : 0) } }' bench.tsv
if [ -n "$b1" ] && [ -n "$reqs" ] && [ "$reqs" -gt 0 ]; then
	echo
	echo "xen-mapblk: $reqs requests, $((b1 - b0)) map batches, $((u1 - u0)) unmap batches, $((h1 - h0)) grant hypercalls: $(python3 -c "print('%.2f' % (($h1 - $h0) / $reqs))") hypercalls per request (map + unmap, kernel mappings included)"
fi
if [ -s guest.tsv ]; then
	echo
	echo "PV guest, fio randread 4k iodepth 16 on a qdisk disk, ${RT}s, guest booted with the override on / off (alternated):"
	echo
	echo "| override in the guest | IOPS per run | m2p entries added in the guest |"
	echo "|---|---|---|"
	awk '{ iops[$1] = iops[$1] " " $2; add[$1] = add[$1] " " $3 } END {
		for (m in iops) printf "| %s |%s |%s |\n", m, iops[m], add[m] }' guest.tsv | sort -r
	awk '{ s[$1] += $2; n[$1]++ } END { if (n["on"] && n["off"] && s["off"])
		printf "\non/off IOPS ratio (means): %.3f\n", (s["on"] / n["on"]) / (s["off"] / n["off"]) }' guest.tsv
fi
if [ -n "$a1" ] && [ "${ios:-0}" -gt 0 ]; then
	echo
	echo "qdisk (grant copy, no persistent grants): $ios block requests, $((a1 - a0)) m2p entries added in dom0 by its blkfront ($(python3 -c "print('%.2f' % (($a1 - $a0) / $ios))") per request), $((q1 - q0)) grant hypercalls by the series in dom0"
fi
echo "ok: bench done (${RT}s per job, TCG: ratios only)"
