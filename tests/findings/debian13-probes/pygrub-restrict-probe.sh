# Probe (not a rig scenario): libxl's de-privileged pygrub (bootloader_restrict)
# on this stack, through pygrub-guest's setup (PV guest, qcow2 on qdisk,
# local attach). Each case prints what libxl/pygrub said; never fails.
# timeout: 2400
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || skip "guest kernel/init not built"
echo "xen: $(xl info | sed -n 's/^xen_version *: //p'), XENDIR=$XENDIR, kernel $(uname -r)"
echo "xl knows: $(strings $XENDIR/xl | grep -E '^bootloader_(restrict|user)$' | paste -sd' ')"
marker="m2p-$(cat /proc/sys/kernel/random/uuid)"
mkdir -p ird && cp $XM2P/bin/guest-init ird/init && echo "$marker" > ird/marker
(cd ird && printf 'init\nmarker\n' | cpio --quiet -o -H newc) | gzip -1 > guest-initrd || fail "initramfs"
make_boot_disk disk.raw 64M
loop=$(losetup -f --show -P disk.raw) && mount "${loop}p1" mnt || fail "mount boot disk"
cp $XM2P/bin/guest-kernel mnt/boot/vmlinuz-xm2p
cp guest-initrd mnt/boot/initrd.img-xm2p
sed -i 's#ro console=hvc0 xm2p-marker#console=hvc0 rdinit=/init#' mnt/boot/grub/grub.cfg
umount mnt && losetup -d "$loop"
qemu-img convert -O qcow2 disk.raw guest.qcow2 && rm -f disk.raw || fail "qemu-img convert"

# A copy of pygrub that unshares only the mount namespace (the rig's kernel
# has CONFIG_NAMESPACES off: no IPC/NET namespaces), to see past that.
sed 's/unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET)/unshare(CLONE_NEWNS)/' $XENDIR/pygrub > pygrub-nsonly
chmod +x pygrub-nsonly
# Wrappers as a site would install them (libxl runs the bootloader as root).
cat > bl-nsonly <<W
#!/bin/sh
echo "bl-nsonly: \$*" >> $PWD/bl.args
exec $PWD/pygrub-nsonly "\$@"
W
cat > bl-chown <<W
#!/bin/sh
# what a udev rule would do: the local-attach node readable by the runas uid
echo "bl-chown: \$*" >> $PWD/bl.args
uid=; for a in "\$@"; do case \$a in --runas=*) uid=\${a#--runas=} ;; esac; dev=\$a; done
[ -n "\$uid" ] && chown "\$uid" "\$dev" && ls -l "\$dev" >> $PWD/bl.args
exec $PWD/pygrub-nsonly "\$@"
W
cat > bl-real-chown <<W
#!/bin/sh
echo "bl-real-chown: \$*" >> $PWD/bl.args
uid=; for a in "\$@"; do case \$a in --runas=*) uid=\${a#--runas=} ;; esac; dev=\$a; done
[ -n "\$uid" ] && chown "\$uid" "\$dev" && ls -l "\$dev" >> $PWD/bl.args
exec $XENDIR/pygrub "\$@"
W
cat > bl-sleep <<W
#!/bin/sh
echo "bl-sleep: \$*" >> $PWD/bl.args
echo \$\$ > $PWD/bl-sleep.pid
exec sleep 600
W
chmod +x bl-*

try() { # $1 = case name, $2 = bootloader, rest: extra cfg lines; env passes through
	c=$1 bl=$2; shift 2
	{
		printf 'name = "pg-%s"\ntype = "pv"\nmemory = 256\nvcpus = 1\n' "$c"
		[ -n "$bl" ] && printf 'bootloader = "%s"\n' "$bl"
		printf "disk = [ 'format=qcow2,vdev=xvda,access=rw,backendtype=qdisk,target=%s/guest.qcow2' ]\n" "$PWD"
		for l in "$@"; do printf '%s\n' "$l"; done
		printf 'on_poweroff = "destroy"\non_crash = "destroy"\n'
	} > $c.cfg
	echo "=== case $c: bootloader=$bl $* env: $(env | grep '^LIBXL_' | paste -sd' ')"
	: > bl.args
	t0=$(date +%s)
	xl -vvv create $c.cfg > $c.create.log 2>&1; rc=$?
	echo "xl create rc=$rc after $(( $(date +%s) - t0 ))s"
	grep -v -E '^\s*$' $c.create.log | grep -i -E 'bootloader|runas|user|restrict|error|fail|denied|Errno|Traceback|unshare|timeout|killed|ramdisk|initrd|module' | grep -v -i 'arg: --output' | head -n 40
	cat bl.args
	for f in /var/log/xen/bootloader.*.log; do [ -s "$f" ] && { echo "-- $f"; tail -n 15 "$f"; }; rm -f "$f"; done
	if [ $rc = 0 ]; then
		i=0; while xl domid pg-$c > /dev/null 2>&1; do i=$((i + 1)); [ $i -gt 240 ] && { xl destroy pg-$c; echo "still running"; break; }; sleep 1; done
		grep -q "marker $marker" /var/log/xen/console/guest-pg-$c.log 2>/dev/null &&
			echo "RESULT $c: guest booted from what the bootloader extracted (marker seen)" ||
			{ echo "RESULT $c: no marker in the guest console"; grep -a -i -E 'command line|initrd|ramdisk|unpack|init as init|panic|No working' /var/log/xen/console/guest-pg-$c.log | head -n 12; }
	else
		xl destroy pg-$c 2>/dev/null
		echo "RESULT $c: xl create failed (rc $rc)"
	fi
	mkdir -p /results/probe; cp $c.create.log /results/probe/ 2>/dev/null
	cp /var/log/xen/console/guest-pg-$c.log /results/probe/ 2>/dev/null
	echo "leftovers: $(ls /dev/xvd* 2>/dev/null | paste -sd' ') $(xenstore-ls /local/domain/0/device/vbd 2>/dev/null | head -n 3 | paste -sd' ')"
}

ls -l /dev/xvd* 2>/dev/null
# the guest kernel and ramdisk given directly (no bootloader)
try direct "" "kernel = \"$XM2P/bin/guest-kernel\"" "ramdisk = \"$PWD/guest-initrd\"" 'extra = "console=hvc0 rdinit=/init"'
try plain pygrub                                                    # as pygrub-guest does today
try nouser pygrub 'bootloader_restrict = 1'                          # no xen-qemuuser-* user in the rootfs
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin xen-pygrub
echo "created: $(getent passwd xen-pygrub)"
try real pygrub 'bootloader_restrict = 1' 'bootloader_user = "xen-pygrub"'
try realchown $PWD/bl-real-chown 'bootloader_restrict = 1' 'bootloader_user = "xen-pygrub"'
try nsonly $PWD/bl-nsonly 'bootloader_restrict = 1' 'bootloader_user = "xen-pygrub"'
try chown $PWD/bl-chown 'bootloader_restrict = 1' 'bootloader_user = "xen-pygrub"'
# libxl's default user: xen-qemuuser-range-base + domid
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -u 131072 xen-qemuuser-range-base
try rangebase $PWD/bl-chown 'bootloader_restrict = 1'
# the environment form (all that Xen 4.17's libxl has)
export LIBXL_BOOTLOADER_RESTRICT=1 LIBXL_BOOTLOADER_USER=xen-pygrub
try env $PWD/bl-chown
unset LIBXL_BOOTLOADER_RESTRICT LIBXL_BOOTLOADER_USER
# libxl's bootloader timeout in restricted mode
export LIBXL_BOOTLOADER_TIMEOUT=20
try timeout $PWD/bl-sleep 'bootloader_restrict = 1' 'bootloader_user = "xen-pygrub"'
unset LIBXL_BOOTLOADER_TIMEOUT
# and without restrict: no timeout expected (the probe kills it after 120 s)
rm -f bl-sleep.pid
( sleep 120; [ -s bl-sleep.pid ] && kill "$(cat bl-sleep.pid)" && echo "probe: killed bl-sleep after 120 s" ) &
try notimeout $PWD/bl-sleep
check_no_leaks || echo "LEAKS"
echo "probe done"
