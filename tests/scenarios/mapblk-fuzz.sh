# Malformed requests through a raw ring (blkif-fuzz as the frontend, no
# blkfront): every bad request gets BLKIF_RSP_ERROR / EOPNOTSUPP, good ones
# OKAY with the right data, the backend survives and shuts down cleanly.
# timeout: 300
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/blkif-fuzz ] || skip "blkif-fuzz not built"
img=$PWD/fuzz.img
truncate -s 64M $img
mapblk_start xvdg $img --no-frontend-nodes
sleep 1
$XM2P/bin/blkif-fuzz --devid "$(vdev_id xvdg)" --backend-kind vbd3 --timeout 60 > fuzz.log 2>&1
rc=$?
cat fuzz.log
mapblk_stop xvdg || fail "xen-mapblk did not shut down cleanly"
[ $rc = 0 ] || fail "blkif-fuzz: $(grep -c '^not ok' fuzz.log) checks failed"
grep -q 'rejected' mapblk.log || fail "xen-mapblk logged no rejection"
check_no_leaks || fail "leak check"
echo "ok: $(grep -c '^ok' fuzz.log) raw-ring checks passed, $(grep -c 'rejected' mapblk.log) rejections logged"
