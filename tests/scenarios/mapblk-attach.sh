# Local attach through xen-mapblk: blkfront in dom0, the backend in dom0
# maps each request's grants with gntdev and does native AIO with O_DIRECT
# straight into the mapped frames. fio verify, then the image's content is
# checked against what was written; the series' counters give gntdev
# hypercalls per request. --no-persistent: this is the per-request mapping
# path (mapblk-persistent covers persistent grants).
# timeout: 600
. $XM2P/tests/lib.sh
img=$PWD/mapblk.img
truncate -s 256M $img
dd if=/dev/urandom of=pattern bs=1M count=16 status=none
before="$(m2p_stat map_batches || echo -)/$(m2p_stat hypercalls || echo -)"
mapblk_start xvdf $img --no-persistent
wait_for_dev /dev/xvdf 60 || { cat mapblk.log; fail "no /dev/xvdf from xen-mapblk"; }
dd if=pattern of=/dev/xvdf bs=1M oflag=direct status=none || fail "dd to /dev/xvdf"
fio --name=verify --filename=/dev/xvdf --direct=1 --ioengine=libaio --offset=16M --size=48M \
	--rw=randwrite --bssplit=4k/50:64k/40:256k/10 --iodepth=8 --verify=crc32c \
	--do_verify=1 --verify_fatal=1 > fio.log 2>&1 || { tail -n 20 fio.log; fail "fio verify"; }
cmp -n 16777216 pattern /dev/xvdf || fail "pattern does not read back"
mapblk_stop xvdf || fail "xen-mapblk did not shut down cleanly"
[ "$(head -c 16M $img | sha256sum)" = "$(sha256sum < pattern)" ] || fail "image content differs"
after="$(m2p_stat map_batches || echo -)/$(m2p_stat hypercalls || echo -)"
check_no_leaks || fail "leak check"
echo "ok: xen-mapblk local attach, fio verified, image matches; $(grep -o -E '(WRITE|READ): bw=[^ ]+' fio.log | paste -sd' '); m2p map batches/hypercalls $before -> $after; $(grep -i 'requests' mapblk.log | tail -n 1)"
