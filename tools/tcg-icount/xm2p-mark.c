// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * xm2p-mark: execute one tools/tcg-icount marker from a shell script.
 *
 *   xm2p-mark start|stop|sample LABEL      (LABEL 0..4095)
 *
 * The plugin decodes a marker's cmd and label from the instruction bytes
 * when it translates them, so they cannot be run-time operands: this
 * program carries every marker there is, 3 x 4096 stubs of "marker; ret"
 * (16 bytes each, 192 KiB of text, assembled by gas from the macro of
 * marker.h), and calls the one asked for.  Nothing else runs between the
 * call and the return: the marker is the stub's first instruction.
 *
 * The cost of starting and ending this process is counted between two
 * markers like anything else; a measurement that brackets a command with
 * "xm2p-mark start L" and "xm2p-mark stop L" includes the end of the first
 * process and the start of the second, a fixed cost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marker.h"

#define XM2P_MARK_LABELS	4096
#define XM2P_MARK_STUB		16

extern const char xm2p_mark_stubs[];

__asm__(
	".pushsection .text.xm2p_mark_stubs, \"ax\", @progbits\n"
	".balign " XM2P_MARK_STR(XM2P_MARK_STUB) "\n"
	"xm2p_mark_stubs:\n"
	".set xm2p_c, " XM2P_MARK_STR(XM2P_MARK_START) "\n"
	".rept 3\n"
	".set xm2p_l, 0\n"
	".rept " XM2P_MARK_STR(XM2P_MARK_LABELS) "\n"
	".balign " XM2P_MARK_STR(XM2P_MARK_STUB) ", 0xcc\n"
	XM2P_MARK_INSN(xm2p_c, xm2p_l) "\n"
	"ret\n"
	".set xm2p_l, xm2p_l + 1\n"
	".endr\n"
	".set xm2p_c, xm2p_c + 1\n"
	".endr\n"
	".popsection\n");

_Static_assert(XM2P_MARK_START == 1 && XM2P_MARK_STOP == 2 && XM2P_MARK_SAMPLE == 3,
	       "the stub table is laid out for cmds 1, 2, 3");

static void usage(void)
{
	fprintf(stderr, "usage: xm2p-mark start|stop|sample LABEL   (LABEL 0..4095)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const cmds[] = { "start", "stop", "sample" };
	unsigned long label;
	void (*stub)(void);
	char *end;
	int cmd = 0;

	if (argc != 3)
		usage();
	for (int i = 0; i < 3; i++)
		if (!strcmp(argv[1], cmds[i]))
			cmd = i + 1;
	if (!cmd)
		usage();
	label = strtoul(argv[2], &end, 10);
	if (!*argv[2] || *end || label >= XM2P_MARK_LABELS)
		usage();
	stub = (void (*)(void))(xm2p_mark_stubs +
		((unsigned long)(cmd - 1) * XM2P_MARK_LABELS + label) * XM2P_MARK_STUB);
	stub();
	return 0;
}
