# guest-blkback-qdisk with the guest booted PVH (issue 11): the same
# project kernel (CONFIG_XEN_PVH) runs auto-translated with a blkback
# (phy:) and a qdisk disk, fio writes and verifies on both; the guest must
# say it is PVH, and the series, PV-only, must not even have created its
# counters there. Xen needs HVM with nested paging from the CPU: QEMU runs
# -cpu qemu64,+svm,+npt (scripts/boot.sh). PVH save/restore is not part of
# it: tests/findings/pvh-save-restore-tcg.md.
# timeout: 1500
# matrix-only
. $XM2P/tests/lib.sh
xl info | grep -q '^virt_caps.*hvm' ||
	fail "Xen offers no HVM (virt_caps: $(xl info | sed -n 's/^virt_caps *: //p')): QEMU's CPU lacks svm"
GUEST_TYPE=pvh XM2P_GUEST_FIO_SIZE=32M
. $XM2P/tests/scenarios/guest-blkback-qdisk.sh
