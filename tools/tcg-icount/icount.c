// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * icount: a QEMU TCG plugin (plugin API 1, QEMU 7.2) that counts the guest
 * instructions each vCPU executes, split by where they run on x86-64 Xen PV:
 * Xen, a guest kernel, guest userspace; the syscall instructions executed
 * from kernel addresses (a PV kernel's hypercalls) and from user addresses;
 * and writes the counts when the guest executes a marker NOP (marker.h).
 *
 *   qemu-system-x86_64 -plugin libicount.so,out=PATH[,vcpus=off] ...
 *
 * See README.md for the regions, the marker encoding and the output format.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* x86-64 PV: Xen owns 0xffff800000000000..0xffff87ffffffffff. */
#define XEN_START	0xffff800000000000ULL
#define XEN_END		0xffff880000000000ULL
#define MARK_MAGIC	0x4d32

enum region { R_XEN, R_KERNEL, R_USER, NR_REGIONS };

static const char *const cmd_name[] = {
	[1] = "start", [2] = "stop", [3] = "sample",
};

/* One vCPU's counts: written by that vCPU's thread only. */
struct vcpu_count {
	uint64_t insns[NR_REGIONS];
	uint64_t syscalls[NR_REGIONS];	/* [R_KERNEL]: hypercalls */
} __attribute__((aligned(64)));

static struct vcpu_count *counts, *snap;
static unsigned int nr_vcpus;
static bool per_vcpu = true;
static FILE *out;
static GMutex out_lock;

/*
 * Callback data, packed in the udata pointer.  TB: bits 0-1 region, bit 2
 * the TB ends with a syscall, bits 3- the TB's instruction count.  Marker:
 * the same low 3 bits, bits 3-12 instructions after the marker in its TB,
 * bits 13-28 the low half of the marker's disp32 (command << 12 | label).
 */
#define U_REGION(u)	((u) & 3)
#define U_SYSCALL	4
#define U_TB_N(u)	((u) >> 3)
#define U_AFTER(u)	(((u) >> 3) & 0x3ff)
#define U_LABEL(u)	(((u) >> 13) & 0xfff)
#define U_CMD(u)	(((u) >> 25) & 0xf)

static inline void bump(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, *p + n, __ATOMIC_RELAXED);
}

static void on_tb_exec(unsigned int vcpu, void *udata)
{
	uintptr_t u = (uintptr_t)udata;
	struct vcpu_count *c = &counts[vcpu];

	bump(&c->insns[U_REGION(u)], U_TB_N(u));
	if (u & U_SYSCALL)
		bump(&c->syscalls[U_REGION(u)], 1);
}

static void print_counts(const struct vcpu_count *c)
{
	fprintf(out, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		c->insns[R_XEN], c->insns[R_KERNEL], c->insns[R_USER],
		c->syscalls[R_KERNEL], c->syscalls[R_USER]);
}

/* Under out_lock: copy every vCPU's counts into snap[]. */
static void take_snapshot(void)
{
	unsigned int i, r;
	struct vcpu_count *c;

	for (i = 0; i < nr_vcpus; i++) {
		c = &counts[i];
		for (r = 0; r < NR_REGIONS; r++) {
			snap[i].insns[r] = __atomic_load_n(&c->insns[r], __ATOMIC_RELAXED);
			snap[i].syscalls[r] = __atomic_load_n(&c->syscalls[r], __ATOMIC_RELAXED);
		}
	}
}

static void sum_snapshot(struct vcpu_count *sum)
{
	unsigned int i, r;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < nr_vcpus; i++) {
		for (r = 0; r < NR_REGIONS; r++) {
			sum->insns[r] += snap[i].insns[r];
			sum->syscalls[r] += snap[i].syscalls[r];
		}
	}
}

static void print_vcpus(void)
{
	unsigned int i;

	if (!per_vcpu)
		return;
	for (i = 0; i < nr_vcpus; i++) {
		fprintf(out, "vcpu %u", i);
		print_counts(&snap[i]);
	}
}

static void on_marker(unsigned int vcpu, void *udata)
{
	uintptr_t u = (uintptr_t)udata;
	struct vcpu_count sum;

	if (vcpu >= nr_vcpus)
		return;
	g_mutex_lock(&out_lock);
	if (!out)
		goto unlock;
	take_snapshot();
	/*
	 * on_tb_exec already counted the whole TB: take back what follows the
	 * marker, so the executing vCPU's counts stop at the marker itself.
	 */
	snap[vcpu].insns[U_REGION(u)] -= U_AFTER(u);
	if (u & U_SYSCALL)
		snap[vcpu].syscalls[U_REGION(u)] -= 1;
	sum_snapshot(&sum);
	fprintf(out, "%s %u %u", cmd_name[U_CMD(u)], (unsigned int)U_LABEL(u), vcpu);
	print_counts(&sum);
	print_vcpus();
	fflush(out);
unlock:
	g_mutex_unlock(&out_lock);
}

static enum region region_of(uint64_t va)
{
	if (va >= XEN_START && va < XEN_END)
		return R_XEN;
	return va >= XEN_START ? R_KERNEL : R_USER;
}

/* nopl disp32(%rax,%rax,1) with MARK_MAGIC in the top half of disp32. */
static int marker_of(const uint8_t *b, size_t len)
{
	unsigned int low;

	if (len != 8 || b[0] != 0x0f || b[1] != 0x1f || b[2] != 0x84 || b[3] != 0x00 ||
	    (b[6] | b[7] << 8) != MARK_MAGIC)
		return -1;
	low = b[4] | b[5] << 8;
	return low >> 12 < G_N_ELEMENTS(cmd_name) && cmd_name[low >> 12] ? (int)low : -1;
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	uintptr_t base = region_of(qemu_plugin_tb_vaddr(tb));
	struct qemu_plugin_insn *insn;
	const uint8_t *b;
	uintptr_t u;
	int mark;

	/* A syscall ends its TB: look at the last instruction. */
	insn = qemu_plugin_tb_get_insn(tb, n - 1);
	b = qemu_plugin_insn_data(insn);
	if (qemu_plugin_insn_size(insn) == 2 && b[0] == 0x0f && b[1] == 0x05)
		base |= U_SYSCALL;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(base | n << 3));
	for (i = 0; i < n; i++) {
		insn = qemu_plugin_tb_get_insn(tb, i);
		b = qemu_plugin_insn_data(insn);
		mark = marker_of(b, qemu_plugin_insn_size(insn));
		if (mark < 0)
			continue;
		u = base | (n - 1 - i) << 3 | (uintptr_t)mark << 13;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS,
						       (void *)u);
	}
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata)
{
	struct vcpu_count sum;

	g_mutex_lock(&out_lock);
	take_snapshot();
	sum_snapshot(&sum);
	fprintf(out, "exit - -");
	print_counts(&sum);
	print_vcpus();
	fclose(out);
	out = NULL;
	g_mutex_unlock(&out_lock);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4) && argv[i][4]) {
			path = argv[i] + 4;
		} else if (!strncmp(argv[i], "vcpus=", 6) &&
			   qemu_plugin_bool_parse("vcpus", argv[i] + 6, &per_vcpu)) {
			continue;
		} else {
			fprintf(stderr, "icount: unknown argument '%s' (out=PATH, vcpus=on|off)\n",
				argv[i]);
			return -1;
		}
	}
	if (!path) {
		fprintf(stderr, "icount: needs out=PATH, the file for its counts\n");
		return -1;
	}
	if (!info->system_emulation || info->system.max_vcpus < 1) {
		fprintf(stderr, "icount: system emulation only\n");
		return -1;
	}
	nr_vcpus = info->system.max_vcpus;
	if (posix_memalign((void **)&counts, 64, nr_vcpus * sizeof(*counts)) ||
	    posix_memalign((void **)&snap, 64, nr_vcpus * sizeof(*snap))) {
		fprintf(stderr, "icount: out of memory\n");
		return -1;
	}
	memset(counts, 0, nr_vcpus * sizeof(*counts));
	out = fopen(path, "w");
	if (!out) {
		fprintf(stderr, "icount: cannot write %s: %m\n", path);
		return -1;
	}
	fprintf(out, "# icount (%s, plugin API %d, %u vCPUs): %s\n",
		info->target_name, info->version.cur, nr_vcpus,
		"cmd label vcpu xen kernel user hypercalls syscalls");
	fflush(out);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
	return 0;
}
