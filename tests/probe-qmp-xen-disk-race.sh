# Probe, not in make check: QMP hot-plug of a xen-disk into dom0, N times as
# the rig did it (plain device_add) and N times through lib.sh's
# qmp_add_xen_disk (xenbus probing held off until device_add returned).
# Per attempt: whether the /dev node appeared, blkfront's probe error if
# any, and the order in which the frontend's "state" and "virtual-device"
# nodes first showed up in a xenstore watch. A frontend whose probe failed
# cannot be unplugged (QEMU waits for it to close), so every attempt uses
# its own vdev (xvdf, xvdg, ...) and QMP names. Never fails.
# timeout: 900
. $XM2P/tests/lib.sh
N=${XM2P_PROBE_N:-5}
truncate -s 64M probe.img
echo "$($QEMU_DM --version | head -n 1); xen $(xl info | sed -n 's/^xen_version *: //p')"
n=0
for mode in plain holdoff; do
	ok=0
	for i in $(seq 1 $N); do
		v=xvd$(printf "\\$(printf '%03o' $((102 + n)))") n=$((n + 1))
		id=$(vdev_id $v) fe=/local/domain/0/device/vbd/$(vdev_id $v)
		file='{"driver": "file", "filename": "'$PWD/probe.img'", "aio": "threads", "cache": {"direct": true}, "read-only": true}'
		qmp blockdev-add '{"node-name": "p'$n'", "driver": "raw", "read-only": true, "file": '"$file"'}' > /dev/null
		xenstore-watch /local/domain/0/device/vbd > watch.log 2>&1 &
		w=$!
		sleep 0.5
		kmsg_mark
		if [ $mode = plain ]; then
			qmp device_add '{"driver": "xen-disk", "id": "'$v'", "vdev": "'$v'", "drive": "p'$n'"}' > /dev/null
		else
			qmp_add_xen_disk $v p$n
		fi
		j=0; while [ ! -b /dev/$v ] && [ $j -lt 30 ]; do j=$((j + 1)); sleep 0.5; done
		kill $w 2>/dev/null; wait $w 2>/dev/null
		order=$(grep -oE "$fe/(state|virtual-device)( |$)" watch.log | sed 's/ $//' | awk '!seen[$0]++' | sed "s|^$fe/||" | paste -sd' ')
		err=$(dmesg_since | grep -E "vbd-$id: .*(reading|failed)" | sed 's/^.*\] //' | paste -sd';')
		if [ -b /dev/$v ]; then
			ok=$((ok + 1))
			echo "$mode $i ($v): attached; first seen: $order"
			qmp device_del '{"id": "'$v'"}' > /dev/null
			j=0; while [ -b /dev/$v ] && [ $j -lt 60 ]; do j=$((j + 1)); sleep 0.5; done
		else
			echo "$mode $i ($v): NO /dev/$v; first seen: $order${err:+; kernel: $err}; frontend state $(xenstore-read $fe/state 2>&1), backend state $(backend_state qdisk $id)"
		fi
	done
	echo "$mode: $ok of $N attached"
done
