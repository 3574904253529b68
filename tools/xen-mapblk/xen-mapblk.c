// SPDX-License-Identifier: GPL-2.0
/*
 * xen-mapblk: a small userspace Xen blkif backend.
 *
 * Serves one virtual block device to a frontend domain from a raw image file
 * (or block device) opened with O_DIRECT.  The data path is the one QEMU's
 * qdisk backend used around 2012: every request's grants are mapped with a
 * single gntdev map call, and Linux native AIO (io_submit, IOCB_CMD_PREADV /
 * IOCB_CMD_PWRITEV) reads/writes the image straight into/out of the mapped
 * frames.  Completions are signalled through an eventfd (IOCB_FLAG_RESFD)
 * that is polled together with the event channel, the xenstore watch fd and
 * a signalfd.
 *
 * Single-threaded; one ring (no multi-queue); ring of 1..16 pages.
 * See README.md for the command line and the xenstore protocol details.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>

#include <xengnttab.h>
#include <xenevtchn.h>
#include <xenstore.h>

#define PROG "xen-mapblk"
#define MAX_LOGGED_REJECTIONS 1000
#define IDLE_CHECK_MS 1000	/* poll timeout while connected */
#define MAX_LOGGED_MISSED 100

/* ------------------------------------------------------------------ */
/* options                                                             */

static struct {
	unsigned int fe_domid;
	unsigned int be_domid;
	unsigned long devid;
	bool have_fe, have_devid;
	const char *image;
	const char *backend_kind;	/* path component: backend/<kind>/... */
	const char *type;		/* value of the backend "type" node */
	unsigned int max_ring_order;
	bool readonly;
	bool buffered;
	bool discard;		/* advertise feature-discard, discard-secure */
	bool hold_discard;	/* never answer a discard (a backend dying) */
	bool hold_writes;	/* never answer a write either */
	unsigned int stall_ms;	/* wait before mapping each read/write */
	bool no_create;
	bool no_fe_nodes;
	bool replace;
	bool stats;
	bool daemonize;
	int verbose;
	const char *pidfile;
} opt = {
	.be_domid = 0,
	.backend_kind = "vbd",
	.type = "qdisk",
	.max_ring_order = MAX_RING_ORDER,
};

/* ------------------------------------------------------------------ */
/* state                                                               */

struct pending {
	int next_free;			/* free-list link, -1 = end */
	bool busy;
	uint64_t id;			/* echoed in the response */
	uint8_t op;			/* echoed in the response */
	bool write;
	bool sync_after;		/* FLUSH_DISKCACHE carrying data */
	void *map;			/* gntdev mapping of all segments */
	uint32_t nmap;
	uint64_t sector;
	size_t len;
	struct iocb iocb;
	struct iovec iov[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

enum stop_reason {
	STOP_NONE,
	STOP_SIGNAL,		/* SIGTERM/SIGINT/SIGHUP: remove our nodes */
	STOP_FRONTEND,		/* frontend Closing/Closed/vanished */
	STOP_TOOLSTACK,		/* backend online=0 */
	STOP_ERROR,		/* handshake failed / fatal error */
};

static struct {
	struct xs_handle *xs;
	xengnttab_handle *xgt;
	xenevtchn_handle *xce;

	int img_fd;
	uint64_t sectors;		/* image size in 512-byte sectors */

	char be_path[256];
	char fe_path[256];
	bool created_be, created_fe;
	int be_state;

	/* ring */
	bool connected;
	bool ring_broken;
	bool abandoned;		/* SIGUSR2: Closed, nothing answered */
	void *ring_map;
	unsigned int ring_pages;
	blkif_back_ring_t ring;
	evtchn_port_t local_port;
	bool port_bound;

	/* AIO */
	aio_context_t aio;
	bool aio_ok;
	int efd;
	struct pending *pend;
	unsigned int npend;
	int free_head;
	unsigned int inflight;

	/* idle check: state seen at the previous poll timeout */
	RING_IDX idle_rsp_prod, idle_rsp_event, renotified_at;
	bool idle_valid;
	time_t last_req, last_rsp;

	int sfd;
	enum stop_reason stop;
	int exit_code;
} g = {
	.img_fd = -1,
	.efd = -1,
	.sfd = -1,
	.free_head = -1,
};

static struct {
	unsigned long long requests, reads, writes, flushes;
	unsigned long long segments, map_calls, map_errors, unmap_errors;
	unsigned long long io_errors, errors, eopnotsupp, rejections;
	unsigned long long discards, secure_discards, held;
	unsigned long long bytes_read, bytes_written, unconsumed_failed;
	/* event loop: wakeups, notifications, what the idle check found */
	unsigned long long kicks, aio_wakeups, notifies;
	unsigned long long missed_kicks, missed_completions, renotifies;
} st;

/* ------------------------------------------------------------------ */
/* logging                                                             */

static void __attribute__((format(printf, 1, 2))) logmsg(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", buf);
}

#define dbg(...) do { if (opt.verbose) logmsg(__VA_ARGS__); } while (0)

static void print_stats(const char *when)
{
	fprintf(stderr, PROG ": stats(%s): requests=%llu reads=%llu writes=%llu "
		"flushes=%llu segments=%llu map_calls=%llu map_errors=%llu "
		"unmap_errors=%llu io_errors=%llu errors=%llu eopnotsupp=%llu "
		"rejections=%llu bytes_read=%llu bytes_written=%llu "
		"unconsumed_failed=%llu kicks=%llu aio_wakeups=%llu notifies=%llu "
		"missed_kicks=%llu missed_completions=%llu renotifies=%llu "
		"discards=%llu secure_discards=%llu held=%llu\n", when,
		st.requests, st.reads, st.writes, st.flushes, st.segments,
		st.map_calls, st.map_errors, st.unmap_errors, st.io_errors,
		st.errors, st.eopnotsupp, st.rejections, st.bytes_read,
		st.bytes_written, st.unconsumed_failed, st.kicks, st.aio_wakeups,
		st.notifies, st.missed_kicks, st.missed_completions, st.renotifies,
		st.discards, st.secure_discards, st.held);
}

static const char *op_name(unsigned int op)
{
	switch (op) {
	case BLKIF_OP_READ: return "read";
	case BLKIF_OP_WRITE: return "write";
	case BLKIF_OP_WRITE_BARRIER: return "barrier";
	case BLKIF_OP_FLUSH_DISKCACHE: return "flush";
	case BLKIF_OP_RESERVED_1: return "reserved1";
	case BLKIF_OP_DISCARD: return "discard";
	case BLKIF_OP_INDIRECT: return "indirect";
	default: return "unknown";
	}
}

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
/* xenstore helpers                                                    */

static int __attribute__((format(printf, 4, 5)))
xs_printf(xs_transaction_t t, const char *dir, const char *node,
	  const char *fmt, ...)
{
	char path[320], val[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return errno = ENAMETOOLONG, -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, node) >= sizeof(path))
		return errno = ENAMETOOLONG, -1;
	if (!xs_write(g.xs, t, path, val, (unsigned int)n)) {
		logmsg("xenstore write %s=%s failed: %s", path, val, strerror(errno));
		return -1;
	}
	return 0;
}

/* malloc'd NUL-terminated value or NULL (errno set) */
static char *xs_get(xs_transaction_t t, const char *dir, const char *node)
{
	char path[320];
	unsigned int len;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, node) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return xs_read(g.xs, t, path, &len);
}

/* 0 and *val on success, -1 if missing or not a number */
static int xs_get_ull(const char *dir, const char *node, unsigned long long *val)
{
	char *s = xs_get(XBT_NULL, dir, node), *end;
	int ret = -1;

	if (!s)
		return -1;
	errno = 0;
	*val = strtoull(s, &end, 0);
	if (!errno && end != s && *end == 0 && s[0] != '-')
		ret = 0;
	else
		errno = EINVAL;
	free(s);
	return ret;
}

static int xs_get_state(const char *dir)
{
	unsigned long long v;

	if (xs_get_ull(dir, "state", &v) < 0 || v > 255)
		return -1;
	return (int)v;
}

static bool xs_node_exists(xs_transaction_t t, const char *path)
{
	unsigned int len;
	char *s = xs_read(g.xs, t, path, &len);

	if (s) {
		free(s);
		return true;
	}
	return errno != ENOENT;	/* be conservative on other errors */
}

typedef int (*txn_fn)(xs_transaction_t t, void *arg);

static int xs_txn(txn_fn fn, void *arg)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(g.xs);
		int e;

		if (t == XBT_NULL)
			return -1;
		if (fn(t, arg) < 0) {
			e = errno;
			xs_transaction_end(g.xs, t, true);
			errno = e;
			return -1;
		}
		if (xs_transaction_end(g.xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

static void set_be_state(int state)
{
	if (g.be_state == state)
		return;
	if (xs_printf(XBT_NULL, g.be_path, "state", "%d", state) == 0) {
		dbg("backend state %d -> %d", g.be_state, state);
		g.be_state = state;
	}
}

/* ------------------------------------------------------------------ */
/* image                                                               */

static int open_image(void)
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

/* ------------------------------------------------------------------ */
/* xenstore node creation                                              */

static int write_be_features(xs_transaction_t t)
{
	const char *b = g.be_path;

	if (xs_printf(t, b, "feature-flush-cache", "1") ||
	    xs_printf(t, b, "feature-barrier", "0") ||
	    xs_printf(t, b, "feature-persistent", "0") ||
	    xs_printf(t, b, "max-ring-page-order", "%u", opt.max_ring_order) ||
	    xs_printf(t, b, "sector-size", "512") ||
	    xs_printf(t, b, "sectors", "%" PRIu64, g.sectors) ||
	    xs_printf(t, b, "info", "%u", opt.readonly ? VDISK_READONLY : 0))
		return -1;
	if (opt.discard &&
	    (xs_printf(t, b, "feature-discard", "1") ||
	     xs_printf(t, b, "discard-secure", "1") ||
	     xs_printf(t, b, "discard-granularity", "4096") ||
	     xs_printf(t, b, "discard-alignment", "0")))
		return -1;
	return 0;
}

static int create_nodes_txn(xs_transaction_t t, void *arg)
{
	struct xs_permissions be_perms[2] = {
		{ .id = opt.be_domid, .perms = XS_PERM_NONE },
		{ .id = opt.fe_domid, .perms = XS_PERM_READ },
	};
	struct xs_permissions fe_perms[2] = {
		{ .id = opt.fe_domid, .perms = XS_PERM_NONE },
		{ .id = opt.be_domid, .perms = XS_PERM_READ },
	};
	const char *b = g.be_path, *f = g.fe_path;
	char name[VDEV_NAME_MAX];

	(void)arg;
	if (xs_node_exists(t, b) || (!opt.no_fe_nodes && xs_node_exists(t, f))) {
		errno = EEXIST;
		return -1;
	}

	/* backend directory: owned by the backend, frontend may read */
	if (!xs_mkdir(g.xs, t, b) || !xs_set_permissions(g.xs, t, b, be_perms, 2))
		return -1;
	/*
	 * The state goes straight to InitWait inside the creating transaction:
	 * an in-kernel xenbus backend driver for the same <kind> (xen-blkback
	 * for "vbd") only claims nodes that it sees in state Initialising, so
	 * it never sees ours.
	 */
	if (xs_printf(t, b, "frontend", "%s", f) ||
	    xs_printf(t, b, "frontend-id", "%u", opt.fe_domid) ||
	    xs_printf(t, b, "online", "1") ||
	    xs_printf(t, b, "removable", "0") ||
	    xs_printf(t, b, "bootable", "1") ||
	    xs_printf(t, b, "type", "%s", opt.type) ||
	    xs_printf(t, b, "params", "%s", opt.image) ||
	    xs_printf(t, b, "mode", "%s", opt.readonly ? "r" : "w") ||
	    xs_printf(t, b, "device-type", "disk") ||
	    write_be_features(t))
		return -1;
	if (vdev_to_name(opt.devid, name, sizeof(name)) == 0 &&
	    xs_printf(t, b, "dev", "%s", name))
		return -1;
	if (xs_printf(t, b, "state", "%d", XenbusStateInitWait))
		return -1;

	if (opt.no_fe_nodes)
		return 0;

	/* frontend directory: owned by the frontend, backend may read */
	if (!xs_mkdir(g.xs, t, f) || !xs_set_permissions(g.xs, t, f, fe_perms, 2))
		return -1;
	if (xs_printf(t, f, "backend", "%s", b) ||
	    xs_printf(t, f, "backend-id", "%u", opt.be_domid) ||
	    xs_printf(t, f, "virtual-device", "%lu", opt.devid) ||
	    xs_printf(t, f, "device-type", "disk") ||
	    xs_printf(t, f, "trusted", "1") ||
	    xs_printf(t, f, "state", "%d", XenbusStateInitialising))
		return -1;
	return 0;
}

static int remove_nodes_txn(xs_transaction_t t, void *arg)
{
	bool *which = arg;	/* [0]: frontend, [1]: backend */

	if (which[0] && !xs_rm(g.xs, t, g.fe_path) && errno != ENOENT)
		return -1;
	if (which[1] && !xs_rm(g.xs, t, g.be_path) && errno != ENOENT)
		return -1;
	return 0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int existing_be_txn(xs_transaction_t t, void *arg)
{
	char *fe;

	(void)arg;
	if (!xs_node_exists(t, g.be_path)) {
		logmsg("--no-xenstore-create: %s does not exist", g.be_path);
		errno = ENOENT;
		return -1;
	}
	/* a pre-created backend names its frontend: follow it */
	fe = xs_get(t, g.be_path, "frontend");
	if (fe) {
		if (fe[0] == '/' && strlen(fe) < sizeof(g.fe_path))
			strcpy(g.fe_path, fe);
		else
			logmsg("ignoring odd %s/frontend '%s'", g.be_path, fe);
		free(fe);
	}
	if (write_be_features(t) ||
	    xs_printf(t, g.be_path, "state", "%d", XenbusStateInitWait))
		return -1;
	return 0;
}

static int setup_xenstore(void)
{
	if (opt.no_create) {
		if (xs_txn(existing_be_txn, NULL) < 0) {
			logmsg("cannot set up pre-created backend %s: %s",
			       g.be_path, strerror(errno));
			return -1;
		}
		g.be_state = XenbusStateInitWait;
		return 0;
	}

	if (opt.replace) {
		bool which[2] = { !opt.no_fe_nodes, true };
		char sysdev[64];
		int i;

		if (xs_txn(remove_nodes_txn, which) < 0) {
			logmsg("--replace: removing old nodes failed: %s", strerror(errno));
			return -1;
		}
		/*
		 * A local (same-domain) frontend device must be gone before the
		 * directory reappears, or the xenbus frontend keeps the stale
		 * device and never probes the new one.
		 */
		snprintf(sysdev, sizeof(sysdev), "/sys/bus/xen/devices/vbd-%lu", opt.devid);
		for (i = 0; opt.fe_domid == opt.be_domid && i < 50 &&
			    access(sysdev, F_OK) == 0; i++)
			sleep_ms(100);
		if (opt.fe_domid == opt.be_domid && access(sysdev, F_OK) == 0)
			logmsg("warning: %s still exists after removing its nodes", sysdev);
	}

	if (xs_txn(create_nodes_txn, NULL) < 0) {
		if (errno == EEXIST)
			logmsg("%s or %s already exists (stale?); remove it "
			       "(xenstore-rm) or pass --replace", g.be_path, g.fe_path);
		else
			logmsg("creating xenstore nodes failed: %s", strerror(errno));
		return -1;
	}
	g.created_be = true;
	g.created_fe = !opt.no_fe_nodes;
	g.be_state = XenbusStateInitWait;
	logmsg("created %s%s%s (state %d), %" PRIu64 " sectors, %s",
	       g.be_path, g.created_fe ? " and " : "",
	       g.created_fe ? g.fe_path : "", XenbusStateInitWait, g.sectors,
	       opt.readonly ? "read-only" : "read-write");
	return 0;
}

/* ------------------------------------------------------------------ */
/* responses                                                           */

static void respond(uint64_t id, uint8_t op, int16_t status)
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

static void __attribute__((format(printf, 3, 4)))
reject(const blkif_request_t *req, int16_t status, const char *fmt, ...)
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
/* pending request pool                                                */

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

/* ------------------------------------------------------------------ */
/* request handling                                                    */

/*
 * Requests held unanswered, as by a backend that dies with them pending:
 * discards with --hold-discard, writes (their grants never mapped) with
 * --hold-writes (reads are served: a new disk's partition scan reads).
 * A clean stop fails them.  A ring holds at most 32 << MAX_RING_ORDER
 * requests.
 */
#define MAX_HELD	(32 << MAX_RING_ORDER)
static struct {
	uint64_t id;
	uint8_t op;
} held[MAX_HELD];
static unsigned int nheld;

static bool hold(const blkif_request_t *req, const char *what)
{
	if (nheld >= MAX_HELD)
		return false;
	held[nheld].id = req->id;
	held[nheld].op = req->operation;
	nheld++;
	st.held++;
	logmsg("holding %s id=%" PRIu64 " sector %" PRIu64, what,
	       (uint64_t)req->id, (uint64_t)req->sector_number);
	return true;
}

static void start_rw(const blkif_request_t *req, bool write, bool sync_after)
{
	unsigned int nseg = req->nr_segments, i;
	uint32_t refs[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	uint64_t nsect = 0, sector = req->sector_number;
	struct pending *p;
	struct iocb *cbs[1];
	int idx, ret;

	if (nseg == 0) {
		reject(req, BLKIF_RSP_ERROR, "nr_segments=0");
		return;
	}
	if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		reject(req, BLKIF_RSP_ERROR, "nr_segments=%u > %u", nseg,
		       BLKIF_MAX_SEGMENTS_PER_REQUEST);
		return;
	}
	for (i = 0; i < nseg; i++) {
		unsigned int fs = req->seg[i].first_sect, ls = req->seg[i].last_sect;

		if (ls >= SECTORS_PER_PAGE) {
			reject(req, BLKIF_RSP_ERROR, "seg %u: last_sect=%u > %u",
			       i, ls, SECTORS_PER_PAGE - 1);
			return;
		}
		if (fs > ls) {
			reject(req, BLKIF_RSP_ERROR, "seg %u: first_sect=%u > last_sect=%u",
			       i, fs, ls);
			return;
		}
		nsect += ls - fs + 1;
		refs[i] = req->seg[i].gref;
	}
	if (sector >= g.sectors || nsect > g.sectors - sector) {
		reject(req, BLKIF_RSP_ERROR, "sectors %" PRIu64 "+%" PRIu64
		       " beyond end of image (%" PRIu64 " sectors)",
		       sector, nsect, g.sectors);
		return;
	}
	if (write && opt.readonly) {
		reject(req, BLKIF_RSP_ERROR, "write to read-only device");
		return;
	}
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

	/* One gntdev call maps every segment, contiguously. */
	st.map_calls++;
	p->map = xengnttab_map_domain_grant_refs(g.xgt, nseg, opt.fe_domid, refs,
						 write ? PROT_READ :
						 PROT_READ | PROT_WRITE);
	if (!p->map) {
		int e = errno;

		st.map_errors++;
		pend_free(idx);
		reject(req, BLKIF_RSP_ERROR, "grant map of %u ref(s) failed "
		       "(seg 0 gref=%u, domid %u): %s", nseg, refs[0],
		       opt.fe_domid, strerror(e));
		return;
	}
	st.segments += nseg;

	p->id = req->id;
	p->op = req->operation;
	p->write = write;
	p->sync_after = sync_after;
	p->nmap = nseg;
	p->sector = sector;
	p->len = (size_t)nsect << SECTOR_SHIFT;
	for (i = 0; i < nseg; i++) {
		unsigned int fs = req->seg[i].first_sect, ls = req->seg[i].last_sect;

		p->iov[i].iov_base = (char *)p->map + (size_t)i * XPAGE_SIZE +
				     ((size_t)fs << SECTOR_SHIFT);
		p->iov[i].iov_len = (size_t)(ls - fs + 1) << SECTOR_SHIFT;
	}

	memset(&p->iocb, 0, sizeof(p->iocb));
	p->iocb.aio_data = (uint64_t)idx;
	p->iocb.aio_lio_opcode = write ? IOCB_CMD_PWRITEV : IOCB_CMD_PREADV;
	p->iocb.aio_fildes = (uint32_t)g.img_fd;
	p->iocb.aio_buf = (uint64_t)(uintptr_t)p->iov;
	p->iocb.aio_nbytes = nseg;
	p->iocb.aio_offset = (int64_t)(sector << SECTOR_SHIFT);
	p->iocb.aio_flags = IOCB_FLAG_RESFD;
	p->iocb.aio_resfd = (uint32_t)g.efd;
	cbs[0] = &p->iocb;

	ret = sys_io_submit(g.aio, 1, cbs);
	if (ret != 1) {
		int e = ret < 0 ? errno : EAGAIN;

		st.io_errors++;
		logmsg("io_submit failed for req id=%" PRIu64 " op=%u(%s) sector=%"
		       PRIu64 " len=%zu: %s", p->id, p->op, op_name(p->op), sector,
		       p->len, strerror(e));
		if (xengnttab_unmap(g.xgt, p->map, p->nmap) < 0) {
			st.unmap_errors++;
			logmsg("gntdev unmap failed: %s", strerror(errno));
		}
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
	    p->id, op_name(p->op), sector, nseg, p->len);
}

static void do_flush(const blkif_request_t *req)
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
static void do_discard(const blkif_request_t *req)
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

static void release_held(void)
{
	unsigned int i;

	for (i = 0; i < nheld; i++)
		respond(held[i].id, held[i].op, BLKIF_RSP_ERROR);
	if (nheld)
		logmsg("failed %u held request(s) at stop", nheld);
	nheld = 0;
}

static void handle_request(const blkif_request_t *req)
{
	st.requests++;
	switch (req->operation) {
	case BLKIF_OP_READ:
		start_rw(req, false, false);
		break;
	case BLKIF_OP_WRITE:
		start_rw(req, true, false);
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		/* caller has drained in-flight I/O before handing it to us */
		st.flushes++;
		if (req->nr_segments == 0)
			do_flush(req);
		else	/* flush with data: write, then fdatasync, then answer */
			start_rw(req, true, true);
		break;
	case BLKIF_OP_WRITE_BARRIER:
		reject(req, BLKIF_RSP_EOPNOTSUPP, "barrier not supported (feature-barrier=0)");
		break;
	case BLKIF_OP_DISCARD:
		if (opt.discard)
			do_discard(req);
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

static void process_ring(void)
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
static void fail_unconsumed(void)
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
/* AIO completion                                                      */

static void complete_one(const struct io_event *ev)
{
	uint64_t idx = ev->data;
	struct pending *p;
	int16_t status = BLKIF_RSP_OKAY;
	long long res = (long long)ev->res;

	if (idx >= g.npend || !g.pend[idx].busy) {
		logmsg("BUG: completion for unknown slot %" PRIu64, idx);
		return;
	}
	p = &g.pend[idx];
	g.inflight--;

	if (res < 0) {
		st.io_errors++;
		logmsg("I/O error req id=%" PRIu64 " op=%u(%s) sector=%" PRIu64
		       " len=%zu: %s", p->id, p->op, op_name(p->op), p->sector,
		       p->len, strerror((int)-res));
		status = BLKIF_RSP_ERROR;
	} else if ((unsigned long long)res != p->len) {
		st.io_errors++;
		logmsg("short I/O req id=%" PRIu64 " op=%u(%s) sector=%" PRIu64
		       ": %lld of %zu bytes", p->id, p->op, op_name(p->op),
		       p->sector, res, p->len);
		status = BLKIF_RSP_ERROR;
	} else {
		if (p->write)
			st.bytes_written += p->len;
		else
			st.bytes_read += p->len;
		if (p->sync_after && fdatasync(g.img_fd) < 0) {
			st.io_errors++;
			logmsg("fdatasync after flush-write id=%" PRIu64 ": %s",
			       p->id, strerror(errno));
			status = BLKIF_RSP_ERROR;
		}
	}

	/* AIO is done with the frames: unmap before telling the frontend. */
	if (xengnttab_unmap(g.xgt, p->map, p->nmap) < 0) {
		st.unmap_errors++;
		logmsg("gntdev unmap of req id=%" PRIu64 " failed: %s", p->id,
		       strerror(errno));
	}
	dbg("req id=%" PRIu64 " %s done -> %d", p->id, op_name(p->op), status);
	respond(p->id, p->op, status);
	pend_free((int)idx);
}

/* Reap completions; wait up to @tmo (NULL: do not wait). */
static int reap(struct timespec *tmo)
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
static void print_ring_state(const char *when)
{
	const blkif_sring_t *s = g.ring.sring;
	RING_IDX req_prod, rsp_prod, req_event, rsp_event;
	unsigned int nfree = 0;
	int i, head_op = -1;
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
	for (i = g.free_head; i >= 0 && nfree <= g.npend; i = g.pend[i].next_free)
		nfree++;
	if (req_prod != g.ring.req_cons && !g.ring_broken &&
	    !RING_REQUEST_PROD_OVERFLOW(&g.ring, req_prod))
		head_op = RING_GET_REQUEST(&g.ring, g.ring.req_cons)->operation;
	fprintf(stderr, PROG ": ring(%s): size=%u req_prod=%u req_cons=%u "
		"unconsumed=%u req_event=%u rsp_prod_pvt=%u rsp_prod=%u "
		"rsp_event=%u inflight=%u free_slots=%u/%u head_op=%d(%s)%s%s "
		"evtchn_pending=%d eventfd_pending=%d last_req=%llds_ago "
		"last_rsp=%llds_ago\n", when, RING_SIZE(&g.ring), req_prod,
		g.ring.req_cons, req_prod - g.ring.req_cons, req_event,
		g.ring.rsp_prod_pvt, rsp_prod, rsp_event, g.inflight, nfree,
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
static void idle_check(void)
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

/* ------------------------------------------------------------------ */
/* connecting to the frontend                                          */

static int connect_txn(xs_transaction_t t, void *arg)
{
	(void)arg;
	if (write_be_features(t) ||
	    xs_printf(t, g.be_path, "state", "%d", XenbusStateConnected))
		return -1;
	return 0;
}

static void disconnect_ring(void)
{
	if (g.port_bound) {
		if (xenevtchn_unbind(g.xce, g.local_port) < 0)
			logmsg("event channel unbind: %s", strerror(errno));
		g.port_bound = false;
	}
	if (g.ring_map) {
		if (xengnttab_unmap(g.xgt, g.ring_map, g.ring_pages) < 0)
			logmsg("ring unmap: %s", strerror(errno));
		g.ring_map = NULL;
	}
	if (g.aio_ok) {
		sys_io_destroy(g.aio);
		g.aio_ok = false;
	}
	free(g.pend);
	g.pend = NULL;
	g.npend = 0;
	g.free_head = -1;
	g.connected = false;
}

static int connect_ring(void)
{
	const char *f = g.fe_path;
	unsigned long long order = 0, v, evtchn;
	uint32_t refs[MAX_RING_PAGES];
	char *proto;
	unsigned int i, nr;
	xenevtchn_port_or_error_t port;
	bool multi;

	proto = xs_get(XBT_NULL, f, "protocol");
	if (proto && strcmp(proto, XEN_IO_PROTO_ABI_NATIVE) != 0) {
		logmsg("frontend protocol '%s' not supported (only %s)", proto,
		       XEN_IO_PROTO_ABI_NATIVE);
		free(proto);
		return -1;
	}
	free(proto);

	multi = xs_get_ull(f, "ring-page-order", &order) == 0;
	if (multi && order > opt.max_ring_order) {
		logmsg("frontend ring-page-order %llu > max-ring-page-order %u",
		       order, opt.max_ring_order);
		return -1;
	}
	nr = 1u << order;
	for (i = 0; i < nr; i++) {
		char node[32];

		if (multi)
			snprintf(node, sizeof(node), "ring-ref%u", i);
		else
			snprintf(node, sizeof(node), "ring-ref");
		if (xs_get_ull(f, node, &v) < 0 || v > UINT32_MAX) {
			logmsg("frontend %s/%s missing or invalid", f, node);
			return -1;
		}
		refs[i] = (uint32_t)v;
	}
	if (xs_get_ull(f, "event-channel", &evtchn) < 0 || evtchn > UINT32_MAX) {
		logmsg("frontend %s/event-channel missing or invalid", f);
		return -1;
	}

	g.ring_map = xengnttab_map_domain_grant_refs(g.xgt, nr, opt.fe_domid,
						     refs, PROT_READ | PROT_WRITE);
	if (!g.ring_map) {
		logmsg("mapping ring (%u page(s), ring-ref %u, domid %u) failed: %s",
		       nr, refs[0], opt.fe_domid, strerror(errno));
		return -1;
	}
	g.ring_pages = nr;
	BACK_RING_INIT(&g.ring, (blkif_sring_t *)g.ring_map, (size_t)XPAGE_SIZE * nr);

	g.npend = RING_SIZE(&g.ring);
	g.pend = calloc(g.npend, sizeof(*g.pend));
	if (!g.pend) {
		logmsg("out of memory");
		goto fail;
	}
	g.free_head = -1;
	for (i = g.npend; i-- > 0;)
		pend_free((int)i);

	g.aio = 0;
	if (sys_io_setup(g.npend, &g.aio) < 0) {
		logmsg("io_setup(%u): %s (see /proc/sys/fs/aio-max-nr)", g.npend,
		       strerror(errno));
		goto fail;
	}
	g.aio_ok = true;

	port = xenevtchn_bind_interdomain(g.xce, opt.fe_domid, (evtchn_port_t)evtchn);
	if (port < 0) {
		logmsg("binding event channel %llu of domain %u failed: %s",
		       evtchn, opt.fe_domid, strerror(errno));
		goto fail;
	}
	g.local_port = (evtchn_port_t)port;
	g.port_bound = true;
	g.connected = true;

	if (xs_txn(connect_txn, NULL) < 0) {
		logmsg("switching to Connected failed: %s", strerror(errno));
		goto fail;
	}
	g.be_state = XenbusStateConnected;
	logmsg("connected: frontend domid %u, ring %u page(s) (%u slots, ring-ref "
	       "%u), event-channel %llu (local port %u)", opt.fe_domid, nr,
	       g.npend, refs[0], evtchn, g.local_port);
	/* requests may already be waiting */
	process_ring();
	return 0;

fail:
	disconnect_ring();
	return -1;
}

/* ------------------------------------------------------------------ */
/* watches and state                                                   */

static void request_stop(enum stop_reason why, const char *msg)
{
	if (g.stop != STOP_NONE)
		return;
	g.stop = why;
	logmsg("stopping: %s", msg);
}

static void check_xenstore(void)
{
	int fst = xs_get_state(g.fe_path);
	unsigned long long online;

	if (xs_get_ull(g.be_path, "online", &online) == 0 && online == 0) {
		request_stop(STOP_TOOLSTACK, "backend online=0");
		return;
	}
	if (!g.connected) {
		if (fst == XenbusStateInitialised || fst == XenbusStateConnected) {
			if (g.ring_broken || g.abandoned)
				return;
			if (connect_ring() < 0) {
				g.exit_code = 1;
				set_be_state(XenbusStateClosing);
				request_stop(STOP_ERROR, "cannot connect to the frontend");
			}
		} else if (fst == XenbusStateClosing || fst == XenbusStateClosed) {
			request_stop(STOP_FRONTEND, "frontend closed before connecting");
		}
		return;
	}
	if (fst != XenbusStateInitialised && fst != XenbusStateConnected) {
		char msg[64];

		if (fst < 0)
			snprintf(msg, sizeof(msg), "frontend state node gone");
		else
			snprintf(msg, sizeof(msg), "frontend state %d", fst);
		request_stop(STOP_FRONTEND, msg);
	}
}

static void handle_watches(void)
{
	char **w;

	while ((w = xs_check_watch(g.xs)) != NULL) {
		dbg("watch %s", w[XS_WATCH_PATH]);
		free(w);
	}
	check_xenstore();
}

/*
 * SIGUSR2: give up the way a backend that closes without answering does
 * (blkback stops its thread before it reaches Closed and never answers the
 * requests it had not read yet): what is in flight completes and is
 * answered, held requests and those still on the ring are not, the ring is
 * unmapped and the state goes to Closed.  The nodes stay and we keep
 * running until the device is removed or we are told to stop.
 */
static void abandon(void)
{
	struct timespec tmo = { 1, 0 };

	if (!g.connected || g.abandoned)
		return;
	while (g.inflight && reap(&tmo) >= 0)
		;
	logmsg("abandoning the ring: %u held request(s) and whatever is still "
	       "on the ring stay unanswered; state Closed", nheld);
	nheld = 0;
	g.abandoned = true;
	disconnect_ring();
	set_be_state(XenbusStateClosed);
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;

	while (read(g.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			print_stats("now");
			print_ring_state("now");
			continue;
		}
		if (si.ssi_signo == SIGUSR2) {
			abandon();
			continue;
		}
		{
			char msg[32];

			snprintf(msg, sizeof(msg), "SIG%s",
				 sigabbrev_np((int)si.ssi_signo) ?: "?");
			request_stop(STOP_SIGNAL, msg);
		}
	}
}

/* ------------------------------------------------------------------ */
/* shutdown                                                            */

static void wait_frontend_closed(unsigned int ms)
{
	unsigned int waited;

	for (waited = 0; waited < ms; waited += 50) {
		int fst = xs_get_state(g.fe_path);

		if (fst < 0 || fst == XenbusStateClosed)
			return;
		sleep_ms(50);
	}
	logmsg("frontend did not reach Closed within %u ms", ms);
}

static void shutdown_backend(void)
{
	bool was_connected = g.connected;
	time_t start = time(NULL), last = start;

	if (g.be_state < XenbusStateClosing)
		set_be_state(XenbusStateClosing);
	if (was_connected)
		release_held();

	/* no new requests from here on; finish what is in flight */
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
	if (g.inflight)
		logmsg("giving up on %u in-flight request(s); their mappings stay "
		       "until exit", g.inflight);
	else
		fail_unconsumed();

	if (was_connected && !g.inflight)
		disconnect_ring();
	set_be_state(XenbusStateClosed);

	/* SIGTERM (or a failed setup): undo what we created.  After a
	 * frontend or toolstack initiated close the nodes stay, in state
	 * Closed, for whoever owns the device to remove. */
	if ((g.stop == STOP_SIGNAL || g.stop == STOP_ERROR) &&
	    (g.created_fe || g.created_be)) {
		bool which[2] = { g.created_fe, g.created_be };

		if (was_connected && g.created_fe)
			wait_frontend_closed(2000);
		if (xs_txn(remove_nodes_txn, which) < 0)
			logmsg("removing xenstore nodes failed: %s", strerror(errno));
		else
			logmsg("removed %s%s%s", g.created_be ? g.be_path : "",
			       g.created_fe ? " and " : "", g.created_fe ? g.fe_path : "");
	}

	if (g.img_fd >= 0) {
		if (!opt.readonly && fsync(g.img_fd) < 0) {
			logmsg("fsync %s: %s", opt.image, strerror(errno));
			g.exit_code = 1;
		}
		close(g.img_fd);
		g.img_fd = -1;
	}
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --frontend-domid D --devid N --image PATH [options]\n"
"  --frontend-domid D      domain running blkfront (0 for local attach)\n"
"  --devid N               virtual-device number, e.g. 51728 (xvdb), 51744 (xvdc)\n"
"  --image PATH            raw image file or block device (opened O_DIRECT)\n"
"  --backend-domid B       domain we run in (default 0)\n"
"  --backend-kind K        backend path component (default vbd:\n"
"                          /local/domain/B/backend/K/D/N)\n"
"  --type T                value of the backend \"type\" node (default qdisk)\n"
"  --max-ring-order N      advertised max-ring-page-order, 0..%d (default %d)\n"
"  --readonly              export read-only (mode=r, info=VDISK_READONLY)\n"
"  --buffered              do not use O_DIRECT (debugging only)\n"
"  --discard               advertise feature-discard and discard-secure; a\n"
"                          discard punches a hole in the image\n"
"  --hold-discard          with --discard: never answer a discard (tests of a\n"
"                          backend that dies with discards pending)\n"
"  --hold-writes           never answer a write (nor map its grants);\n"
"                          SIGUSR2 then closes the ring with them unanswered\n"
"  --stall-ms N            wait N ms (0..60000) before mapping each read or\n"
"                          write: a slow backend, requests sit on the ring\n"
"  --no-xenstore-create    nodes were pre-created by a script: only write the\n"
"                          backend feature/size nodes and state; remove nothing\n"
"  --no-frontend-nodes     create only the backend directory; the frontend\n"
"                          (e.g. blkif-fuzz) writes its own directory\n"
"  --replace               remove existing nodes for this device first\n"
"  --stats                 print a statistics line at exit (SIGUSR1: any time)\n"
"                          SIGUSR2: close (state Closed) without answering\n"
"                          held requests or those still on the ring\n"
"  --pidfile FILE          write our pid to FILE (removed at exit)\n"
"  --daemonize             fork into the background (stderr is kept)\n"
"  -v, --verbose           log every request\n"
"  -h, --help\n", MAX_RING_ORDER, MAX_RING_ORDER);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (!s || !*s || s[0] == '-')
		return -1;
	*out = strtoull(s, &end, 0);
	if (errno || *end || *out > max)
		return -1;
	return 0;
}

enum {
	O_FE = 256, O_BE, O_DEVID, O_IMAGE, O_KIND, O_TYPE, O_ORDER, O_RO,
	O_BUFFERED, O_NOCREATE, O_NOFE, O_REPLACE, O_STATS, O_PIDFILE, O_DAEMON,
	O_DISCARD, O_HOLD_DISCARD, O_HOLD_WRITES, O_STALL,
};

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "frontend-domid", required_argument, NULL, O_FE },
		{ "backend-domid", required_argument, NULL, O_BE },
		{ "devid", required_argument, NULL, O_DEVID },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "backend-kind", required_argument, NULL, O_KIND },
		{ "type", required_argument, NULL, O_TYPE },
		{ "max-ring-order", required_argument, NULL, O_ORDER },
		{ "readonly", no_argument, NULL, O_RO },
		{ "buffered", no_argument, NULL, O_BUFFERED },
		{ "discard", no_argument, NULL, O_DISCARD },
		{ "hold-discard", no_argument, NULL, O_HOLD_DISCARD },
		{ "hold-writes", no_argument, NULL, O_HOLD_WRITES },
		{ "stall-ms", required_argument, NULL, O_STALL },
		{ "no-xenstore-create", no_argument, NULL, O_NOCREATE },
		{ "no-frontend-nodes", no_argument, NULL, O_NOFE },
		{ "replace", no_argument, NULL, O_REPLACE },
		{ "stats", no_argument, NULL, O_STATS },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "daemonize", no_argument, NULL, O_DAEMON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c;

	while ((c = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (c) {
		case O_FE:
			if (parse_uint(optarg, 0x7fef, &v))
				goto bad;
			opt.fe_domid = (unsigned int)v;
			opt.have_fe = true;
			break;
		case O_BE:
			if (parse_uint(optarg, 0x7fef, &v))
				goto bad;
			opt.be_domid = (unsigned int)v;
			break;
		case O_DEVID:
			if (parse_uint(optarg, 0x7fffffff, &v) || v == 0)
				goto bad;
			opt.devid = (unsigned long)v;
			opt.have_devid = true;
			break;
		case O_IMAGE:
			opt.image = optarg;
			break;
		case O_KIND:
			if (!*optarg || strchr(optarg, '/'))
				goto bad;
			opt.backend_kind = optarg;
			break;
		case O_TYPE:
			opt.type = optarg;
			break;
		case O_ORDER:
			if (parse_uint(optarg, MAX_RING_ORDER, &v))
				goto bad;
			opt.max_ring_order = (unsigned int)v;
			break;
		case O_RO: opt.readonly = true; break;
		case O_BUFFERED: opt.buffered = true; break;
		case O_DISCARD: opt.discard = true; break;
		case O_HOLD_DISCARD: opt.discard = opt.hold_discard = true; break;
		case O_HOLD_WRITES: opt.hold_writes = true; break;
		case O_STALL:
			if (parse_uint(optarg, 60000, &v))
				goto bad;
			opt.stall_ms = (unsigned int)v;
			break;
		case O_NOCREATE: opt.no_create = true; break;
		case O_NOFE: opt.no_fe_nodes = true; break;
		case O_REPLACE: opt.replace = true; break;
		case O_STATS: opt.stats = true; break;
		case O_PIDFILE: opt.pidfile = optarg; break;
		case O_DAEMON: opt.daemonize = true; break;
		case 'v': opt.verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || !opt.have_fe || !opt.have_devid || !opt.image) {
		usage(stderr);
		exit(2);
	}
	if (opt.no_create && (opt.replace || opt.no_fe_nodes)) {
		logmsg("--no-xenstore-create excludes --replace and --no-frontend-nodes");
		exit(2);
	}
	return;
bad:
	logmsg("invalid value '%s' for an option", optarg);
	usage(stderr);
	exit(2);
}

static int write_pidfile(void)
{
	FILE *f = fopen(opt.pidfile, "w");

	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		logmsg("cannot write pidfile %s: %s", opt.pidfile, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	sigset_t mask;
	int rc = 1;

	parse_args(argc, argv);
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (opt.daemonize && daemon(1, 1) < 0) {
		logmsg("daemon: %s", strerror(errno));
		return 1;
	}
	if (opt.pidfile && write_pidfile() < 0)
		return 1;

	/* block before any library starts a thread, so only signalfd sees them */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		logmsg("sigprocmask: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	g.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (g.sfd < 0) {
		logmsg("signalfd: %s", strerror(errno));
		goto out;
	}
	g.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g.efd < 0) {
		logmsg("eventfd: %s", strerror(errno));
		goto out;
	}

	if (open_image() < 0)
		goto out;

	snprintf(g.be_path, sizeof(g.be_path), "/local/domain/%u/backend/%s/%u/%lu",
		 opt.be_domid, opt.backend_kind, opt.fe_domid, opt.devid);
	snprintf(g.fe_path, sizeof(g.fe_path), "/local/domain/%u/device/vbd/%lu",
		 opt.fe_domid, opt.devid);

	g.xs = xs_open(0);
	if (!g.xs) {
		logmsg("cannot connect to xenstore: %s", strerror(errno));
		goto out;
	}
	g.xgt = xengnttab_open(NULL, 0);
	if (!g.xgt) {
		logmsg("cannot open gntdev (/dev/xen/gntdev): %s", strerror(errno));
		goto out;
	}
	g.xce = xenevtchn_open(NULL, 0);
	if (!g.xce) {
		logmsg("cannot open /dev/xen/evtchn: %s", strerror(errno));
		goto out;
	}

	if (setup_xenstore() < 0)
		goto out;

	{
		char p[320];

		snprintf(p, sizeof(p), "%s/state", g.fe_path);
		if (!xs_watch(g.xs, p, "fe-state")) {
			logmsg("xs_watch %s: %s", p, strerror(errno));
			g.exit_code = 1;
			request_stop(STOP_ERROR, "cannot watch the frontend");
		}
		snprintf(p, sizeof(p), "%s/online", g.be_path);
		if (!xs_watch(g.xs, p, "be-online")) {
			logmsg("xs_watch %s: %s", p, strerror(errno));
			g.exit_code = 1;
			request_stop(STOP_ERROR, "cannot watch the backend");
		}
	}
	logmsg("serving %s (%" PRIu64 " sectors%s) as devid %lu to domain %u; "
	       "waiting for the frontend", opt.image, g.sectors,
	       opt.buffered ? ", buffered" : ", O_DIRECT", opt.devid, opt.fe_domid);
	check_xenstore();

	while (g.stop == STOP_NONE) {
		struct pollfd pfd[4];
		int n = 0, i_evt = -1, i_aio = -1, r;

		pfd[n++] = (struct pollfd){ .fd = g.sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = xs_fileno(g.xs), .events = POLLIN };
		if (g.connected) {
			i_evt = n;
			pfd[n++] = (struct pollfd){ .fd = xenevtchn_fd(g.xce), .events = POLLIN };
			i_aio = n;
			pfd[n++] = (struct pollfd){ .fd = g.efd, .events = POLLIN };
		}
		r = poll(pfd, (nfds_t)n, g.connected ? IDLE_CHECK_MS : -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			logmsg("poll: %s", strerror(errno));
			g.exit_code = 1;
			request_stop(STOP_ERROR, "poll failed");
			break;
		}
		if (r == 0) {
			idle_check();
			continue;
		}
		g.idle_valid = false;	/* something happened: restart the check */
		if (pfd[0].revents)
			handle_signals();
		if (pfd[1].revents)
			handle_watches();
		if (i_evt >= 0 && pfd[i_evt].revents) {
			xenevtchn_port_or_error_t port = xenevtchn_pending(g.xce);

			/* unmask before looking at the ring: a kick after
			 * our final check below must raise a new event */
			st.kicks++;
			if (port >= 0 &&
			    xenevtchn_unmask(g.xce, (evtchn_port_t)port) < 0)
				logmsg("event channel unmask: %s", strerror(errno));
		}
		if (i_aio >= 0 && pfd[i_aio].revents) {
			uint64_t cnt;

			/* reset the counter first, then reap everything: a
			 * completion after the read signals the eventfd again */
			st.aio_wakeups++;
			if (read(g.efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				logmsg("eventfd read: %s", strerror(errno));
			reap(NULL);
		}
		/*
		 * Always, also after completions only: they free response slots
		 * and in-flight capacity (and may unblock a waiting flush), and a
		 * frontend with a full ring sends no further kick.  Ends with
		 * RING_FINAL_CHECK_FOR_REQUESTS (req_event re-armed).
		 */
		process_ring();
	}

	shutdown_backend();
	rc = g.exit_code;

out:
	if (g.xce)
		xenevtchn_close(g.xce);
	if (g.xgt)
		xengnttab_close(g.xgt);
	if (g.xs)
		xs_close(g.xs);
	if (g.img_fd >= 0)
		close(g.img_fd);
	if (opt.pidfile)
		unlink(opt.pidfile);
	if (opt.stats)
		print_stats("exit");
	logmsg("exit %d", rc);
	return rc;
}
