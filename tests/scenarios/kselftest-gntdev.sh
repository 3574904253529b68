# The series' kselftest (tools/testing/selftests/xen/gntdev_m2p): gntalloc +
# gntdev self-grants, /proc/self/pagemap exactness, O_DIRECT and native AIO
# into gntdev-mapped frames, bad input. Fails on a kernel without the
# override (pagemap reports the frontend's pfn): a negative control there.
# timeout: 300
. $XM2P/tests/lib.sh
t=$XM2P/bin/selftests/gntdev_m2p
[ -x $t ] || skip "selftest not built (series without tools/testing/selftests/xen)"
mkdir -p dio
$t "$PWD/dio"
rc=$?
check_no_leaks || fail "leak check after the selftest"
exit $rc
