// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * marker-test: the /init of tools/tcg-icount/selftest.sh.  Runs code whose
 * instruction count is known between markers, then reboots (QEMU runs with
 * -no-reboot, so it exits).  Only registers in the counted code: no memory
 * access can fault in the middle of a translation block.
 *
 * label 1: start; mov; N_LOOP x 4 insns; sample; mov; M_LOOP x 4; stop
 * label 2: XM2P_MARK() start, stop back to back (the C macro)
 * label 3: start; mov; K_SYSCALL x (mov, syscall getpid, dec, jnz); stop
 */
#include <stdio.h>
#include <unistd.h>
#include <sys/reboot.h>

#include "marker.h"

#ifndef N_LOOP
#define N_LOOP		1000000
#endif
#ifndef M_LOOP
#define M_LOOP		250000
#endif
#ifndef K_SYSCALL
#define K_SYSCALL	1000
#endif
#define S(x)		XM2P_MARK_STR(x)

int main(void)
{
	unsigned long a = 0, d = 0;

	__asm__ __volatile__(
		XM2P_MARK_INSN(1, 1) "\n\t"
		"mov $" S(N_LOOP) ", %%ecx\n"
		"1:\tadd $1, %%rax\n\t"
		"xor %%rax, %%rdx\n\t"
		"dec %%ecx\n\t"
		"jnz 1b\n\t"
		XM2P_MARK_INSN(3, 1) "\n\t"
		"mov $" S(M_LOOP) ", %%ecx\n"
		"2:\tadd $1, %%rax\n\t"
		"xor %%rax, %%rdx\n\t"
		"dec %%ecx\n\t"
		"jnz 2b\n\t"
		XM2P_MARK_INSN(2, 1)
		: "+a" (a), "+d" (d) : : "rcx", "memory");

	XM2P_MARK(XM2P_MARK_START, 2);
	XM2P_MARK(XM2P_MARK_STOP, 2);

	__asm__ __volatile__(
		XM2P_MARK_INSN(1, 3) "\n\t"
		"mov $" S(K_SYSCALL) ", %%r8d\n"
		"1:\tmov $39, %%eax\n\t"	/* __NR_getpid */
		"syscall\n\t"
		"dec %%r8d\n\t"
		"jnz 1b\n\t"
		XM2P_MARK_INSN(2, 3)
		: : : "rax", "rcx", "r8", "r11", "memory");

	printf("marker-test: done (a=%lu d=%lu) N_LOOP=%d M_LOOP=%d K_SYSCALL=%d\n",
	       a, d, N_LOOP, M_LOOP, K_SYSCALL);
	fflush(stdout);
	reboot(RB_AUTOBOOT);
	return 0;
}
