# The remote-frontend path: a PV guest (this project's kernel) with two
# disks, xvda on blkback (phy: on a loop device in dom0) and xvdb on qdisk
# (qcow2). Inside the guest, fio O_DIRECT write + verify (crc32c) and read
# on both; the guest prints one result line per disk on its console, which
# xenconsoled logs. Here dom0's blkback maps frames that are truly foreign.
# The guest also prints its type and its own m2p override counters: with
# remote backends the series adds no entry in a PV domU, and in a PVH guest
# (GUEST_TYPE=pvh, the pvh-guest scenario) it does not even create them.
# timeout: 900
# matrix-only (guest-save-restore covers the same disks, verify and counters)
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || skip "guest kernel/init not built"
SIZE=${XM2P_GUEST_FIO_SIZE:-96M}
kmsg_mark
marker="m2p-$(cat /proc/sys/kernel/random/uuid)"
mkdir -p ird && echo "$marker" > ird/marker
cat > ird/run.sh <<RUN
for d in xvda xvdb; do
	i=0; while [ ! -b /dev/\$d ]; do i=\$((i + 1)); [ \$i -gt 60 ] && break; sleep 1; done
	fio --thread --name=w --filename=/dev/\$d --direct=1 --ioengine=libaio \
		--rw=randwrite --bssplit=4k/50:64k/40:256k/10 --iodepth=8 --size=$SIZE \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=1 > /tmp/w.log 2>&1
	w=\$?
	fio --thread --name=r --filename=/dev/\$d --direct=1 --ioengine=libaio \
		--rw=randread --bs=64k --iodepth=8 --size=$SIZE > /tmp/r.log 2>&1
	r=\$?
	bw=\$(grep -h -o -E '(WRITE|READ): bw=[^ ]+' /tmp/w.log /tmp/r.log | tr '\n' ' ')
	[ \$w = 0 ] || cat /tmp/w.log
	echo "GUEST-FIO \$d write+verify=\$w read=\$r \$bw"
done
mkdir -p /sys/kernel/debug && mount -t debugfs debugfs /sys/kernel/debug
echo "GUEST-TYPE \$(cat /sys/hypervisor/guest_type 2>/dev/null)"
echo "GUEST-M2P \$(grep -E '^(enabled|added|live_entries):' /sys/kernel/debug/xen/m2p_override/stats 2>/dev/null | tr -d ' ' | tr '\n' ' ')"
RUN
guest_initrd guest-initrd sh fio sleep grep cat tr mkdir mount || fail "guest initramfs"
truncate -s 128M phy.img && loop=$(losetup -f --show phy.img) || fail "loop device"
qemu-img create -q -f qcow2 disk.qcow2 128M || fail "qemu-img create"
pv_guest_cfg fio-guest 384 "disk = [ 'phy:$loop,xvda,w', 'format=qcow2,vdev=xvdb,access=rw,backendtype=qdisk,target=$PWD/disk.qcow2' ]"
before_live=$(m2p_stat live_entries || echo -)
xl_create guest.cfg fio-guest || { cat create.log; losetup -d $loop; fail "xl create"; }
wait_domain_gone fio-guest 800; gone=$?
log=/var/log/xen/console/guest-fio-guest.log
sleep 1
grep -E 'GUEST-FIO|guest init|error|Error' $log | tail -n 20
losetup -d $loop
[ $gone = 0 ] || fail "the guest did not finish"
grep -q "marker $marker" $log || { tail -n 40 $log; fail "no marker in the guest's console log"; }
for d in xvda xvdb; do
	grep -q "GUEST-FIO $d write+verify=0 read=0" $log || fail "fio in the guest failed on $d"
done
gtype=$(sed -n 's/^GUEST-TYPE //p' $log | tr -d '\r' | head -n 1)
stats=$(sed -n 's/^GUEST-M2P //p' $log | tr -d '\r' | head -n 1)
if [ "${GUEST_TYPE:-pv}" = pvh ]; then
	[ "$gtype" = PVH ] || fail "the guest says it is '$gtype', not PVH"
	[ -z "$stats" ] || fail "the PVH guest has m2p override counters: $stats"
	stats="none (PVH)"
else
	case " $stats" in
	*" added:0 "*) ;;
	*) fail "the guest's override counters do not show 0 entries added: '$stats'" ;;
	esac
fi
dmesg_since | grep -E "$OOPS_RE" && fail "dom0 oops or hung task"
xenstore-ls /local/domain/0/backend 2>/dev/null | grep -q "frontend-id = \"[1-9]" && fail "backend nodes of the guest left in dom0"
check_no_leaks || fail "leak check"
echo "ok: $gtype guest fio on blkback (phy:) and qdisk verified (guest's m2p counters: $stats): $(grep -o -E 'GUEST-FIO xvd[ab] .*' $log | sed 's/write+verify=0 read=0 //' | paste -sd';'); m2p live entries $before_live -> $(m2p_stat live_entries || echo -)"
