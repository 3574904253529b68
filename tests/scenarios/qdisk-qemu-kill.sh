# The backend of libxl's local attach dies (issue 12). It kills dom0's
# QEMU (restarted at the end) and on the unpatched base leaves fio and
# xenwatch blocked (tests/findings/qdisk-qemu-killed.md), so it runs last.
# A qcow2 image is attached to dom0 through qdisk (dom0's QEMU), fio runs
# O_DIRECT on it, and QEMU is SIGKILLed. Then what a user has: a plain
# `xl block-detach` (timed, and whether the device goes), `xl block-detach
# -f`, fio must end with errors within 60 s, the device must go, QEMU is
# restarted and a new attach of the same image must work.
# timeout: 600
# order: last
. $XM2P/tests/lib.sh
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
kmsg_mark
img=$PWD/q.qcow2
qemu-img create -q -f qcow2 "$img" 256M || fail "qemu-img create"
xl block-attach 0 "format=qcow2,vdev=xvdl,access=rw,backendtype=qdisk,target=$img" || fail "xl block-attach"
wait_attached xvdl qdisk || fail "no /dev/xvdl"
fio --name=load --filename=/dev/xvdl --direct=1 --ioengine=libaio --rw=randrw \
	--bs=64k --iodepth=16 --size=192M --time_based --runtime=300 > fio.log 2>&1 & f=$!
sleep 10
echo "in flight before the kill (reads writes): $(cat /sys/block/xvdl/inflight)"
kill -KILL "$(cat /run/qemu-dom0.pid)"
sleep 1
t0=$(date +%s)
xl block-detach 0 xvdl > detach.log 2>&1; rc=$?
echo "plain xl block-detach: rc $rc after $(( $(date +%s) - t0 )) s; device $([ -b /dev/xvdl ] && echo still there || echo gone)"
tail -n 3 detach.log
if [ -b /dev/xvdl ]; then
	t0=$(date +%s)
	xl block-detach -f 0 xvdl > detach-f.log 2>&1; rc=$?
	echo "xl block-detach -f: rc $rc after $(( $(date +%s) - t0 )) s"
	tail -n 3 detach-f.log
fi
if ! wait_exit $f 60; then
	ps -eo pid,stat,wchan:32,cmd | grep -E 'fio|xenwatch' | grep -v grep
	fail "fio still blocked 60 s after the detach"
fi
wait $f; frc=$?
grep -E 'error|err=' fio.log | head -n 3
[ $frc != 0 ] || fail "fio reported success for I/O the dead QEMU never completed"
i=0; while [ -b /dev/xvdl ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/xvdl still there 30 s after the detach"; sleep 0.5; done
dmesg_since | grep -E "$OOPS_RE" && fail "oops or hung task in dom0"
check_no_leaks || fail "leak check"
start_qemu_dom0 || fail "QEMU did not restart"
xl block-attach 0 "format=qcow2,vdev=xvdl,access=rw,backendtype=qdisk,target=$img" || fail "xl block-attach after the restart"
wait_attached xvdl qdisk || fail "no /dev/xvdl after the restart"
dd if=/dev/urandom of=pattern bs=1M count=4 status=none
dd if=pattern of=/dev/xvdl bs=1M oflag=direct status=none || fail "dd after the restart"
cmp -n 4194304 pattern /dev/xvdl || fail "pattern does not read back after the restart"
xl block-detach 0 xvdl || fail "xl block-detach after the restart"
echo "ok: QEMU killed under a qdisk local attach; fio failed (rc $frc), device gone, no report; a new attach through a restarted QEMU works"
