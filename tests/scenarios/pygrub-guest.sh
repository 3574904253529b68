# The pygrub path as libxl drives it: `xl create` of a PV guest with
# bootloader="pygrub" and a qcow2 disk on the qdisk backend. libxl
# local-attaches the disk in dom0, pygrub reads grub.cfg from it and
# extracts kernel and initrd, libxl detaches, the guest boots them. The
# guest's init prints a unique marker (xenconsoled logs the guest console)
# and powers off. Afterwards nothing of the local attach is left in dom0.
# timeout: 600
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || skip "guest kernel/init not built"
marker="m2p-$(cat /proc/sys/kernel/random/uuid)"
pygrub_guest_disk guest.qcow2 "$marker" || fail "guest boot disk"
cat > guest.cfg <<CFG
name = "pygrub-guest"
type = "pv"
memory = 256
vcpus = 1
bootloader = "pygrub"
disk = [ 'format=qcow2,vdev=xvda,access=rw,backendtype=qdisk,target=$PWD/guest.qcow2' ]
on_poweroff = "destroy"
on_crash = "destroy"
CFG
xl_create guest.cfg pygrub-guest || { cat create.log; fail "xl create"; }
cat create.log
i=0
while xl domid pygrub-guest > /dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 300 ] && { xl destroy pygrub-guest; fail "guest still running after 300 s"; }
	sleep 1
done
log=/var/log/xen/console/guest-pygrub-guest.log
sleep 1
cat $log 2>/dev/null | tail -n 5
if ! grep -q "marker $marker" $log; then
	tail -n 30 /var/log/xen/xl-pygrub-guest.log 2>/dev/null
	xl dmesg | tail -n 20
	fail "the guest's marker is not in its console log ($log)"
fi
ls /dev/xvd* 2>/dev/null && fail "a local-attach device is left in dom0"
xenstore-ls /local/domain/0/device/vbd 2>/dev/null | grep -q . && fail "dom0 vbd frontend nodes left"
check_no_leaks || fail "leak check"
echo "ok: pygrub-booted PV guest printed its marker; nothing left attached in dom0"
