# guest-save-restore with the guest booted PVH (issue 11): the same three
# stages (idle save + restore, xl save -c with writes in flight, save +
# restore with writes in flight), each verified by the guest, with a
# blkback (phy:) and a qdisk disk; the series must have no counters in the
# auto-translated guest. Under TCG's nested SVM, earlier runs triple-faulted
# or hung in a checkpoint: tests/findings/pvh-save-restore-tcg.md. Hence
# matrix-only.
# timeout: 2400
# matrix-only
. $XM2P/tests/lib.sh
xl info | grep -q '^virt_caps.*hvm' ||
	fail "Xen offers no HVM (virt_caps: $(xl info | sed -n 's/^virt_caps *: //p')): QEMU's CPU lacks svm"
GUEST_TYPE=pvh
. $XM2P/tests/scenarios/guest-save-restore.sh
