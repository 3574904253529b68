/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Markers for tools/tcg-icount: a guest program says "start", "stop" or
 * "sample" with one 8-byte NOP, nopl disp32(%rax,%rax,1), which the TCG
 * plugin recognises when it translates it.  No hypercall, no I/O: the
 * marker costs one instruction.
 *
 *   bytes 0f 1f 84 00 + disp32 (little endian)
 *   disp32 = 0x4d32 << 16 | cmd << 12 | label
 *   cmd: 1 start, 2 stop, 3 sample; label: 0..4095
 *
 *   XM2P_MARK(XM2P_MARK_START, 7);
 *   ...the work...
 *   XM2P_MARK(XM2P_MARK_STOP, 7);
 *
 * cmd and label are integer constant expressions.  XM2P_MARK_INSN(cmd,
 * label) is the same instruction as assembler text for asm blocks of one's
 * own; its arguments are then plain numbers.
 */
#ifndef XM2P_MARKER_H
#define XM2P_MARKER_H

#define XM2P_MARK_START		1
#define XM2P_MARK_STOP		2
#define XM2P_MARK_SAMPLE	3
#define XM2P_MARK_MAGIC		0x4d32

#define XM2P_MARK_STR_(x)	#x
#define XM2P_MARK_STR(x)	XM2P_MARK_STR_(x)

#define XM2P_MARK_INSN(cmd, label)						\
	".byte 0x0f, 0x1f, 0x84, 0x00, (" XM2P_MARK_STR(label) ") & 0xff, "	\
	"((" XM2P_MARK_STR(cmd) ") << 4) | ((" XM2P_MARK_STR(label) ") >> 8), "	\
	"0x32, 0x4d"

#define XM2P_MARK(cmd, label)							\
	do {									\
		_Static_assert((cmd) >= 1 && (cmd) <= 15, "marker cmd 1..15");	\
		_Static_assert((label) >= 0 && (label) <= 0xfff,		\
			       "marker label 0..4095");				\
		__asm__ __volatile__(".byte 0x0f, 0x1f, 0x84, 0x00, "		\
				     "(%c1) & 0xff, ((%c0) << 4) | ((%c1) >> 8), "	\
				     "0x32, 0x4d"				\
				     : : "i" (cmd), "i" (label) : "memory");	\
	} while (0)

#endif /* XM2P_MARKER_H */
