# xl save / xl restore of a PV guest (this project's kernel) with a blkback
# disk (phy: on a loop device; 6.12 negotiates persistent grants, so the
# pages stay granted across the save) and a qdisk disk (qcow2). The guest
# writes 16 MiB to each with O_DIRECT and crc32c headers, says it is ready,
# is saved (xl save, the guest is gone) and restored, and must then read
# back and verify what it wrote before the save and write and verify a new
# region. `xl save` and `xl restore` returning 0 proves nothing: only the
# guest's read-back after the restore counts. The guest learns that it
# was restored from a mailbox: dom0 writes a marker into the last MiB of
# the phy: disk's backing file, which the guest polls with O_DIRECT.
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
RUN
guest_initrd guest-initrd sh fio sleep grep cat tail dd || fail "guest initramfs"
truncate -s 128M phy.img && loop=$(losetup -f --show phy.img) || fail "loop device"
qemu-img create -q -f qcow2 disk.qcow2 128M || fail "qemu-img create"
cat > guest.cfg <<CFG
name = "sr-guest"
type = "pv"
memory = 384
vcpus = 1
kernel = "$XM2P/bin/guest-kernel"
ramdisk = "$PWD/guest-initrd"
extra = "console=hvc0 rdinit=/init"
disk = [ 'phy:$loop,xvda,w', 'format=qcow2,vdev=xvdb,access=rw,backendtype=qdisk,target=$PWD/disk.qcow2' ]
on_poweroff = "destroy"
on_crash = "destroy"
CFG
cleanup() { xl destroy sr-guest > /dev/null 2>&1; sleep 1; losetup -d $loop 2>/dev/null; }
log=/var/log/xen/console/guest-sr-guest.log
xl create guest.cfg > create.log 2>&1 || { cat create.log; cleanup; fail "xl create"; }
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
dmesg_since | grep -E "$SPLAT_RE" && fail "dom0 kernel log has errors"
xenstore-ls /local/domain/0/backend 2>/dev/null | grep -q "frontend-id = \"[1-9]" && fail "backend nodes of the guest left in dom0"
check_no_leaks || fail "leak check"
echo "ok: saved ($size bytes) and restored; 16 MiB per disk (blkback phy:, qdisk) written before the save verified after the restore, new writes verified"
