# shellcheck shell=sh
# Shared body of the attach-raw / attach-qcow2 scenarios ($FMT = raw|qcow2).
# 1. attach the way libxl does (xl block-attach, qdisk): QEMU opens the
#    image without O_DIRECT (recorded, not required);
# 2. attach the same image through QMP with cache.direct=on, aio=threads:
#    QEMU must hold the image with O_DIRECT.
# Each: /dev/xvdX appears, a known pattern goes in with O_DIRECT, fio writes
# and verifies (crc32c) past it, detach, and dom0 reads the pattern back
# from the image file itself.
. $XM2P/tests/lib.sh

img=$PWD/disk.$FMT
size=256M
dd if=/dev/urandom of=pattern bs=1M count=16 status=none
if [ "$FMT" = qcow2 ]; then
	qemu-img create -q -f qcow2 "$img" $size || fail "qemu-img create"
else
	truncate -s $size "$img"
fi

# image content at [0, 16M) as raw bytes, whatever the format
image_head_sum() {
	if [ "$FMT" = qcow2 ]; then
		qemu-img convert -O raw "$img" head.raw && head -c 16M head.raw | sha256sum | cut -d' ' -f1
		rm -f head.raw
	else
		head -c 16M "$img" | sha256sum | cut -d' ' -f1
	fi
}

exercise() { # $1 = vdev, $2 = how
	dev=/dev/$1
	log "$2: $dev is up; writing the pattern with O_DIRECT"
	dd if=pattern of=$dev bs=1M oflag=direct status=none || fail "$2: dd to $dev"
	# fio works on [16M, end) so the pattern survives.
	fio_verify_off() {
		fio --name=verify --filename=$dev --direct=1 --ioengine=libaio \
			--offset=16M --size=48M --rw=randwrite --bssplit=4k/50:64k/40:256k/10 \
			--iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1 \
			> fio-write.log 2>&1 || { tail -n 30 fio-write.log; return 1; }
		fio --name=read --filename=$dev --direct=1 --ioengine=libaio \
			--offset=16M --size=48M --rw=randread --bs=64k --iodepth=8 \
			> fio-read.log 2>&1 || { tail -n 30 fio-read.log; return 1; }
	}
	fio_verify_off || fail "$2: fio verify on $dev"
	log "$2: fio $(grep -h -o -E '(WRITE|READ): bw=[^ ]+' fio-write.log fio-read.log | paste -sd' ')"
	cmp -n 16777216 pattern $dev || fail "$2: pattern does not read back through $dev"
}

# --- 1. libxl's way --------------------------------------------------------
xl block-attach 0 "format=$FMT,vdev=xvdb,access=rw,backendtype=qdisk,target=$img" ||
	fail "xl block-attach"
wait_attached xvdb qdisk || { xs_cleanup qdisk "$(vdev_id xvdb)"; fail "xl block-attach: no /dev/xvdb"; }
flags=$(qemu_fd_flags "$img")
log "xl block-attach: QEMU fd flags $flags (O_DIRECT: $(has_odirect "$flags" && echo yes || echo no))"
exercise xvdb "xl block-attach"
xl block-detach 0 xvdb || fail "xl block-detach"
i=0; while [ -b /dev/xvdb ]; do i=$((i+1)); [ $i -gt 120 ] && fail "xvdb still there after detach"; sleep 0.5; done
wait_closed "$img" || fail "xl block-detach: QEMU did not close the image"
[ "$(image_head_sum)" = "$(sha256sum < pattern | cut -d' ' -f1)" ] ||
	fail "xl block-attach: image content differs from what was written"
log "xl block-attach: image checksum matches after detach"

# --- 2. QEMU with O_DIRECT through QMP ----------------------------------------
file='{"driver": "file", "filename": "'$img'", "aio": "threads", "cache": {"direct": true}}'
if [ "$FMT" = qcow2 ]; then
	node='{"node-name": "odirect0", "driver": "qcow2", "cache": {"direct": true}, "file": '$file'}'
else
	node='{"node-name": "odirect0", "driver": "raw", "cache": {"direct": true}, "file": '$file'}'
fi
qmp blockdev-add "$node" >/dev/null || fail "QMP blockdev-add"
qmp_add_xen_disk xvdc odirect0 || fail "QMP device_add xen-disk"
wait_attached xvdc qdisk || fail "QMP attach: no /dev/xvdc"
flags=$(qemu_fd_flags "$img")
has_odirect "$flags" || fail "QEMU holds $img without O_DIRECT (fdinfo flags $flags)"
log "QMP attach: QEMU fd flags $flags: O_DIRECT"
exercise xvdc "QMP attach"
qmp device_del '{"id": "xvdc"}' >/dev/null || fail "QMP device_del"
i=0; while [ -b /dev/xvdc ]; do i=$((i+1)); [ $i -gt 120 ] && fail "xvdc still there after device_del"; sleep 0.5; done
sleep 1
qmp blockdev-del '{"node-name": "odirect0"}' >/dev/null || fail "QMP blockdev-del"
wait_closed "$img" || fail "QMP: QEMU did not close the image"
[ "$(image_head_sum)" = "$(sha256sum < pattern | cut -d' ' -f1)" ] ||
	fail "QMP attach: image content differs from what was written"
check_no_leaks || fail "leak check"
echo "ok: $FMT image attached twice (libxl, QMP O_DIRECT), data verified, image checksum matches"
