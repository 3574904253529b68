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
 * This file: options, logging, signals, the event loop and shutdown; the
 * other units are listed in mapblk.h.  See README.md for the command line
 * and the xenstore protocol details.
 */
#define _GNU_SOURCE
#include "mapblk.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

struct options opt = {
	.be_domid = 0,
	.backend_kind = "vbd",
	.type = "qdisk",
	.max_ring_order = MAX_RING_ORDER,
	.persistent = true,
};

struct backend g = {
	.img_fd = -1,
	.efd = -1,
	.sfd = -1,
	.free_head = -1,
};

struct stats st;

/* ------------------------------------------------------------------ */
/* logging                                                             */

void logmsg(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", buf);
}

void print_stats(const char *when)
{
	fprintf(stderr, PROG ": stats(%s): requests=%llu reads=%llu writes=%llu "
		"flushes=%llu segments=%llu map_calls=%llu map_errors=%llu "
		"unmap_errors=%llu io_errors=%llu errors=%llu eopnotsupp=%llu "
		"rejections=%llu bytes_read=%llu bytes_written=%llu "
		"unconsumed_failed=%llu kicks=%llu aio_wakeups=%llu notifies=%llu "
		"missed_kicks=%llu missed_completions=%llu renotifies=%llu "
		"discards=%llu secure_discards=%llu held=%llu persistent=%llu "
		"pgrant_maps=%llu pgrant_hits=%llu pgrant_pool=%u "
		"pgrant_peak=%llu pgrant_max=%llu req_maps=%llu\n", when,
		st.requests, st.reads, st.writes, st.flushes, st.segments,
		st.map_calls, st.map_errors, st.unmap_errors, st.io_errors,
		st.errors, st.eopnotsupp, st.rejections, st.bytes_read,
		st.bytes_written, st.unconsumed_failed, st.kicks, st.aio_wakeups,
		st.notifies, st.missed_kicks, st.missed_completions, st.renotifies,
		st.discards, st.secure_discards, st.held, st.persistent,
		st.pgrant_maps, st.pgrant_hits, pgrant_count(), st.pgrant_peak,
		st.pgrant_max, st.req_maps);
}

const char *op_name(unsigned int op)
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

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ */
/* signals                                                             */

void request_stop(enum stop_reason why, const char *msg)
{
	if (g.stop != STOP_NONE)
		return;
	g.stop = why;
	logmsg("stopping: %s", msg);
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
	if (!g.connected || g.abandoned)
		return;
	wait_inflight();
	logmsg("abandoning the ring: %u held request(s) and whatever is still "
	       "on the ring stay unanswered; state Closed", held_count());
	drop_held();
	g.abandoned = true;
	disconnect_ring();
	set_be_state(XenbusStateClosed);
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;
	char msg[32];

	while (read(g.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			print_stats("now");
			print_ring_state("now");
		} else if (si.ssi_signo == SIGUSR2) {
			abandon();
		} else {
			snprintf(msg, sizeof(msg), "SIG%s",
				 sigabbrev_np((int)si.ssi_signo) ?: "?");
			request_stop(STOP_SIGNAL, msg);
		}
	}
}

/* ------------------------------------------------------------------ */
/* shutdown                                                            */

static void shutdown_backend(void)
{
	bool was_connected = g.connected;

	if (g.be_state < XenbusStateClosing)
		set_be_state(XenbusStateClosing);
	if (was_connected)
		release_held();

	/* no new requests from here on; finish what is in flight */
	wait_inflight();
	if (g.inflight)
		logmsg("giving up on %u in-flight request(s); their mappings stay "
		       "until exit", g.inflight);
	else
		fail_unconsumed();

	if (was_connected && !g.inflight)
		disconnect_ring();
	set_be_state(XenbusStateClosed);
	remove_created_nodes(was_connected);
	if (close_image() < 0)
		g.exit_code = 1;
}

/* ------------------------------------------------------------------ */
/* command line                                                        */

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
"  --no-persistent         advertise feature-persistent=0: map every request's\n"
"                          grants and unmap them when it completes\n"
"  --max-persistent N      bound of the persistent-grant pool, 1..%u (default:\n"
"                          ring slots * %u, 352 for a one-page ring)\n"
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
"  -h, --help\n", MAX_RING_ORDER, MAX_RING_ORDER, MAX_PGRANTS,
		BLKIF_MAX_SEGMENTS_PER_REQUEST);
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
	O_DISCARD, O_HOLD_DISCARD, O_HOLD_WRITES, O_STALL, O_NOPERSIST,
	O_MAXPERSIST,
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
		{ "no-persistent", no_argument, NULL, O_NOPERSIST },
		{ "max-persistent", required_argument, NULL, O_MAXPERSIST },
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
		case O_NOPERSIST: opt.persistent = false; break;
		case O_MAXPERSIST:
			if (parse_uint(optarg, MAX_PGRANTS, &v) || v == 0)
				goto bad;
			opt.max_persistent = (unsigned int)v;
			break;
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

/* ------------------------------------------------------------------ */
/* setup and the event loop                                            */

/* Block the signals before any library starts a thread, so that only the
 * signalfd sees them; and the eventfd that AIO completions signal. */
static int setup_fds(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		logmsg("sigprocmask: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	g.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (g.sfd < 0) {
		logmsg("signalfd: %s", strerror(errno));
		return -1;
	}
	g.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g.efd < 0) {
		logmsg("eventfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int open_xen(void)
{
	g.xs = xs_open(0);
	if (!g.xs) {
		logmsg("cannot connect to xenstore: %s", strerror(errno));
		return -1;
	}
	g.xgt = xengnttab_open(NULL, 0);
	if (!g.xgt) {
		logmsg("cannot open gntdev (/dev/xen/gntdev): %s", strerror(errno));
		return -1;
	}
	g.xce = xenevtchn_open(NULL, 0);
	if (!g.xce) {
		logmsg("cannot open /dev/xen/evtchn: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void close_xen(void)
{
	if (g.xce)
		xenevtchn_close(g.xce);
	if (g.xgt)
		xengnttab_close(g.xgt);
	if (g.xs)
		xs_close(g.xs);
}

static void event_loop(void)
{
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
		if (i_evt >= 0 && pfd[i_evt].revents)
			handle_kick();
		if (i_aio >= 0 && pfd[i_aio].revents)
			handle_aio_wakeup();
		/*
		 * Always, also after completions only: they free response slots
		 * and in-flight capacity (and may unblock a waiting flush), and a
		 * frontend with a full ring sends no further kick.  Ends with
		 * RING_FINAL_CHECK_FOR_REQUESTS (req_event re-armed).
		 */
		process_ring();
	}
}

int main(int argc, char **argv)
{
	int rc = 1;

	parse_args(argc, argv);
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (opt.daemonize && daemon(1, 1) < 0) {
		logmsg("daemon: %s", strerror(errno));
		return 1;
	}
	if (opt.pidfile && write_pidfile() < 0)
		return 1;
	if (setup_fds() < 0 || open_image() < 0)
		goto out;

	snprintf(g.be_path, sizeof(g.be_path), "/local/domain/%u/backend/%s/%u/%lu",
		 opt.be_domid, opt.backend_kind, opt.fe_domid, opt.devid);
	snprintf(g.fe_path, sizeof(g.fe_path), "/local/domain/%u/device/vbd/%lu",
		 opt.fe_domid, opt.devid);

	if (open_xen() < 0 || setup_xenstore() < 0)
		goto out;
	watch_nodes();
	logmsg("serving %s (%" PRIu64 " sectors%s) as devid %lu to domain %u; "
	       "waiting for the frontend", opt.image, g.sectors,
	       opt.buffered ? ", buffered" : ", O_DIRECT", opt.devid, opt.fe_domid);
	check_xenstore();

	event_loop();
	shutdown_backend();
	rc = g.exit_code;

out:
	close_xen();
	if (g.img_fd >= 0)
		close(g.img_fd);
	if (opt.pidfile)
		unlink(opt.pidfile);
	if (opt.stats)
		print_stats("exit");
	logmsg("exit %d", rc);
	return rc;
}
