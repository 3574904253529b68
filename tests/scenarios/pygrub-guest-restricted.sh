# pygrub-guest with pygrub de-privileged (XSA-443/508: pygrub is security
# supported only so): libxl local-attaches the guest's qcow2 (qdisk), runs
# pygrub with --runas=<uid of the user "xen-pygrub">, pygrub unshares the
# mount, IPC and network namespaces, chroots and drops to that uid before it
# reads the device; the guest must boot from what it extracted.
#   - Xen 4.20 (Debian 13): bootloader_restrict = 1 and bootloader_user in
#     the guest's xl.cfg.
#   - Xen 4.17 (Debian 12): the XSA-443 backport reads only the environment
#     (LIBXL_BOOTLOADER_RESTRICT=1, LIBXL_BOOTLOADER_USER); its xl ignores
#     the xl.cfg keys (tests/findings/debian13-stack-first-probe.md).
# libxl does not make the local-attached /dev/xvdX readable for the uid
# (devtmpfs: root 0600; with udev root:disk 0660, and pygrub drops the disk
# group), as the XSA-443 patch says the admin must: the bootloader here is
# a wrapper that chowns its device argument to the --runas uid and execs
# pygrub. Proof of the restriction: libxl's "using uid" (xl -vvv) and the
# wrapper's argument log (--runas=).
# Negative: the same guest with plain pygrub, still restricted, cannot read
# the device: xl create must fail, well within libxl's bootloader timeout
# (LIBXL_BOOTLOADER_TIMEOUT, 120 s by default), not hang, with the reason
# in /var/log/xen/bootloader.<domid>.log. pygrub itself exits 0 then (its
# parent exits with the raw waitpid status, 256): recorded, not asserted.
# timeout: 900
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || skip "guest kernel/init not built"
case $XEN_VER in
4.17) how=env ;;
4.2[0-9]*) how=cfg ;;
*) skip "Xen $XEN_VER: which bootloader_restrict interface it has is not known here" ;;
esac
# pygrub's depriv() unshares these; without them it fails with EINVAL
# (and exits 0, see above): say so instead of failing later.
python3 -c 'import ctypes, os; l = ctypes.CDLL(None, use_errno=True)
if os.fork() == 0: os._exit(0 if l.unshare(0x00020000 | 0x08000000 | 0x40000000) == 0 else 1)
os._exit(os.WEXITSTATUS(os.wait()[1]))' ||
	fail "unshare(CLONE_NEWNS|CLONE_NEWIPC|CLONE_NEWNET) fails: the kernel lacks CONFIG_NAMESPACES/IPC_NS/NET_NS"
user=xen-pygrub
id -u $user > /dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin $user ||
	fail "useradd $user"
uid=$(id -u $user)
echo "Xen $XEN_VER: bootloader_restrict through $how, user $user (uid $uid)"

marker="m2p-$(cat /proc/sys/kernel/random/uuid)"
pygrub_guest_disk guest.qcow2 "$marker" || fail "guest boot disk"

cat > bootloader <<EOF
#!/bin/sh
# The site's part of a restricted bootloader: the --runas uid may read the
# local-attached device (its last argument), nothing else changes.
echo "\$*" >> $PWD/bootloader-args.log
uid=
for a; do case \$a in --runas=*) uid=\${a#--runas=} ;; esac; dev=\$a; done
[ -n "\$uid" ] && [ -b "\$dev" ] && chown "\$uid" "\$dev"
exec $XENDIR/pygrub "\$@"
EOF
chmod 755 bootloader
guest_cfg() { # $1 = name, $2 = bootloader
	cat <<CFG
name = "$1"
type = "pv"
memory = 256
vcpus = 1
bootloader = "$2"
disk = [ 'format=qcow2,vdev=xvda,access=rw,backendtype=qdisk,target=$PWD/guest.qcow2' ]
on_poweroff = "destroy"
on_crash = "destroy"
CFG
	[ $how = cfg ] && printf 'bootloader_restrict = 1\nbootloader_user = "%s"\n' "$user"
	true
}
xl_restricted() { # xl -vvv create $1 > $2, restricted as this Xen wants it
	if [ $how = env ]; then
		LIBXL_BOOTLOADER_RESTRICT=1 LIBXL_BOOTLOADER_USER=$user timeout -k 5 300 xl -vvv create "$1" > "$2" 2>&1
	else
		timeout -k 5 300 xl -vvv create "$1" > "$2" 2>&1
	fi
}

# 1. Restricted pygrub that can read the device: the guest boots.
guest_cfg pygrub-restricted "$PWD/bootloader" > guest.cfg
xl_restricted guest.cfg create.log; rc=$?
if [ $rc != 0 ]; then
	grep -v '^\s*$' create.log | tail -n 40; tail -n 20 /var/log/xen/bootloader.*.log 2>/dev/null
	fail "xl create (restricted, readable device): rc $rc"
fi
grep -E 'using uid|bootloader execution' create.log
grep -q "using uid $uid" create.log || fail "libxl did not restrict the bootloader to uid $uid (no 'using uid $uid' in xl -vvv)"
cat bootloader-args.log
grep -q -- "--runas=$uid" bootloader-args.log || fail "the bootloader ran without --runas=$uid"
i=0
while xl domid pygrub-restricted > /dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 300 ] && { xl destroy pygrub-restricted; fail "guest still running after 300 s"; }
	sleep 1
done
log=/var/log/xen/console/guest-pygrub-restricted.log
sleep 1
tail -n 5 $log 2>/dev/null
if ! grep -q "marker $marker" $log; then
	tail -n 30 /var/log/xen/xl-pygrub-restricted.log 2>/dev/null
	xl dmesg | tail -n 20
	fail "the guest's marker is not in its console log ($log)"
fi
echo "ok: restricted pygrub (uid $uid) extracted kernel and initrd, the guest booted them"
ls /dev/xvd* 2>/dev/null && fail "a local-attach device is left in dom0"

# 2. Restricted pygrub that cannot read the device: a clear, bounded failure.
guest_cfg pygrub-denied "$XENDIR/pygrub" > denied.cfg
rm -f /var/log/xen/bootloader.*.log
t0=$(date +%s)
xl_restricted denied.cfg denied.log
rc=$?
took=$(( $(date +%s) - t0 ))
grep -E 'using uid|bootloader|xc_dom_kernel|failed' denied.log | tail -n 12
echo "xl create of the unreadable guest: rc $rc after ${took}s"
[ $rc = 124 ] || [ $rc = 137 ] && fail "xl create hung (killed after 300 s)"
[ $rc = 0 ] && { xl destroy pygrub-denied 2>/dev/null; fail "xl create succeeded although the restricted pygrub cannot read the device"; }
[ $rc -ge 128 ] && fail "xl create died of signal $((rc - 128)) (rc $rc)"
[ $took -le 120 ] || fail "the failure took ${took}s, longer than libxl's default bootloader timeout (120 s)"
grep -q "using uid $uid" denied.log || fail "the failing bootloader was not restricted (no 'using uid $uid')"
blog=$(grep -l 'Permission denied' /var/log/xen/bootloader.*.log 2>/dev/null | head -n 1)
[ -n "$blog" ] || { tail -n 20 /var/log/xen/bootloader.*.log 2>/dev/null; fail "no 'Permission denied' in /var/log/xen/bootloader.*.log"; }
grep 'Permission denied' "$blog" | tail -n 1
grep -q 'bootloader execution successful' denied.log &&
	echo "note: libxl logged 'bootloader execution successful': pygrub exited 0 after its de-privileged child failed"
xl domid pygrub-denied > /dev/null 2>&1 && { xl destroy pygrub-denied; fail "the failed guest is left behind"; }
ls /dev/xvd* 2>/dev/null && fail "a local-attach device is left in dom0 after the failure"
xenstore-ls /local/domain/0/device/vbd 2>/dev/null | grep -q . && fail "dom0 vbd frontend nodes left"
check_no_leaks || fail "leak check"
echo "ok: restricted pygrub booted the guest (uid $uid, $how); unreadable device: xl create failed in ${took}s (rc $rc), 'Permission denied' in $(basename "$blog")"
