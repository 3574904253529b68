#!/usr/bin/python3
"""mmap/writeback stress for a filesystem on a local-attached disk.

  mmstress.py run DIR SECONDS   several processes map the files of DIR
                                MAP_SHARED, dirty them, msync, munmap, fork
                                and exit while writeback is in flight
  mmstress.py verify DIR        every page of every file holds a whole
                                record, at least as new as the last one an
                                msync() confirmed (journal in /tmp)

Each page is a record: magic, file, page, generation, then a fill derived
from all three. Worker slot w owns the pages p with p % WORKERS == w of every
file (one writer per page, so the newest generation is well defined), but
maps whole files, so its PTEs of other slots' pages are zapped, copied by
fork and torn down by exit while those pages are under writeback.

Exit status: 0 clean, 1 a check failed (the reason is printed), 2 usage.
"""
import mmap
import os
import random
import struct
import sys
import time

FILES = 4
PAGES = 64                      # per file
WORKERS = 4
PAGE = mmap.PAGESIZE
MAGIC = b"XM2P"
HDR = struct.Struct("<4sIIQ")   # magic, file, page, generation
JOURNAL = "/tmp/mmstress.journal"


def record(f, p, gen):
    head = HDR.pack(MAGIC, f, p, gen)
    word = struct.pack("<Q", (gen * 0x9E3779B97F4A7C15 + f * 1000003 + p) & (2**64 - 1))
    return head + (word * (PAGE // 8))[len(head):]


def parse(buf, f, p):
    """The generation of a whole record of (f, p), or an error string."""
    magic, rf, rp, gen = HDR.unpack_from(buf)
    if magic != MAGIC or rf != f or rp != p:
        return "header %r file %d page %d" % (magic, rf, rp)
    if bytes(buf) != record(f, p, gen):
        return "torn record, generation %d" % gen
    return gen


def path(d, f):
    return os.path.join(d, "f%d" % f)


def journal(slot, entries):
    # one O_APPEND write per msync: lines never interleave
    fd = os.open("%s.%d" % (JOURNAL, slot), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, "".join("%d %d %d\n" % e for e in entries).encode())
    os.close(fd)


def owned(slot):
    return [p for p in range(PAGES) if p % WORKERS == slot]


def write_owned(m, f, slot, bump=1):
    """Next generation on every page the slot owns; returns (f, p, gen)s."""
    out = []
    for p in owned(slot):
        got = parse(m[p * PAGE:(p + 1) * PAGE], f, p)
        if isinstance(got, str):
            raise RuntimeError("file %d page %d before write: %s" % (f, p, got))
        gen = got + bump
        m[p * PAGE:(p + 1) * PAGE] = record(f, p, gen)
        out.append((f, p, gen))
    return out


def worker(d, slot, deadline, rng):
    """One process of a slot: returns (exit status, counts); may _exit."""
    n = {"msync": 0, "munmap": 0, "fork": 0}
    while time.time() < deadline:
        f = rng.randrange(FILES)
        fd = os.open(path(d, f), os.O_RDWR)
        m = mmap.mmap(fd, PAGES * PAGE, mmap.MAP_SHARED)
        os.close(fd)
        wrote = write_owned(m, f, slot)
        what = rng.random()
        if what < 0.35:
            m.flush()                     # msync(MS_SYNC) of the whole file
            journal(slot, wrote)
            n["msync"] += 1
        elif what < 0.6:
            # a child inherits the dirty mapping, writes again and exits
            # without munmap: fork copies the PTEs, exit zaps them
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    write_owned(m, f, slot)
                except Exception as e:   # noqa: BLE001 - reported by status
                    print("slot %d child: %s" % (slot, e), flush=True)
                    os._exit(1)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            if status:
                return 1, n
            for (_, p, gen) in wrote:
                got = parse(m[p * PAGE:(p + 1) * PAGE], f, p)
                if got != gen + 1:
                    print("slot %d: file %d page %d reads %s after the child wrote %d"
                          % (slot, f, p, got, gen + 1), flush=True)
                    return 1, n
            n["fork"] += 1
        elif what < 0.9:
            m.close()                     # munmap with dirty pages
            n["munmap"] += 1
            continue
        else:
            # the process exits with the mapping dirty and in place
            return 3, n
        m.close()
    return 0, n


def run(d, seconds):
    for f in range(FILES):
        with open(path(d, f), "wb") as fh:
            for p in range(PAGES):
                fh.write(record(f, p, 0))
            fh.flush()
            os.fsync(fh.fileno())
    for slot in range(WORKERS):
        try:
            os.unlink("%s.%d" % (JOURNAL, slot))
        except FileNotFoundError:
            pass
    deadline = time.time() + seconds
    procs = {}
    totals = {"procs": 0, "exits_mapped": 0, "syncs": 0}
    failures = 0

    def spawn(slot):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            rng = random.Random(os.getpid() ^ int(time.time() * 1e6))
            try:
                status, _ = worker(d, slot, deadline, rng)
            except Exception as e:       # noqa: BLE001 - reported by status
                print("slot %d: %s" % (slot, e), flush=True)
                status = 1
            os._exit(status)
        procs[pid] = slot
        totals["procs"] += 1

    for slot in range(WORKERS):
        spawn(slot)
    # the supervisor keeps writeback going on all files
    while procs:
        if time.time() < deadline:
            f = random.randrange(FILES)
            fd = os.open(path(d, f), os.O_RDONLY)
            os.fdatasync(fd)
            os.close(fd)
            totals["syncs"] += 1
        pid, status = os.waitpid(-1, os.WNOHANG)
        if not pid:
            time.sleep(0.05)
            continue
        slot = procs.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if code == 3:
            totals["exits_mapped"] += 1
        elif code != 0:
            print("slot %d process %d: exit %d" % (slot, pid, code), flush=True)
            failures += 1
        if time.time() < deadline and code in (0, 3):
            spawn(slot)
    print("mmstress: %d s, %d worker processes, %d exited with dirty mappings, "
          "%d fdatasyncs, %d failures" % (seconds, totals["procs"],
                                          totals["exits_mapped"], totals["syncs"], failures))
    return 1 if failures else 0


def verify(d):
    want = {}
    for slot in range(WORKERS):
        try:
            with open("%s.%d" % (JOURNAL, slot)) as fh:
                for line in fh:
                    f, p, gen = map(int, line.split())
                    want[(f, p)] = max(gen, want.get((f, p), 0))
        except FileNotFoundError:
            pass
    bad = 0
    for f in range(FILES):
        with open(path(d, f), "rb") as fh:
            data = fh.read()
        if len(data) != PAGES * PAGE:
            print("file %d: %d bytes" % (f, len(data)))
            bad += 1
            continue
        for p in range(PAGES):
            got = parse(data[p * PAGE:(p + 1) * PAGE], f, p)
            if isinstance(got, str):
                print("file %d page %d: %s" % (f, p, got))
                bad += 1
            elif got < want.get((f, p), 0):
                print("file %d page %d: generation %d, msync confirmed %d: lost"
                      % (f, p, got, want[(f, p)]))
                bad += 1
    print("mmstress verify: %d pages, %d confirmed by msync, %d bad"
          % (FILES * PAGES, len(want), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2], int(sys.argv[3])))
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2]))
    print(__doc__.strip(), file=sys.stderr)
    sys.exit(2)
