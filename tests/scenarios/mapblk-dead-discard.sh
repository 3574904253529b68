# A backend dies with a discard pending, then the toolstack removes the
# device (issue 12). xen-mapblk advertises feature-discard and
# discard-secure and holds every discard unanswered (--hold-discard); it is
# SIGKILLed once the discard is held, and the device is detached as
# mapblk-kill does. The discard must fail within 60 s, the device must go,
# and dom0's log must stay clean. Once with a secure discard (its
# u.discard.flag is 1, where u.rw.nr_segments would be), once with a plain
# one, each on its own device (two BLKDISCARDs on one device queue behind
# each other in the block layer). The series as it was corrupted blkfront's
# grant list here (tests/findings/blkfront-dead-backend-discard.md); on the
# unpatched base the removal waits forever in xenwatch, so this runs last.
# timeout: 400
# order: last
. $XM2P/tests/lib.sh
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
kmsg_mark

# $1 = vdev, $2 = secure|plain
dead_discard() {
	vdev=$1 kind=$2
	img=$PWD/$vdev.img
	truncate -s 64M $img
	id=$(vdev_id $vdev)
	be=/local/domain/0/backend/vbd3/0/$id fe=/local/domain/0/device/vbd/$id
	mapblk_start $vdev $img --hold-discard
	wait_for_dev /dev/$vdev 60 || { cat mapblk.log; fail "no /dev/$vdev"; }
	# some completed I/O first, so that ring slots carry earlier grants
	dd if=/dev/urandom of=/dev/$vdev bs=64k count=64 oflag=direct status=none || fail "dd to /dev/$vdev"
	flag=; [ $kind = secure ] && flag=-s
	blkdiscard -f $flag -o 0 -l 1M /dev/$vdev > $kind.log 2>&1 & d=$!
	i=0
	until grep -q '^xen-mapblk: holding' mapblk.log; do
		i=$((i + 1)); [ $i -gt 60 ] && { cat mapblk.log $kind.log; fail "$kind: the backend never held the discard"; }
		sleep 0.5
	done
	grep '^xen-mapblk: holding' mapblk.log
	echo "$kind: in flight before the kill: $(cat /sys/block/$vdev/inflight)"
	kill -KILL $MAPBLK_PID; wait $MAPBLK_PID 2>/dev/null
	xenstore-write $be/online 0 $be/state 5
	i=0
	until [ "$(xenstore-read $fe/state 2>/dev/null)" = 6 ]; do
		i=$((i + 1)); [ $i -gt 20 ] && break; sleep 0.5
	done
	xenstore-rm $be; xenstore-rm $fe
	if ! wait_exit $d 60; then
		ps -eo pid,stat,wchan:32,cmd | grep -E 'blkdiscard|xenwatch' | grep -v grep
		dmesg_since | grep -E "$OOPS_RE" -A 30 | head -n 80
		fail "$kind: the discard was still pending 60 s after the backend died and the device was removed"
	fi
	wait $d; rc=$?
	cat $kind.log
	if dmesg_since | grep -E "$OOPS_RE"; then
		dmesg_since | grep -E "$OOPS_RE" -A 30 | head -n 80
		fail "$kind: kernel report after the dead backend's discard"
	fi
	[ $rc != 0 ] || fail "$kind: a discard the dead backend never answered reported success"
	i=0; while [ -b /dev/$vdev ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/$vdev still there 30 s after removal"; sleep 0.5; done
	echo "$kind: discard failed (rc $rc), device gone"
}

dead_discard xvdj secure
dead_discard xvdk plain
check_no_leaks || fail "leak check"
echo "ok: backends died with a secure and with a plain discard pending; both discards failed, devices gone, no report"
