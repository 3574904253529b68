# Probe, not in make check: can the rig live-migrate a PV guest to the same
# host? `xl migrate -s <cmd>` runs <cmd> instead of ssh; with an empty
# command xl runs the "host" argument itself, so the receiver runs locally.
# The guest (this project's kernel) has a blkback disk and writes with
# verification before, during and after the migration. Run it with:
#   scripts/boot.sh --name migrate --tests probe-migrate-localhost
# timeout: 900
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || skip "guest kernel/init not built"
marker="m2p-$(cat /proc/sys/kernel/random/uuid)"
mkdir -p ird && echo "$marker" > ird/marker
cat > ird/run.sh <<RUN
i=0; while [ ! -b /dev/xvda ]; do i=\$((i + 1)); [ \$i -gt 60 ] && break; sleep 1; done
echo "GUEST-MIG started"
fio --thread --name=mig --filename=/dev/xvda --direct=1 --ioengine=libaio \
	--rw=randwrite --bs=4k --iodepth=16 --size=16M --rate_iops=100 \
	--verify=crc32c --verify_backlog=128 --verify_fatal=1 --do_verify=1 > /tmp/mig.log 2>&1
r=\$?; [ \$r = 0 ] || tail -n 5 /tmp/mig.log
echo "GUEST-MIG fio \$r"
RUN
guest_initrd guest-initrd sh fio sleep grep cat tail || fail "guest initramfs"
truncate -s 64M phy.img && loop=$(losetup -f --show phy.img) || fail "loop device"
pv_guest_cfg mig-guest 384 "disk = [ 'phy:$loop,xvda,w' ]"
log=/var/log/xen/console/guest-mig-guest.log
xl create guest.cfg > create.log 2>&1 || { cat create.log; losetup -d $loop; fail "xl create"; }
i=0; until grep -q 'GUEST-MIG started' $log 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 300 ] || ! xl domid mig-guest > /dev/null 2>&1 && { tail -n 30 $log; losetup -d $loop; fail "the guest never started its I/O"; }
	sleep 1
done
sleep 5
log "xl migrate to this host"
timeout 300 xl migrate -s '' mig-guest "xl migrate-receive" > migrate.log 2>&1; rc=$?
tail -n 15 migrate.log
echo "xl migrate exit $rc"
xl list
wait_domain_gone mig-guest 600; gone=$?
sleep 1
cat /var/log/xen/console/guest-mig-guest*.log | grep -E 'GUEST-MIG|BUG|Oops' | tail -n 10
ls /var/log/xen/console/
losetup -d $loop
[ $rc = 0 ] || fail "xl migrate to this host exited $rc"
cat /var/log/xen/console/guest-mig-guest*.log | grep -q 'GUEST-MIG fio 0' || fail "the migrated guest's verified writes failed"
echo "ok: live-migrated to this host with verified writes in flight"
