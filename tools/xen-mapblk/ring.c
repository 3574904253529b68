// SPDX-License-Identifier: GPL-2.0
/*
 * xen-mapblk: the shared ring.
 *
 * Maps the frontend's ring and binds its event channel, takes requests off
 * the ring and hands them to the I/O engine (io.c), pushes responses and
 * notifies.  Also the diagnostics of a stalled ring (SIGUSR1) and the idle
 * check that recovers a lost kick, completion signal or notification.
 */
#define _GNU_SOURCE
#include "mapblk.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ------------------------------------------------------------------ */
/* responses                                                           */

void respond(uint64_t id, uint8_t op, int16_t status)
{
	blkif_response_t *rsp;
	int notify;

	rsp = RING_GET_RESPONSE(&g.ring, g.ring.rsp_prod_pvt);
	rsp->id = id;
	rsp->operation = op;
	rsp->status = status;
	g.ring.rsp_prod_pvt++;

	if (status == BLKIF_RSP_ERROR)
		st.errors++;
	else if (status == BLKIF_RSP_EOPNOTSUPP)
		st.eopnotsupp++;

	g.last_rsp = time(NULL);

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&g.ring, notify);
	if (notify) {
		st.notifies++;
		if (xenevtchn_notify(g.xce, g.local_port) < 0)
			logmsg("event channel notify failed: %s", strerror(errno));
	}
}

void reject(const blkif_request_t *req, int16_t status, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	st.rejections++;
	if (st.rejections <= MAX_LOGGED_REJECTIONS) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		logmsg("rejected req id=%" PRIu64 " op=%u(%s): %s",
		       (uint64_t)req->id, req->operation, op_name(req->operation), buf);
		if (st.rejections == MAX_LOGGED_REJECTIONS)
			logmsg("further rejections are counted but not logged");
	}
	respond(req->id, req->operation, status);
}

/* ------------------------------------------------------------------ */
/* requests                                                            */

static void handle_request(const blkif_request_t *req)
{
	st.requests++;
	switch (req->operation) {
	case BLKIF_OP_READ:
		io_rw(req, false, false);
		break;
	case BLKIF_OP_WRITE:
		io_rw(req, true, false);
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		/* caller has drained in-flight I/O before handing it to us */
		st.flushes++;
		if (req->nr_segments == 0)
			io_flush(req);
		else	/* flush with data: write, then fdatasync, then answer */
			io_rw(req, true, true);
		break;
	case BLKIF_OP_WRITE_BARRIER:
		reject(req, BLKIF_RSP_EOPNOTSUPP, "barrier not supported (feature-barrier=0)");
		break;
	case BLKIF_OP_DISCARD:
		if (opt.discard)
			io_discard(req);
		else
			reject(req, BLKIF_RSP_EOPNOTSUPP, "discard not supported (not advertised)");
		break;
	case BLKIF_OP_INDIRECT:
		reject(req, BLKIF_RSP_EOPNOTSUPP, "indirect not supported (not advertised)");
		break;
	default:
		reject(req, BLKIF_RSP_EOPNOTSUPP, "unknown operation");
		break;
	}
}

static RING_IDX read_req_prod(void)
{
	RING_IDX rp = *(volatile RING_IDX *)&g.ring.sring->req_prod;

	xen_rmb();	/* see requests only after reading req_prod */
	return rp;
}

static void ring_bogus(RING_IDX rp)
{
	st.rejections++;
	logmsg("rejected ring: req_prod=%u but req_cons=%u rsp_prod=%u: more "
	       "than %u requests outstanding; halting ring processing",
	       rp, g.ring.req_cons, g.ring.rsp_prod_pvt, RING_SIZE(&g.ring));
	g.ring_broken = true;
	set_be_state(XenbusStateClosing);
}

void process_ring(void)
{
	int more;

	if (!g.connected || g.ring_broken || g.stop != STOP_NONE)
		return;
	for (;;) {
		RING_IDX rp = read_req_prod();

		if (RING_REQUEST_PROD_OVERFLOW(&g.ring, rp)) {
			ring_bogus(rp);
			return;
		}
		while (g.ring.req_cons != rp) {
			blkif_request_t req;

			if (RING_REQUEST_CONS_OVERFLOW(&g.ring, g.ring.req_cons))
				return;	/* no response slot free: resumed on completion */
			RING_COPY_REQUEST(&g.ring, g.ring.req_cons, &req);
			/*
			 * A flush must see every write completed before it.
			 * Leave it on the ring until nothing is in flight; the
			 * main loop calls us again after each completion.
			 */
			if (req.operation == BLKIF_OP_FLUSH_DISKCACHE && g.inflight)
				return;
			g.ring.req_cons++;
			g.last_req = time(NULL);
			handle_request(&req);
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&g.ring, more);
		if (!more)
			return;
	}
}

/* Answer requests the frontend queued but we never started (shutdown). */
void fail_unconsumed(void)
{
	RING_IDX rp;

	if (!g.connected || g.ring_broken)
		return;
	rp = read_req_prod();
	if (RING_REQUEST_PROD_OVERFLOW(&g.ring, rp))
		return;
	while (g.ring.req_cons != rp &&
	       !RING_REQUEST_CONS_OVERFLOW(&g.ring, g.ring.req_cons)) {
		blkif_request_t req;

		RING_COPY_REQUEST(&g.ring, g.ring.req_cons, &req);
		g.ring.req_cons++;
		st.unconsumed_failed++;
		respond(req.id, req.operation, BLKIF_RSP_ERROR);
	}
	if (st.unconsumed_failed)
		logmsg("answered %llu request(s) left on the ring at shutdown with "
		       "BLKIF_RSP_ERROR", st.unconsumed_failed);
}


/* ------------------------------------------------------------------ */
/* stall diagnostics and the idle check                                */

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/*
 * One line with everything needed to tell where a stalled ring is stuck
 * (SIGUSR1).  unconsumed > 0 with inflight = 0 and no flush waiting: we
 * missed a kick.  rsp_event <= rsp_prod for long: the frontend missed our
 * notification (or stopped).  All answered and nothing unconsumed while the
 * frontend still waits: the requests never reached the ring.
 */
void print_ring_state(const char *when)
{
	const blkif_sring_t *s = g.ring.sring;
	RING_IDX req_prod, rsp_prod, req_event, rsp_event;
	int head_op = -1;
	time_t now = time(NULL);

	if (!g.connected || !s) {
		fprintf(stderr, PROG ": ring(%s): not connected (stop=%d)\n",
			when, (int)g.stop);
		return;
	}
	req_prod = *(volatile const RING_IDX *)&s->req_prod;
	rsp_prod = *(volatile const RING_IDX *)&s->rsp_prod;
	req_event = *(volatile const RING_IDX *)&s->req_event;
	rsp_event = *(volatile const RING_IDX *)&s->rsp_event;
	xen_rmb();
	if (req_prod != g.ring.req_cons && !g.ring_broken &&
	    !RING_REQUEST_PROD_OVERFLOW(&g.ring, req_prod))
		head_op = RING_GET_REQUEST(&g.ring, g.ring.req_cons)->operation;
	fprintf(stderr, PROG ": ring(%s): size=%u req_prod=%u req_cons=%u "
		"unconsumed=%u req_event=%u rsp_prod_pvt=%u rsp_prod=%u "
		"rsp_event=%u inflight=%u free_slots=%u/%u head_op=%d(%s)%s%s "
		"evtchn_pending=%d eventfd_pending=%d last_req=%llds_ago "
		"last_rsp=%llds_ago\n", when, RING_SIZE(&g.ring), req_prod,
		g.ring.req_cons, req_prod - g.ring.req_cons, req_event,
		g.ring.rsp_prod_pvt, rsp_prod, rsp_event, g.inflight, io_free_slots(),
		g.npend, head_op, head_op < 0 ? "-" : op_name((unsigned int)head_op),
		head_op == BLKIF_OP_FLUSH_DISKCACHE && g.inflight ?
			" (flush waiting for in-flight I/O)" : "",
		g.ring_broken ? " BROKEN" : "",
		fd_readable(xenevtchn_fd(g.xce)), fd_readable(g.efd),
		g.last_req ? (long long)(now - g.last_req) : -1LL,
		g.last_rsp ? (long long)(now - g.last_rsp) : -1LL);
}

static void __attribute__((format(printf, 1, 2))) log_missed(const char *fmt, ...)
{
	static unsigned int logged;
	char buf[512];
	va_list ap;

	if (logged >= MAX_LOGGED_MISSED)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	logmsg("idle check: %s", buf);
	if (++logged == MAX_LOGGED_MISSED)
		logmsg("idle check: further findings are counted but not logged");
	print_ring_state("idle check");
}

/*
 * poll() timed out while connected: nothing woke us for IDLE_CHECK_MS.
 * Look for work anyway, so that a lost event-channel kick or eventfd
 * signal costs a second and a log line instead of a stalled disk, and
 * re-notify a frontend that has been waiting for responses we pushed.
 */
void idle_check(void)
{
	RING_IDX cons = g.ring.req_cons, req_prod, rsp_prod, rsp_event;
	int n;

	if (!g.connected || g.ring_broken)
		return;

	n = reap(NULL);
	if (n > 0 && !fd_readable(g.efd)) {
		st.missed_completions += (unsigned int)n;
		log_missed("reaped %d AIO completion(s) no eventfd signal reported", n);
	}
	req_prod = *(volatile RING_IDX *)&g.ring.sring->req_prod;
	process_ring();
	if (g.ring.req_cons != cons && !fd_readable(xenevtchn_fd(g.xce))) {
		st.missed_kicks++;
		log_missed("took %u request(s) from the ring that no event-channel "
			   "kick announced (req_prod=%u, req_cons was %u)",
			   g.ring.req_cons - cons, req_prod, cons);
	}

	/*
	 * rsp_event <= rsp_prod: the frontend's last final check asked for a
	 * notification at a response we have already pushed.  Normal while it
	 * is processing; if it stays so for a whole idle period with nothing
	 * new, the notification got lost: send one more (once per state).
	 */
	rsp_prod = *(volatile RING_IDX *)&g.ring.sring->rsp_prod;
	rsp_event = *(volatile RING_IDX *)&g.ring.sring->rsp_event;
	xen_rmb();
	if ((int32_t)(rsp_prod - rsp_event) >= 0 && g.idle_valid &&
	    rsp_prod == g.idle_rsp_prod && rsp_event == g.idle_rsp_event &&
	    g.renotified_at != rsp_prod) {
		st.renotifies++;
		g.renotified_at = rsp_prod;
		log_missed("frontend has not consumed responses up to rsp_prod=%u "
			   "(rsp_event=%u) for over %d ms: notifying again", rsp_prod,
			   rsp_event, IDLE_CHECK_MS);
		if (xenevtchn_notify(g.xce, g.local_port) < 0)
			logmsg("event channel notify failed: %s", strerror(errno));
	}
	g.idle_rsp_prod = rsp_prod;
	g.idle_rsp_event = rsp_event;
	g.idle_valid = true;
}


/* The event channel fired (the main loop then processes the ring). */
void handle_kick(void)
{
	xenevtchn_port_or_error_t port = xenevtchn_pending(g.xce);

	/* unmask before looking at the ring: a kick after our final check
	 * must raise a new event */
	st.kicks++;
	if (port >= 0 && xenevtchn_unmask(g.xce, (evtchn_port_t)port) < 0)
		logmsg("event channel unmask: %s", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* connecting to the frontend                                          */

void disconnect_ring(void)
{
	if (g.port_bound) {
		if (xenevtchn_unbind(g.xce, g.local_port) < 0)
			logmsg("event channel unbind: %s", strerror(errno));
		g.port_bound = false;
	}
	/* AIO and the persistent grants first: kept mappings go before
	 * the ring does */
	io_disconnect();
	if (g.ring_map) {
		if (xengnttab_unmap(g.xgt, g.ring_map, g.ring_pages) < 0)
			logmsg("ring unmap: %s", strerror(errno));
		g.ring_map = NULL;
	}
	g.connected = false;
}

static int map_ring(struct fe_ring *fr)
{
	g.ring_map = xengnttab_map_domain_grant_refs(g.xgt, fr->pages,
						     opt.fe_domid, fr->refs,
						     PROT_READ | PROT_WRITE);
	if (!g.ring_map) {
		logmsg("mapping ring (%u page(s), ring-ref %u, domid %u) failed: %s",
		       fr->pages, fr->refs[0], opt.fe_domid, strerror(errno));
		return -1;
	}
	g.ring_pages = fr->pages;
	BACK_RING_INIT(&g.ring, (blkif_sring_t *)g.ring_map,
		       (size_t)XPAGE_SIZE * fr->pages);
	return 0;
}

static int bind_evtchn(const struct fe_ring *fr)
{
	xenevtchn_port_or_error_t port;

	port = xenevtchn_bind_interdomain(g.xce, opt.fe_domid, fr->evtchn);
	if (port < 0) {
		logmsg("binding event channel %u of domain %u failed: %s",
		       fr->evtchn, opt.fe_domid, strerror(errno));
		return -1;
	}
	g.local_port = (evtchn_port_t)port;
	g.port_bound = true;
	return 0;
}

/* The frontend is Initialised or Connected: map, bind, go Connected. */
int connect_ring(void)
{
	struct fe_ring fr;

	if (read_frontend_ring(&fr) < 0 || map_ring(&fr) < 0)
		return -1;
	if (io_connect(RING_SIZE(&g.ring)) < 0 ||
	    pgrant_connect(opt.persistent && fr.persistent, g.npend) < 0 ||
	    bind_evtchn(&fr) < 0)
		goto fail;
	g.connected = true;
	if (announce_connected() < 0)
		goto fail;
	logmsg("connected: frontend domid %u, ring %u page(s) (%u slots, ring-ref "
	       "%u), event-channel %u (local port %u), persistent grants %s "
	       "(pool of up to %llu)", opt.fe_domid, fr.pages, g.npend, fr.refs[0],
	       fr.evtchn, g.local_port, pgrant_on() ? "on" : "off", st.pgrant_max);
	/* requests may already be waiting */
	process_ring();
	return 0;

fail:
	disconnect_ring();
	return -1;
}
