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
run_pygrub /dev/xvdd || { xl block-detach 0 xvdd; fail "pygrub failed"; }
xl block-detach 0 xvdd || fail "xl block-detach"
res=$(check_pygrub_output) || fail "$(echo "$res" | tail -n 1)"
check_no_leaks || fail "leak check"
echo "ok: pygrub extracted $res"
