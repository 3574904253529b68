# xl save / xl restore of a PV guest (this project's kernel) with a blkback
# disk (phy: on a loop device; 6.12 negotiates persistent grants, so the
# pages stay granted across the save) and a qdisk disk (qcow2), three ways:
#  1. idle: the guest writes 16 MiB to each disk with O_DIRECT and crc32c
#     headers, is saved (the guest is gone) and restored, then must verify
#     what it wrote before the save and write and verify a new region;
#  2. checkpoint (xl save -c, the guest runs on) with rate-limited random
#     writes in flight on both disks, verified as they go and at the end;
#  3. xl save + xl restore with the same kind of I/O in flight.
# `xl save` and `xl restore` returning 0 proves nothing: only the guest's
# verification counts, and a stage whose I/O ended before its save counts
# as a failure of the test. The guest learns what dom0 did from a mailbox:
# dom0 writes a marker per stage into the last MiB of the phy: disk's
# backing file, which the guest reads with O_DIRECT. At the end the guest
# prints its own m2p override counters: with remote backends the series
# must add no entry in a domU.
# timeout: 1200
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || skip "guest kernel/init not built"
kmsg_mark
marker="m2p-$(cat /proc/sys/kernel/random/uuid)"
restored="RESTORED-$marker"
MB_SKIP=$(( (127 << 20) / 4096 ))  # the mailbox: 4 KiB at 127 MiB of xvda
mkdir -p ird && echo "$marker" > ird/marker
cat > ird/run.sh <<RUN
job() { # disk name offset extra...
	d=\$1 n=\$2 off=\$3; shift 3
	fio --thread --name=\$n --filename=/dev/\$d --direct=1 --ioengine=libaio \
		--rw=write --bs=64k --iodepth=8 --offset=\$off --size=16M \
		--verify=crc32c --verify_fatal=1 "\$@" > /tmp/\$n-\$d.log 2>&1
	r=\$?; [ \$r = 0 ] || tail -n 5 /tmp/\$n-\$d.log >&2; echo \$r
}
for d in xvda xvdb; do
	i=0; while [ ! -b /dev/\$d ]; do i=\$((i + 1)); [ \$i -gt 60 ] && break; sleep 1; done
	echo "GUEST-SR before-save \$d \$(job \$d before 0 --do_verify=1)"
done
echo "GUEST-SR ready"
i=0
until dd if=/dev/xvda bs=4096 skip=$MB_SKIP count=1 iflag=direct 2>/dev/null | grep -q "$restored"; do
	i=\$((i + 1)); [ \$i -gt 900 ] && { echo "GUEST-SR no mailbox"; break; }
	sleep 1
done
echo "GUEST-SR restored-seen"
for d in xvda xvdb; do
	echo "GUEST-SR verify-never-written \$d \$(job \$d before 64M --verify_only)"
	echo "GUEST-SR verify-after-restore \$d \$(job \$d before 0 --verify_only)"
	echo "GUEST-SR after-restore \$d \$(job \$d after 32M --do_verify=1)"
done
mailbox() { dd if=/dev/xvda bs=4096 skip=$MB_SKIP count=1 iflag=direct 2>/dev/null | grep -q "$marker-STAGE-\$1"; }
busy() { # stage offset size: rate-limited random writes on both disks at once
	for d in xvda xvdb; do
		( fio --thread --name=busy\$1 --filename=/dev/\$d --direct=1 --ioengine=libaio \
			--rw=randwrite --bs=4k --iodepth=16 --offset=\$2 --size=\$3 --rate_iops=100 \
			--verify=crc32c --verify_backlog=128 --verify_fatal=1 --do_verify=1 \
			> /tmp/busy\$1-\$d.log 2>&1; echo \$? > /tmp/busy\$1-\$d.rc ) &
	done
	echo "GUEST-SR stage\$1 started"
	wait
	if mailbox \$1; then echo "GUEST-SR stage\$1 overlapped yes"; else echo "GUEST-SR stage\$1 overlapped no"; fi
	for d in xvda xvdb; do
		r=\$(cat /tmp/busy\$1-\$d.rc); [ "\$r" = 0 ] || tail -n 5 /tmp/busy\$1-\$d.log
		echo "GUEST-SR stage\$1 \$d \$r"
	done
}
busy 2 80M 8M
busy 3 96M 16M
mkdir -p /sys/kernel/debug && mount -t debugfs debugfs /sys/kernel/debug
echo "GUEST-SR stats \$(grep -E '^(enabled|added|live_entries):' /sys/kernel/debug/xen/m2p_override/stats 2>/dev/null | tr -d ' ' | tr '\n' ' ')"
RUN
guest_initrd guest-initrd sh fio sleep grep cat tail dd tr mkdir mount || fail "guest initramfs"
truncate -s 128M phy.img && loop=$(losetup -f --show phy.img) || fail "loop device"
qemu-img create -q -f qcow2 disk.qcow2 128M || fail "qemu-img create"
pv_guest_cfg sr-guest 384 "disk = [ 'phy:$loop,xvda,w', 'format=qcow2,vdev=xvdb,access=rw,backendtype=qdisk,target=$PWD/disk.qcow2' ]"
cleanup() { xl destroy sr-guest > /dev/null 2>&1; sleep 1; losetup -d $loop 2>/dev/null; }
log=/var/log/xen/console/guest-sr-guest.log
xl_create guest.cfg sr-guest || { cat create.log; cleanup; fail "xl create"; }
i=0
until grep -q 'GUEST-SR ready' $log 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 600 ] && { tail -n 30 $log; cleanup; fail "the guest never got ready for the save"; }
	xl domid sr-guest > /dev/null 2>&1 || { tail -n 30 $log; cleanup; fail "the guest died before the save"; }
	sleep 1
done
grep 'GUEST-SR before-save' $log
log "xl save"
xl save sr-guest state.sav > save.log 2>&1; src=$?
tail -n 3 save.log
size=$(stat -c %s state.sav 2>/dev/null || echo 0)
[ $src = 0 ] || { cleanup; fail "xl save exited $src"; }
xl domid sr-guest > /dev/null 2>&1 && { cleanup; fail "the guest still runs after xl save"; }
log "xl restore ($size bytes saved)"
xl restore state.sav > restore.log 2>&1; rrc=$?
tail -n 3 restore.log
[ $rrc = 0 ] || { cleanup; fail "xl restore exited $rrc"; }
printf '%s\n' "$restored" | dd of=phy.img bs=4096 seek=$MB_SKIP conv=notrunc,fsync status=none
mailbox() { printf '%s\n' "$marker-STAGE-$1" | dd of=phy.img bs=4096 seek=$MB_SKIP conv=notrunc,fsync status=none; }
wait_line() { # pattern limit
	i=0
	until grep -q "$1" $log 2>/dev/null; do
		i=$((i + 1)); [ $i -gt $2 ] && return 1
		xl domid sr-guest > /dev/null 2>&1 || return 1
		sleep 1
	done
}
# 2: a checkpoint with I/O in flight; the guest runs on.
if wait_line 'GUEST-SR stage2 started' 600; then
	sleep 5
	log "xl save -c"
	xl save -c sr-guest ckpt.sav > ckpt.log 2>&1 || { tail -n 5 ckpt.log; cleanup; fail "xl save -c exited non-zero"; }
	xl domid sr-guest > /dev/null 2>&1 || { cleanup; fail "the guest is gone after xl save -c"; }
	mailbox 2
fi
# 3: save and restore with I/O in flight.
if wait_line 'GUEST-SR stage3 started' 600; then
	sleep 5
	log "xl save (I/O in flight)"
	xl save sr-guest state3.sav > save3.log 2>&1 || { tail -n 5 save3.log; cleanup; fail "xl save (in flight) exited non-zero"; }
	xl restore state3.sav > restore3.log 2>&1 || { tail -n 5 restore3.log; cleanup; fail "xl restore (in flight) exited non-zero"; }
	mailbox 3
fi
wait_domain_gone sr-guest 900; gone=$?
sleep 1
grep -E 'GUEST-SR|guest init|BUG|Oops|error' $log | tail -n 20
losetup -d $loop
[ $gone = 0 ] || fail "the restored guest did not finish"
grep -q "marker $marker" $log || { tail -n 40 $log; fail "no marker in the guest's console log"; }
grep -q 'GUEST-SR restored-seen' $log || fail "the restored guest never ran on"
for d in xvda xvdb; do
	grep -q "GUEST-SR before-save $d 0" $log || fail "the guest's write before the save failed on $d"
	# The check must be able to fail: a region never written must not verify.
	grep -q "GUEST-SR verify-never-written $d [1-9]" $log || fail "fio --verify_only passed on a region never written on $d: the check cannot fail"
	grep -q "GUEST-SR verify-after-restore $d 0" $log || fail "after the restore, data written before the save does not verify on $d"
	grep -q "GUEST-SR after-restore $d 0" $log || fail "after the restore, write + verify failed on $d"
done
for n in 2 3; do
	grep -q "GUEST-SR stage$n overlapped yes" $log || fail "stage $n: the guest's I/O ended before dom0's save: the test did not test"
	for d in xvda xvdb; do
		grep -q "GUEST-SR stage$n $d 0" $log || fail "stage $n (I/O in flight across $( [ $n = 2 ] && echo 'xl save -c' || echo 'xl save + restore')): write + verify failed on $d"
	done
done
stats=$(sed -n 's/^GUEST-SR stats //p' $log | tr -d '\r' | head -n 1)
if [ "${GUEST_TYPE:-pv}" = pvh ]; then
	# auto-translated: the series (PV-only) must not even create its counters
	[ -z "$stats" ] || fail "a PVH guest has m2p override counters: $stats"
	stats="none (PVH)"
else
	case " $stats" in
	*" added:0 "*) ;;
	*" added:"*) fail "the guest's blkfront added override entries with remote backends: $stats" ;;
	*) fail "no m2p override counters from the guest ($stats)" ;;
	esac
fi
dmesg_since | grep -E "$SPLAT_RE" && fail "dom0 kernel log has errors"
xenstore-ls /local/domain/0/backend 2>/dev/null | grep -q "frontend-id = \"[1-9]" && fail "backend nodes of the guest left in dom0"
check_no_leaks || fail "leak check"
echo "ok: idle save ($size bytes) + restore: 16 MiB per disk (blkback phy:, qdisk) verified after the restore; xl save -c and save + restore with writes in flight: verified; guest's override counters: $stats"
