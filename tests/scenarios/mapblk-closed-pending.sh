# A backend goes Closed with requests unanswered, and the device stays
# (issue 12): what blkback does when it stops its thread before it reaches
# Closed, or a backend that gives up. xen-mapblk holds every write
# unanswered (--hold-writes, their grants never mapped), then on SIGUSR2
# unmaps the ring and writes state Closed, leaving the nodes in place. A
# Closed backend reads the ring no more and has let go of every grant, so
# blkfront must fail those requests within 30 s, not keep them until the
# device is removed. Then the device is removed as a toolstack does.
# When the check fails the device is left in place (removing it would wedge
# xenwatch on a kernel that waits for the requests), so this runs last.
# timeout: 300
# order: last
. $XM2P/tests/lib.sh
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
kmsg_mark
img=$PWD/closed.img
truncate -s 64M $img
id=$(vdev_id xvdo)
be=/local/domain/0/backend/vbd3/0/$id fe=/local/domain/0/device/vbd/$id
mapblk_start xvdo $img --hold-writes
wait_for_dev /dev/xvdo 60 || { cat mapblk.log; fail "no /dev/xvdo"; }
dd if=/dev/urandom of=/dev/xvdo bs=64k count=4 oflag=direct > dd.log 2>&1 & d=$!
i=0
until grep -q '^xen-mapblk: holding' mapblk.log; do
	i=$((i + 1)); [ $i -gt 60 ] && { cat mapblk.log dd.log; fail "the backend never held a request"; }
	sleep 0.5
done
echo "in flight (reads writes): $(cat /sys/block/xvdo/inflight)"
kill -USR2 $MAPBLK_PID
i=0
until [ "$(xenstore-read $be/state 2>/dev/null)" = 6 ]; do
	i=$((i + 1)); [ $i -gt 20 ] && { cat mapblk.log; fail "the backend did not reach Closed"; }
	sleep 0.5
done
t0=$(date +%s)
if ! wait_exit $d 30; then
	echo "in flight: $(cat /sys/block/xvdo/inflight); frontend state $(xenstore-read $fe/state)"
	cat /proc/$d/stack 2>/dev/null
	dmesg_since | grep -E 'vbd|blkfront' | tail -n 5
	fail "I/O still pending 30 s after the backend went Closed (the device is left in place)"
fi
wait $d; drc=$?
cat dd.log
[ $drc != 0 ] || fail "a write the Closed backend never answered reported success"
echo "the write failed $(( $(date +%s) - t0 )) s after the backend went Closed; nodes still there: $(xenstore-read $be/state) $(xenstore-read $fe/state)"
[ -n "$(xenstore-read $fe/state 2>/dev/null)" ] || fail "the frontend's node went away: this was to be a Closed backend without removal"
dmesg_since | grep -E 'failed [0-9]+ pending'
# the toolstack removes the device
xenstore-rm $be; xenstore-rm $fe
i=0; while [ -b /dev/xvdo ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/xvdo still there 30 s after removal"; sleep 0.5; done
mapblk_stop xvdo > /dev/null || true
dmesg_since | grep -E "$OOPS_RE" && fail "oops or hung task"
check_no_leaks || fail "leak check"
echo "ok: backend Closed with requests held: the write failed (rc $drc) without removal, then the device went; no report, no leak"
