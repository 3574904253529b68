# Runs last: dom0's log has no oops, BUG, hung task or warning, and the
# series' leak check (when present) is empty.
# timeout: 60
. $XM2P/tests/lib.sh
dmesg > dmesg.log
if grep -E 'blocked for more than|BUG:|Oops|general protection|WARNING: CPU|Kernel panic|soft lockup' dmesg.log; then
	fail "dom0 kernel log has errors"
fi
check_no_leaks || fail "leak check"
echo "ok: dom0 log clean$( [ -d $M2P_DEBUGFS ] && echo ', no leaked FOREIGN marks')"
