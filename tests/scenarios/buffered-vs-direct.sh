# The seeds' race: page-cache (pygrub-style) reads of a local-attached disk
# while the backend does O_DIRECT and fio does O_DIRECT I/O on the same
# device, with a short hung-task timeout. Pass: no hung task, no oops, fio
# verifies.
# timeout: 400
. $XM2P/tests/lib.sh
DUR=${XM2P_RACE_SECONDS:-60}

echo 10 > /proc/sys/kernel/hung_task_timeout_secs
echo 1 > /proc/sys/kernel/hung_task_all_cpu_backtrace 2>/dev/null
kmsg_mark
img=$PWD/race.img
truncate -s 256M $img
file='{"driver": "file", "filename": "'$img'", "aio": "threads", "cache": {"direct": true}}'
qmp blockdev-add '{"node-name": "race0", "driver": "raw", "cache": {"direct": true}, "file": '"$file"'}' >/dev/null ||
	fail "QMP blockdev-add"
qmp_add_xen_disk xvde race0 || fail "QMP device_add"
wait_attached xvde qdisk || fail "no /dev/xvde"
has_odirect "$(qemu_fd_flags $img)" || fail "QEMU does not hold the image with O_DIRECT"

# Buffered readers: drop the cache and re-read [64M, 128M), where fio works.
end=$(( $(date +%s) + DUR ))
page_cache_reader 1 /dev/xvde $end > reader1.log 2>&1 &
page_cache_reader 2 /dev/xvde $end > reader2.log 2>&1 &
fio --name=race --filename=/dev/xvde --direct=1 --ioengine=libaio --rw=randrw \
	--bs=4k --iodepth=16 --size=192M --offset=64M --time_based --runtime=$DUR \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_backlog=64 \
	> fio.log 2>&1
frc=$?
wait
cat reader1.log reader2.log
qmp device_del '{"id": "xvde"}' >/dev/null
i=0; while [ -b /dev/xvde ]; do i=$((i+1)); [ $i -gt 120 ] && fail "xvde still there"; sleep 0.5; done
sleep 1; qmp blockdev-del '{"node-name": "race0"}' >/dev/null
dmesg_since > dmesg.log
if grep -E "$OOPS_RE" dmesg.log; then
	fail "kernel reported a hung task or an oops during the race"
fi
[ $frc = 0 ] || { tail -n 20 fio.log; fail "fio verify failed"; }
grep -q 'dd failed' reader1.log reader2.log && fail "buffered reader failed"
check_no_leaks || fail "leak check"
echo "ok: ${DUR}s of buffered reads racing O_DIRECT fio: no hung task, data verified ($(grep -o -E '(read|write): IOPS=[^,]+' fio.log | paste -sd' '))"
