# Probe (not a rig scenario): what the stack's daemons are and whether the
# rig's workarounds are still needed. Never fails.
# timeout: 600
. $XM2P/tests/lib.sh
echo "xen: $(xl info | sed -n 's/^xen_version *: //p')"
pid=$(cat /run/xenstore.pid 2>/dev/null)
echo "xenstored pid $pid: $(readlink /proc/$pid/exe) ($(tr '\0' ' ' < /proc/$pid/cmdline))"
echo "xenstore-control: $(xenstore-control 2>&1 | head -n 1)"
echo "qemu: $($QEMU_DM --version | head -n 1); pid $(cat /run/qemu-dom0.pid)"
echo "device-model-pid in xenstore: $(xenstore-read /local/domain/0/image/device-model-pid 2>&1)"
# Is the device-model-pid workaround still needed? Remove it and attach.
saved=$(xenstore-read /local/domain/0/image/device-model-pid)
xenstore-rm /local/domain/0/image/device-model-pid
truncate -s 64M dmpid.img
t0=$(date +%s)
xl block-attach 0 "format=raw,vdev=xvdj,access=rw,backendtype=qdisk,target=$PWD/dmpid.img" > attach.log 2>&1
echo "without device-model-pid: xl block-attach rc=$? after $(( $(date +%s) - t0 ))s: $(tr '\n' ' ' < attach.log)"
if wait_attached xvdj qdisk > wait.log 2>&1; then
	echo "without device-model-pid: /dev/xvdj appeared (workaround not needed)"
	xl block-detach 0 xvdj > detach.log 2>&1; echo "detach rc=$?: $(tr '\n' ' ' < detach.log)"
else
	echo "without device-model-pid: no /dev/xvdj: $(tail -n 3 wait.log | tr '\n' ' ')"
	xl block-detach 0 xvdj > /dev/null 2>&1; xs_cleanup qdisk "$(vdev_id xvdj)"
fi
xenstore-write /local/domain/0/image/device-model-pid "$saved"
# Debian's init script on this stack: which xenstored would it pick?
grep -n '^XENSTORED=' /etc/default/xen 2>/dev/null || echo "/etc/default/xen: XENSTORED unset (init script tries oxenstored, then xenstored)"
echo "probe done"
