# `make bench` (scripts/bench.sh): instructions per I/O, counted by the TCG
# plugin tools/tcg-icount (boot.sh --plugin). Every measurement is one fio
# job of a fixed number of I/Os between two markers,
#     xm2p-mark start L; fio ...; xm2p-mark stop L
# and one line "M ..." here (and in /results/bench-icount.tsv); the host
# joins it with the plugin's start/stop lines of label L. The plugin counts
# the whole machine: every vCPU, Xen, dom0, the guest.
#
# make bench boots the machine with one CPU and QEMU's -icount (boot.sh
# --smp 1 --icount 0): the machine's clocks then advance with the executed
# instructions, not with the host's time, so the timer ticks, RCU and
# polling a measurement includes do not grow when the host is slow, and
# with one CPU nothing spins waiting for another vCPU thread the host has
# descheduled. Three boots of the same kernel side by side, on a host
# running builds too, counted a raw 4k read within 2% of each other. On
# a machine booted with two CPUs (without -icount, cross-CPU spinning was
# counted: a PV guest's 4k read came to ~0.9 million instructions with two
# CPUs, ~0.28 million with one), xm2p.bench_cpus=1 (the default) takes
# dom0's second vCPU offline and pins dom0 and the guest to CPU 0.
#
# Paths: raw (O_DIRECT on an ext4 file in dom0), qdisk (dom0's QEMU, QMP
# attach, cache.direct), mapblk (tools/xen-mapblk --no-persistent: each
# request's grants mapped and unmapped with gntdev), mapblk-pg (xen-mapblk
# with persistent grants: each grant mapped once and kept),
# blkback (xl block-attach 0 phy:/dev/loopN, loop with direct I/O),
# domu-blkback and domu-qdisk (one PV guest with both disks: xvda phy: on
# blkback, xvdb raw file on qdisk as libxl attaches it; fio and the marker
# run in the guest), domu-net (the same guest's vif on a bridge in dom0,
# netback; a TCP peer in dom0, tests/bench-netpeer.py). Workloads of the
# disks: randread4k, randwrite4k (iodepth 16, one fsync at the end so that
# a write-back cache's flush is in the window), seqread64k (iodepth 16);
# O_DIRECT, libaio. Of the network (per packet the guest sent or received,
# its eth0 counters): nettx, a TCP stream guest -> dom0 that ends when dom0
# has read it all (netback's TX path: grant copy of the headers and grant
# maps of the rest, from NAPI poll, i.e. softirq); netrx, a TCP stream
# dom0 -> guest (netback's RX path: grant copy). Each (path, workload) is
# measured RUNS times with a big job (N I/Os) and a small one (N/16 I/Os,
# for the fixed cost of fio and the markers); rounds are interleaved
# (round 1 of every path and workload, then round 2, ...), after a pass of
# small jobs that is not measured.
#
# Settings from the dom0 command line (boot.sh --append):
#   xm2p.bench=quick            1 run, randread4k, paths raw and domu-blkback
#   xm2p.bench_runs=N  xm2p.bench_paths=a,b  xm2p.bench_wls=a,b
#   xm2p.bench_n4k=N   xm2p.bench_n64k=N     xm2p.bench_idle=SECONDS
#   xm2p.bench_net_mib=N        MiB of a big network job (default 256)
#   xm2p.bench_guest_override=on|off  the guest's xen_m2p_override (default:
#                               on in the patched boot, off in the others)
#   xm2p.bench_cpus=1|2         1 (default): everything on physical CPU 0:
#                               dom0's second vCPU offline, dom0 and the guest
#                               pinned there; 2: as booted (dom0 on both)
# timeout: 4200
. $XM2P/tests/lib.sh
MARK=$XM2P/bin/xm2p-mark
[ -x $MARK ] || fail "no $MARK (make programs)"
RUNS=3 PATHS="raw qdisk mapblk mapblk-pg blkback domu-blkback domu-qdisk domu-net"
WLS="randread4k randwrite4k seqread64k" NET_WLS="nettx netrx" N4K=8192 N64K=2048 IDLE=10 CPUS=1 NET_MIB=256
for w in $(cat /proc/cmdline); do
	case $w in
	xm2p.bench=quick) RUNS=1 PATHS="raw domu-blkback" WLS=randread4k ;;
	xm2p.bench_runs=*) RUNS=${w#*=} ;;
	xm2p.bench_paths=*) PATHS=$(echo "${w#*=}" | tr , ' ') ;;
	xm2p.bench_wls=*) WLS=$(echo "${w#*=}" | tr , ' ' | sed 's/\bnet[a-z]*\b//g')
		NET_WLS=$(echo "${w#*=}" | tr , '\n' | grep '^net' | paste -sd' ') ;;
	xm2p.bench_net_mib=*) NET_MIB=${w#*=} ;;
	xm2p.bench_n4k=*) N4K=${w#*=} ;;
	xm2p.bench_n64k=*) N64K=${w#*=} ;;
	xm2p.bench_idle=*) IDLE=${w#*=} ;;
	xm2p.bench_cpus=*) CPUS=${w#*=} ;;
	esac
done
has() { case " $PATHS " in *" $1 "*) return 0 ;; esac; return 1; }
# The guest runs the patched kernel (bin/guest-kernel) in every variant,
# with the override as dom0 has it: off for the "off" and "base" boots.
case ${XM2P_VARIANT:-patched} in patched) GUEST_OVERRIDE=on ;; *) GUEST_OVERRIDE=off ;; esac
for w in $(cat /proc/cmdline); do
	case $w in xm2p.bench_guest_override=on | xm2p.bench_guest_override=off) GUEST_OVERRIDE=${w#*=} ;; esac
done
# Lockdep's dependency validation off, in every variant, before anything
# maps a grant: the unpatched base reports the gntdev lock inversion that
# patch 1 fixes at its first gntdev map (dom0's QEMU at boot on Debian 13,
# a qdisk, xen-mapblk, xenconsoled) and then switches lockdep off for good,
# which would make the rest of its boot several times cheaper than the
# patched kernel's. scripts/bench.sh boots dom0 with lockdep.prove_locking=0
# (this script runs too late for dom0's QEMU); here it is for the guest and
# for a boot by hand. With prove_locking=0 all three keep the same lockdep
# bookkeeping and none reports; the TSV records the state at start and end.
lockdep_state() {
	echo "prove_locking=$(cat /sys/module/lockdep/parameters/prove_locking 2>/dev/null || echo -)" \
		"debug_locks=$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats 2>/dev/null || echo -)"
}
[ -w /sys/module/lockdep/parameters/prove_locking ] && echo 0 > /sys/module/lockdep/parameters/prove_locking
TSV=/results/bench-icount.tsv
echo "# variant ${XM2P_VARIANT:-?} runs $RUNS paths $PATHS wls $WLS $NET_WLS n4k $N4K n64k $N64K net_mib $NET_MIB idle $IDLE cpus $CPUS guest_override $GUEST_OVERRIDE" | tee $TSV
echo "# M label path wl run kind fio_rc ios io_bytes t0 t1 hc0 mb0 add0 lk0 hit0 hc1 mb1 add1 lk1 hit1" >> $TSV
echo "# lockdep at the start: $(lockdep_state)" | tee -a $TSV

# What dom0 and the guest both run: written once, sourced by both.
NET_DOM0=169.254.78.1 NET_GUEST=169.254.78.2 NET_PORT=5101
cat > benchlib.sh <<EOF
MARK=\${MARK:-/bin/xm2p-mark}
N4K=$N4K N64K=$N64K NET_BYTES=$((NET_MIB << 20)) NET_DOM0=$NET_DOM0 NET_PORT=$NET_PORT
FIO_COMMON="--name=b --thread --direct=1 --ioengine=libaio --iodepth=16 --size=192M --randrepeat=1 --output-format=json"
EOF
cat >> benchlib.sh <<'EOF'
# $1 = workload, $2 = big|small -> fio options
wl_args() {
	case $1 in
	randread4k) n=$N4K; o="--rw=randread --bs=4k" ;;
	randwrite4k) n=$N4K; o="--rw=randwrite --bs=4k --end_fsync=1" ;;
	seqread64k) n=$N64K; o="--rw=read --bs=64k" ;;
	*) echo "--unknown-workload"; return ;;
	esac
	[ "$2" = small ] && n=$((n / 16))
	case $1 in *64k) kb=64 ;; *) kb=4 ;; esac
	echo "$o --io_size=$((n * kb))k"
}
# the series' counters (hypercalls map_batches added lookups hits),
# "- - - - -" without them
stats() {
	f=/sys/kernel/debug/xen/m2p_override/stats
	if [ -r $f ]; then
		awk '$1 == "hypercalls:" { h = $2 } $1 == "map_batches:" { m = $2 } $1 == "added:" { a = $2 }
			$1 == "lookups:" { l = $2 } $1 == "hits:" { x = $2 }
			END { print h + 0, m + 0, a + 0, l + 0, x + 0 }' $f
	else
		echo "- - - - -"
	fi
}
# I/Os completed and bytes, from fio's JSON (read + write + trim)
fio_ios() {
	awk -F '[:,]' '/"io_bytes"/ { b += $2 } /"total_ios"/ { t += $2 } END { print t + 0, b + 0 }' "$1"
}
# $1 label, $2 path, $3 workload, $4 run, $5 big|small, $6 file or device
measure() {
	_args=$(wl_args $3 $5)
	_s0=$(stats); _t0=$(date +%s.%N)
	$MARK start $1
	fio $FIO_COMMON $_args --filename=$6 --output=fio-$1.json > fio-$1.err 2>&1
	_rc=$?
	$MARK stop $1
	_t1=$(date +%s.%N); _s1=$(stats)
	echo "M $1 $2 $3 $4 $5 $_rc $(fio_ios fio-$1.json) $_t0 $_t1 $_s0 $_s1"
	[ $_rc = 0 ] || tail -n 5 fio-$1.err
	rm -f fio-$1.json fio-$1.err
}
# packets of eth0 in the direction of workload $1 (nettx: sent, netrx: received)
netpk() {
	awk -v w=$1 '/eth0:/ { sub(/.*eth0:/, ""); print (w == "nettx") ? $10 : $2 }' /proc/net/dev
}
# one TCP stream of $1 bytes through eth0 to (nettx) or from (netrx) the
# peer in dom0; status 0 when every byte arrived: nettx waits for dom0's
# count of what it read, so the stream is over before the stop marker
netjob() { # $1 workload, $2 bytes
	case $1 in
	nettx) [ "$(bash -c "exec 3<>/dev/tcp/$NET_DOM0/$NET_PORT && echo $2 >&3 && head -c $2 /dev/zero >&3 && head -n 1 <&3")" = "$2" ] ;;
	netrx) [ "$(bash -c "exec 3<>/dev/tcp/$NET_DOM0/$((NET_PORT + 1)) && echo $2 >&3 && cat <&3" | wc -c)" = "$2" ] ;;
	*) return 1 ;;
	esac
}
# like measure, for the network: $1 label, $2 path, $3 workload, $4 run,
# $5 big|small; "I/Os" are eth0's packets in the workload's direction
measure_net() {
	_b=$NET_BYTES; [ "$5" = small ] && _b=$((_b / 16))
	_p0=$(netpk $3); _s0=$(stats); _t0=$(date +%s.%N)
	$MARK start $1
	netjob $3 $_b
	_rc=$?
	$MARK stop $1
	_t1=$(date +%s.%N); _s1=$(stats); _p1=$(netpk $3)
	echo "M $1 $2 $3 $4 $5 $_rc $((_p1 - _p0)) $_b $_t0 $_t1 $_s0 $_s1"
}
warm() { # $1 workload, $2 file or device: one small job, not measured
	case $1 in
	net*) netjob $1 $((NET_BYTES / 16)) ;;
	*) fio $FIO_COMMON $(wl_args $1 small) --filename=$2 --output=/dev/null > /dev/null 2>&1 ;;
	esac
}
idle() { # $1 label, $2 seconds: what the machine executes doing nothing
	_s0=$(stats); _t0=$(date +%s.%N)
	$MARK start $1
	sleep $2
	$MARK stop $1
	_t1=$(date +%s.%N); _s1=$(stats)
	echo "M $1 idle idle 1 idle 0 0 0 $_t0 $_t1 $_s0 $_s1"
}
busy() { # $1 label, $2 iterations of an empty awk loop: the machine while busy
	_s0=$(stats); _t0=$(date +%s.%N)
	$MARK start $1
	awk -v n=$2 'BEGIN { for (i = 0; i < n; i++); }'
	$MARK stop $1
	_t1=$(date +%s.%N); _s1=$(stats)
	echo "M $1 busy busy 1 busy 0 $2 0 $_t0 $_t1 $_s0 $_s1"
}
EOF
MARK=$MARK . ./benchlib.sh
if [ "$CPUS" = 1 ]; then
	if [ -e /sys/devices/system/cpu/cpu1/online ]; then
		echo 0 > /sys/devices/system/cpu/cpu1/online || fail "cannot offline dom0's cpu1"
	fi
	xl vcpu-pin 0 0 0 || fail "xl vcpu-pin"
	log "dom0: $(grep -c ^processor /proc/cpuinfo) CPU online; $(xl vcpu-list 0 | tail -n +2 | awk '{ print "vcpu " $3 " cpu " $4 " " $5 }' | paste -sd ',')"
fi
LBL=0
next() { LBL=$((LBL + 1)); }
rec() { tee -a $TSV; }
mkimg() { dd if=/dev/zero of=$1 bs=1M count=256 oflag=direct status=none || fail "dd $1"; }

log "idle baseline, nothing attached"
next; idle $LBL $IDLE | rec
log "busy baseline: awk loops of two lengths"
for it in 2000000 8000000; do next; busy $LBL $it | rec; done

# dom0's own paths, all attached at once, each on its own image
targets=
if has raw; then mkimg raw.img; targets="$targets raw=$PWD/raw.img"; fi
if has qdisk; then
	mkimg qdisk.img
	file='{"driver": "file", "filename": "'$PWD/qdisk.img'", "aio": "threads", "cache": {"direct": true}}'
	qmp blockdev-add '{"node-name": "bench0", "driver": "raw", "cache": {"direct": true}, "file": '"$file"'}' >/dev/null || fail "blockdev-add"
	qmp_add_xen_disk xvdb bench0 || fail "device_add"
	wait_attached xvdb qdisk || fail "qdisk attach"
	has_odirect "$(qemu_fd_flags $PWD/qdisk.img)" || fail "QEMU does not hold qdisk.img with O_DIRECT"
	targets="$targets qdisk=/dev/xvdb"
fi
# two xen-mapblk at once: lib.sh keeps one in MAPBLK_PID and mapblk.log,
# so each one's pid and log are put aside (the log renamed while it runs)
if has mapblk; then
	mkimg mapblk.img
	# per-request grant mapping, the path this benchmark has always measured
	mapblk_start xvdc $PWD/mapblk.img --no-persistent
	MB_NP=$MAPBLK_PID
	wait_for_dev /dev/xvdc 60 || { cat mapblk.log; fail "xen-mapblk attach"; }
	mv mapblk.log mapblk-np.log
	targets="$targets mapblk=/dev/xvdc"
fi
if has mapblk-pg; then
	mkimg mapblk-pg.img
	mapblk_start xvdd $PWD/mapblk-pg.img
	MB_PG=$MAPBLK_PID
	wait_for_dev /dev/xvdd 60 || { cat mapblk.log; fail "xen-mapblk (persistent) attach"; }
	[ "$(xenstore-read /local/domain/0/device/vbd/$(vdev_id xvdd)/feature-persistent 2>/dev/null)" = 1 ] ||
		fail "blkfront did not take xen-mapblk's persistent grants"
	mv mapblk.log mapblk-pg.log
	targets="$targets mapblk-pg=/dev/xvdd"
fi
if has blkback; then
	mkimg blkback.img
	bloop=$(losetup -f --show --direct-io=on blkback.img) || fail "losetup"
	log "blkback: $bloop, direct I/O $(cat /sys/block/${bloop#/dev/}/loop/dio)"
	xl block-attach 0 "phy:$bloop,xvde,w" || fail "xl block-attach"
	wait_attached xvde vbd || fail "no /dev/xvde"
	targets="$targets blkback=/dev/xvde"
fi
if [ -n "$targets" ]; then
	# a first pass of small jobs, not measured: lockdep's first sight of a
	# lock chain, first allocations, the loop's and QEMU's first opens
	for wl in $WLS; do for t in $targets; do warm $wl ${t#*=}; done; done
	for run in $(seq 1 $RUNS); do
		for wl in $WLS; do
			for t in $targets; do
				for kind in big small; do
					next; measure $LBL ${t%%=*} $wl $run $kind ${t#*=} | rec
				done
			done
		done
		log "round $run of dom0's paths done"
	done
fi
if has qdisk; then
	qmp device_del '{"id": "xvdb"}' >/dev/null
	i=0; while [ -b /dev/xvdb ]; do i=$((i + 1)); [ $i -gt 120 ] && break; sleep 0.5; done
	sleep 1; qmp blockdev-del '{"node-name": "bench0"}' >/dev/null
fi
if has mapblk; then
	MAPBLK_PID=$MB_NP; mv mapblk-np.log mapblk.log
	mapblk_stop xvdc > mapblk-stop.log 2>&1 || { cat mapblk-stop.log; fail "xen-mapblk stop"; }
	grep 'stats' mapblk-stop.log
fi
if has mapblk-pg; then
	MAPBLK_PID=$MB_PG; mv mapblk-pg.log mapblk.log
	mapblk_stop xvdd > mapblk-stop.log 2>&1 || { cat mapblk-stop.log; fail "xen-mapblk (persistent) stop"; }
	grep 'stats' mapblk-stop.log
fi
if has blkback; then
	xl block-detach 0 xvde || fail "xl block-detach"
	i=0; while [ -b /dev/xvde ]; do i=$((i + 1)); [ $i -gt 60 ] && fail "/dev/xvde still there"; sleep 0.5; done
	losetup -d $bloop
fi

# A PV guest with both remote disks and a vif; it runs the same
# measurements, and the network ones.
gpaths=
has domu-blkback && gpaths="$gpaths domu-blkback=/dev/xvda"
has domu-qdisk && gpaths="$gpaths domu-qdisk=/dev/xvdb"
gnet=
has domu-net && [ -n "$NET_WLS" ] && gnet=1
if [ -n "$gpaths$gnet" ]; then
	[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || fail "guest kernel/init not built"
	mkimg gblk.img; mkimg gqdisk.img
	gloop=$(losetup -f --show --direct-io=on gblk.img) || fail "losetup"
	# libxl's qdisk opens the file through dom0's page cache (direct-io-safe
	# does not attach on Debian's QEMU, tests/findings/direct-io-safe.md):
	# read it once so that every run finds the same cache.
	cat gqdisk.img > /dev/null
	rm -rf ird; mkdir -p ird
	cp benchlib.sh ird/benchlib.sh
	vif=
	if [ -n "$gnet" ]; then
		ip link add xenbr1 type bridge 2>/dev/null
		ip addr add $NET_DOM0/24 dev xenbr1 2>/dev/null
		ip link set xenbr1 up || fail "no bridge in dom0"
		python3 $XM2P/tests/bench-netpeer.py $NET_DOM0 $NET_PORT > netpeer.log 2>&1 &
		NETPEER=$!
		vif="vif = [ 'bridge=xenbr1,mac=00:16:3e:4d:78:02' ]"
	fi
	cat > ird/run.sh <<RUN
for d in xvda xvdb; do
	i=0; while [ ! -b /dev/\$d ] && [ \$i -lt 120 ]; do i=\$((i + 1)); sleep 1; done
done
if [ -n "$gnet" ]; then
	i=0; while ! ip link show eth0 > /dev/null 2>&1 && [ \$i -lt 120 ]; do i=\$((i + 1)); sleep 1; done
	ip link set lo up
	ip link set eth0 up && ip addr add $NET_GUEST/24 dev eth0 || echo "XM2P-BENCH no eth0"
	i=0; until netjob netrx 1 || [ \$i -gt 60 ]; do i=\$((i + 1)); sleep 1; done
fi
mkdir -p /sys/kernel/debug; mount -t debugfs debugfs /sys/kernel/debug
[ -w /sys/module/lockdep/parameters/prove_locking ] && echo 0 > /sys/module/lockdep/parameters/prove_locking
cd /tmp
. /benchlib.sh
echo "XM2P-BENCH guest up: \$(uname -rv), override \$(awk '\$1 == "enabled:" { print \$2 }' /sys/kernel/debug/xen/m2p_override/stats 2>/dev/null)"
for wl in $WLS; do for t in $gpaths; do warm \$wl \${t#*=}; done; done
for wl in ${gnet:+$NET_WLS}; do warm \$wl -; done
L=2000
for run in \$(seq 1 $RUNS); do
	for wl in $WLS; do
		for t in $gpaths; do
			for kind in big small; do
				L=\$((L + 1))
				measure \$L \${t%%=*} \$wl \$run \$kind \${t#*=} | sed 's/^/XM2P-BENCH /'
			done
		done
	done
	for wl in ${gnet:+$NET_WLS}; do
		for kind in big small; do
			L=\$((L + 1))
			measure_net \$L domu-net \$wl \$run \$kind | sed 's/^/XM2P-BENCH /'
		done
	done
done
echo "XM2P-BENCH lockdep at the end: prove_locking=\$(cat /sys/module/lockdep/parameters/prove_locking) debug_locks=\$(awk '\$1 == "debug_locks:" { print \$2 }' /proc/lockdep_stats)"
echo "XM2P-BENCH done"
RUN
	PATH=$XM2P/bin:$PATH guest_initrd gi.gz sh fio awk sed date cat sleep mount mkdir seq uname tail rm xm2p-mark \
		bash head wc ip ||
		fail "guest initramfs"
	cat > g.cfg <<CFG
name = "bench-guest"
type = "pv"
memory = 512
vcpus = 1
kernel = "$XM2P/bin/guest-kernel"
ramdisk = "$PWD/gi.gz"
extra = "console=hvc0 rdinit=/init loglevel=4 xen_m2p_override=$GUEST_OVERRIDE"
disk = [ 'phy:$gloop,xvda,w', 'format=raw,vdev=xvdb,access=rw,backendtype=qdisk,target=$PWD/gqdisk.img' ]
$vif
on_poweroff = "destroy"
on_crash = "destroy"
CFG
	[ "$CPUS" = 1 ] && echo 'cpus = "0"' >> g.cfg
	gs0=$(stats)
	log "guest: booting (override $GUEST_OVERRIDE)"
	xl_create g.cfg bench-guest || { cat create.log; fail "xl create"; }
	wait_domain_gone bench-guest 2400 || fail "the guest did not finish"
	gs1=$(stats)
	sleep 1
	glog=/var/log/xen/console/guest-bench-guest.log
	sed -n 's/.*XM2P-BENCH //p' $glog > guest.lines
	grep -v '^M ' guest.lines
	grep '^M ' guest.lines | rec
	# hypercalls map_batches added lookups hits, before and after
	echo "G domu dom0-counters-over-guest-life $gs0 $gs1" | rec
	losetup -d $gloop
	if [ -n "$gnet" ]; then
		kill $NETPEER 2>/dev/null; wait $NETPEER 2>/dev/null
		grep -v '^$' netpeer.log
		grep -q 'no eth0' guest.lines && fail "the guest had no eth0"
	fi
	grep -q '^done' guest.lines || { tail -n 40 $glog; fail "the guest did not finish its measurements"; }
fi

log "idle baseline, at the end"
next; idle $LBL $IDLE | rec
echo "# lockdep at the end: $(lockdep_state)" | tee -a $TSV
check_no_leaks || fail "leak check"
bad=$(awk '$1 == "M" && $7 != 0' $TSV | wc -l)
[ "$bad" = 0 ] || fail "$bad fio runs failed"
echo "ok: $(grep -c '^M ' $TSV) measurements in $TSV"
