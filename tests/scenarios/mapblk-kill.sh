# The backend dies mid-I/O: xen-mapblk is SIGKILLed while fio runs on
# /dev/xvdi, then the device is detached the way a toolstack detaches a
# dead backend (backend state Closing, then the nodes are removed). Dom0
# must survive, gntdev must have dropped every mapping of the dead process
# (no grant mapping or override entry left), and the frontend must fail the outstanding I/O
# rather than leave fio hanging forever. Unpatched 6.12 fails here by
# hanging the xenwatch thread, which wedges every later xenbus operation in
# dom0: so this scenario runs last.
# timeout: 420
# order: last
. $XM2P/tests/lib.sh
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
kmsg_mark
img=$PWD/kill.img
truncate -s 256M $img
id=$(vdev_id xvdi)
be=/local/domain/0/backend/vbd3/0/$id fe=/local/domain/0/device/vbd/$id
mapblk_start xvdi $img
wait_for_dev /dev/xvdi 60 || { cat mapblk.log; fail "no /dev/xvdi"; }
fio --name=load --filename=/dev/xvdi --direct=1 --ioengine=libaio --rw=randrw \
	--bs=64k --iodepth=16 --size=192M --time_based --runtime=300 > fio.log 2>&1 & f=$!
sleep 15
echo "in flight before the kill (reads writes): $(cat /sys/block/xvdi/inflight)"
kill -KILL $MAPBLK_PID; wait $MAPBLK_PID 2>/dev/null
echo "xen-mapblk killed; live overrides now $(m2p_stat live_entries || echo -)"
xenstore-write $be/online 0 $be/state 5
i=0
until [ "$(xenstore-read $fe/state 2>/dev/null)" = 6 ]; do
	i=$((i + 1)); [ $i -gt 20 ] && { echo "frontend state $(xenstore-read $fe/state) after 10 s"; break; }
	sleep 0.5
done
echo "frontend state $(xenstore-read $fe/state 2>/dev/null); in flight: $(cat /sys/block/xvdi/inflight 2>/dev/null)"
xenstore-rm $be; xenstore-rm $fe
if ! wait_exit $f 120; then
	echo "in flight: $(cat /sys/block/xvdi/inflight 2>/dev/null)"
	ps -eo pid,stat,wchan:32,cmd | grep -E 'fio|xenwatch|xenbus' | grep -v grep
	cat /proc/$f/stack 2>/dev/null
	fail "fio still blocked 120 s after the backend died: the frontend never failed its I/O"
fi
wait $f; frc=$?
grep -E 'error|err=' fio.log | head -n 5
[ $frc != 0 ] || fail "fio reported success for I/O the dead backend never completed"
i=0; while [ -b /dev/xvdi ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/xvdi still there 30 s after removal"; sleep 0.5; done
dmesg_since | grep -E "$OOPS_RE" && fail "oops or hung task in dom0"
check_no_leaks || fail "leak check"
echo "ok: backend SIGKILLed mid-I/O, detached; fio failed with errors (rc $frc), no hang, no leak; live overrides $(m2p_stat live_entries || echo -)"
