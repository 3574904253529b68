# A PV network guest: this project's kernel with a vif on a bridge in dom0.
# The guest sends a stream to dom0 (netback's TX path: grant maps, from NAPI
# poll, i.e. softirq) and receives one (netback's RX path: grant copy), both
# SHA-256 checked end to end, then a burst of 8000-byte UDP datagrams (each
# is fragmented over several slots). On the debug kernel any sleep in
# atomic context on the map path shows in dom0's log. Addresses are
# link-local on a bridge inside the test VM (QEMU has no NIC).
# timeout: 900
. $XM2P/tests/lib.sh
[ -x $XM2P/bin/guest-init ] && [ -s $XM2P/bin/guest-kernel ] || skip "guest kernel/init not built"
SIZE=${XM2P_NET_SIZE:-64}   # MiB each way
BURST=${XM2P_NET_UDP:-2000}
DOM0=169.254.77.1 GUEST=169.254.77.2 PORT=5001
kmsg_mark
marker="m2p-$(cat /proc/sys/kernel/random/uuid)"
ip link add xenbr0 type bridge 2>/dev/null
ip addr add $DOM0/24 dev xenbr0 2>/dev/null
ip link set xenbr0 up || fail "no bridge in dom0"
mkdir -p ird && echo "$marker" > ird/marker
cat > ird/run.sh <<RUN
ip link set lo up
ip link set eth0 up && ip addr add $GUEST/24 dev eth0 || { echo "GUEST-NET no eth0"; ip link; exit 1; }
head -c ${SIZE}M /dev/urandom > /tmp/tx
echo "GUEST-NET tx-sha256 \$(sha256sum < /tmp/tx | cut -d' ' -f1)"
i=0
until bash -c 'cat /tmp/tx > /dev/tcp/$DOM0/$PORT' 2>/dev/null; do
	i=\$((i + 1)); [ \$i -gt 60 ] && { echo "GUEST-NET cannot reach dom0"; exit 1; }
	sleep 1
done
echo "GUEST-NET sent \$(wc -c < /tmp/tx)"
echo "GUEST-NET rx-sha256 \$(bash -c 'cat < /dev/tcp/$DOM0/$((PORT + 1))' | sha256sum | cut -d' ' -f1)"
bash -c 'dd if=/tmp/tx bs=8000 count=$BURST > /dev/udp/$DOM0/$((PORT + 2))' 2>/dev/null
echo "GUEST-NET udp-sent $BURST"
grep eth0 /proc/net/dev | tr -s ' ' | sed 's/^ */GUEST-NET dev /'
RUN
guest_initrd guest-initrd sh bash ip head cat sha256sum cut wc dd sleep grep tr sed || fail "guest initramfs"
pv_guest_cfg net-guest 384 "vif = [ 'bridge=xenbr0,mac=00:16:3e:4d:77:02' ]"
rm -f peer.out peer.out.ready peer.out.stop
python3 $XM2P/tests/netpeer.py $DOM0 $PORT $((SIZE << 20)) "$PWD/peer.out" 700 &
peer=$!
i=0; until [ -e peer.out.ready ]; do i=$((i + 1)); [ $i -gt 30 ] && fail "dom0 peer did not start"; sleep 1; done
before=$(m2p_stat live_entries || echo -) added0=$(m2p_stat added || echo 0) mb0=$(m2p_stat map_batches || echo 0)
xl_create guest.cfg net-guest || { cat create.log; kill $peer; fail "xl create"; }
wait_domain_gone net-guest 800; gone=$?
touch peer.out.stop
wait $peer
log=/var/log/xen/console/guest-net-guest.log
sleep 1
grep -E 'GUEST-NET|guest init' $log
cat peer.out
[ $gone = 0 ] || fail "the guest did not finish"
grep -q "marker $marker" $log || { tail -n 40 $log; fail "no marker in the guest's console log"; }
val() { awk -v k="$1" '$1 == k { print $2 }' peer.out; }
gval() { sed -n "s/^GUEST-NET $1 \([^ ]*\).*/\1/p" $log | tr -d '\r' | head -n 1; }
[ "$(val complete)" = yes ] || fail "a TCP transfer did not complete"
[ "$(val rx_bytes)" = $((SIZE << 20)) ] || fail "dom0 received $(val rx_bytes) bytes, not $((SIZE << 20))"
[ "$(val rx_sha256)" = "$(gval tx-sha256)" ] || fail "guest->dom0 stream corrupted: sha256 $(val rx_sha256) vs $(gval tx-sha256)"
[ "$(val tx_sha256)" = "$(gval rx-sha256)" ] || fail "dom0->guest stream corrupted: sha256 $(val tx_sha256) vs $(gval rx-sha256)"
[ "$(val udp_datagrams)" -gt 0 ] || fail "no UDP datagram arrived"
[ "$(val udp_lengths)" = 8000 ] || fail "UDP datagrams of wrong length: $(val udp_lengths)"
dmesg_since | grep -E "$SPLAT_RE" && fail "dom0 kernel log has errors"
xenstore-ls /local/domain/0/backend 2>/dev/null | grep -q "frontend-id = \"[1-9]" && fail "backend nodes of the guest left in dom0"
check_no_leaks || fail "leak check"
# netback maps without kmap ops and must add no override entry. The only
# gntdev mappings in this window are the toolstack's of the guest's rings
# (xenconsoled maps the console page: 1 entry per guest); 64 MiB through
# netback would add one per mapped TX slot, tens of thousands.
added=$(( $(m2p_stat added || echo 0) - added0 ))
mb=$(( $(m2p_stat map_batches || echo 0) - mb0 ))
[ $added -le 2 ] || fail "$added override entries added ($mb gntdev map batches) while netback mapped the guest's traffic"
eth0=$(sed -n 's/^GUEST-NET dev eth0: *//p' $log | tr -d '\r' | head -n 1)
echo "ok: guest<->dom0 $SIZE MiB each way, sha256 equal; UDP $(val udp_datagrams)/$BURST datagrams of 8000 B; guest eth0 rx $(echo $eth0 | cut -d' ' -f1) B/$(echo $eth0 | cut -d' ' -f2) pkts, tx $(echo $eth0 | cut -d' ' -f9) B/$(echo $eth0 | cut -d' ' -f10) pkts; m2p live entries $before -> $(m2p_stat live_entries || echo -), entries added $added by $mb gntdev map batches (the guest's console ring)"
