# pygrub through xen-mapblk: the boot image is built, converted to qcow2
# and back to raw (as a qcow2 guest disk would be for a raw-only backend),
# served to dom0's blkfront by xen-mapblk (gntdev mappings, O_DIRECT AIO),
# and pygrub reads grub.cfg, the kernel and the initrd from /dev/xvdg with
# buffered reads: page-cache pages granted to a backend in the same domain
# (--no-persistent: with persistent grants blkfront would copy instead).
# timeout: 600
. $XM2P/tests/lib.sh
make_boot_disk disk0.raw 64M
qemu-img convert -O qcow2 disk0.raw disk.qcow2 && qemu-img convert -O raw disk.qcow2 disk.raw ||
	fail "qemu-img convert"
rm -f disk0.raw disk.qcow2
sum=$(sha256sum < disk.raw)
batches0=$(m2p_stat map_batches || echo 0)
mapblk_start xvdg $PWD/disk.raw --no-persistent
wait_for_dev /dev/xvdg 60 || { cat mapblk.log; fail "no /dev/xvdg from xen-mapblk"; }
run_pygrub /dev/xvdg || { mapblk_stop xvdg; fail "pygrub failed"; }
batches=$(( $(m2p_stat map_batches || echo 0) - batches0 ))
mapblk_stop xvdg || fail "xen-mapblk did not shut down cleanly"
res=$(check_pygrub_output) || fail "$(echo "$res" | tail -n 1)"
[ "$(sha256sum < disk.raw)" = "$sum" ] || fail "the image changed although pygrub only reads"
check_no_leaks || fail "leak check"
echo "ok: pygrub through xen-mapblk extracted $res; m2p map batches: $batches"
