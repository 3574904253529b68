# Probe (not a rig scenario): QMP hot-plug of a xen-disk into dom0, N times
# as the rig did it (plain device_add) and N times through lib.sh's
# qmp_add_xen_disk (xenbus probing held off until device_add returned).
# Per attempt: whether /dev/xvdf appeared, blkfront's probe error if any,
# and the order in which the frontend's "state" and "virtual-device" nodes
# first showed up in a xenstore watch. Never fails.
# timeout: 900
. $XM2P/tests/lib.sh
N=${XM2P_PROBE_N:-8}
truncate -s 64M probe.img
file='{"driver": "file", "filename": "'$PWD/probe.img'", "aio": "threads", "cache": {"direct": true}}'
id=$(vdev_id xvdf) fe=/local/domain/0/device/vbd/$(vdev_id xvdf)
echo "$($QEMU_DM --version | head -n 1); xen $(xl info | sed -n 's/^xen_version *: //p')"
for mode in plain holdoff; do
	ok=0
	for i in $(seq 1 $N); do
		qmp blockdev-add '{"node-name": "probe0", "driver": "raw", "cache": {"direct": true}, "file": '"$file"'}' > /dev/null
		xenstore-watch /local/domain/0/device/vbd > watch.log 2>&1 &
		w=$!
		sleep 0.5
		kmsg_mark
		if [ $mode = plain ]; then
			qmp device_add '{"driver": "xen-disk", "id": "xvdf", "vdev": "xvdf", "drive": "probe0"}' > /dev/null
		else
			qmp_add_xen_disk xvdf probe0
		fi
		j=0; while [ ! -b /dev/xvdf ] && [ $j -lt 30 ]; do j=$((j + 1)); sleep 0.5; done
		kill $w 2>/dev/null; wait $w 2>/dev/null
		order=$(grep -oE "$fe/(state|virtual-device)( |$)" watch.log | sed "s/ $//" | awk '!seen[$0]++' | sed "s|^$fe/||" | paste -sd' ')
		err=$(dmesg_since | grep -E "vbd-$id: .*(reading|failed)" | sed 's/^.*\] //' | paste -sd';')
		if [ -b /dev/xvdf ]; then r=attached; ok=$((ok + 1)); else r="NO /dev/xvdf"; fi
		echo "$mode $i: $r; first seen: $order${err:+; kernel: $err}"
		qmp device_del '{"id": "xvdf"}' > /dev/null
		j=0; while { [ -b /dev/xvdf ] || xenstore-read $fe/state > /dev/null 2>&1; } && [ $j -lt 60 ]; do j=$((j + 1)); sleep 0.5; done
		sleep 1
		qmp blockdev-del '{"node-name": "probe0"}' > /dev/null
	done
	echo "$mode: $ok of $N attached"
done
