# Core mm on a local-attached disk: ext4 on a disk that dom0 attaches to
# itself, once through xen-mapblk (gntdev maps blkfront's page-cache pages)
# and once through blkback with persistent grants off (blkback maps them;
# with them on, blkfront copies through its own pages and the file's pages
# are never granted). tests/mmstress.py has processes dirty MAP_SHARED
# mappings, msync, munmap, fork and exit while writeback is in flight;
# then the filesystem is unmounted, checked, remounted and every page
# verified. Any kernel report (Bad page, mapcount, BUG, ...) fails it.
# timeout: 900
. $XM2P/tests/lib.sh
secs=${MM_SECONDS:-60}
kmsg_mark

# $1 = /dev node, $2 = label
stress() {
	mkfs.ext4 -q -F "$1" || fail "$2: mkfs.ext4"
	mkdir -p mnt && mount "$1" mnt || fail "$2: mount"
	python3 $XM2P/tests/mmstress.py run mnt "$secs" || { umount mnt; fail "$2: mmstress run"; }
	umount mnt || fail "$2: umount"
	e2fsck -fn "$1" > fsck.log 2>&1 || { tail -n 20 fsck.log; fail "$2: e2fsck after the run"; }
	mount "$1" mnt || fail "$2: remount"
	python3 $XM2P/tests/mmstress.py verify mnt || { umount mnt; fail "$2: content"; }
	umount mnt || fail "$2: umount after verify"
	if dmesg_since | grep -E "$SPLAT_RE|mapcount"; then
		fail "$2: kernel reports (above)"
	fi
}

# xen-mapblk: gntdev maps each request's grants, with kernel mappings
# (persistent grants off, as for blkback below)
truncate -s 128M mapblk.img
added0=$(m2p_stat added || echo 0)
mapblk_start xvdg "$PWD/mapblk.img" --no-persistent
wait_for_dev /dev/xvdg 60 || { cat mapblk.log; fail "no /dev/xvdg from xen-mapblk"; }
stress /dev/xvdg xen-mapblk
mapblk_stop xvdg || fail "xen-mapblk did not shut down cleanly"
added=$(( $(m2p_stat added || echo 0) - added0 ))
check_no_leaks || fail "leak check after xen-mapblk"
echo "xen-mapblk: clean, $added override entries added"

# blkback, persistent grants off
param=/sys/module/xen_blkback/parameters/feature_persistent
[ -w $param ] || fail "no $param"
echo 0 > $param
truncate -s 128M phy.img && loop=$(losetup -f --show phy.img) || fail "loop device"
xl block-attach 0 "phy:$loop,xvdh,w" || { echo 1 > $param; losetup -d $loop; fail "xl block-attach"; }
wait_attached xvdh vbd || { echo 1 > $param; xs_cleanup vbd "$(vdev_id xvdh)"; losetup -d $loop; fail "no /dev/xvdh"; }
echo 1 > $param
persistent=$(xenstore-read "/local/domain/0/backend/vbd/0/$(vdev_id xvdh)/feature-persistent" 2>/dev/null)
[ "$persistent" = 0 ] || fail "blkback offered persistent grants ($persistent)"
stress /dev/xvdh blkback
xl block-detach 0 xvdh || fail "xl block-detach"
i=0; while [ -b /dev/xvdh ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/xvdh still there"; sleep 0.5; done
losetup -d $loop
check_no_leaks || fail "leak check after blkback"
echo "ok: ext4 on xen-mapblk and on blkback (persistent grants off), ${secs} s of mmap/msync/fork/exit each, fsck clean, every page verified, no kernel report; override entries added through xen-mapblk: $added"
