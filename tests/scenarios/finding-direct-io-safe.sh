# Reproduces tests/findings/direct-io-safe.md: libxl's direct-io-safe disk
# option makes Debian's QEMU 7.2 ask for aio=native, which that build lacks;
# xl block-attach returns 0 but the backend never leaves state 1. Passes
# while the finding holds (and checks the rig fails fast on it); fails if
# the attach starts working, so that the note gets updated.
# timeout: 180
. $XM2P/tests/lib.sh
img=$PWD/dio.img
truncate -s 64M $img
id=$(vdev_id xvdi)
xl block-attach 0 "format=raw,vdev=xvdi,access=rw,backendtype=qdisk,direct-io-safe,target=$img"
echo "xl block-attach returned $?"
start=$(date +%s)
if wait_attached xvdi qdisk > wait.log 2>&1; then
	xl block-detach 0 xvdi
	fail "direct-io-safe attach worked: the finding no longer holds, update tests/findings/direct-io-safe.md"
fi
cat wait.log
echo "wait_attached gave up after $(( $(date +%s) - start ))s, backend state $(backend_state qdisk $id)"
grep -i 'aio=native' /var/log/xen/qemu-dom0.log | tail -n 2
xl block-detach 0 xvdi > detach.log 2>&1 || { echo "detach of the stuck backend failed, as noted:"; cat detach.log; }
xs_cleanup qdisk $id
grep -qi 'aio=native' /var/log/xen/qemu-dom0.log || fail "stuck, but not for the reason the finding gives"
echo "ok: direct-io-safe still leaves the qdisk backend in state 1 (QEMU: aio=native not supported); detected in $(( $(date +%s) - start ))s"
