# A device is removed while its backend is alive and has I/O in flight
# (issue 12). blkfront must not fail a request that a live backend may
# still read from the ring: failing it ends its grants and puts their refs
# back on the free list, where anyone may reuse them while the backend goes
# on to map them.
#  1. sysfs unbind of dom0's blkfront (vbd-N) under fio, with a slow live
#     backend (xen-mapblk --stall-ms: every request waits before its grants
#     are mapped, so requests sit on the ring at the unbind). The unbind
#     must finish, blkfront must fail no request, and the backend must map
#     every request it reads (map_errors=0 in its statistics).
#  2. `xl block-detach -f` of a blkback self-attach under fio: the live
#     backend closes first, the detach finishes, fio ends, nothing is left.
# On the series before this was fixed, part 1 failed: blkfront failed the
# requests on the ring at the unbind and the live backend's grant maps of
# them then failed (tests/findings/blkfront-unbind-live-backend.md).
# timeout: 420
. $XM2P/tests/lib.sh
kmsg_mark

# 1. sysfs unbind, live slow backend
img=$PWD/unbind.img
truncate -s 128M $img
id=$(vdev_id xvdm)
be=/local/domain/0/backend/vbd3/0/$id fe=/local/domain/0/device/vbd/$id
mapblk_start xvdm $img --stall-ms 100
wait_for_dev /dev/xvdm 60 || { cat mapblk.log; fail "no /dev/xvdm"; }
fio --name=load --filename=/dev/xvdm --direct=1 --ioengine=libaio --rw=randwrite \
	--bs=4k --iodepth=16 --size=64M --time_based --runtime=120 > fio.log 2>&1 & f=$!
sleep 8
echo "in flight before the unbind (reads writes): $(cat /sys/block/xvdm/inflight)"
t0=$(date +%s)
echo vbd-$id > /sys/bus/xen/drivers/vbd/unbind & u=$!
if ! wait_exit $u 120; then
	ps -eo pid,stat,wchan:32,cmd | grep -E 'fio|xenwatch|unbind|sh -c' | grep -v grep
	cat /proc/$u/stack 2>/dev/null
	dmesg_since | tail -n 30
	fail "the unbind of a live backend's device did not finish in 120 s"
fi
wait $u; urc=$?
echo "unbind: rc $urc after $(( $(date +%s) - t0 )) s; frontend state $(xenstore-read $fe/state 2>/dev/null)"
# fio loses its device: it ends with errors for I/O after the unbind
wait_exit $f 60 || { cat /proc/$f/stack 2>/dev/null; fail "fio still running 60 s after the unbind"; }
wait $f
# the frontend went Closed: xen-mapblk stops on its own and prints its stats
i=0; while kill -0 $MAPBLK_PID 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 60 ] && { kill -TERM $MAPBLK_PID; break; }; sleep 0.5
done
wait $MAPBLK_PID
grep -E 'stats\(exit\)|map of|answered|stopping' mapblk.log | tail -n 8
xenstore-rm $be; xenstore-rm $fe
failed=$(dmesg_since | grep -E 'failed [0-9]+ pending requests|requests left pending')
maperr=$(sed -n 's/.*stats(exit):.* map_errors=\([0-9]*\).*/\1/p' mapblk.log)
[ -n "$maperr" ] || fail "no statistics from xen-mapblk"
[ -z "$failed" ] || { echo "$failed"; fail "blkfront failed requests of a live backend at the unbind"; }
[ "$maperr" = 0 ] || fail "the live backend could not map the grants of $maperr request(s) it read after the unbind: blkfront had ended them"
dmesg_since | grep -E "$OOPS_RE" && fail "oops or hung task after the unbind"
check_no_leaks || fail "leak check after the unbind"
echo "unbind: no request failed, backend map errors 0, unbind rc $urc"

# 2. xl block-detach -f, live blkback
truncate -s 128M phy.img && loop=$(losetup -f --show phy.img) || fail "loop device"
xl block-attach 0 "phy:$loop,xvdn,w" || { losetup -d $loop; fail "xl block-attach"; }
wait_attached xvdn vbd || { xs_cleanup vbd "$(vdev_id xvdn)"; losetup -d $loop; fail "no /dev/xvdn"; }
kmsg_mark
fio --name=load --filename=/dev/xvdn --direct=1 --ioengine=libaio --rw=randwrite \
	--bs=4k --iodepth=16 --size=64M --time_based --runtime=120 > fio2.log 2>&1 & f=$!
sleep 8
echo "in flight before xl block-detach -f: $(cat /sys/block/xvdn/inflight)"
t0=$(date +%s)
timeout 120 xl block-detach -f 0 xvdn; drc=$?
echo "xl block-detach -f: rc $drc after $(( $(date +%s) - t0 )) s"
[ $drc = 124 ] && fail "xl block-detach -f of a live blkback did not return in 120 s"
wait_exit $f 60 || { cat /proc/$f/stack 2>/dev/null; fail "fio still running 60 s after the forced detach"; }
wait $f
i=0; while [ -b /dev/xvdn ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/xvdn still there 30 s after the detach"; sleep 0.5; done
losetup -d $loop
dmesg_since | grep -E 'xen-blkfront|vbd|blkback' | tail -n 5
dmesg_since | grep -E 'requests left pending' && fail "a request stayed pending with its grants mapped"
dmesg_since | grep -E "$OOPS_RE" && fail "oops or hung task after the forced detach"
check_no_leaks || fail "leak check after the forced detach"
echo "ok: live backends removed under I/O: unbind failed no request (backend map errors 0), forced detach rc $drc, no report, no leak"
