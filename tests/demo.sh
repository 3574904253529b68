# `make run`: one local attach as libxl does it for pygrub, then O_DIRECT
# I/O on the attached disk. Prints a short summary for a human.
# timeout: 600
. $XM2P/tests/lib.sh

make_boot_disk disk.raw 64M
truncate -s 192M disk.raw          # room for fio after the partition
qemu-img convert -O qcow2 disk.raw guest.qcow2 || fail "qemu-img convert"
rm -f disk.raw
img=$PWD/guest.qcow2
xl block-attach 0 "format=qcow2,vdev=xvdb,access=rw,backendtype=qdisk,target=$img" ||
	fail "xl block-attach"
wait_attached xvdb qdisk || fail "no /dev/xvdb"
flags=$(qemu_fd_flags "$img")
mkdir -p out && : > pygrub.out   # pygrub opens --output without O_CREAT
$XENDIR/pygrub -q --output-format=simple --output-directory=$PWD/out \
	--output=$PWD/pygrub.out /dev/xvdb > pygrub.log 2>&1 || { cat pygrub.log; fail "pygrub"; }
kern=$(sed -n 's/.*kernel \([^ ]*\).*/\1/p' pygrub.out | head -n1)
initrd=$(sed -n 's/.*ramdisk \([^ ]*\).*/\1/p' pygrub.out | head -n1)
fio --name=demo --filename=/dev/xvdb --direct=1 --ioengine=libaio --offset=96M --size=64M \
	--rw=randwrite --bs=64k --iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1 \
	> fio.log 2>&1 || { tail -n 20 fio.log; fail "fio"; }
xl block-detach 0 xvdb || fail "xl block-detach"
ok=yes
cmp -s kernel.want "$kern" || ok=no
cmp -s initrd.want "$initrd" || ok=no
leaks=$( [ -r $M2P_DEBUGFS/leaks ] && wc -l < $M2P_DEBUGFS/leaks || echo n/a)
cat <<SUMMARY
  attached   : guest.qcow2 (qcow2, $(qemu-img info --output=json $img | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"] >> 20)') MiB) as dom0 /dev/xvdb via xl block-attach, backendtype=qdisk (QEMU fd flags $flags)
  pygrub     : kernel $(basename "$kern") ($(stat -c %s "$kern") B), ramdisk $(basename "$initrd") ($(stat -c %s "$initrd") B), args "$(sed -n 's/.*args \(.*\)$/\1/p' pygrub.out | head -n1)"
  identical  : $ok (extracted files vs. what the disk holds)
  fio        : O_DIRECT randwrite 64k + crc32c verify: $(grep -o -E '(WRITE|READ): bw=[^ ]+' fio.log | paste -sd' ')
  m2p leaks  : $leaks
SUMMARY
[ $ok = yes ] || fail "pygrub output differs"
echo "ok: local attach + pygrub + O_DIRECT fio"
