#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Instructions executed by xen_pte_val() on the paths of mfn_to_pfn(),
counted by running the vmlinux's own machine code in a tiny x86-64
interpreter over objdump's disassembly. It follows calls, jumps and tail
calls wherever the code goes, so it does not depend on what gcc inlined;
it stops (and says why) at an instruction it does not know, at a read of
memory the scenario does not define, at a store outside the stack and the
per-CPU area, and when the PTE it returns is not the one the scenario
expects.

    m2p_roundtrip.py VMLINUX...          the round trip: "<count> instructions (<functions>)"
    m2p_roundtrip.py --paths VMLINUX...  every scenario below, a line each

Scenarios (a present PTE of mfn 0x123456, flags 0x67, not special):
  roundtrip      dom0's own frame: m2p[mfn] = pfn, p2m[pfn] = mfn (the hot path)
  foreign-off    another domain's frame (m2p[mfn] names a pfn whose p2m is
                 another mfn, and p2m[mfn] is neither invalid nor identity):
                 the PTE comes back not present; patched kernel with
                 xen_m2p_override=off, or the unpatched base
  foreign-empty  the same, override on, no entry in the whole table
  foreign-miss   override on, entries live, the frame's bucket empty (the
                 common miss: patch 13's early return)
  foreign-chain  override on, the frame's bucket holds one entry of another
                 mfn (a hash collision): the walk under rcu_read_lock() misses
  foreign-hit    override on, the bucket's entry is this mfn: the PTE comes
                 back with the entry's pfn

The debug kernel's lockdep and RCU-debug hooks (lock_acquire(),
lock_release(), debug_lockdep_rcu_enabled(), rcu_is_watching(),
lockdep_rcu_suspicious()) are not entered: their call instructions are
counted, the calls return 0 and are listed; a kernel without lockdep has
none of them. The override's state is what the symbols of patch 4 hold:
xen_m2p_override_enabled (a static key read as a count: the rig's config
has no jump labels; with a __jump_table the override scenarios are not
counted), m2p_override_entries, m2p_override_table (every read of the
bucket array must be the one head word of one bucket), and an entry laid
out as struct m2p_override_entry { struct hlist_node node; unsigned long
mfn, pfn; ... }.
"""
import re
import subprocess
import sys

MASK = (1 << 64) - 1
R64 = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"] + ["r%d" % i for i in range(8, 16)]
R32 = {"eax": "rax", "ebx": "rbx", "ecx": "rcx", "edx": "rdx", "esi": "rsi", "edi": "rdi",
       "ebp": "rbp", "esp": "rsp", **{"r%dd" % i: "r%d" % i for i in range(8, 16)}}
R16 = {"ax": "rax", "bx": "rbx", "cx": "rcx", "dx": "rdx", "si": "rsi", "di": "rdi",
       "bp": "rbp", "sp": "rsp", **{"r%dw" % i: "r%d" % i for i in range(8, 16)}}
R8 = {"al": "rax", "bl": "rbx", "cl": "rcx", "dl": "rdx", "sil": "rsi", "dil": "rdi",
      "bpl": "rbp", "spl": "rsp", **{"r%db" % i: "r%d" % i for i in range(8, 16)}}
JCC = {
    "je": lambda f: f["zf"], "jz": lambda f: f["zf"],
    "jne": lambda f: not f["zf"], "jnz": lambda f: not f["zf"],
    "jae": lambda f: not f["cf"], "jnb": lambda f: not f["cf"], "jnc": lambda f: not f["cf"],
    "jb": lambda f: f["cf"], "jc": lambda f: f["cf"], "jnae": lambda f: f["cf"],
    "ja": lambda f: not f["cf"] and not f["zf"], "jbe": lambda f: f["cf"] or f["zf"],
    "js": lambda f: f["sf"], "jns": lambda f: not f["sf"],
    "jl": lambda f: f["sf"] != f["of"], "jge": lambda f: f["sf"] == f["of"],
    "jg": lambda f: not f["zf"] and f["sf"] == f["of"], "jle": lambda f: f["zf"] or f["sf"] != f["of"],
}


class Unsupported(Exception):
    pass


class Machine:
    def __init__(self, vmlinux):
        self.vmlinux = vmlinux
        self.syms = {}
        out = subprocess.run(["nm", "-S", vmlinux], capture_output=True, text=True, check=True).stdout
        self.funcs = []
        for line in out.splitlines():
            f = line.split()
            if len(f) == 4:
                a, s, _, n = int(f[0], 16), int(f[1], 16), f[2], f[3]
                self.syms.setdefault(n, a)
                if f[2] in "tT":
                    self.funcs.append((a, s, n))
            elif len(f) == 3:
                self.syms.setdefault(f[2], int(f[0], 16))
        self.insns = {}
        self.visited = []

    def sym(self, name):
        if name not in self.syms:
            raise Unsupported("no symbol %s" % name)
        return self.syms[name]

    def load_func(self, addr):
        for a, s, n in self.funcs:
            if a <= addr < a + s:
                break
        else:
            raise Unsupported("no function at %#x" % addr)
        if n not in self.visited:
            self.visited.append(n)
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "--start-address=%#x" % a,
                              "--stop-address=%#x" % (a + s), self.vmlinux],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
            if not m:
                continue
            ia = int(m.group(1), 16)
            mn, rest = m.group(2), m.group(3)
            comment = None
            if "#" in rest:
                rest, comment = rest.split("#", 1)
            rest = re.sub(r"\s*<[^>]*>\s*$", "", rest.strip())
            self.insns[ia] = (mn, rest.strip(), comment)
        # the address after each instruction
        keys = sorted(k for k in self.insns if a <= k < a + s)
        for i, k in enumerate(keys):
            nxt = keys[i + 1] if i + 1 < len(keys) else a + s
            self.insns[k] = self.insns[k][:3] + (nxt,)

    def insn(self, addr):
        if addr not in self.insns:
            self.load_func(addr)
        if addr not in self.insns:
            raise Unsupported("no instruction at %#x" % addr)
        return self.insns[addr]


def split_ops(s):
    ops, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            ops.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        ops.append(cur.strip())
    return ops


SCENARIOS = ["roundtrip", "foreign-off", "foreign-empty", "foreign-miss", "foreign-chain", "foreign-hit"]
NOT_ENTERED = ("lock_acquire", "lock_release", "debug_lockdep_rcu_enabled", "rcu_is_watching",
               "lockdep_rcu_suspicious")


def count(vmlinux, scenario="roundtrip", mfn=0x123456, pfn=0x3456, flags=0x67):
    """(instructions, functions entered, calls not entered) of xen_pte_val()"""
    m = Machine(vmlinux)
    M2P, P2M, STACK, RET = 0xffff800000000000, 0xffffc90000000000, 0xffffc90000800000, 0xdead0000
    GS, TABLE, ENTRY = 0xffff888100000000, 0xffffc90100000000, 0xffff888200000000
    OTHER_MFN, SELF_MFN, ENTRY_PFN = 0x654321, 0x777777, 0x4567
    memb = {}
    writable = [(STACK - 4096, STACK + 8), (GS, GS + (1 << 24))]
    zero = [(GS, GS + (1 << 24))]
    table_reads = set()
    skipped = {}

    def setq(addr, v):
        for i in range(8):
            memb[addr + i] = (v >> (8 * i)) & 0xff
    feat = m.sym("xen_features")
    zero.append((feat, feat + 64))
    setq(m.sym("machine_to_phys_nr"), 1 << 36)
    setq(m.sym("machine_to_phys_mapping"), M2P)
    setq(m.sym("xen_p2m_size"), 1 << 24)
    setq(m.sym("xen_max_p2m_pfn"), 1 << 24)
    setq(m.sym("xen_p2m_addr"), P2M)
    setq(M2P + mfn * 8, pfn)
    head = 0
    if scenario == "roundtrip":
        setq(P2M + pfn * 8, mfn)
        want = (pfn << 12) | flags
    else:
        setq(P2M + pfn * 8, OTHER_MFN)   # the m2p's pfn is another frame's here
        setq(P2M + mfn * 8, SELF_MFN)    # neither invalid nor an identity frame
        want = flags & ~1                # not present, as on 6.12
        if scenario != "foreign-off":
            if "xen_m2p_override_enabled" not in m.syms:
                raise Unsupported("no m2p override in this kernel")
            if m.syms.get("__start___jump_table") != m.syms.get("__stop___jump_table"):
                raise Unsupported("jump labels: the static key's state is in the code")
            setq(m.sym("xen_m2p_override_enabled"), 1)
            setq(m.sym("m2p_override_entries"), 0 if scenario == "foreign-empty" else 1)
            setq(m.sym("m2p_override_table"), TABLE)
            if scenario in ("foreign-chain", "foreign-hit"):
                head = ENTRY
                setq(ENTRY, 0)           # node.next: the end of the chain
                setq(ENTRY + 8, 0)
                setq(ENTRY + 16, mfn if scenario == "foreign-hit" else mfn ^ 0x1000)
                setq(ENTRY + 24, ENTRY_PFN)
                if scenario == "foreign-hit":
                    want = (ENTRY_PFN << 12) | flags
        elif "xen_m2p_override_enabled" in m.syms:
            setq(m.sym("xen_m2p_override_enabled"), 0)

    def read(addr, size):
        if TABLE <= addr < TABLE + (1 << 24) and size == 8:
            table_reads.add(addr)
            if len(table_reads) > 1:
                raise Unsupported("reads of two words of the bucket array: %s" % sorted(map(hex, table_reads)))
            return head
        if all(addr + i in memb for i in range(size)):
            return sum(memb[addr + i] << (8 * i) for i in range(size))
        if any(lo <= addr and addr + size <= hi for lo, hi in zero):
            return 0
        raise Unsupported("read of %d bytes at %#x" % (size, addr))

    def write(addr, v, size):
        if not any(lo <= addr and addr + size <= hi for lo, hi in writable):
            raise Unsupported("store of %d bytes at %#x" % (size, addr))
        for i in range(size):
            memb[addr + i] = (v >> (8 * i)) & 0xff

    regs = {r: 0 for r in R64}
    regs["rsp"] = STACK
    regs["rdi"] = (mfn << 12) | flags
    flg = {"zf": False, "cf": False, "sf": False, "of": False}

    def reg_of(name):
        name = name.lstrip("%")
        if name in regs:
            return name, 8
        for tab, sz in ((R32, 4), (R16, 2), (R8, 1)):
            if name in tab:
                return tab[name], sz
        raise Unsupported("register %s" % name)

    def addr_of(op, comment):
        seg = 0
        if op.startswith("%gs:"):
            op, seg = op[4:], GS
        if re.match(r"^(0x[0-9a-f]+)$", op):
            return (seg + int(op, 16)) & MASK
        mm = re.match(r"^(-?0x[0-9a-f]+|-?\d+)?\((%\w+)?(?:,(%\w+)(?:,(\d))?)?\)$", op)
        if not mm:
            raise Unsupported("operand %s" % op)
        disp = int(mm.group(1), 0) if mm.group(1) else 0
        if mm.group(2) == "%rip":
            mc = re.match(r"\s*([0-9a-f]+)", comment or "")
            if not mc:
                raise Unsupported("rip-relative without address: %s" % op)
            return (seg + int(mc.group(1), 16)) & MASK
        a = seg + disp
        if mm.group(2):
            a += regs[reg_of(mm.group(2))[0]]
        if mm.group(3):
            a += regs[reg_of(mm.group(3))[0]] * int(mm.group(4) or 1)
        return a & MASK

    def get(op, size, comment):
        if op.startswith("$"):
            return int(op[1:], 0) & ((1 << (size * 8)) - 1)
        if op.startswith("%") and not op.startswith("%gs:"):
            r, sz = reg_of(op)
            return regs[r] & ((1 << (sz * 8)) - 1)
        return read(addr_of(op, comment), size)

    def put(op, v, size, comment=None):
        if not op.startswith("%") or op.startswith("%gs:"):
            write(addr_of(op, comment), v & ((1 << (size * 8)) - 1), size)
            return
        r, sz = reg_of(op)
        v &= (1 << (sz * 8)) - 1
        if sz == 4:
            regs[r] = v
        elif sz == 8:
            regs[r] = v
        else:
            msk = (1 << (sz * 8)) - 1
            regs[r] = (regs[r] & ~msk & MASK) | v

    def size_of(mn, ops):
        for o in ops:
            if o.startswith("%") and not o.startswith("%gs:"):
                return reg_of(o)[1]
        suf = {"b": 1, "w": 2, "l": 4, "q": 8}
        if mn[-1] in suf and mn[:-1] in ("cmp", "test", "mov", "and", "or", "add", "sub", "inc", "dec"):
            return suf[mn[-1]]
        raise Unsupported("operand size of %s %s" % (mn, ",".join(ops)))

    def set_logic(res, size):
        bits = size * 8
        res &= (1 << bits) - 1
        flg.update(zf=res == 0, sf=bool(res >> (bits - 1)), cf=False, of=False)

    def set_sub(a, b, size):  # a - b
        bits = size * 8
        msk = (1 << bits) - 1
        a &= msk
        b &= msk
        res = (a - b) & msk
        sa, sb, sr = a >> (bits - 1), b >> (bits - 1), res >> (bits - 1)
        flg.update(zf=res == 0, sf=bool(sr), cf=a < b, of=(sa != sb and sr != sa))
        return res

    setq(STACK, RET)
    rip = m.sym("xen_pte_val")
    n = 0
    while rip != RET:
        mn, opstr, comment, nxt = m.insn(rip)
        ops = split_ops(opstr)
        n += 1
        if n > 10000:
            raise Unsupported("no return after 10000 instructions")
        base = mn.rstrip("qlwb") if mn not in JCC and mn not in ("jmp", "call", "ret", "shl", "shr", "sub", "sbb") else mn
        if mn in ("nop", "nopl", "nopw", "xchg") and (mn != "xchg" or opstr == "%ax,%ax"):
            rip = nxt
        elif mn == "push":
            regs["rsp"] -= 8
            setq(regs["rsp"], get(ops[0], 8, comment))
            rip = nxt
        elif mn == "pop":
            put(ops[0], read(regs["rsp"], 8), 8)
            regs["rsp"] += 8
            rip = nxt
        elif mn in ("ret", "retq"):
            rip = read(regs["rsp"], 8)
            regs["rsp"] += 8
        elif mn in ("call", "callq"):
            target = int(ops[0], 16)
            name = next((f for f in NOT_ENTERED if m.syms.get(f) == target), None)
            if name:
                skipped[name] = skipped.get(name, 0) + 1
                regs["rax"] = 0
                rip = nxt
                continue
            regs["rsp"] -= 8
            setq(regs["rsp"], nxt)
            rip = target
        elif mn in ("jmp", "jmpq"):
            if not re.match(r"^[0-9a-f]+$", ops[0]):
                raise Unsupported("indirect jump %s" % opstr)
            rip = int(ops[0], 16)
        elif mn in JCC:
            rip = int(ops[0], 16) if JCC[mn](flg) else nxt
        elif base in ("mov", "movabs"):
            sz = size_of(mn, ops)
            put(ops[1], get(ops[0], sz, comment), sz, comment)
            rip = nxt
        elif base in ("and", "or", "xor"):
            sz = size_of(mn, ops)
            a, b = get(ops[1], sz, comment), get(ops[0], sz, comment)
            r = a & b if base == "and" else a | b if base == "or" else a ^ b
            put(ops[1], r, sz, comment)
            set_logic(r, sz)
            rip = nxt
        elif base == "test":
            sz = size_of(mn, ops)
            set_logic(get(ops[1], sz, comment) & get(ops[0], sz, comment), sz)
            rip = nxt
        elif base == "cmp":
            sz = size_of(mn, ops)
            set_sub(get(ops[1], sz, comment), get(ops[0], sz, comment), sz)
            rip = nxt
        elif base in ("add", "sub"):
            sz = size_of(mn, ops)
            a, b = get(ops[1], sz, comment), get(ops[0], sz, comment)
            if base == "sub":
                r = set_sub(a, b, sz)
            else:
                r = (a + b) & ((1 << (sz * 8)) - 1)
                set_logic(r, sz)
                flg["cf"] = a + b >= 1 << (sz * 8)
            put(ops[1], r, sz, comment)
            rip = nxt
        elif base in ("inc", "dec") and len(ops) == 1:
            sz = size_of(mn, ops)
            cf = flg["cf"]
            if base == "inc":
                r = (get(ops[0], sz, comment) + 1) & ((1 << (sz * 8)) - 1)
                set_logic(r, sz)
            else:
                r = set_sub(get(ops[0], sz, comment), 1, sz)
            flg["cf"] = cf               # inc and dec leave CF alone
            put(ops[0], r, sz, comment)
            rip = nxt
        elif mn == "imul" and len(ops) == 2:
            sz = size_of(mn, ops)
            r = get(ops[1], sz, comment) * get(ops[0], sz, comment)
            put(ops[1], r, sz)
            rip = nxt
        elif mn in ("shl", "shr", "sar") and len(ops) in (1, 2):
            if len(ops) == 1:
                ops = ["$1"] + ops
            sz = size_of(mn, ops)
            c = get(ops[0], 1, comment) & 63
            v = get(ops[1], sz, comment)
            bits = sz * 8
            if mn == "shl":
                r = v << c
            elif mn == "shr":
                r = v >> c
            else:
                r = (v - (1 << bits) if v >> (bits - 1) else v) >> c
            put(ops[1], r, sz)
            set_logic(r, sz)
            rip = nxt
        elif mn == "bts":
            sz = size_of(mn, ops)
            c = get(ops[0], 1, comment) & (sz * 8 - 1)
            v = get(ops[1], sz, comment)
            flg["cf"] = bool(v >> c & 1)
            put(ops[1], v | 1 << c, sz)
            rip = nxt
        elif mn == "lea":
            put(ops[1], addr_of(ops[0], comment), 8)
            rip = nxt
        else:
            raise Unsupported("instruction %s %s at %#x" % (mn, opstr, rip))
    if regs["rax"] != want:
        raise Unsupported("%s returned %#x, not the %#x it should" % (scenario, regs["rax"], want))
    return n, m.visited, skipped


def describe(res):
    n, fns, skipped = res
    out = "%d instructions (%s)" % (n, ", ".join(fns))
    if skipped:
        out += "; not entered: " + ", ".join("%s x%d" % kv for kv in sorted(skipped.items()))
    return out


def main():
    args = sys.argv[1:]
    scenarios = ["roundtrip"]
    if args and args[0] == "--paths":
        args, scenarios = args[1:], SCENARIOS
    for v in args:
        for sc in scenarios:
            try:
                line = describe(count(v, sc))
            except (Unsupported, subprocess.CalledProcessError, KeyError) as e:
                line = "not counted: %s" % e
            print("%s%s" % ("%s %s: " % (v, sc) if len(scenarios) > 1 else "", line))


if __name__ == "__main__":
    main()
