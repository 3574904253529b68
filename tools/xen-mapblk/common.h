/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared bits for xen-mapblk (userspace blkif backend) and blkif-fuzz
 * (raw blkif frontend used to test it).
 */
#ifndef XEN_MAPBLK_COMMON_H
#define XEN_MAPBLK_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>

/*
 * The public ring.h expects the includer to provide the barriers.  These are
 * the SMP barriers used against another domain's CPU: on x86 (TSO) rmb/wmb
 * only need to stop the compiler, mb must be a full fence.  The C11 fences
 * produce exactly that on x86 and the right dmb/dsb on arm64.
 */
/* use the current public interface (what the Xen tools themselves build with) */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif

#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/ring.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>

#if __XEN_INTERFACE_VERSION__ < 0x00030208
#error "include common.h before any Xen header (ring.h barriers)"
#endif

#define XPAGE_SIZE      4096u
#define XPAGE_SHIFT     12
#define SECTOR_SHIFT    9
#define SECTORS_PER_PAGE (XPAGE_SIZE >> SECTOR_SHIFT)   /* 8 */

/* Largest ring we support: 2^4 pages, as Linux xen-blkback. */
#define MAX_RING_ORDER  4
#define MAX_RING_PAGES  (1u << MAX_RING_ORDER)

/* Ring size (entries) of a blkif ring spread over @pages pages. */
#define BLKIF_RING_ENTRIES(pages) \
	__CONST_RING_SIZE(blkif, (size_t)XPAGE_SIZE * (pages))

/* Only the native x86_64 / arm ABI is supported: check that the layout we
 * compile against is the one Linux blkfront uses (see its blkif.h). */
_Static_assert(sizeof(blkif_request_t) == 112, "blkif_request layout");
_Static_assert(offsetof(blkif_request_t, id) == 8, "blkif_request.id");
_Static_assert(offsetof(blkif_request_t, sector_number) == 16, "sector_number");
_Static_assert(offsetof(blkif_request_t, seg) == 24, "blkif_request.seg");
_Static_assert(sizeof(blkif_response_t) == 16, "blkif_response layout");
_Static_assert(BLKIF_RING_ENTRIES(1) == 32, "single page ring holds 32");

#define VDEV_NAME_MAX 32

/*
 * xvd name for a virtual-device number (xl's encoding: 202<<8 | disk<<4 |
 * part, or 1<<28 | disk<<8 | part).  Returns 0 and fills @buf, or -1.
 */
static inline int vdev_to_name(unsigned long vdev, char *buf, size_t len)
{
	unsigned long disk, part;
	char letters[8];
	int n = 0;

	if (vdev & (1ul << 28)) {
		disk = (vdev >> 8) & 0xfffff;
		part = vdev & 0xff;
	} else if ((vdev >> 8) == 202) {
		disk = (vdev >> 4) & 0xf;
		part = vdev & 0xf;
	} else {
		return -1;
	}
	/* bijective base-26: 0 -> a, 25 -> z, 26 -> aa */
	disk++;
	while (disk && n < (int)sizeof(letters)) {
		disk--;
		letters[n++] = (char)('a' + disk % 26);
		disk /= 26;
	}
	if (disk)
		return -1;
	{
		char name[sizeof(letters) + 4];
		int i, o = 0, r;

		memcpy(name, "xvd", 3);
		o = 3;
		for (i = n - 1; i >= 0; i--)
			name[o++] = letters[i];
		name[o] = 0;
		r = part ? snprintf(buf, len, "%.11s%lu", name, part & 0xff)
			 : snprintf(buf, len, "%.11s", name);
		if (r < 0 || (size_t)r >= len)
			return -1;
	}
	return 0;
}

#endif
