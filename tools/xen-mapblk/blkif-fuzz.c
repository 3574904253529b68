// SPDX-License-Identifier: GPL-2.0
/*
 * blkif-fuzz: a raw blkif FRONTEND (no blkfront) used to test xen-mapblk,
 * or any blkif backend, with good and malformed requests.
 *
 * It runs in the frontend domain (dom0 for local attach), shares a ring
 * page and data pages with the backend domain via gntalloc
 * (xengntshr_share_pages), allocates an unbound event channel for the
 * backend, writes the frontend xenstore directory itself (in state
 * Initialised, so that an in-kernel blkfront never probes it), waits for the
 * backend to connect and then checks every response.  Output is TAP; the
 * exit status is 0 only if every check passed.
 *
 * Start the backend first, without frontend nodes:
 *   xen-mapblk --frontend-domid 0 --devid 51760 --image img --no-frontend-nodes &
 *   blkif-fuzz --devid 51760
 *
 * WARNING: writes test patterns to sectors 8..15, 64..69, 128..215 and
 * 256..263 of the image (which must be at least 256 KiB).
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xengnttab.h>
#include <xenevtchn.h>
#include <xenstore.h>

#define PROG "blkif-fuzz"
#define NDATA 16		/* shared data pages */
#define BAD_GREF 0xfffffff0u	/* far beyond any grant table */

static struct {
	unsigned int be_domid, fe_domid;
	unsigned long devid;
	bool have_devid;
	const char *backend_kind;
	unsigned int ring_order;
	unsigned int timeout_s;
	bool bogus_ring;
	bool persistent;	/* write feature-persistent=1 */
	long backend_pid;
	int verbose;
} opt = {
	.backend_kind = "vbd",
	.timeout_s = 10,
	.bogus_ring = true,
};

static struct xs_handle *xs;
static xengntshr_handle *xgs;
static xenevtchn_handle *xce;
static char be_path[256], fe_path[256];
static bool fe_created;

static void *ring_va;
static unsigned int ring_pages;
static uint32_t ring_refs[MAX_RING_PAGES];
static blkif_front_ring_t fr;
static uint8_t *data;			/* NDATA pages */
static uint32_t data_refs[NDATA];
static evtchn_port_t port;
static bool port_bound;
static uint64_t sectors;
static uint64_t next_id = 0x1000;

static unsigned int ntest, nfail;

/* ------------------------------------------------------------------ */

static void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static bool __attribute__((format(printf, 2, 3))) check(bool ok, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	if (!ok)
		nfail++;
	printf("%sok %u - ", ok ? "" : "not ", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return ok;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* xenstore                                                            */

static char *xs_get(const char *dir, const char *node)
{
	char path[320];
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return xs_read(xs, XBT_NULL, path, &len);
}

static long long xs_get_ll(const char *dir, const char *node, long long dflt)
{
	char *s = xs_get(dir, node), *end;
	long long v;

	if (!s)
		return dflt;
	v = strtoll(s, &end, 0);
	if (end == s || *end)
		v = dflt;
	free(s);
	return v;
}

static int xs_put(xs_transaction_t t, const char *dir, const char *node,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int xs_put(xs_transaction_t t, const char *dir, const char *node,
		  const char *fmt, ...)
{
	char path[320], val[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, node);
	if (n < 0 || !xs_write(xs, t, path, val, (unsigned int)n)) {
		diag("xenstore write %s failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Wait until the backend state is one of the bits in @mask; returns the last
 * state seen (-1 if the node is missing). */
static int wait_be_state(unsigned int mask, unsigned int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	int s;

	for (;;) {
		s = (int)xs_get_ll(be_path, "state", -1);
		if (s >= 0 && s < 32 && (mask & (1u << s)))
			return s;
		if (s < 0 && (mask & (1u << 31)))	/* "gone" accepted */
			return s;
		if (now_ms() >= end)
			return s;
		sleep_ms(20);
	}
}

static int create_frontend(void)
{
	struct xs_permissions perms[2] = {
		{ .id = opt.fe_domid, .perms = XS_PERM_NONE },
		{ .id = opt.be_domid, .perms = XS_PERM_READ },
	};
	unsigned int i, tries;
	char path[320];

	for (tries = 0; tries < 50; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		unsigned int len;
		char *s;

		if (t == XBT_NULL)
			return -1;
		s = xs_read(xs, t, fe_path, &len);
		if (s) {
			free(s);
			xs_transaction_end(xs, t, true);
			diag("%s already exists: start the backend with "
			     "--no-frontend-nodes (an in-kernel blkfront would race us)",
			     fe_path);
			return -1;
		}
		if (!xs_mkdir(xs, t, fe_path) ||
		    !xs_set_permissions(xs, t, fe_path, perms, 2))
			goto abort;
		if (xs_put(t, fe_path, "backend", "%s", be_path) ||
		    xs_put(t, fe_path, "backend-id", "%u", opt.be_domid) ||
		    xs_put(t, fe_path, "virtual-device", "%lu", opt.devid) ||
		    xs_put(t, fe_path, "device-type", "disk") ||
		    xs_put(t, fe_path, "protocol", "%s", XEN_IO_PROTO_ABI_NATIVE) ||
		    xs_put(t, fe_path, "event-channel", "%u", port) ||
		    (opt.persistent &&
		     xs_put(t, fe_path, "feature-persistent", "1")))
			goto abort;
		if (ring_pages == 1) {
			if (xs_put(t, fe_path, "ring-ref", "%u", ring_refs[0]))
				goto abort;
		} else {
			if (xs_put(t, fe_path, "ring-page-order", "%u", opt.ring_order))
				goto abort;
			for (i = 0; i < ring_pages; i++) {
				snprintf(path, sizeof(path), "ring-ref%u", i);
				if (xs_put(t, fe_path, path, "%u", ring_refs[i]))
					goto abort;
			}
		}
		/* Initialised from the start: xenbus only probes Initialising */
		if (xs_put(t, fe_path, "state", "%d", XenbusStateInitialised))
			goto abort;
		if (xs_transaction_end(xs, t, false)) {
			fe_created = true;
			return 0;
		}
		if (errno != EAGAIN)
			return -1;
		continue;
abort:
		xs_transaction_end(xs, t, true);
		return -1;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* ring                                                                */

static uint8_t *page(unsigned int i)
{
	return data + (size_t)i * XPAGE_SIZE;
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;
	uint32_t x = seed * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void kick(void)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify);
	(void)notify;	/* always kick: cheap, and robust against lost events */
	if (xenevtchn_notify(xce, port) < 0)
		diag("notify: %s", strerror(errno));
}

static void queue_req(blkif_request_t *req)
{
	blkif_request_t *r = RING_GET_REQUEST(&fr, fr.req_prod_pvt);

	req->id = next_id++;
	memcpy(r, req, sizeof(*r));
	fr.req_prod_pvt++;
}

/* Wait for the next response; 0 on success, -1 on timeout. */
static int get_rsp(blkif_response_t *rsp, unsigned int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = xenevtchn_fd(xce), .events = POLLIN };

	for (;;) {
		RING_IDX rp = *(volatile RING_IDX *)&fr.sring->rsp_prod;

		xen_rmb();
		if (fr.rsp_cons != rp) {
			RING_COPY_RESPONSE(&fr, fr.rsp_cons, rsp);
			fr.rsp_cons++;
			return 0;
		}
		fr.sring->rsp_event = fr.rsp_cons + 1;
		xen_mb();
		if (*(volatile RING_IDX *)&fr.sring->rsp_prod != fr.rsp_cons)
			continue;
		if (now_ms() >= end)
			return -1;
		if (poll(&pfd, 1, 50) > 0) {
			xenevtchn_port_or_error_t p = xenevtchn_pending(xce);

			if (p >= 0)
				xenevtchn_unmask(xce, (evtchn_port_t)p);
		}
	}
}

static const char *status_name(int s)
{
	switch (s) {
	case BLKIF_RSP_OKAY: return "OKAY";
	case BLKIF_RSP_ERROR: return "ERROR";
	case BLKIF_RSP_EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "?";
	}
}

/* Send one request, wait for its response, check status/id/operation. */
static bool expect(blkif_request_t *req, int status, const char *what)
{
	blkif_response_t rsp;
	uint8_t op = req->operation;

	queue_req(req);
	kick();
	if (get_rsp(&rsp, opt.timeout_s * 1000) < 0)
		return check(false, "%s: no response within %us", what, opt.timeout_s);
	return check(rsp.id == req->id && rsp.operation == op && rsp.status == status,
		     "%s -> %s (got id=%" PRIu64 "/%" PRIu64 " op=%u/%u status=%d %s)",
		     what, status_name(status), (uint64_t)rsp.id, (uint64_t)req->id,
		     rsp.operation, op, rsp.status, status_name(rsp.status));
}

static blkif_request_t rw(uint8_t op, uint64_t sector, unsigned int nseg)
{
	blkif_request_t r;

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.nr_segments = (uint8_t)nseg;
	r.handle = (blkif_vdev_t)opt.devid;
	r.sector_number = sector;
	return r;
}

static void seg(blkif_request_t *r, unsigned int i, uint32_t gref,
		unsigned int first, unsigned int last)
{
	r->seg[i].gref = gref;
	r->seg[i].first_sect = (uint8_t)first;
	r->seg[i].last_sect = (uint8_t)last;
}

/* ------------------------------------------------------------------ */
/* the tests                                                           */

static void good_io(void)
{
	blkif_request_t r;
	uint8_t ref[2 * XPAGE_SIZE];
	unsigned int i;
	bool ok;

	/* full page write + read back */
	fill_pattern(page(0), XPAGE_SIZE, 1);
	r = rw(BLKIF_OP_WRITE, 8, 1);
	seg(&r, 0, data_refs[0], 0, 7);
	expect(&r, BLKIF_RSP_OKAY, "write 1 full page at sector 8");

	memset(page(1), 0, XPAGE_SIZE);
	r = rw(BLKIF_OP_READ, 8, 1);
	seg(&r, 0, data_refs[1], 0, 7);
	if (expect(&r, BLKIF_RSP_OKAY, "read 1 full page at sector 8"))
		check(memcmp(page(0), page(1), XPAGE_SIZE) == 0,
		      "data read back equals data written");

	/* partial-page segments: 4 sectors from the end of page 2, 2 from the
	 * start of page 3, read back into the middle of page 4 */
	fill_pattern(page(2), XPAGE_SIZE, 2);
	fill_pattern(page(3), XPAGE_SIZE, 3);
	r = rw(BLKIF_OP_WRITE, 64, 2);
	seg(&r, 0, data_refs[2], 4, 7);
	seg(&r, 1, data_refs[3], 0, 1);
	expect(&r, BLKIF_RSP_OKAY, "write 2 partial-page segments (4+2 sectors) at sector 64");

	memset(page(4), 0xcc, XPAGE_SIZE);
	r = rw(BLKIF_OP_READ, 64, 1);
	seg(&r, 0, data_refs[4], 1, 6);
	if (expect(&r, BLKIF_RSP_OKAY, "read 6 sectors into sectors 1..6 of a page")) {
		ok = memcmp(page(4) + 512, page(2) + 2048, 2048) == 0 &&
		     memcmp(page(4) + 2560, page(3), 1024) == 0;
		check(ok, "partial-page data correct");
		check(all_bytes(page(4), 512, 0xcc) &&
		      all_bytes(page(4) + 3584, 512, 0xcc),
		      "bytes outside first_sect..last_sect untouched");
	}

	/* the maximum number of segments */
	r = rw(BLKIF_OP_WRITE, 128, BLKIF_MAX_SEGMENTS_PER_REQUEST);
	for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		fill_pattern(page(5 + i), XPAGE_SIZE, 100 + i);
		seg(&r, i, data_refs[5 + i], 0, 7);
	}
	expect(&r, BLKIF_RSP_OKAY, "write 11 segments (44 KiB) at sector 128");
	r = rw(BLKIF_OP_READ, 128, BLKIF_MAX_SEGMENTS_PER_REQUEST);
	for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		memset(page(5 + i), 0, XPAGE_SIZE);
		seg(&r, i, data_refs[5 + i], 0, 7);
	}
	if (expect(&r, BLKIF_RSP_OKAY, "read 11 segments at sector 128")) {
		ok = true;
		for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
			fill_pattern(ref, XPAGE_SIZE, 100 + i);
			if (memcmp(ref, page(5 + i), XPAGE_SIZE))
				ok = false;
		}
		check(ok, "11-segment data correct");
	}

	/* boundary: the very last sector is readable */
	r = rw(BLKIF_OP_READ, sectors - 1, 1);
	seg(&r, 0, data_refs[1], 7, 7);
	expect(&r, BLKIF_RSP_OKAY, "read the last sector of the disk");

	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
	expect(&r, BLKIF_RSP_OKAY, "flush (no data)");
}

static void bad_requests(void)
{
	blkif_request_t r;
	unsigned int i;

	/* a canary page: no rejected read may write to it */
	memset(page(1), 0x5a, XPAGE_SIZE);

	r = rw(BLKIF_OP_READ, 8, 0);
	expect(&r, BLKIF_RSP_ERROR, "read with nr_segments=0");
	r = rw(BLKIF_OP_WRITE, 8, 0);
	expect(&r, BLKIF_RSP_ERROR, "write with nr_segments=0");

	r = rw(BLKIF_OP_READ, 8, BLKIF_MAX_SEGMENTS_PER_REQUEST + 1);
	for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		seg(&r, i, data_refs[1], 0, 7);
	expect(&r, BLKIF_RSP_ERROR, "read with nr_segments=12");
	r.nr_segments = 255;
	expect(&r, BLKIF_RSP_ERROR, "read with nr_segments=255");

	r = rw(BLKIF_OP_READ, 8, 1);
	seg(&r, 0, data_refs[1], 5, 2);
	expect(&r, BLKIF_RSP_ERROR, "first_sect 5 > last_sect 2");
	r = rw(BLKIF_OP_READ, 8, 1);
	seg(&r, 0, data_refs[1], 0, 8);
	expect(&r, BLKIF_RSP_ERROR, "last_sect 8 > 7");
	r = rw(BLKIF_OP_READ, 8, 2);
	seg(&r, 0, data_refs[1], 0, 7);
	seg(&r, 1, data_refs[1], 0, 255);
	expect(&r, BLKIF_RSP_ERROR, "second segment last_sect 255");

	r = rw(BLKIF_OP_READ, sectors - 1, 1);
	seg(&r, 0, data_refs[1], 0, 1);
	expect(&r, BLKIF_RSP_ERROR, "2 sectors from the last sector (past the end)");
	r = rw(BLKIF_OP_READ, sectors, 1);
	seg(&r, 0, data_refs[1], 0, 0);
	expect(&r, BLKIF_RSP_ERROR, "sector_number == capacity");
	r = rw(BLKIF_OP_WRITE, UINT64_MAX - 3, 1);
	seg(&r, 0, data_refs[0], 0, 7);
	expect(&r, BLKIF_RSP_ERROR, "write at sector 2^64-4 (offset overflow)");

	r = rw(BLKIF_OP_READ, 8, 1);
	seg(&r, 0, BAD_GREF, 0, 7);
	expect(&r, BLKIF_RSP_ERROR, "read into bad grant ref 0xfffffff0");
	r = rw(BLKIF_OP_WRITE, 8, 1);
	seg(&r, 0, BAD_GREF, 0, 7);
	expect(&r, BLKIF_RSP_ERROR, "write from bad grant ref 0xfffffff0");
	r = rw(BLKIF_OP_READ, 8, 2);
	seg(&r, 0, data_refs[1], 0, 7);
	seg(&r, 1, BAD_GREF, 0, 7);
	expect(&r, BLKIF_RSP_ERROR, "read with one good and one bad grant");

	check(all_bytes(page(1), XPAGE_SIZE, 0x5a),
	      "rejected reads did not write to granted memory");

	r = rw(0x42, 8, 1);
	seg(&r, 0, data_refs[1], 0, 7);
	expect(&r, BLKIF_RSP_EOPNOTSUPP, "unknown operation 0x42");
	r = rw(BLKIF_OP_RESERVED_1, 8, 1);
	expect(&r, BLKIF_RSP_EOPNOTSUPP, "BLKIF_OP_RESERVED_1");
	r = rw(BLKIF_OP_WRITE_BARRIER, 8, 1);
	seg(&r, 0, data_refs[0], 0, 7);
	expect(&r, BLKIF_RSP_EOPNOTSUPP, "write barrier (feature-barrier=0)");
	{
		blkif_request_discard_t d;

		memset(&d, 0, sizeof(d));
		d.operation = BLKIF_OP_DISCARD;
		d.sector_number = 8;
		d.nr_sectors = 8;
		memset(&r, 0, sizeof(r));
		memcpy(&r, &d, sizeof(d));
		expect(&r, BLKIF_RSP_EOPNOTSUPP, "discard (not advertised)");
	}
	{
		blkif_request_indirect_t ind;

		memset(&ind, 0, sizeof(ind));
		ind.operation = BLKIF_OP_INDIRECT;
		ind.indirect_op = BLKIF_OP_READ;
		ind.nr_segments = 16;
		ind.sector_number = 8;
		ind.indirect_grefs[0] = data_refs[1];
		memset(&r, 0, sizeof(r));
		memcpy(&r, &ind, sizeof(ind));
		expect(&r, BLKIF_RSP_EOPNOTSUPP, "indirect (not advertised)");
	}
}

/* Several requests in one push, a flush in the middle (backend must drain
 * the earlier ones first) and a bad one among them. */
static void batch(void)
{
	struct { uint64_t id; uint8_t op; int want; bool seen; } exp[8];
	blkif_request_t r;
	blkif_response_t rsp;
	unsigned int n = 0, i, got = 0;
	bool ok = true;

#define Q(req, st) do { queue_req(&(req)); exp[n].id = (req).id; \
		exp[n].op = (req).operation; exp[n].want = (st); \
		exp[n].seen = false; n++; } while (0)

	r = rw(BLKIF_OP_READ, 128, 1);
	seg(&r, 0, data_refs[5], 0, 7);
	Q(r, BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_READ, 136, 1);
	seg(&r, 0, data_refs[6], 0, 7);
	Q(r, BLKIF_RSP_OKAY);
	fill_pattern(page(7), XPAGE_SIZE, 7);
	r = rw(BLKIF_OP_WRITE, 256, 1);
	seg(&r, 0, data_refs[7], 0, 7);
	Q(r, BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
	Q(r, BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_READ, 8, 1);
	seg(&r, 0, data_refs[8], 3, 2);
	Q(r, BLKIF_RSP_ERROR);
	memset(page(9), 0, XPAGE_SIZE);
	r = rw(BLKIF_OP_READ, 256, 1);
	seg(&r, 0, data_refs[9], 0, 7);
	Q(r, BLKIF_RSP_OKAY);
	r = rw(0x99, 0, 0);
	Q(r, BLKIF_RSP_EOPNOTSUPP);
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
	Q(r, BLKIF_RSP_OKAY);
#undef Q
	kick();

	while (got < n) {
		if (get_rsp(&rsp, opt.timeout_s * 1000) < 0) {
			diag("batch: only %u of %u responses", got, n);
			ok = false;
			break;
		}
		got++;
		for (i = 0; i < n; i++)
			if (exp[i].id == rsp.id && !exp[i].seen)
				break;
		if (i == n) {
			diag("batch: unexpected response id=%" PRIu64, (uint64_t)rsp.id);
			ok = false;
			continue;
		}
		exp[i].seen = true;
		if (rsp.operation != exp[i].op || rsp.status != exp[i].want) {
			diag("batch: id=%" PRIu64 " op=%u status=%d, want op=%u status=%d",
			     (uint64_t)rsp.id, rsp.operation, rsp.status, exp[i].op,
			     exp[i].want);
			ok = false;
		}
	}
	check(ok, "batch of %u requests (reads, write, flushes, bad ones) in one push", n);
	check(ok && memcmp(page(7), page(9), XPAGE_SIZE) == 0,
	      "batch: read after flush returns the batched write");
}

static void bogus_ring(void)
{
	RING_IDX before = fr.sring->rsp_prod;
	RING_IDX bogus = fr.req_prod_pvt + RING_SIZE(&fr) + 7;
	int s;

	xen_wmb();
	fr.sring->req_prod = bogus;
	xen_mb();
	if (xenevtchn_notify(xce, port) < 0)
		diag("notify: %s", strerror(errno));
	s = wait_be_state(1u << XenbusStateClosing | 1u << XenbusStateClosed,
			  opt.timeout_s * 1000);
	check(s == XenbusStateClosing || s == XenbusStateClosed,
	      "req_prod moved %u entries ahead: backend halts and goes Closing (state %d)",
	      RING_SIZE(&fr) + 7, s);
	check(fr.sring->rsp_prod == before,
	      "no responses produced for the bogus requests (rsp_prod %u -> %u)",
	      before, fr.sring->rsp_prod);
}

/*
 * --sigterm-backend PID: fill the ring with 11-segment reads, SIGTERM the
 * backend right after the kick, and check that every request is answered
 * (OKAY if it was started, ERROR if it was still queued), that the backend
 * goes Closed and removes its directory.  Returns true if the backend is
 * gone (Closed).
 */
static bool sigterm_test(pid_t pid)
{
	unsigned int n = RING_SIZE(&fr) - (fr.req_prod_pvt - fr.rsp_cons);
	unsigned int i, got = 0, nok = 0, nerr = 0, bad = 0;
	uint64_t first = next_id;
	blkif_response_t rsp;
	blkif_request_t r;
	int s;

	for (i = 0; i < n; i++) {
		unsigned int j;

		r = rw(BLKIF_OP_READ, 128, BLKIF_MAX_SEGMENTS_PER_REQUEST);
		for (j = 0; j < BLKIF_MAX_SEGMENTS_PER_REQUEST; j++)
			seg(&r, j, data_refs[5 + j], 0, 7);
		queue_req(&r);
	}
	kick();
	if (kill(pid, SIGTERM) < 0)
		diag("kill %ld: %s", (long)pid, strerror(errno));
	while (got < n && get_rsp(&rsp, opt.timeout_s * 1000) == 0) {
		got++;
		if (rsp.id < first || rsp.id >= first + n || rsp.operation != BLKIF_OP_READ)
			bad++;
		else if (rsp.status == BLKIF_RSP_OKAY)
			nok++;
		else if (rsp.status == BLKIF_RSP_ERROR)
			nerr++;
		else
			bad++;
	}
	check(got == n && !bad, "SIGTERM with %u requests queued: all answered "
	      "(%u OKAY, %u ERROR, %u bad, %u missing)", n, nok, nerr, bad, n - got);
	s = wait_be_state(1u << XenbusStateClosing | 1u << XenbusStateClosed | 1u << 31,
			  opt.timeout_s * 1000);
	/* blkfront answers Closing with Closed */
	xs_put(XBT_NULL, fe_path, "state", "%d", XenbusStateClosed);
	s = wait_be_state(1u << 31, opt.timeout_s * 1000);
	check(s < 0, "backend removed %s after SIGTERM", be_path);
	return s < 0;
}

/* ------------------------------------------------------------------ */

static void cleanup(bool backend_closed)
{
	if (port_bound)
		xenevtchn_unbind(xce, port);
	/* unshare only once the backend has unmapped (it is Closed) */
	if (backend_closed) {
		if (data)
			xengntshr_unshare(xgs, data, NDATA);
		if (ring_va)
			xengntshr_unshare(xgs, ring_va, ring_pages);
	} else if (data || ring_va) {
		diag("backend not Closed: leaving the shared pages to process exit");
	}
	if (fe_created && !xs_rm(xs, XBT_NULL, fe_path))
		diag("xs_rm %s: %s", fe_path, strerror(errno));
	/* the backend keeps its directory after a frontend close: tidy up
	 * like a toolstack would, once it is done with it */
	if (backend_closed && !xs_rm(xs, XBT_NULL, be_path) && errno != ENOENT)
		diag("xs_rm %s: %s", be_path, strerror(errno));
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --devid N [options]\n"
"  --devid N             virtual-device the backend serves (started with\n"
"                        xen-mapblk --no-frontend-nodes)\n"
"  --backend-domid B     default 0\n"
"  --frontend-domid F    our own domid (default 0)\n"
"  --backend-kind K      default vbd\n"
"  --ring-order N        use a 2^N page ring (default 0)\n"
"  --timeout S           per-step timeout in seconds (default 10)\n"
"  --no-bogus-ring       skip the destructive bad-req_prod test\n"
"  --persistent          write feature-persistent=1 (the data pages are\n"
"                        granted read-write and reused, as blkfront's)\n"
"  --sigterm-backend PID instead of closing normally, fill the ring, SIGTERM\n"
"                        the backend and check every request is answered\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "devid", required_argument, NULL, 'd' },
		{ "backend-domid", required_argument, NULL, 'b' },
		{ "frontend-domid", required_argument, NULL, 'f' },
		{ "backend-kind", required_argument, NULL, 'k' },
		{ "ring-order", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-bogus-ring", no_argument, NULL, 'n' },
		{ "persistent", no_argument, NULL, 'P' },
		{ "sigterm-backend", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int c, s;
	bool closed = false;
	xenevtchn_port_or_error_t p;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		char *end = NULL;

		if (optarg) {
			errno = 0;
			v = strtoll(optarg, &end, 0);
			if (c != 'k' && (errno || *end || v < 0)) {
				fprintf(stderr, PROG ": bad number '%s'\n", optarg);
				return 2;
			}
		} else {
			v = 0;
		}
		switch (c) {
		case 'd': opt.devid = (unsigned long)v; opt.have_devid = true; break;
		case 'b': opt.be_domid = (unsigned int)v; break;
		case 'f': opt.fe_domid = (unsigned int)v; break;
		case 'k': opt.backend_kind = optarg; break;
		case 'o':
			if (v > MAX_RING_ORDER) {
				fprintf(stderr, PROG ": ring order at most %d\n", MAX_RING_ORDER);
				return 2;
			}
			opt.ring_order = (unsigned int)v;
			break;
		case 't': opt.timeout_s = v ? (unsigned int)v : 1; break;
		case 'n': opt.bogus_ring = false; break;
		case 'P': opt.persistent = true; break;
		case 'p': opt.backend_pid = (long)v; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!opt.have_devid || optind != argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(be_path, sizeof(be_path), "/local/domain/%u/backend/%s/%u/%lu",
		 opt.be_domid, opt.backend_kind, opt.fe_domid, opt.devid);
	snprintf(fe_path, sizeof(fe_path), "/local/domain/%u/device/vbd/%lu",
		 opt.fe_domid, opt.devid);

	xs = xs_open(0);
	xgs = xengntshr_open(NULL, 0);
	xce = xenevtchn_open(NULL, 0);
	if (!xs || !xgs || !xce) {
		printf("Bail out! cannot open %s: %s\n",
		       !xs ? "xenstore" : !xgs ? "gntalloc" : "evtchn", strerror(errno));
		return 1;
	}

	/* 1: backend waiting for us */
	s = wait_be_state(1u << XenbusStateInitWait, opt.timeout_s * 1000);
	if (!check(s == XenbusStateInitWait, "backend %s in InitWait (state %d)",
		   be_path, s)) {
		printf("Bail out! no backend waiting at %s\n", be_path);
		return 1;
	}
	/*
	 * feature-persistent may be 0 or 1: we do not write it, so a backend
	 * offering persistent grants must still map per request for us.
	 */
	sectors = (uint64_t)xs_get_ll(be_path, "sectors", 0);
	check(sectors >= 512 && xs_get_ll(be_path, "sector-size", 0) == 512 &&
	      xs_get_ll(be_path, "feature-flush-cache", 0) == 1 &&
	      (unsigned long long)xs_get_ll(be_path, "feature-persistent", 0) <= 1 &&
	      xs_get_ll(be_path, "max-ring-page-order", 0) >= opt.ring_order,
	      "backend nodes: sectors=%" PRIu64 " (>=512) sector-size=512 "
	      "feature-flush-cache=1 feature-persistent=0|1, max-ring-page-order>=%u",
	      sectors, opt.ring_order);
	if (sectors < 512) {
		printf("Bail out! image too small (need 256 KiB)\n");
		return 1;
	}

	/* share ring + data pages, allocate the event channel */
	ring_pages = 1u << opt.ring_order;
	ring_va = xengntshr_share_pages(xgs, opt.be_domid, (int)ring_pages, ring_refs, 1);
	data = xengntshr_share_pages(xgs, opt.be_domid, NDATA, data_refs, 1);
	if (!ring_va || !data) {
		printf("Bail out! gntalloc share_pages: %s\n", strerror(errno));
		return 1;
	}
	memset(ring_va, 0, (size_t)ring_pages * XPAGE_SIZE);
	SHARED_RING_INIT((blkif_sring_t *)ring_va);
	FRONT_RING_INIT(&fr, (blkif_sring_t *)ring_va, (size_t)ring_pages * XPAGE_SIZE);
	p = xenevtchn_bind_unbound_port(xce, opt.be_domid);
	if (p < 0) {
		printf("Bail out! evtchn alloc unbound: %s\n", strerror(errno));
		return 1;
	}
	port = (evtchn_port_t)p;
	port_bound = true;
	diag("ring-ref %u (%u page(s)), event-channel %u, data grefs %u..",
	     ring_refs[0], ring_pages, port, data_refs[0]);

	if (create_frontend() < 0) {
		printf("Bail out! cannot write %s\n", fe_path);
		cleanup(false);
		return 1;
	}

	s = wait_be_state(1u << XenbusStateConnected | 1u << XenbusStateClosing |
			  1u << XenbusStateClosed, opt.timeout_s * 1000);
	if (!check(s == XenbusStateConnected, "backend Connected (state %d)", s)) {
		printf("Bail out! backend did not connect\n");
		xs_put(XBT_NULL, fe_path, "state", "%d", XenbusStateClosed);
		cleanup(false);
		return 1;
	}
	xs_put(XBT_NULL, fe_path, "state", "%d", XenbusStateConnected);

	good_io();
	bad_requests();
	batch();
	{
		blkif_request_t r = rw(BLKIF_OP_READ, 8, 1);

		seg(&r, 0, data_refs[2], 0, 7);
		expect(&r, BLKIF_RSP_OKAY, "backend still serves good requests after the bad ones");
	}
	if (opt.backend_pid > 0) {
		closed = sigterm_test((pid_t)opt.backend_pid);
	} else {
		if (opt.bogus_ring)
			bogus_ring();

		/* close like blkfront does (Closing, then Closed) */
		xs_put(XBT_NULL, fe_path, "state", "%d", XenbusStateClosing);
		xs_put(XBT_NULL, fe_path, "state", "%d", XenbusStateClosed);
		s = wait_be_state(1u << XenbusStateClosed | 1u << 31, opt.timeout_s * 1000);
		closed = s == XenbusStateClosed || s < 0;
		check(closed, "backend Closed after the frontend closed (state %d)", s);
	}

	cleanup(closed);
	printf("1..%u\n", ntest);
	if (nfail)
		printf("# %u of %u checks FAILED\n", nfail, ntest);
	xenevtchn_close(xce);
	xengntshr_close(xgs);
	xs_close(xs);
	return nfail ? 1 : 0;
}
