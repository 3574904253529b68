# Malformed requests through a raw ring (blkif-fuzz as the frontend, no
# blkfront): every bad request gets BLKIF_RSP_ERROR / EOPNOTSUPP, good ones
# OKAY with the right data, the backend survives and shuts down cleanly.
# Twice: per-request mapping (blkif-fuzz does not ask for persistent
# grants), then with feature-persistent=1 from blkif-fuzz, where good
# requests come from xen-mapblk's persistent-grant pool and bad refs must
# still fail alone.
# timeout: 300
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/blkif-fuzz ] || skip "blkif-fuzz not built"
img=$PWD/fuzz.img
truncate -s 64M $img

# $1 = label, rest = blkif-fuzz options
fuzz() {
	label=$1; shift
	mapblk_start xvdg $img --no-frontend-nodes --replace
	sleep 1
	$XM2P/bin/blkif-fuzz --devid "$(vdev_id xvdg)" --backend-kind vbd3 --timeout 60 "$@" > fuzz-$label.log 2>&1
	frc=$?	# not rc: mapblk_stop sets that
	cat fuzz-$label.log
	mapblk_stop xvdg > stop-$label.log || { cat stop-$label.log; fail "$label: xen-mapblk did not shut down cleanly"; }
	cat stop-$label.log
	[ $frc = 0 ] || fail "$label: blkif-fuzz: $(grep -c '^not ok' fuzz-$label.log) checks failed"
	grep -q 'rejected' stop-$label.log || fail "$label: xen-mapblk logged no rejection"
	check_no_leaks || fail "$label: leak check"
}

fuzz per-request
grep -q 'persistent grants off' stop-per-request.log || fail "per-request: persistent grants negotiated without the frontend asking"
fuzz persistent --persistent
grep -q 'persistent grants on' stop-persistent.log || fail "persistent: not negotiated"
hits=$(sed -n 's/.*stats(exit):.* pgrant_hits=\([0-9]*\).*/\1/p' stop-persistent.log)
[ "${hits:-0}" -gt 0 ] || fail "persistent: no request served from the pool"
echo "ok: $(grep -c '^ok' fuzz-per-request.log) + $(grep -c '^ok' fuzz-persistent.log) raw-ring checks passed (per-request, persistent: $hits pool hits), $(cat stop-*.log | grep -c 'rejected') rejections logged"
