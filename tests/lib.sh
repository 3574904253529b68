# shellcheck shell=sh
# Helpers for the scenarios that run inside dom0. Sourced by tests/dom0/init,
# tests/run-tests.sh and every scenario.

XM2P=${XM2P:-/xen-m2p}
QEMU_DM=/usr/libexec/xen-qemu-system-i386
QMP_SOCK=/run/qmp-dom0.sock
# Debian's private Xen directory: /usr/lib/xen-4.17 (Debian 12, the bookworm
# stack), /usr/lib/xen-4.20 (Debian 13, trixie). XEN_VER: 4.17 or 4.20.
XENDIR=$(ls -d /usr/lib/xen-[0-9]*/bin 2>/dev/null | sort -V | tail -n 1)
XEN_VER=${XENDIR#/usr/lib/xen-}; XEN_VER=${XEN_VER%/bin}
M2P_DEBUGFS=/sys/kernel/debug/xen/m2p_override

step() { echo "XM2P: $*" > /dev/hvc0 2>/dev/null || echo "XM2P: $*"; }
log()  { echo "[$(date +%H:%M:%S)] $*"; }
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# What a kernel log must not contain: oopses, warnings, hung tasks, and the
# reports of the debug options in configs/debug.config.
SPLAT_RE='blocked for more than|BUG:|Oops|general protection|WARNING: CPU|WARNING: possible|WARNING: suspicious|WARNING: inconsistent|inconsistent lock state|possible recursive locking|possible circular locking|sleeping function called from invalid context|scheduling while atomic|list_add corruption|list_del corruption|ODEBUG:|Bad page|Kernel panic|soft lockup|rcu_sched self-detected stall|rcu: INFO'

# The narrower set a scenario checks its own window against: oopses,
# warnings, hung tasks and stalls, but not the lockdep/debug-object reports
# of SPLAT_RE (base 6.12 has a lockdep report of its own at the first
# gntdev user, which only zz-dom0-health is expected to fail on).
OOPS_RE='blocked for more than|BUG:|Oops|general protection|WARNING: CPU|Kernel panic|soft lockup'

# A scenario looks at the kernel messages since its start without clearing
# the log (dmesg -c would hide them from zz-dom0-health): kmsg_mark at the
# start, dmesg_since where it checks.
kmsg_mark() {
	KMSG_MARK="xm2p-mark-$(cat /proc/sys/kernel/random/uuid)"
	echo "$KMSG_MARK" > /dev/kmsg
}
dmesg_since() { dmesg | sed -n "/${KMSG_MARK:-xm2p-no-mark}/,\$p"; }

# Lockdep switches itself off after its first report; 0 means nothing was
# checked from then on. True where the kernel has no lockdep.
lockdep_watching() {
	[ -e /proc/lockdep_stats ] || return 0
	[ "$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats)" != 0 ]
}

# Start what Debian's /etc/init.d/xen starts, by hand so that dom0's QEMU
# gets a QMP socket (needed for O_DIRECT attaches, see README).
start_xen_daemons() {
	mkdir -p /run/xen /run/xenstored /var/log/xen/console /var/lib/xen
	export XENSTORED_ROOTDIR=/run/xenstored
	$XENDIR/oxenstored --pid-file /run/xenstore.pid || return 1
	i=0
	until xenstore-read -s / >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 30 ] && return 1; sleep 1
	done
	$XENDIR/xen-init-dom0 || return 1
	$XENDIR/xenconsoled --pid-file /run/xenconsoled.pid \
		--log=guest --log-dir=/var/log/xen/console || return 1
	start_qemu_dom0 || return 1
	echo "xenstored, xenconsoled, qemu-dom0 (pid $(cat /run/qemu-dom0.pid)) running"
}

# dom0's QEMU, the qdisk backend of every local attach libxl makes.
start_qemu_dom0() {
	$QEMU_DM -xen-domid 0 -xen-attach -name dom0 -nographic -M xenpv \
		-daemonize -monitor none -serial none -parallel none \
		-qmp unix:$QMP_SOCK,server=on,wait=off \
		-pidfile /run/qemu-dom0.pid -D /var/log/xen/qemu-dom0.log || return 1
	# libxl refuses a qdisk backend for dom0 until it can find the device
	# model's pid here; Debian's init script does not write it.
	xenstore-write /local/domain/0/image/device-model-pid "$(cat /run/qemu-dom0.pid)"
}

# $1 = /dev/xvdX, $2 = timeout (s). Under TCG the node can show up many
# seconds after the attach command returned.
wait_for_dev() {
	i=0
	while [ ! -b "$1" ]; do
		i=$((i + 1))
		[ $i -gt $((${2:-60} * 2)) ] && return 1
		sleep 0.5
	done
}

# xenstore state of a dom0 backend: $1 = backend type (qdisk|vbd), $2 = devid
backend_state() { xenstore-read "/local/domain/0/backend/$1/0/$2/state" 2>/dev/null; }

# vdev name -> blkif device id (xvdb = 51728)
vdev_id() {
	n=$(printf '%d' "'$(echo "$1" | cut -c4)")
	echo $(( (202 << 8) | ((n - 97) << 4) ))
}

# Wait for /dev/$vdev after an attach; fail fast (with QEMU's log) when
# the backend never leaves state 1, which is how a refused qdisk attach
# shows (e.g. aio=native on Debian's QEMU).
wait_attached() { # $1 = vdev, $2 = backend type
	id=$(vdev_id "$1")
	i=0
	while [ ! -b "/dev/$1" ]; do
		i=$((i + 1))
		st=$(backend_state "$2" "$id")
		if [ $i -ge 40 ] && [ "${st:-1}" = 1 ]; then
			echo "backend $2/$id stuck in state ${st:-none} after 20 s"
			tail -n 20 /var/log/xen/qemu-dom0.log 2>/dev/null
			return 1
		fi
		[ $i -gt 240 ] && { echo "/dev/$1 did not appear in 120 s (backend state $st)"; return 1; }
		sleep 0.5
	done
}

# QMP hot-plug of a qdisk (QEMU's xen-disk) into dom0: $1 = vdev, $2 = the
# QMP block node. Linux's xenbus probes a frontend as soon as its "state"
# node reads Initialising; while QMP's device_add realizes the device, QEMU
# 10 (Debian 13) has that node before "virtual-device", and blkfront's probe
# then fails ("reading virtual-device", -ENOENT) and is not retried: no
# /dev node ever (tests/findings/qemu10-qmp-xen-disk-probe-race.md). So
# probing is held off (drivers_autoprobe) until device_add has returned,
# i.e. QEMU has written every node, then the frontend is probed. QEMU 7.2
# never lost that race here; the hold-off changes nothing for it.
qmp_add_xen_disk() {
	_id=$(vdev_id "$1") _rc=0
	echo 0 > /sys/bus/xen/drivers_autoprobe
	qmp device_add '{"driver": "xen-disk", "id": "'"$1"'", "vdev": "'"$1"'", "drive": "'"$2"'"}' > /dev/null || _rc=1
	echo 1 > /sys/bus/xen/drivers_autoprobe
	if [ $_rc = 0 ] && [ -e /sys/bus/xen/devices/vbd-$_id ] && [ ! -e /sys/bus/xen/devices/vbd-$_id/driver ]; then
		echo vbd-$_id > /sys/bus/xen/drivers_probe
	fi
	return $_rc
}

# Force-remove xenstore leftovers of a failed backend so the vdev is reusable.
xs_cleanup() { # $1 = backend type, $2 = devid
	xenstore-rm "/local/domain/0/backend/$1/0/$2" 2>/dev/null
	xenstore-rm "/local/domain/0/device/vbd/$2" 2>/dev/null
	xenstore-rm "/libxl/0/device/vbd/$2" 2>/dev/null
	true
}

qmp() { python3 "$XM2P/tests/qmp.py" "$QMP_SOCK" "$@"; }

# The O_DIRECT flag (octal 040000) in /proc/<qemu>/fdinfo for $1 (image path)
qemu_fd_flags() {
	pid=$(cat /run/qemu-dom0.pid)
	for fd in /proc/"$pid"/fd/*; do
		[ "$(readlink "$fd")" = "$1" ] || continue
		sed -n 's/^flags:[[:space:]]*//p' "/proc/$pid/fdinfo/${fd##*/}"
	done
}
# After a detach, QEMU closes the image (and writes back qcow2 metadata)
# some time after xl returns: wait until it no longer holds $1 open.
wait_closed() {
	i=0
	while [ -n "$(qemu_fd_flags "$1")" ]; do
		i=$((i + 1)); [ $i -gt 60 ] && { echo "QEMU still holds $1 open after 30 s"; return 1; }
		sleep 0.5
	done
}
has_odirect() { [ $(( 0$1 & 040000 )) -ne 0 ]; }

# fio O_DIRECT write + verify (crc32c) then read, on a block device.
# $1 = device, $2 = size. Prints fio's bandwidth summary lines.
fio_verify() {
	fio --name=verify --filename="$1" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --bssplit=4k/50:64k/40:256k/10 --iodepth=8 \
		--size="$2" --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--randrepeat=1 --output-format=normal > fio-write.log 2>&1 ||
		{ tail -n 30 fio-write.log; return 1; }
	fio --name=read --filename="$1" --direct=1 --ioengine=libaio \
		--rw=randread --bs=64k --iodepth=8 --size="$2" --time_based=0 \
		> fio-read.log 2>&1 || { tail -n 30 fio-read.log; return 1; }
	grep -h -E '^ +(WRITE|READ):' fio-write.log fio-read.log
}

# pygrub-style page-cache reader: until time $3, drop the page cache and
# re-read [64M, 128M) of device $2 (where the racing fio works). $1 = id.
page_cache_reader() {
	n=0
	while [ "$(date +%s)" -lt "$3" ]; do
		echo 1 > /proc/sys/vm/drop_caches
		dd if="$2" of=/dev/null bs=64k skip=1024 count=1024 status=none || echo "reader $1: dd failed"
		n=$((n + 1))
	done
	echo "reader $1: $n passes"
}

# Counters of the series (absent on the unpatched base).
m2p_stat() { # $1 = field name in the stats file
	[ -r $M2P_DEBUGFS/stats ] || return 1
	awk -v k="$1" '$1 == k || $1 == k":" { print $2 }' $M2P_DEBUGFS/stats
}

# Fails when the series' leak check lists anything. No-op on the base.
check_no_leaks() {
	[ -r $M2P_DEBUGFS/leaks ] || return 0
	if [ -s $M2P_DEBUGFS/leaks ]; then
		echo "leaked grant mappings or override entries:"; head -n 20 $M2P_DEBUGFS/leaks
		return 1
	fi
}

collect_kernel_state() {
	dmesg > "$1/dmesg.txt" 2>&1
	mkdir -p "$1/kunit"
	for d in /sys/kernel/debug/kunit/*/; do
		[ -r "$d/results" ] && cp "$d/results" "$1/kunit/$(basename "$d").tap"
	done
	if [ -d $M2P_DEBUGFS ]; then
		for f in $M2P_DEBUGFS/*; do cp "$f" "$1/m2p-$(basename "$f").txt"; done
	fi
	cp /var/log/xen/qemu-dom0.log "$1/" 2>/dev/null
	true
}

# A qcow2 disk that pygrub boots: this project's guest kernel and an
# initramfs whose init prints marker $2, behind the grub.cfg of
# make_boot_disk. $1 = the qcow2 to write.
pygrub_guest_disk() {
	mkdir -p ird && cp $XM2P/bin/guest-init ird/init && echo "$2" > ird/marker || return 1
	(cd ird && printf 'init\nmarker\n' | cpio --quiet -o -H newc) | gzip -1 > guest-initrd || return 1
	make_boot_disk disk.raw 64M || return 1
	_loop=$(losetup -f --show -P disk.raw) && mount "${_loop}p1" mnt || return 1
	cp $XM2P/bin/guest-kernel mnt/boot/vmlinuz-xm2p
	cp guest-initrd mnt/boot/initrd.img-xm2p
	sed -i 's#ro console=hvc0 xm2p-marker#console=hvc0 rdinit=/init#' mnt/boot/grub/grub.cfg
	umount mnt && losetup -d "$_loop"
	qemu-img convert -O qcow2 disk.raw "$1" && rm -f disk.raw
}

# A partitioned disk image ($1, size $2) holding /boot/grub/grub.cfg, a
# "kernel" and an "initrd" (random payloads; kernel.want and initrd.want in
# the current directory), as pygrub finds them in a guest disk.
make_boot_disk() {
	truncate -s "$2" "$1"
	echo 'start=2048, type=83, bootable' | sfdisk -q --label dos "$1" || fail "sfdisk"
	loop=$(losetup -f --show -P "$1") || fail "losetup"
	i=0
	while [ ! -b "${loop}p1" ]; do
		i=$((i + 1)); [ $i -gt 20 ] && fail "no ${loop}p1"; sleep 0.5
	done
	mkfs.ext4 -q "${loop}p1" || fail "mkfs.ext4"
	mkdir -p mnt && mount "${loop}p1" mnt || fail "mount"
	mkdir -p mnt/boot/grub
	# Unique, incompressible payloads stand in for a kernel and an initrd.
	head -c 3000000 /dev/urandom > kernel.want
	head -c 5000000 /dev/urandom > initrd.want
	cp kernel.want mnt/boot/vmlinuz-xm2p
	cp initrd.want mnt/boot/initrd.img-xm2p
	cat > mnt/boot/grub/grub.cfg <<'CFG'
set default=0
set timeout=1
menuentry 'xen-m2p test entry' {
	linux /boot/vmlinuz-xm2p root=/dev/xvda1 ro console=hvc0 xm2p-marker
	initrd /boot/initrd.img-xm2p
}
CFG
	umount mnt && losetup -d "$loop"
}

# xen-mapblk (tools/xen-mapblk): the project's mapping backend. It uses the
# backend kind "vbd3" so that neither blkback nor QEMU claims its nodes.
MAPBLK=${MAPBLK:-$XM2P/bin/xen-mapblk}
# Wait up to $2 seconds for process $1 to exit: 0 once it has, 1 if it is
# still running (the caller says what that means and collects evidence).
wait_exit() { # $1 = pid, $2 = seconds
	_dl=$(( $(date +%s) + $2 ))
	while kill -0 "$1" 2>/dev/null; do
		[ "$(date +%s)" -lt $_dl ] || return 1
		sleep 1
	done
}
mapblk_start() { # $1 = vdev, $2 = image, rest: extra options; sets MAPBLK_PID
	[ -x $MAPBLK ] || skip "xen-mapblk not built"
	vdev=$1 image=$2; shift 2
	$MAPBLK --frontend-domid 0 --devid "$(vdev_id "$vdev")" --image "$image" \
		--backend-kind vbd3 --stats "$@" > mapblk.log 2>&1 &
	MAPBLK_PID=$!
}
mapblk_stop() { # SIGTERM, wait for a clean exit; $1 = vdev
	kill -TERM "$MAPBLK_PID" 2>/dev/null
	i=0
	while kill -0 "$MAPBLK_PID" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 120 ] && { echo "xen-mapblk did not exit"; return 1; }; sleep 0.5
	done
	wait "$MAPBLK_PID"; rc=$?
	cat mapblk.log
	i=0
	while [ -b "/dev/$1" ]; do
		i=$((i + 1)); [ $i -gt 120 ] && { echo "/dev/$1 still there"; return 1; }; sleep 0.5
	done
	return $rc
}

# A PV guest's initramfs ($1, gzip cpio) from the directory ird/: the
# project's static guest-init as /init, /marker, an optional /run.sh, and
# the dom0 binaries named after $1 with the shared libraries they need
# (the guest runs the same Debian userland as dom0).
guest_initrd() {
	out=$1; shift
	mkdir -p ird/bin && cp $XM2P/bin/guest-init ird/init || return 1
	for b in "$@"; do
		p=$(command -v "$b") || { echo "no $b in dom0"; return 1; }
		cp "$p" ird/bin/
		for l in $(ldd "$p" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
			cp --parents -L "$l" ird/
		done
	done
	(cd ird && find . -mindepth 1 | cpio --quiet -o -H newc) | gzip -1 > "$out"
}

# guest.cfg for a PV guest running this project's kernel with ./guest-initrd
# (see guest_initrd): $1 = name, $2 = memory in MiB, then extra config
# lines (disk = [...], vif = [...]). GUEST_TYPE=pvh makes it a PVH guest.
pv_guest_cfg() {
	g_name=$1 g_mem=$2
	shift 2
	{
		printf 'name = "%s"\ntype = "%s"\nmemory = %s\nvcpus = 1\n' "$g_name" "${GUEST_TYPE:-pv}" "$g_mem"
		printf 'kernel = "%s"\nramdisk = "%s"\n' "$XM2P/bin/guest-kernel" "$PWD/guest-initrd"
		printf 'extra = "console=hvc0 rdinit=/init"\n'
		for l in "$@"; do printf '%s\n' "$l"; done
		printf 'on_poweroff = "destroy"\non_crash = "destroy"\n'
	} > guest.cfg
}

# xl create $1 (a config file) of domain $2, output in create.log. Under TCG
# on a loaded host, libxl's 40 s limit on the block hotplug script is
# sometimes too short ("killing execution of /etc/xen/scripts/block add
# because of timeout"): that failure, and only that one, is tried again, up
# to three times in all. Returns xl's status; create.log has the last try.
xl_create() {
	for try in 1 2 3; do
		xl create "$1" > create.log 2>&1 && return 0
		grep -q 'scripts/block add because of timeout' create.log || return 1
		echo "xl create: block hotplug script timed out (try $try of 3)"
		xl destroy "$2" > /dev/null 2>&1
		sleep 10
	done
	return 1
}

# Wait until domain $1 is gone; $2 = limit (s). Destroys it on timeout.
wait_domain_gone() {
	i=0
	while xl domid "$1" > /dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt "$2" ] && { xl destroy "$1"; echo "$1 still running after $2 s"; return 1; }
		sleep 1
	done
}

# pygrub as libxl's bootloader runs it, on disk $1 (a local-attached
# /dev/xvdX): kernel and initrd extracted into ./out, the "simple" output in
# ./pygrub.out (printed).
run_pygrub() {
	mkdir -p out && : > pygrub.out   # pygrub opens --output without O_CREAT
	$XENDIR/pygrub -q --output-format=simple --output-directory="$PWD/out" \
		--output="$PWD/pygrub.out" "$1" > pygrub.log 2>&1 || { cat pygrub.log; return 1; }
	cat pygrub.out; echo
}
# What run_pygrub extracted against make_boot_disk's payloads; the last line
# says what is wrong, or what was extracted.
check_pygrub_output() {
	kern=$(sed -n 's/.*kernel \([^ ]*\).*/\1/p' pygrub.out | head -n1)
	initrd=$(sed -n 's/.*ramdisk \([^ ]*\).*/\1/p' pygrub.out | head -n1)
	[ -f "$kern" ] || { echo "pygrub did not extract a kernel ($(cat pygrub.out))"; return 1; }
	[ -f "$initrd" ] || { echo "pygrub did not extract an initrd ($(cat pygrub.out))"; return 1; }
	cmp kernel.want "$kern" || { echo "extracted kernel differs"; return 1; }
	cmp initrd.want "$initrd" || { echo "extracted initrd differs"; return 1; }
	grep -q xm2p-marker pygrub.out || { echo "pygrub did not pass the entry's arguments"; return 1; }
	echo "kernel ($(stat -c %s "$kern") B) and initrd ($(stat -c %s "$initrd") B), byte-identical"
}
