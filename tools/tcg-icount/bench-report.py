#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
make bench's report: joins tests/bench-icount.sh's measurements
(results/bench-icount.tsv of each boot) with the plugin's marker lines
(icount.txt) and writes OUT/results.md and OUT/icount-<workload>.png.

    bench-report.py --out DIR [--vmlinux patched=FILE --vmlinux base=FILE]
                    KERNEL=RUNDIR[:path,...]...   (KERNEL: patched, off, base)

A kernel named twice: the later boot's rows (of the listed paths only,
after a ':') replace the earlier boot's rows of the same path and workload.

Per measurement: the whole machine's instructions between "start L" and
"stop L" (both vCPUs; Xen, kernel, user by address), divided by the I/Os
fio completed. "net" subtracts the same run's small job (N/16 I/Os) of the
same path and workload: (big - small) / (ios_big - ios_small), which takes
fio's start and end, the marker processes and any fixed cost out.
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import m2p_roundtrip  # noqa: E402

REGIONS = ("xen", "kernel", "user")
PATH_ORDER = ["raw", "qdisk", "mapblk", "mapblk-pg", "blkback", "domu-blkback", "domu-qdisk", "domu-net"]
PATH_DESC = {
    "raw": "raw image in dom0 (ext4 file, O_DIRECT)",
    "qdisk": "dom0 local attach, QEMU qdisk (QMP, cache.direct, grant copy)",
    "mapblk": "dom0 local attach, xen-mapblk --no-persistent (gntdev grant map and unmap per request)",
    "mapblk-pg": "dom0 local attach, xen-mapblk with persistent grants (each grant mapped once with gntdev and kept; blkfront copies into its granted pages)",
    "blkback": "dom0 self-attach, blkback (phy: loop with direct I/O, persistent grants)",
    "domu-blkback": "PV domU, xvda on dom0's blkback (phy: loop, direct I/O)",
    "domu-qdisk": "PV domU, xvdb on a libxl qdisk (QEMU, raw file via dom0's page cache)",
    "domu-net": "PV domU, eth0 on dom0's netback (vif on a bridge in dom0; TCP to and from a Python peer in dom0, tests/bench-netpeer.py)",
}
WL_DESC = {
    "randread4k": "4k random read, iodepth 16",
    "randwrite4k": "4k random write, iodepth 16, one fsync at the end",
    "seqread64k": "64k sequential read, iodepth 16",
    "nettx": "network, guest -> dom0: one TCP stream, per packet the guest sent (netback TX: grant copy of the headers, grant map of the rest, from softirq)",
    "netrx": "network, dom0 -> guest: one TCP stream, per packet the guest received (netback RX: grant copy)",
}
KERNEL_ORDER = ["patched", "off", "base"]
KERNEL_DESC = {
    "patched": "patched, override on",
    "off": "patched, xen_m2p_override=off",
    "base": "unpatched 6.12 base",
}


def parse_icount(path):
    """label -> {cmd: (vcpu, xen, kernel, user, hc, sc)} (first of each)"""
    marks = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 8 and p[0] in ("start", "stop", "sample"):
                marks.setdefault(int(p[1]), {}).setdefault(p[0], tuple(int(x) for x in p[2:]))
    return marks


def num(x):
    return None if x == "-" else int(x)


def parse_tsv(path):
    rows, head = [], ""
    with open(path) as f:
        for line in f:
            p = line.split()
            if line.startswith("# variant"):
                head = line[2:].strip()
            if line.startswith("# lockdep"):
                head += "; " + line[2:].strip()
            # the series' counters before and after: 3 each (hypercalls,
            # map_batches, added), or 5 (and lookups, hits) since the eighth session
            if not p or p[0] != "M" or len(p) not in (17, 21):
                continue
            c = (len(p) - 11) // 2
            s0, s1 = p[11:11 + c], p[11 + c:]
            d = [None if s0[i] == "-" else num(s1[i]) - num(s0[i]) for i in range(c)] + [None] * (5 - c)
            rows.append(dict(label=int(p[1]), path=p[2], wl=p[3], run=int(p[4]), kind=p[5],
                             rc=int(p[6]), ios=int(p[7]), bytes=int(p[8]),
                             secs=float(p[10]) - float(p[9]),
                             hc=d[0], mb=d[1], added=d[2], lk=d[3], hit=d[4]))
    return rows, head


def bs_of(wl):
    return 65536 if wl.endswith("64k") else 4096


def spread(v):
    m = statistics.mean(v)
    return 100.0 * (max(v) - min(v)) / m if m and len(v) > 1 else 0.0


def load(kernel, rundir):
    marks = parse_icount(os.path.join(rundir, "icount.txt"))
    rows, head = parse_tsv(os.path.join(rundir, "results", "bench-icount.tsv"))
    missing = []
    for r in rows:
        mk = marks.get(r["label"], {})
        if "start" not in mk or "stop" not in mk:
            missing.append(r["label"])
            r["d"] = None
            continue
        a, b = mk["start"], mk["stop"]
        r["d"] = dict(xen=b[1] - a[1], kernel=b[2] - a[2], user=b[3] - a[3], hcall=b[4] - a[4], sysc=b[5] - a[5])
        r["d"]["total"] = r["d"]["xen"] + r["d"]["kernel"] + r["d"]["user"]
        # completed I/Os: io_bytes / bs (fio's total_ios counts issued ones);
        # the network workloads' "I/Os" are packets (the guest's eth0 counter)
        if r["kind"] == "idle":
            r["n"] = 0
        elif r["wl"].startswith("net"):
            r["n"] = r["ios"]
        else:
            r["n"] = r["bytes"] // bs_of(r["wl"])
    info = {"kernel": kernel, "dir": rundir, "head": head, "missing": missing}
    for name in ("uname", "versions", "cmdline", "bench-walltime", "bench-info"):
        p = os.path.join(rundir, "results", name) if not name.startswith("bench-") else os.path.join(rundir, name)
        info[name] = open(p).read().strip() if os.path.exists(p) else ""
    ok = [r for r in rows if r.get("d") is not None]
    info["count"] = len(ok)
    return ok, info


def summarise(rows):
    """(path, wl) -> dict of per-run values and means"""
    out = {}
    idle = [r for r in rows if r["kind"] == "idle"]
    idle_rate = statistics.mean(r["d"]["total"] / r["secs"] for r in idle) if idle else 0.0
    # busy: two awk loops of different lengths; what Xen and the kernels add
    # per second while a CPU is busy = the difference of their Xen + kernel
    # instructions over the difference of their durations
    busy = sorted((r for r in rows if r["kind"] == "busy"), key=lambda r: r["ios"])
    busy_rate = None
    if len(busy) >= 2 and busy[-1]["secs"] > busy[0]["secs"]:
        sk = lambda r: r["d"]["xen"] + r["d"]["kernel"]  # noqa: E731
        busy_rate = (sk(busy[-1]) - sk(busy[0])) / (busy[-1]["secs"] - busy[0]["secs"])
    bg_rate = busy_rate if busy_rate is not None else idle_rate
    keys = sorted({(r["path"], r["wl"]) for r in rows if r["kind"] == "big"})
    for k in keys:
        big = {r["run"]: r for r in rows if (r["path"], r["wl"]) == k and r["kind"] == "big"}
        small = {r["run"]: r for r in rows if (r["path"], r["wl"]) == k and r["kind"] == "small"}
        s = {"runs": sorted(big), "gross": [], "net": {g: [] for g in REGIONS + ("total", "hcall")},
             "hc": [], "mb": [], "added": [], "lk": [], "hit": [], "bg": [], "secs": [], "ios": []}
        for run in sorted(big):
            b = big[run]
            if b["n"] <= 0:
                continue
            s["gross"].append(b["d"]["total"] / b["n"])
            s["ios"].append(b["n"])
            s.setdefault("bpp", []).append(b["bytes"] / b["n"])
            s["secs"].append(b["secs"])
            s["bg"].append(100.0 * bg_rate * b["secs"] / b["d"]["total"] if b["d"]["total"] else 0)
            if b["hc"] is not None:
                s["hc"].append(b["hc"] / b["n"])
                s["mb"].append(b["mb"] / b["n"])
                s["added"].append(b["added"] / b["n"])
            if b["lk"] is not None:
                s["lk"].append(b["lk"] / b["n"])
                s["hit"].append(b["hit"] / b["n"])
            sm = small.get(run)
            if sm and b["n"] > sm["n"]:
                for g in REGIONS + ("total", "hcall"):
                    s["net"][g].append((b["d"][g] - sm["d"][g]) / (b["n"] - sm["n"]))
                s.setdefault("fixed", []).append(sm["d"]["total"] - sm["n"] * s["net"]["total"][-1])
                s.setdefault("dsec", []).append(b["secs"] - sm["secs"])
                s.setdefault("dins", []).append(b["d"]["total"] - sm["d"]["total"])
        out[k] = s
    return out, (idle_rate, idle, busy_rate, busy)


def fmt(x, d=0):
    if x is None:
        return "-"
    if d == 0:
        return "{:,}".format(int(round(x)))
    return "{:.{}f}".format(x, d)


def mean(v):
    return statistics.mean(v) if v else None


def plot(outdir, wl, table, kernels):
    """one PNG: bars per path and kernel, stacked xen/kernel/user, min-max whiskers"""
    dat = os.path.join(outdir, "icount-%s.dat" % wl)
    png = os.path.join(outdir, "icount-%s.png" % wl)
    lines, tics, x = [], [], 0
    for p in PATH_ORDER:
        present = [k for k in kernels if (k, p) in table]
        if not present:
            continue
        for k in present:
            s = table[(k, p)]
            xe, ke, us = (mean(s["net"][g]) for g in REGIONS)
            tot = s["net"]["total"]
            lines.append("%d %.3f %.3f %.3f %.3f %.3f %.3f \"%s\"" % (
                x, xe / 1e3, (xe + ke) / 1e3, (xe + ke + us) / 1e3, mean(tot) / 1e3, min(tot) / 1e3, max(tot) / 1e3, k))
            tics.append('"%s" %d' % (p + " " + k, x))
            x += 1
        x += 1
    if not lines:
        return None
    with open(dat, "w") as f:
        f.write("# x xen xen+kernel total mean min max kernel\n" + "\n".join(lines) + "\n")
    gp = """
set terminal pngcairo size 1200,650 font "DejaVu Sans,10"
set output '{png}'
set title "{title}: instructions per I/O, whole machine (net of fixed cost, mean of runs; whiskers min-max)"
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics
set ylabel "thousand instructions per I/O"
set xtics rotate by -40 left ({tics})
set key top left
set xrange [-1:{xmax}]
set yrange [0:*]
plot '{dat}' using 1:4 with boxes lc rgb "#4daf4a" title "user", \\
     '' using 1:3 with boxes lc rgb "#377eb8" title "kernel (dom0 and guest)", \\
     '' using 1:2 with boxes lc rgb "#e41a1c" title "Xen", \\
     '' using 1:5:6:7 with yerrorbars lc rgb "black" lw 1.5 pt 0 notitle
""".format(png=png, title=WL_DESC.get(wl, wl), tics=", ".join(tics), xmax=x - 1, dat=dat)
    try:
        subprocess.run(["gnuplot"], input=gp, text=True, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("plot %s: %s" % (wl, e), file=sys.stderr)
        return None
    os.remove(dat)
    return os.path.basename(png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vmlinux", action="append", default=[])
    ap.add_argument("--qemu", default="", help="how scripts/bench.sh ran QEMU, e.g. '-icount shift=0,sleep=off -smp 1'")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    data, infos, idles, extra = {}, {}, {}, {}
    for spec in a.runs:
        # A kernel named again: a later boot of it, e.g. for paths added
        # since; its rows replace the earlier boot's of the same path and
        # workload, and the report lists the boot under that kernel.
        k, d = spec.split("=", 1)
        only = None
        if ":" in d:  # KERNEL=RUNDIR:path,path - only those paths of that boot
            d, only = d.split(":", 1)
            only = set(only.split(","))
        rows, info = load(k, d)
        if only:
            rows = [r for r in rows if r["path"] in only or r["kind"] in ("idle", "busy")]
        s, idle = summarise(rows)
        if k in infos:
            extra.setdefault(k, []).append((info, sorted({p for p, _ in s})))
        else:
            infos[k], idles[k] = info, idle
        for (p, wl), v in s.items():
            data[(k, p, wl)] = v
    kernels = [k for k in KERNEL_ORDER if k in infos]
    wls = [w for w in WL_DESC if any(key[2] == w for key in data)]
    o = []
    w = o.append
    first = infos[kernels[0]]
    ver = dict(re.findall(r"^(\S+) +(\S.*)$", first["versions"], re.M))
    w("# Benchmark: instructions per I/O, counted by QEMU's TCG")
    w("")
    icount = "-icount" in a.qemu
    smp = re.search(r"-smp (\d+)", a.qemu)
    smp = smp.group(1) if smp else "2"
    w("Produced by `make bench` (`scripts/bench.sh`) on %s: Xen %s, dom0 %s, fio %s, QEMU %s (TCG, `%s`) with the plugin `tools/tcg-icount` (`build/tcg/libicount.so`)." % (
        datetime.date.today().isoformat(), ver.get("xen_version", "?").split(":")[-1].strip(),
        first["uname"].split()[2] if first["uname"] else "?", ver.get("fio", "?"),
        subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.split("\n")[0].replace("QEMU emulator version ", ""), a.qemu or "-smp 2"))
    w("")
    w("## What is counted")
    w("")
    w("- **The whole machine**: every guest instruction QEMU executed on every vCPU between `xm2p-mark start L` and `xm2p-mark stop L` in the measuring domain (dom0, or the guest for the `domu-*` rows): Xen, dom0's kernel and userspace (fio, QEMU's qdisk, xen-mapblk, xenstored, ...), the guest's kernel and userspace. Not counted: QEMU's own device emulation on the host (the virtio disk under dom0's ext4).")
    cpus = re.search(r" cpus (\d)", first["head"])
    if icount:
        w("- **Clocks that follow the instructions, one CPU**: QEMU runs with `%s`. With `-icount shift=0` the machine's clocks (TSC, timers) advance by one nanosecond per executed instruction, and with `sleep=off` an idle machine jumps to its next timer instead of waiting for the host: what the machine does per unit of time (dom0's and the guest's 250 Hz ticks, Xen's timers, RCU, xen-mapblk's 1 s poll) is counted per instruction executed, not per second of the host. With one CPU (dom0 `dom0_max_vcpus=1`, the guest pinned to it) no vCPU spins waiting for another whose host thread is descheduled. The counts then do not depend on the host's speed or load: the boots run side by side. What is left between runs: when the host completes dom0's virtio disk I/O, in virtual time." % a.qemu)
    elif cpus and cpus.group(1) == "1":
        w("- **On one physical CPU**: the machine has two (`-smp 2`), and both are counted, but the benchmark puts all the work on CPU 0: dom0's second vCPU is taken offline, dom0's first vCPU and the guest's vCPU are pinned to CPU 0 (`xl vcpu-pin`, `cpus = \"0\"`); CPU 1 only idles in Xen. With work on both CPUs, every cross-CPU wait (an IPI's acknowledgement, a spinlock whose holder's vCPU thread the host has descheduled: this host has 2 cores and runs other TCG guests) spins for as long as the host keeps the other thread off a core, and all that spinning is counted, so the counts follow the host's load. `BENCH_APPEND=xm2p.bench_cpus=2` measures the machine as booted instead.")
    elif cpus:
        w("- **On both physical CPUs** (`xm2p.bench_cpus=2`): dom0 runs on two vCPUs, the guest wherever Xen puts it; cross-CPU spinning while the 2-core host deschedules a vCPU thread is counted too, so these counts follow the host's load.")
    w("- **Split by virtual address** of the executed code: Xen (`0xffff800000000000`..`0xffff87ffffffffff`), kernel (any other address in the upper half), user (lower half). The split cannot tell dom0's kernel from the guest's (both are 64-bit PV kernels above Xen's range), nor dom0's user space from the guest's: in the `domu-*` rows, \"kernel\" is dom0's and the guest's kernel together, \"user\" dom0's QEMU (qdisk) plus the guest's fio.")
    w("- **Per I/O** = (instructions of the big job - instructions of the same run's small job) / (I/Os of the big job - I/Os of the small job): the big job does N I/Os (%s of 4k, %s of 64k), the small one N/16, same path, workload and round; the difference removes what does not scale with the I/Os (fio's start and exit, the two marker processes, the final fsync of the write job). I/Os = fio's `io_bytes` / block size. For the network (`domu-net`), an I/O is a packet: the guest's eth0 packets in the stream's direction (sent for `nettx`, received for `netrx`; the other direction's ACKs are counted in the instructions, not as packets), the big job a stream of %s MiB, the small one 1/16 of it. *gross* = big job / its I/Os, fixed cost included." % (
        (re.search(r" n4k (\d+)", first["head"]) or ["?", "?"])[1], (re.search(r" n64k (\d+)", first["head"]) or ["?", "?"])[1],
        (re.search(r" net_mib (\d+)", first["head"]) or ["?", "?"])[1]))
    w("- **Spread** = (max - min) / mean of the per-run values, in %. Runs are interleaved: round 1 of every path and workload, then round 2, then round 3.")
    w("- **Hypercalls / I/O (all)**: `syscall` instructions executed at kernel addresses (how a 64-bit PV kernel enters Xen), whole machine, per I/O (net). **Series' grant hypercalls / I/O**: the delta of `hypercalls` in `/sys/kernel/debug/xen/m2p_override/stats` of the measuring domain (dom0, or the guest), per I/O of the big job: the gntdev map/unmap multicalls the series issues; `-` on the base, which has no counters. **Override lookups (hits) / I/O**: the same file's `lookups` and `hits`, per I/O of the big job: translations that asked the override (a lookup is counted when entries are live, before the bucket is read) and those it answered; `-` where the boot's TSV predates these columns.")
    if not icount:
        w("- **Not the host's speed, but its load still shows**: QEMU runs without `-icount`, so the guests' clocks follow the host's real time. The instructions of the I/O path itself do not depend on the host, but whatever the machine does per unit of time (dom0's and the guest's 250 Hz ticks on a busy CPU, Xen's timers, RCU, xen-mapblk's 1 s poll) is counted too, and a loaded host stretches the TCG time of every I/O. *TCG s* = the big job's duration; *bg%* = the busy rate below x that duration, as a share of the job. The section *Load* below measures how much the counts move with the duration.")
    w("- **Debug kernels**: dom0 and the guest run the project's debug kernel (lockdep with PROVE_LOCKING and PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, DEBUG_OBJECTS_RCU_HEAD, DEBUG_VM), all three variants alike: kernel counts are inflated several times over a production kernel. To keep the comparison like for like, `scripts/bench.sh` boots dom0 with `lockdep.prove_locking=0` (lockdep's dependency validation off from the first instruction) and `tests/bench-icount.sh` does the same in the guest before it maps anything: the unpatched base reports the gntdev lock inversion that patch 1 fixes at its first gntdev map and then turns lockdep off for the rest of the boot (`debug_locks` 0), which made the base's kernel count per raw 4k read about 4 times smaller than the patched kernel's in a first run; on Debian 13 dom0's QEMU maps with gntdev at boot, before any test could switch validation off, which made the base about 2.3 times cheaper in the eighth session's first run. With validation off no kernel reports, all keep lockdep's held-lock bookkeeping; the lockdep state at the start and end of each boot is in the list below.")
    w("- **The guest** runs the patched kernel (`bin/guest-kernel`) in all three boots, with `xen_m2p_override=on` in the patched boot and `off` in the `off` and `base` boots (the unpatched base has no guest kernel of its own in the rig). One PV guest (1 vCPU, 512 MiB) carries both remote disks: xvda on blkback, xvdb on qdisk.")
    w("- Workloads (fio %s, O_DIRECT, libaio, `--thread`, `--randrepeat=1`, region 192 MiB of a 256 MiB image per path): %s." % (
        ver.get("fio", ""), "; ".join("`%s` %s" % (k, v) for k, v in WL_DESC.items())))
    w("")
    w("Paths:")
    w("")
    for p in PATH_ORDER:
        w("- `%s`: %s" % (p, PATH_DESC[p]))
    w("")
    w("Kernels (one boot each, QEMU `%s`, dom0 with %s vCPU%s, `dom0_mem=2048M`):" % (a.qemu or "-smp 2", smp, "" if smp == "1" else "s"))
    w("")
    for k in kernels:
        i = infos[k]
        wt = i["bench-walltime"].split()
        build = re.search(r"(#\d+ [^x]*?)\s+x86_64", i["uname"])
        glog = os.path.join(i["dir"], "results", "bench-icount.log")
        guest = re.findall(r"guest up: (.*)", open(glog).read()) if os.path.exists(glog) else []
        km = re.search(r"^kernel (\S+)", i["bench-info"], re.M)
        hl = re.search(r"^host-load (\S+ \S+ \S+)", i["bench-info"], re.M)
        w("- `%s`: %s; dom0 kernel build %s%s%s; `build/runs/%s` (%s), %d measurements%s, boot wall time %s%s" % (
            k, KERNEL_DESC[k], build.group(1) if build else "?", " (bzImage md5 %s)" % km.group(1)[:12] if km else "",
            ", guest: %s" % guest[0] if guest else "",
            os.path.basename(i["dir"]), i["head"], i["count"],
            ", **%d labels without marker lines**" % len(i["missing"]) if i["missing"] else "",
            ("%d s" % int(wt[1])) if len(wt) == 2 else "?", ", host load average at its end %s" % hl.group(1) if hl else ""))
        for xi, xp in extra.get(k, []):
            xw = xi["bench-walltime"].split()
            w("  - and `build/runs/%s` for the paths %s (%s), %d measurements, boot wall time %s: these rows replace the first boot's" % (
                os.path.basename(xi["dir"]), ", ".join("`%s`" % p for p in xp), xi["head"], xi["count"],
                ("%d s" % int(xw[1])) if len(xw) == 2 else "?"))
    # lockdep off before the measurements started: that kernel's counts are
    # several times smaller and compare with nothing
    for k in kernels:
        for i in [infos[k]] + [xi for xi, _ in extra.get(k, [])]:
            if "debug_locks=0" in i["head"]:
                w("")
                w("**Warning**: lockdep was already off (`debug_locks=0`) when `build/runs/%s` started measuring: a lockdep report earlier in that boot switched it off, so its kernel instructions lack lockdep's bookkeeping and its rows are not comparable with the other kernels'." % os.path.basename(i["dir"]))
                print("bench-report: lockdep was off at the start of %s: its rows are not comparable" % i["dir"], file=sys.stderr)
    # the same build for patched and off, and the same guest kernel everywhere?
    builds = {k: re.search(r"#\d+", infos[k]["uname"]).group(0) if re.search(r"#\d+", infos[k]["uname"]) else "?" for k in kernels}
    if "patched" in builds and "off" in builds and builds["patched"] != builds["off"]:
        w("")
        w("**Warning**: the `patched` and `off` boots ran different builds of the patched kernel (%s, %s): their comparison is not like for like." % (builds["patched"], builds["off"]))
    gk = {k: re.search(r"^guest-kernel (\S+)", infos[k]["bench-info"], re.M) for k in kernels}
    gk = {k: v.group(1) for k, v in gk.items() if v}
    if len(set(gk.values())) > 1:
        w("")
        w("**Warning**: the guest kernel differed between boots (%s)." % ", ".join("%s %s" % (k, v[:8]) for k, v in gk.items()))
    w("")
    w("## Instructions per I/O")
    w("")
    pngs = {}
    for wl in wls:
        w("### %s" % WL_DESC[wl])
        w("")
        w("| path | kernel | per I/O (net) | spread | Xen | kernel | user | gross | hypercalls / I/O (all) | series' grant hypercalls / I/O | m2p entries added / I/O | override lookups (hits) / I/O | %s s | bg%% | runs |" % ("virtual" if icount else "TCG"))
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        table = {}
        for p in PATH_ORDER:
            for k in kernels:
                s = data.get((k, p, wl))
                if not s or not s["net"]["total"]:
                    continue
                table[(k, p)] = s
                n = s["net"]
                lk = "%s (%s)" % (fmt(mean(s["lk"]), 2), fmt(mean(s["hit"]), 2)) if s["lk"] else "-"
                w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %.0f | %d |" % (
                    p, k, fmt(mean(n["total"])), "%.1f%%" % spread(n["total"]) if len(n["total"]) > 1 else "-", fmt(mean(n["xen"])), fmt(mean(n["kernel"])),
                    fmt(mean(n["user"])), fmt(mean(s["gross"])), fmt(mean(n["hcall"]), 2),
                    fmt(mean(s["hc"]), 2), fmt(mean(s["added"]), 2), lk, mean(s["secs"]) or 0, mean(s["bg"]) or 0, len(n["total"])))
        w("")
        if wl.startswith("net") and table:
            w("Bytes per packet of the big jobs (TCP segmentation offload: a packet carries up to 64 KiB; the per-packet counts compare only where these are alike): %s." % "; ".join(
                "%s %s" % (k, ", ".join(fmt(x) for x in table[(k, p)]["bpp"])) for (k, p) in sorted(table, key=lambda kp: kernels.index(kp[0]))))
            w("")
        png = plot(a.out, wl, table, kernels)
        if png:
            pngs[wl] = png
            w("![%s](%s)" % (wl, png))
            w("")
    # targets
    w("## Targets (issue 13)")
    w("")
    noisy = []
    for (k, p, wl), s in sorted(data.items()):
        if s["net"]["total"] and spread(s["net"]["total"]) > 3.0:
            noisy.append((k, p, wl, spread(s["net"]["total"]), mean(s["bg"]) or 0))
    nrows = sum(1 for s in data.values() if s["net"]["total"])
    w("- **Spread <= 3%% of the mean**: %d of %d rows %s%s" % (
        nrows - len(noisy), nrows, "meet it" if not noisy else "meet it; the others", "." if not noisy else " (spread; net per I/O of each round):"))
    for k, p, wl, sp, bg in noisy:
        runs = data[(k, p, wl)]["net"]["total"]
        hi = runs.index(max(runs))
        same = [k2 for k2 in kernels if k2 != k and data.get((k2, p, wl)) and data[(k2, p, wl)]["net"]["total"]
                and data[(k2, p, wl)]["net"]["total"].index(max(data[(k2, p, wl)]["net"]["total"])) == hi]
        w("  - %s / %s / %s: %.1f%% (runs %s)%s" % (p, wl, k, sp, ", ".join(fmt(x) for x in runs),
                                                 "; round %d is the highest in %s too" % (hi + 1, ", ".join(same)) if same else ""))
    if noisy:
        w("  Where the same round is the highest in every kernel, the spread is not the measurement's noise: with `-icount` the boots replay nearly the same sequence, and that round's job overlaps something the machine does anyway (a periodic job of dom0's or the guest's, writeback, a cache refill). Such rows compare between kernels run by run (below), not by their means.")
    if "patched" in kernels and "off" in kernels:
        w("- **PV domU with a remote backend: the series adds 0 instructions per request beyond the spread** (override on = `patched` vs off = `off`, dom0 and guest alike; per I/O, net, whole machine; run by run: round i of one boot against round i of the other; missed if every round costs more with the override on, met otherwise; also shown: whether the mean difference lies within the larger spread of the two rows, the issue's wording):")
        for p in ("domu-blkback", "domu-qdisk", "domu-net"):
            for wl in wls:
                on, off = data.get(("patched", p, wl)), data.get(("off", p, wl))
                if not on or not off or not on["net"]["total"] or not off["net"]["total"]:
                    continue
                n = min(len(on["net"]["total"]), len(off["net"]["total"]))
                d = [on["net"]["total"][i] - off["net"]["total"][i] for i in range(n)]
                dk = [on["net"]["kernel"][i] - off["net"]["kernel"][i] for i in range(n)]
                mf = mean(off["net"]["total"])
                # "adds": missed only if every round costs more with the
                # override on; a boot that is cheaper in every round adds nothing
                verdict = "met" if min(d) <= 0 else "missed"
                sp = max(spread(on["net"]["total"]), spread(off["net"]["total"]))
                w("  - %s / %s: differences %s per I/O (mean %+.1f%% of off's %s, the rows' spread %.1f%%: %s; kernel part %s): **%s**" % (
                    p, wl, ", ".join("%+d" % x for x in d), 100.0 * mean(d) / mf, fmt(mf), sp,
                    "within it" if abs(100.0 * mean(d) / mf) <= sp else "beyond it",
                    ", ".join("%+d" % x for x in dk), verdict))
    pg = [(k, wl) for k in kernels for wl in wls if data.get((k, "mapblk-pg", wl), {}).get("net", {}).get("total")]
    if pg:
        w("- **`xen-mapblk` with persistent grants: 0 grant hypercalls per request once warm** (the series' counters in dom0 over the big job; `-` on the base, which has none):")
        for k, wl in pg:
            hc = mean(data[(k, "mapblk-pg", wl)]["hc"])
            if hc is not None:
                w("  - %s / %s: %s per I/O: **%s**" % (wl, k, fmt(hc, 2), "met" if hc == 0 else "missed"))
        w("- **`xen-mapblk` with persistent grants: fewer whole-machine instructions per 4k request than qdisk's grant copy** (per I/O, net, mean of the runs):")
        for k, wl in pg:
            q = data.get((k, "qdisk", wl))
            if not q or not q["net"]["total"]:
                continue
            m, qm = mean(data[(k, "mapblk-pg", wl)]["net"]["total"]), mean(q["net"]["total"])
            np_ = data.get((k, "mapblk", wl))
            w("  - %s / %s: mapblk-pg %s, qdisk %s (%+.1f%%)%s: **%s**" % (
                wl, k, fmt(m), fmt(qm), 100.0 * (m - qm) / qm,
                "; mapblk per request %s" % fmt(mean(np_["net"]["total"])) if np_ and np_["net"]["total"] else "",
                ("met" if m < qm else "missed") if "64k" not in wl else "64k: for the record, not a target"))
    vm = dict(v.split("=", 1) for v in a.vmlinux)
    if vm:
        # every path of both kernels, counted once; the base has no override
        paths = {}
        for k in ("patched", "base"):
            for sc in m2p_roundtrip.SCENARIOS:
                if k not in vm or (k == "base" and sc not in ("roundtrip", "foreign-off")):
                    continue
                try:
                    paths[(k, sc)] = m2p_roundtrip.count(vm[k], sc)
                except Exception as e:  # noqa: BLE001 - reported, not fatal
                    paths[(k, sc)] = str(e)
        res = {k: paths[(k, "roundtrip")] for k in ("base", "patched") if (k, "roundtrip") in paths}
        def build_of(path):
            m = re.search(rb"Linux version \S+ .*?(#\d+)", open(path, "rb").read())
            return m.group(1).decode() if m else "?"
        if all(isinstance(v, tuple) for v in res.values()) and len(res) == 2:
            b, pch = res["base"][0], res["patched"][0]
            w("- **`mfn_to_pfn()` round trip no longer than base 6.12**: %d instructions patched (%s), %d on the base (%s): **%s**. Counted by `tools/tcg-icount/m2p_roundtrip.py`, which runs `xen_pte_val()` of each `vmlinux` (a present, non-special PTE of dom0's own frame: m2p[mfn] = pfn, p2m[pfn] = mfn) in a small x86-64 interpreter over objdump's disassembly, following calls and tail calls. (`scripts/fastpath-objdump.sh` lists only `xen_pte_val()` and an `mfn_to_pfn()` it calls; the patched `xen_pte_val()` tail-calls `pte_mfn_to_pfn.part.0`, so its listing of the patched kernel stops after 6 instructions and is not the round trip.) `vmlinux` builds: patched %s, base %s." % (
                pch, ", ".join(res["patched"][1]), b, ", ".join(res["base"][1]), "met" if pch <= b else "missed",
                build_of(vm["patched"]), build_of(vm["base"])))
        else:
            w("- `mfn_to_pfn()` round trip: not counted (%s)" % res)
        if paths:
            w("")
            w("`mfn_to_pfn()`'s paths, instructions of `xen_pte_val()` for a present, non-special PTE (`m2p_roundtrip.py --paths`, same interpreter; the debug kernel's lockdep and RCU-debug calls are not entered: their call instructions count, the calls are listed):")
            w("")
            w("| path | the frame and the override | patched | base 6.12 | not entered (patched) |")
            w("|---|---|---:|---:|---|")
            what = {
                "roundtrip": "dom0's own frame (m2p and p2m agree)",
                "foreign-off": "another domain's frame, override off (`xen_m2p_override=off`; the base has none)",
                "foreign-empty": "another domain's frame, override on, no entry in the table",
                "foreign-miss": "another domain's frame, entries live, its bucket empty (patch 13)",
                "foreign-chain": "another domain's frame, its bucket holds another mfn's entry: RCU walk, miss",
                "foreign-hit": "a frame with an entry: the walk finds it, the PTE gets the entry's pfn",
            }
            for sc in m2p_roundtrip.SCENARIOS:
                cell = []
                for k in ("patched", "base"):
                    r = paths.get((k, sc))
                    cell.append("-" if r is None else str(r[0]) if isinstance(r, tuple) else "not counted: %s" % r)
                r = paths.get(("patched", sc))
                sk = ", ".join("`%s` x%d" % kv for kv in sorted(r[2].items())) if isinstance(r, tuple) and r[2] else ""
                w("| %s | %s | %s | %s | %s |" % (sc, what[sc], cell[0], cell[1], sk))
    w("")
    # load dependence
    num_, den_, hi, rows_ = 0.0, 0.0, 0, 0
    for (k, p, wl), s in data.items():
        ds, di = s.get("dsec", []), s.get("dins", [])
        if len(ds) < 2:
            continue
        ms, mi = statistics.mean(ds), statistics.mean(di)
        num_ += sum((x - ms) * (y - mi) for x, y in zip(ds, di))
        den_ += sum((x - ms) ** 2 for x in ds)
        rows_ += 1
        net = s["net"]["total"]
        hi += net.index(max(net)) == ds.index(max(ds))
    w("## Load")
    w("")
    if icount:
        w("(`-icount`: the clocks follow the instructions, so a measurement's duration is its count again; no load analysis.)")
    elif rows_ and den_ > 0:
        w("How much the counts follow the TCG time (the host's load): over all rows, each run's net instructions (big job - small job) against its net TCG seconds (big - small), deviations from the row's mean, one slope for all rows: **%s instructions per second of TCG time** (compare the busy rate below: ticks alone). In %d of %d rows the run with the most instructions per I/O is the slowest one. A row's spread is mostly this: the host (2 cores) ran other TCG guests and builds during these boots, with changing load." % (fmt(num_ / den_), hi, rows_))
    else:
        w("(one run per row: no load analysis)")
    w("")
    # idle
    w("## Idle machine")
    w("")
    w("What the machine executes per second of %s time without I/O: idle (`sleep %s` between markers, at the start and at the end of the boot), and busy (Xen and kernel instructions added per second while an `awk` loop keeps dom0's CPU busy: the difference between loops of 2 and 8 million iterations, over the difference of their durations: timer ticks, scheduler, RCU). The busy rate x a measurement's duration is its *bg%%*." % ("virtual" if icount else "TCG",
        infos[kernels[0]]["head"].split(" idle ")[1].split()[0] if " idle " in infos[kernels[0]]["head"] else "?"))
    w("")
    w("| kernel | idle: instructions / s | idle measurements | busy: Xen + kernel instructions / s |")
    w("|---|---:|---|---:|")
    for k in kernels:
        rate, idle, brate, busy = idles[k]
        w("| %s | %s | %s | %s |" % (k, fmt(rate), " / ".join("%s in %.1f s" % (fmt(r["d"]["total"]), r["secs"]) for r in idle), fmt(brate)))
    w("")
    w("## Fixed cost per fio job")
    w("")
    w("What does not scale with the I/Os (fio's start and exit, two `xm2p-mark` processes; the write job's fsync), from the small job: its instructions minus its I/Os x the net per-I/O, mean of the runs, in millions.")
    w("")
    w("| path | %s |" % " | ".join("%s %s" % (wl, k) for wl in wls for k in kernels))
    w("|---|%s" % ("---:|" * (len(wls) * len(kernels))))
    for p in PATH_ORDER:
        cells = []
        for wl in wls:
            for k in kernels:
                s = data.get((k, p, wl))
                cells.append("%.1f" % (mean(s["fixed"]) / 1e6) if s and s.get("fixed") else "-")
        if any(c != "-" for c in cells):
            w("| %s | %s |" % (p, " | ".join(cells)))
    w("")
    w("## Commands")
    w("")
    w("    BENCH_NO_BUILD=1 make bench     # (or plain make bench on a fresh machine: builds kernels, rootfs, programs)")
    w("")
    w("which runs, per kernel:")
    w("")
    w("    scripts/boot.sh --name bench[-off|-base] --tests bench-icount --timeout 5400 \\")
    w("        --plugin build/tcg/libicount.so --icount 0 --smp 1 --guest-kernel build/bench-kernels/guest-bzImage \\")
    w("        --kernel BZIMAGE --variant patched|off|base --append 'lockdep.prove_locking=0 [xen_m2p_override=off]'")
    w("    python3 tools/tcg-icount/bench-report.py --out bench --vmlinux patched=build/kernel/vmlinux \\")
    w("        --vmlinux base=build/base/kernel/vmlinux patched=build/runs/bench off=build/runs/bench-off base=build/runs/bench-base")
    w("")
    w("Raw data: `build/runs/bench*/icount.txt` (the plugin) and `build/runs/bench*/results/bench-icount.tsv` (one `M` line per measurement: label, path, workload, run, big/small, fio's status, I/Os, bytes, start and end time, the series' counters before and after).")
    w("")
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("\n".join(o))
    print("\n".join(o))


if __name__ == "__main__":
    main()
