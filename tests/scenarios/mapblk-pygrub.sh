# pygrub through xen-mapblk: the boot image is built, converted to qcow2
# and back to raw (as a qcow2 guest disk would be for a raw-only backend),
# served to dom0's blkfront by xen-mapblk (gntdev mappings, O_DIRECT AIO),
# and pygrub reads grub.cfg, the kernel and the initrd from /dev/xvdg with
# buffered reads: page-cache pages granted to a backend in the same domain.
# timeout: 600
. $XM2P/tests/lib.sh
make_boot_disk disk0.raw 64M
qemu-img convert -O qcow2 disk0.raw disk.qcow2 && qemu-img convert -O raw disk.qcow2 disk.raw ||
	fail "qemu-img convert"
rm -f disk0.raw disk.qcow2
sum=$(sha256sum < disk.raw)
batches0=$(m2p_stat map_batches || echo 0)
mapblk_start xvdg $PWD/disk.raw
wait_for_dev /dev/xvdg 60 || { cat mapblk.log; fail "no /dev/xvdg from xen-mapblk"; }
mkdir -p out && : > pygrub.out   # pygrub opens --output without O_CREAT
/usr/lib/xen-4.17/bin/pygrub -q --output-format=simple --output-directory=$PWD/out \
	--output=$PWD/pygrub.out /dev/xvdg > pygrub.log 2>&1 ||
	{ cat pygrub.log; mapblk_stop xvdg; fail "pygrub failed"; }
cat pygrub.out; echo
batches=$(( $(m2p_stat map_batches || echo 0) - batches0 ))
mapblk_stop xvdg || fail "xen-mapblk did not shut down cleanly"
kern=$(sed -n 's/.*kernel \([^ ]*\).*/\1/p' pygrub.out | head -n1)
initrd=$(sed -n 's/.*ramdisk \([^ ]*\).*/\1/p' pygrub.out | head -n1)
[ -f "$kern" ] || fail "pygrub did not extract a kernel ($(cat pygrub.out))"
[ -f "$initrd" ] || fail "pygrub did not extract an initrd ($(cat pygrub.out))"
cmp kernel.want "$kern" || fail "extracted kernel differs"
cmp initrd.want "$initrd" || fail "extracted initrd differs"
grep -q xm2p-marker pygrub.out || fail "pygrub did not pass the entry's arguments"
[ "$(sha256sum < disk.raw)" = "$sum" ] || fail "the image changed under a read-only boot"
check_no_leaks || fail "leak check"
echo "ok: pygrub through xen-mapblk extracted kernel and initrd byte-identical; m2p map batches: $batches"
