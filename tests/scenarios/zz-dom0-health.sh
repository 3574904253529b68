# Runs last: dom0's log has no oops, BUG, hung task, warning or report of
# the debug kernel (lockdep, atomic-sleep checks, DEBUG_LIST, DEBUG_OBJECTS,
# DEBUG_VM, RCU), lockdep is still watching (a lockdep that reported once
# switches itself off and checks nothing after), and the series' leak check
# (when present) is empty.
# timeout: 60
. $XM2P/tests/lib.sh
dmesg > dmesg.log
if grep -E "$SPLAT_RE" dmesg.log; then
	fail "dom0 kernel log has errors"
fi
lockdep_watching || fail "lockdep switched itself off during this boot: nothing after its first report was checked"
check_no_leaks || fail "leak check"
echo "ok: dom0 log clean$(lockdep_watching && [ -e /proc/lockdep_stats ] && echo ', lockdep on')$( [ -d $M2P_DEBUGFS ] && echo ', no leaked grant mappings or override entries')"
