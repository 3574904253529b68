# The other local-attach flavour: dom0 attaches a loop device to itself
# through the in-kernel blkback (`xl block-attach 0 phy:...`), so blkback
# maps grants of dom0's own blkfront pages. fio O_DIRECT write + verify and
# read on /dev/xvde, a pattern written through the frontend must be in the
# loop device's file afterwards, and nothing is left behind.
# timeout: 600
. $XM2P/tests/lib.sh
kmsg_mark
truncate -s 128M phy.img && loop=$(losetup -f --show phy.img) || fail "loop device"
dd if=/dev/urandom of=pattern bs=1M count=8 status=none
added0=$(m2p_stat added || echo 0)
xl block-attach 0 "phy:$loop,xvde,w" || { losetup -d $loop; fail "xl block-attach"; }
wait_attached xvde vbd || { xs_cleanup vbd "$(vdev_id xvde)"; losetup -d $loop; fail "no /dev/xvde"; }
# the pattern goes past the region fio works on
dd if=pattern of=/dev/xvde bs=1M seek=64 oflag=direct status=none || fail "dd to /dev/xvde"
bw=$(fio_verify /dev/xvde 48M | grep -o -E '(WRITE|READ): bw=[^ ]+' | paste -sd' ') || fail "fio on /dev/xvde"
cmp -n 8388608 pattern /dev/xvde 0 64M || fail "pattern does not read back through blkback"
xl block-detach 0 xvde || fail "xl block-detach"
i=0; while [ -b /dev/xvde ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/xvde still there"; sleep 0.5; done
sync
cmp -n 8388608 pattern phy.img 0 64M || fail "the loop device's file does not hold the pattern"
losetup -d $loop
dmesg_since | grep -E "$OOPS_RE" && fail "oops or hung task"
check_no_leaks || fail "leak check"
# blkback maps without kmap ops: it adds no override entry (KUnit
# m2p_test_no_kmap checks that per mapping). What is counted here must
# stay 0.
added=$(( $(m2p_stat added || echo 0) - added0 ))
[ "$added" = 0 ] || fail "blkback self-attach added $added override entries; it must add none"
echo "ok: blkback self-attach, fio verified ($bw), pattern in the backing file; override entries added: $added"
