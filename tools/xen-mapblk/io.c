// SPDX-License-Identifier: GPL-2.0
/*
 * xen-mapblk: the I/O engine.
 *
 * The image (opened O_DIRECT), the request slots (one per ring entry), the
 * gntdev mapping of each request's segments and Linux native AIO: one
 * IOCB_CMD_PREADV/PWRITEV per request, straight into/out of the mapped
 * frames, completions signalled through an eventfd (IOCB_FLAG_RESFD).
 * Also the requests we hold unanswered (--hold-discard, --hold-writes) or
 * delay (--stall-ms) to play a dying or slow backend.
 */
#define _GNU_SOURCE
#include "mapblk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/fs.h>

/* ------------------------------------------------------------------ */
/* raw AIO syscalls (no libaio needed)                                 */

static int sys_io_setup(unsigned int nr, aio_context_t *ctx)
{
	return (int)syscall(SYS_io_setup, nr, ctx);
}

static int sys_io_destroy(aio_context_t ctx)
{
	return (int)syscall(SYS_io_destroy, ctx);
}

static int sys_io_submit(aio_context_t ctx, long n, struct iocb **cbs)
{
	return (int)syscall(SYS_io_submit, ctx, n, cbs);
}

static int sys_io_getevents(aio_context_t ctx, long min_nr, long nr,
			    struct io_event *ev, struct timespec *tmo)
{
	return (int)syscall(SYS_io_getevents, ctx, min_nr, nr, ev, tmo);
}

/* ------------------------------------------------------------------ */
/* image                                                               */

int open_image(void)
{
	struct stat sb;
	int flags = (opt.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	uint64_t bytes;

	if (!opt.buffered)
		flags |= O_DIRECT;
	g.img_fd = open(opt.image, flags);
	if (g.img_fd < 0) {
		logmsg("cannot open image %s%s: %s", opt.image,
		       opt.buffered ? "" : " with O_DIRECT", strerror(errno));
		if (errno == EINVAL && !opt.buffered)
			logmsg("the filesystem does not support O_DIRECT; use --buffered to test without it");
		return -1;
	}
	if (fstat(g.img_fd, &sb) < 0) {
		logmsg("fstat %s: %s", opt.image, strerror(errno));
		return -1;
	}
	if (S_ISBLK(sb.st_mode)) {
		if (ioctl(g.img_fd, BLKGETSIZE64, &bytes) < 0) {
			logmsg("BLKGETSIZE64 %s: %s", opt.image, strerror(errno));
			return -1;
		}
	} else if (S_ISREG(sb.st_mode)) {
		bytes = (uint64_t)sb.st_size;
	} else {
		logmsg("%s is neither a regular file nor a block device", opt.image);
		return -1;
	}
	if (bytes % 512)
		logmsg("warning: image size %" PRIu64 " is not a multiple of 512; "
		       "the last partial sector is not exported", bytes);
	g.sectors = bytes >> SECTOR_SHIFT;
	if (g.sectors == 0) {
		logmsg("image %s is smaller than one sector", opt.image);
		return -1;
	}
#ifdef STATX_DIOALIGN
	if (!opt.buffered) {
		struct statx sx;

		if (statx(g.img_fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
		    (sx.stx_mask & STATX_DIOALIGN)) {
			dbg("O_DIRECT alignment: memory %u, offset %u",
			    sx.stx_dio_mem_align, sx.stx_dio_offset_align);
			if (sx.stx_dio_offset_align > 512 || sx.stx_dio_mem_align > 512)
				logmsg("warning: O_DIRECT on %s needs %u-byte offsets and "
				       "%u-byte buffers; blkif sector-granular segments may "
				       "fail with EINVAL (-> BLKIF_RSP_ERROR)", opt.image,
				       sx.stx_dio_offset_align, sx.stx_dio_mem_align);
		}
	}
#endif
	return 0;
}


/* fsync (unless read-only) and close; -1 if the fsync failed. */
int close_image(void)
{
	int ret = 0;

	if (g.img_fd < 0)
		return 0;
	if (!opt.readonly && fsync(g.img_fd) < 0) {
		logmsg("fsync %s: %s", opt.image, strerror(errno));
		ret = -1;
	}
	close(g.img_fd);
	g.img_fd = -1;
	return ret;
}

/* ------------------------------------------------------------------ */
/* request slots                                                       */

static int pend_alloc(void)
{
	int i = g.free_head;

	if (i < 0)
		return -1;
	g.free_head = g.pend[i].next_free;
	g.pend[i].busy = true;
	return i;
}

static void pend_free(int i)
{
	g.pend[i].busy = false;
	g.pend[i].map = NULL;
	g.pend[i].next_free = g.free_head;
	g.free_head = i;
}

/* Free slots (bounded walk: a broken list must not hang a diagnostic). */
unsigned int io_free_slots(void)
{
	unsigned int nfree = 0;
	int i;

	for (i = g.free_head; i >= 0 && nfree <= g.npend; i = g.pend[i].next_free)
		nfree++;
	return nfree;
}

/* One slot and one AIO context entry per ring slot. */
int io_connect(unsigned int slots)
{
	unsigned int i;

	g.npend = slots;
	g.pend = calloc(g.npend, sizeof(*g.pend));
	if (!g.pend) {
		logmsg("out of memory");
		return -1;
	}
	g.free_head = -1;
	for (i = g.npend; i-- > 0;)
		pend_free((int)i);

	g.aio = 0;
	if (sys_io_setup(g.npend, &g.aio) < 0) {
		logmsg("io_setup(%u): %s (see /proc/sys/fs/aio-max-nr)", g.npend,
		       strerror(errno));
		return -1;
	}
	g.aio_ok = true;
	return 0;
}

void io_disconnect(void)
{
	if (g.aio_ok) {
		sys_io_destroy(g.aio);
		g.aio_ok = false;
	}
	/* no AIO can touch a kept page any more */
	pgrant_disconnect();
	free(g.pend);
	g.pend = NULL;
	g.npend = 0;
	g.free_head = -1;
}

/* ------------------------------------------------------------------ */
/* held requests                                                       */

/*
 * Requests held unanswered, as by a backend that dies with them pending:
 * discards with --hold-discard, writes (their grants never mapped) with
 * --hold-writes (reads are served: a new disk's partition scan reads).
 * A clean stop fails them; SIGUSR2 drops them.
 */
static struct {
	uint64_t id;
	uint8_t op;
} held[MAX_RING_SLOTS];
static unsigned int nheld;

static bool hold(const blkif_request_t *req, const char *what)
{
	if (nheld >= MAX_RING_SLOTS)
		return false;
	held[nheld].id = req->id;
	held[nheld].op = req->operation;
	nheld++;
	st.held++;
	logmsg("holding %s id=%" PRIu64 " sector %" PRIu64, what,
	       (uint64_t)req->id, (uint64_t)req->sector_number);
	return true;
}

unsigned int held_count(void)
{
	return nheld;
}

void release_held(void)
{
	unsigned int i;

	for (i = 0; i < nheld; i++)
		respond(held[i].id, held[i].op, BLKIF_RSP_ERROR);
	if (nheld)
		logmsg("failed %u held request(s) at stop", nheld);
	nheld = 0;
}

/* SIGUSR2: the held requests stay unanswered for good. */
void drop_held(void)
{
	nheld = 0;
}

/* ------------------------------------------------------------------ */
/* reads and writes                                                    */

/*
 * Check a read/write request's segments and range; fill @refs.  Returns
 * the number of sectors, or 0 after rejecting the request.
 */
static uint64_t check_rw(const blkif_request_t *req, bool write, uint32_t *refs)
{
	unsigned int nseg = req->nr_segments, i;
	uint64_t nsect = 0, sector = req->sector_number;

	if (nseg == 0) {
		reject(req, BLKIF_RSP_ERROR, "nr_segments=0");
		return 0;
	}
	if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		reject(req, BLKIF_RSP_ERROR, "nr_segments=%u > %u", nseg,
		       BLKIF_MAX_SEGMENTS_PER_REQUEST);
		return 0;
	}
	for (i = 0; i < nseg; i++) {
		unsigned int fs = req->seg[i].first_sect, ls = req->seg[i].last_sect;

		if (ls >= SECTORS_PER_PAGE) {
			reject(req, BLKIF_RSP_ERROR, "seg %u: last_sect=%u > %u",
			       i, ls, SECTORS_PER_PAGE - 1);
			return 0;
		}
		if (fs > ls) {
			reject(req, BLKIF_RSP_ERROR, "seg %u: first_sect=%u > last_sect=%u",
			       i, fs, ls);
			return 0;
		}
		nsect += ls - fs + 1;
		refs[i] = req->seg[i].gref;
	}
	if (sector >= g.sectors || nsect > g.sectors - sector) {
		reject(req, BLKIF_RSP_ERROR, "sectors %" PRIu64 "+%" PRIu64
		       " beyond end of image (%" PRIu64 " sectors)",
		       sector, nsect, g.sectors);
		return 0;
	}
	if (write && opt.readonly) {
		reject(req, BLKIF_RSP_ERROR, "write to read-only device");
		return 0;
	}
	return nsect;
}

/*
 * Map @n grants for one request only, with one gntdev call, contiguously
 * (read-only for a write to disk); unmapped when the request completes.
 */
int map_per_request(struct pending *p, uint32_t *refs, unsigned int n)
{
	st.map_calls++;
	p->map = xengnttab_map_domain_grant_refs(g.xgt, n, opt.fe_domid, refs,
						 p->write ? PROT_READ :
						 PROT_READ | PROT_WRITE);
	if (!p->map)
		return -1;
	p->nmap = n;
	st.req_maps += n;
	return 0;
}

/* The page of each segment, mapped for this request only. */
static int map_all(struct pending *p, unsigned int nseg, uint32_t *refs,
		   void **page)
{
	unsigned int i;

	if (map_per_request(p, refs, nseg) < 0)
		return -1;
	for (i = 0; i < nseg; i++)
		page[i] = (char *)p->map + (size_t)i * XPAGE_SIZE;
	return 0;
}

/*
 * Map the segments of @req (from the persistent-grant pool when it is on)
 * and point one iovec at the sectors of each page.  0, or -1 after
 * rejecting the request.
 */
static int map_segments(struct pending *p, const blkif_request_t *req,
			uint32_t *refs)
{
	unsigned int nseg = req->nr_segments, i;
	void *page[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	int ret;

	if (pgrant_on())
		ret = pgrant_map(p, nseg, refs, page);
	else
		ret = map_all(p, nseg, refs, page);
	if (ret < 0) {
		int e = errno;

		st.map_errors++;
		reject(req, BLKIF_RSP_ERROR, "grant map of %u ref(s) failed "
		       "(seg 0 gref=%u, domid %u): %s", nseg, refs[0],
		       opt.fe_domid, strerror(e));
		return -1;
	}
	st.segments += nseg;
	for (i = 0; i < nseg; i++) {
		unsigned int fs = req->seg[i].first_sect, ls = req->seg[i].last_sect;

		p->iov[i].iov_base = (char *)page[i] + ((size_t)fs << SECTOR_SHIFT);
		p->iov[i].iov_len = (size_t)(ls - fs + 1) << SECTOR_SHIFT;
	}
	return 0;
}

/* AIO is done with the frames (or never started): let go of them. */
static void unmap_segments(struct pending *p)
{
	if (p->map && xengnttab_unmap(g.xgt, p->map, p->nmap) < 0) {
		st.unmap_errors++;
		logmsg("gntdev unmap of req id=%" PRIu64 " failed: %s", p->id,
		       strerror(errno));
	}
	p->map = NULL;
}

static int submit(struct pending *p, int idx, unsigned int nseg)
{
	struct iocb *cbs[1] = { &p->iocb };
	int ret;

	memset(&p->iocb, 0, sizeof(p->iocb));
	p->iocb.aio_data = (uint64_t)idx;
	p->iocb.aio_lio_opcode = p->write ? IOCB_CMD_PWRITEV : IOCB_CMD_PREADV;
	p->iocb.aio_fildes = (uint32_t)g.img_fd;
	p->iocb.aio_buf = (uint64_t)(uintptr_t)p->iov;
	p->iocb.aio_nbytes = nseg;
	p->iocb.aio_offset = (int64_t)(p->sector << SECTOR_SHIFT);
	p->iocb.aio_flags = IOCB_FLAG_RESFD;
	p->iocb.aio_resfd = (uint32_t)g.efd;

	ret = sys_io_submit(g.aio, 1, cbs);
	if (ret == 1)
		return 0;
	st.io_errors++;
	logmsg("io_submit failed for req id=%" PRIu64 " op=%u(%s) sector=%"
	       PRIu64 " len=%zu: %s", p->id, p->op, op_name(p->op), p->sector,
	       p->len, strerror(ret < 0 ? errno : EAGAIN));
	return -1;
}

/* READ, WRITE, or FLUSH_DISKCACHE with data (@sync_after). */
void io_rw(const blkif_request_t *req, bool write, bool sync_after)
{
	uint32_t refs[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	struct pending *p;
	uint64_t nsect;
	int idx;

	nsect = check_rw(req, write, refs);
	if (!nsect)
		return;
	if (opt.hold_writes && write && hold(req, "write"))
		return;
	/* A slow backend: the request sits read but unmapped for a while. */
	if (opt.stall_ms)
		sleep_ms(opt.stall_ms);

	idx = pend_alloc();
	if (idx < 0) {	/* cannot happen: ring-size slots, index checks */
		reject(req, BLKIF_RSP_ERROR, "no free request slot");
		return;
	}
	p = &g.pend[idx];
	p->id = req->id;
	p->op = req->operation;
	p->write = write;
	p->sync_after = sync_after;
	p->sector = req->sector_number;
	p->len = (size_t)nsect << SECTOR_SHIFT;
	if (map_segments(p, req, refs) < 0) {
		pend_free(idx);
		return;
	}
	if (submit(p, idx, req->nr_segments) < 0) {
		unmap_segments(p);
		pend_free(idx);
		respond(req->id, req->operation, BLKIF_RSP_ERROR);
		return;
	}
	g.inflight++;
	if (write)
		st.writes++;
	else
		st.reads++;
	dbg("req id=%" PRIu64 " %s sector=%" PRIu64 " nseg=%u len=%zu submitted",
	    p->id, op_name(p->op), p->sector, req->nr_segments, p->len);
}

/* ------------------------------------------------------------------ */
/* flush and discard                                                   */

void io_flush(const blkif_request_t *req)
{
	int16_t status = BLKIF_RSP_OKAY;

	if (fdatasync(g.img_fd) < 0) {
		logmsg("fdatasync failed for flush id=%" PRIu64 ": %s",
		       (uint64_t)req->id, strerror(errno));
		st.io_errors++;
		status = BLKIF_RSP_ERROR;
	}
	dbg("req id=%" PRIu64 " flush -> %d", (uint64_t)req->id, status);
	respond(req->id, req->operation, status);
}

/*
 * Discard: punch a hole (a secure discard too: the range reads as zeroes
 * afterwards), or hold it with --hold-discard.
 */
void io_discard(const blkif_request_t *req)
{
	const blkif_request_discard_t *d = (const void *)req;
	off_t off = (off_t)d->sector_number * 512;
	off_t len = (off_t)d->nr_sectors * 512;
	int16_t status = BLKIF_RSP_OKAY;

	st.discards++;
	if (d->flag & BLKIF_DISCARD_SECURE)
		st.secure_discards++;
	if (opt.hold_discard &&
	    hold(req, d->flag & BLKIF_DISCARD_SECURE ? "secure discard" : "discard"))
		return;
	if (opt.readonly) {
		status = BLKIF_RSP_ERROR;
	} else if ((uint64_t)d->sector_number + d->nr_sectors > g.sectors ||
		   fallocate(g.img_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     off, len) < 0) {
		logmsg("discard id=%" PRIu64 " failed: %s", (uint64_t)req->id,
		       (uint64_t)d->sector_number + d->nr_sectors > g.sectors ?
		       "beyond the end" : strerror(errno));
		st.io_errors++;
		status = BLKIF_RSP_ERROR;
	}
	respond(req->id, req->operation, status);
}

/* ------------------------------------------------------------------ */
/* completion                                                          */

/* The response status of a finished read or write. */
static int16_t rw_status(const struct pending *p, long long res)
{
	if (res < 0) {
		st.io_errors++;
		logmsg("I/O error req id=%" PRIu64 " op=%u(%s) sector=%" PRIu64
		       " len=%zu: %s", p->id, p->op, op_name(p->op), p->sector,
		       p->len, strerror((int)-res));
		return BLKIF_RSP_ERROR;
	}
	if ((unsigned long long)res != p->len) {
		st.io_errors++;
		logmsg("short I/O req id=%" PRIu64 " op=%u(%s) sector=%" PRIu64
		       ": %lld of %zu bytes", p->id, p->op, op_name(p->op),
		       p->sector, res, p->len);
		return BLKIF_RSP_ERROR;
	}
	if (p->write)
		st.bytes_written += p->len;
	else
		st.bytes_read += p->len;
	if (p->sync_after && fdatasync(g.img_fd) < 0) {
		st.io_errors++;
		logmsg("fdatasync after flush-write id=%" PRIu64 ": %s",
		       p->id, strerror(errno));
		return BLKIF_RSP_ERROR;
	}
	return BLKIF_RSP_OKAY;
}

static void complete_one(const struct io_event *ev)
{
	uint64_t idx = ev->data;
	struct pending *p;
	int16_t status;

	if (idx >= g.npend || !g.pend[idx].busy) {
		logmsg("BUG: completion for unknown slot %" PRIu64, idx);
		return;
	}
	p = &g.pend[idx];
	g.inflight--;
	status = rw_status(p, (long long)ev->res);
	/* AIO is done with the frames: unmap before telling the frontend. */
	unmap_segments(p);
	dbg("req id=%" PRIu64 " %s done -> %d", p->id, op_name(p->op), status);
	respond(p->id, p->op, status);
	pend_free((int)idx);
}

/* Reap completions; wait up to @tmo (NULL: do not wait). */
int reap(struct timespec *tmo)
{
	struct io_event ev[64];
	struct timespec zero = { 0, 0 };
	int n, i, total = 0;

	if (!g.aio_ok)
		return 0;
	for (;;) {
		n = sys_io_getevents(g.aio, tmo ? 1 : 0, 64, ev, tmo ? tmo : &zero);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			logmsg("io_getevents: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++)
			complete_one(&ev[i]);
		total += n;
		if (n < 64)
			return total;
		tmo = NULL;
	}
}

/* The eventfd fired. */
void handle_aio_wakeup(void)
{
	uint64_t cnt;

	/* reset the counter first, then reap everything: a completion
	 * after the read signals the eventfd again */
	st.aio_wakeups++;
	if (read(g.efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		logmsg("eventfd read: %s", strerror(errno));
	reap(NULL);
}

/* Reap until nothing is in flight (or reaping fails), logging every 5 s. */
void wait_inflight(void)
{
	time_t start = time(NULL), last = start;

	while (g.inflight) {
		struct timespec tmo = { 1, 0 };

		if (reap(&tmo) < 0)
			break;
		if (g.inflight && time(NULL) - last >= 5) {
			last = time(NULL);
			logmsg("waiting for %u in-flight AIO request(s) (%lds)",
			       g.inflight, (long)(last - start));
		}
	}
}
