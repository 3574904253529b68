# Persistent grants through xen-mapblk: dom0's blkfront local-attaches a
# disk served by xen-mapblk; both ends write feature-persistent=1, so
# blkfront copies through a pool of its own granted pages and xen-mapblk
# keeps each grant mapped once it has seen it. A first fio job (O_DIRECT
# writes + verify, 11-segment requests filling the ring) warms the pool; a
# second one (writes + verify, mixed sizes) must then cost no grant
# hypercall in dom0 (the series' hypercalls counter does not move) and no
# gntdev map call in xen-mapblk, and the pool must stay within its bound.
# The same with --max-persistent 32 (the pool stops at 32, the other grants
# are mapped per request) and with --no-persistent, the control: there the
# warm job costs grant hypercalls for every request. Data verified each
# time; no leaked mapping after each stop.
# timeout: 900
. $XM2P/tests/lib.sh
[ -r $M2P_DEBUGFS/stats ] || skip "no m2p_override statistics (unpatched kernel)"
kmsg_mark
dev=/dev/xvdp
id=$(vdev_id xvdp)
be=/local/domain/0/backend/vbd3/0/$id fe=/local/domain/0/device/vbd/$id

# field $1 of xen-mapblk's latest stats(now) line
mb_stat() { sed -n "s/.*stats(now):.* $1=\([0-9]*\).*/\1/p" mapblk.log | tail -n 1; }

# Counters into <$1>_hyp (dom0 grant hypercalls) and <$1>_<field> for
# xen-mapblk's requests, map_calls, pgrant_hits, req_maps, pgrant_pool.
snap() {
	n=$(grep -c 'stats(now)' mapblk.log)
	kill -USR1 $MAPBLK_PID
	i=0
	while [ "$(grep -c 'stats(now)' mapblk.log)" = "$n" ]; do
		i=$((i + 1)); [ $i -gt 20 ] && fail "$label: no statistics from xen-mapblk"
		sleep 0.5
	done
	eval "$1_hyp=$(m2p_stat hypercalls)"
	for k in requests map_calls pgrant_hits req_maps pgrant_pool pgrant_max; do
		eval "$1_$k=$(mb_stat $k)"
	done
}

# fio O_DIRECT randwrite + crc32c verify: $1 = job name, rest = options
fio_job() {
	name=$1; shift
	fio --name=$name --filename=$dev --direct=1 --ioengine=libaio --rw=randwrite \
		--verify=crc32c --do_verify=1 --verify_fatal=1 "$@" > $name-$label.log 2>&1 ||
		{ tail -n 20 $name-$label.log; fail "$label: fio $name"; }
}

# $1 = label, rest = xen-mapblk options. Sets hyp, calls, reqs, hits,
# reqmaps (warm job deltas), pool, max (pool at its end), be_fp, fe_fp.
run() {
	label=$1; shift
	truncate -s 0 $label.img && truncate -s 64M $label.img
	mapblk_start xvdp $PWD/$label.img "$@"
	wait_for_dev $dev 60 || { cat mapblk.log; fail "$label: no $dev"; }
	be_fp=$(xenstore-read $be/feature-persistent) fe_fp=$(xenstore-read $fe/feature-persistent)
	echo "$label: feature-persistent backend $be_fp frontend $fe_fp"
	grep '^xen-mapblk: connected' mapblk.log
	fio_job fill --bs=44k --iodepth=32 --size=16M
	snap cold
	fio_job warm --bssplit=4k/40:16k/30:44k/30 --iodepth=8 --size=8M
	snap warm
	hyp=$((warm_hyp - cold_hyp)) calls=$((warm_map_calls - cold_map_calls))
	reqs=$((warm_requests - cold_requests)) hits=$((warm_pgrant_hits - cold_pgrant_hits))
	reqmaps=$((warm_req_maps - cold_req_maps)) pool=$warm_pgrant_pool max=$warm_pgrant_max
	echo "$label: warm job: $reqs requests, $hyp grant hypercalls, $calls gntdev map calls, $hits pool hits, $reqmaps grants mapped per request; pool $pool/$max; live overrides $(m2p_stat live_entries)"
	mapblk_stop xvdp > stop-$label.log || { cat stop-$label.log; fail "$label: xen-mapblk did not shut down cleanly"; }
	grep 'stats(exit)' stop-$label.log
	grep -q 'idle check:' stop-$label.log && fail "$label: xen-mapblk had to recover a lost event"
	check_no_leaks || fail "$label: leak check"
	[ "$reqs" -gt 0 ] || fail "$label: the warm job reached no request"
	rm -f $label.img
}

run persistent
[ "$be_fp" = 1 ] && [ "$fe_fp" = 1 ] || fail "feature-persistent: backend $be_fp, frontend $fe_fp"
grep -q 'persistent grants on' stop-persistent.log || fail "persistent grants not negotiated"
dmesg_since | grep -q 'persistent grants: enabled' || fail "blkfront did not report persistent grants enabled"
[ "$hyp" = 0 ] || fail "persistent: $hyp grant hypercalls during the warm job (want 0)"
[ "$calls" = 0 ] || fail "persistent: $calls gntdev map calls during the warm job (want 0)"
[ "$hits" -gt 0 ] || fail "persistent: no pool hit"
[ "$pool" -gt 0 ] && [ "$pool" -le "$max" ] && [ "$max" = 352 ] || fail "persistent: pool $pool/$max"
p_res="persistent: $reqs warm requests, 0 hypercalls, 0 map calls, pool $pool/$max"

run bounded --max-persistent 32
[ "$pool" = 32 ] && [ "$max" = 32 ] || fail "bounded: pool $pool/$max, want 32/32"
[ "$reqmaps" -gt 0 ] && [ "$hyp" -gt 0 ] || fail "bounded: no per-request map beyond the full pool"
b_res="bounded: pool 32/32, $hyp hypercalls for $reqs requests"

run control --no-persistent
[ "$be_fp" = 0 ] || fail "control: backend feature-persistent $be_fp"
grep -q 'persistent grants off' stop-control.log || fail "control: persistent grants not off"
[ "$hyp" -ge "$reqs" ] || fail "control: only $hyp grant hypercalls for $reqs requests without persistent grants"
c_res="no-persistent: $hyp hypercalls for $reqs requests"

dmesg_since | grep -E "$OOPS_RE" && fail "oops or warning in dom0"
echo "ok: $p_res; $b_res; $c_res; data verified, no leak"
