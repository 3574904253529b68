# pygrub on a local-attached qcow2 disk, as libxl's bootloader path does:
# a partitioned image with /boot/grub/grub.cfg, a kernel and an initrd;
# attach it (qdisk), run pygrub on /dev/xvdX, compare what it extracted.
# timeout: 600
. $XM2P/tests/lib.sh

make_boot_disk disk.raw 64M
qemu-img convert -O qcow2 disk.raw disk.qcow2 || fail "qemu-img convert"
rm -f disk.raw

xl block-attach 0 "format=qcow2,vdev=xvdd,access=rw,backendtype=qdisk,target=$PWD/disk.qcow2" ||
	fail "xl block-attach"
wait_attached xvdd qdisk || { xs_cleanup qdisk "$(vdev_id xvdd)"; fail "no /dev/xvdd"; }
mkdir -p out && : > pygrub.out   # pygrub opens --output without O_CREAT
/usr/lib/xen-4.17/bin/pygrub -q --output-format=simple --output-directory=$PWD/out \
	--output=$PWD/pygrub.out /dev/xvdd > pygrub.log 2>&1 ||
	{ cat pygrub.log; xl block-detach 0 xvdd; fail "pygrub failed"; }
cat pygrub.out; echo
xl block-detach 0 xvdd || fail "xl block-detach"
kern=$(sed -n 's/.*kernel \([^ ]*\).*/\1/p' pygrub.out | head -n1)
initrd=$(sed -n 's/.*ramdisk \([^ ]*\).*/\1/p' pygrub.out | head -n1)
[ -f "$kern" ] || fail "pygrub did not extract a kernel ($(cat pygrub.out))"
[ -f "$initrd" ] || fail "pygrub did not extract an initrd ($(cat pygrub.out))"
cmp kernel.want "$kern" || fail "extracted kernel differs"
cmp initrd.want "$initrd" || fail "extracted initrd differs"
grep -q xm2p-marker pygrub.out || fail "pygrub did not pass the entry's arguments"
check_no_leaks || fail "leak check"
echo "ok: pygrub extracted kernel ($(stat -c %s "$kern") B) and initrd ($(stat -c %s "$initrd") B), byte-identical"
