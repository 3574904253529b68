// SPDX-License-Identifier: GPL-2.0
/*
 * xen-mapblk: the xenbus handshake.
 *
 * Creates (or adopts) the backend and frontend directories, advertises the
 * features, follows the frontend's state and the toolstack's "online" node
 * through watches, reads what the frontend published for its ring, and
 * removes what we created on a signal-initiated stop.
 */
#define _GNU_SOURCE
#include "mapblk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void set_be_state(int state)
{
	if (g.be_state == state)
		return;
	if (xs_printf(XBT_NULL, g.be_path, "state", "%d", state) == 0) {
		dbg("backend state %d -> %d", g.be_state, state);
		g.be_state = state;
	}
}

/* ------------------------------------------------------------------ */
/* xenstore node creation                                              */

static int write_be_features(xs_transaction_t t)
{
	const char *b = g.be_path;

	if (xs_printf(t, b, "feature-flush-cache", "1") ||
	    xs_printf(t, b, "feature-barrier", "0") ||
	    xs_printf(t, b, "feature-persistent", "%d", opt.persistent) ||
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

/*
 * --replace: remove the old nodes of this device.  A local (same-domain)
 * frontend device must be gone before the directory reappears, or the
 * xenbus frontend keeps the stale device and never probes the new one.
 */
static int remove_old_nodes(void)
{
	bool which[2] = { !opt.no_fe_nodes, true };
	bool local = opt.fe_domid == opt.be_domid;
	char sysdev[64];
	int i;

	if (xs_txn(remove_nodes_txn, which) < 0) {
		logmsg("--replace: removing old nodes failed: %s", strerror(errno));
		return -1;
	}
	snprintf(sysdev, sizeof(sysdev), "/sys/bus/xen/devices/vbd-%lu", opt.devid);
	for (i = 0; local && i < 50 && access(sysdev, F_OK) == 0; i++)
		sleep_ms(100);
	if (local && access(sysdev, F_OK) == 0)
		logmsg("warning: %s still exists after removing its nodes", sysdev);
	return 0;
}

int setup_xenstore(void)
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
	if (opt.replace && remove_old_nodes() < 0)
		return -1;

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

static int watch_one(const char *dir, const char *node, const char *token)
{
	char p[320];

	snprintf(p, sizeof(p), "%s/%s", dir, node);
	if (!xs_watch(g.xs, p, token)) {
		logmsg("xs_watch %s: %s", p, strerror(errno));
		return -1;
	}
	return 0;
}

/* Watch the frontend's state and the toolstack's online switch. */
int watch_nodes(void)
{
	int ret = 0;

	if (watch_one(g.fe_path, "state", "fe-state") < 0) {
		g.exit_code = 1;
		request_stop(STOP_ERROR, "cannot watch the frontend");
		ret = -1;
	}
	if (watch_one(g.be_path, "online", "be-online") < 0) {
		g.exit_code = 1;
		request_stop(STOP_ERROR, "cannot watch the backend");
		ret = -1;
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* connecting                                                          */

/*
 * What the frontend published for its ring: protocol (native only),
 * ring-page-order + ring-ref0.. (or ring-ref), event-channel and whether
 * it wants persistent grants (feature-persistent, missing = 0).
 */
int read_frontend_ring(struct fe_ring *fr)
{
	const char *f = g.fe_path;
	unsigned long long order = 0, v;
	unsigned int i;
	char *proto;
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
	fr->pages = 1u << order;
	for (i = 0; i < fr->pages; i++) {
		char node[32];

		if (multi)
			snprintf(node, sizeof(node), "ring-ref%u", i);
		else
			snprintf(node, sizeof(node), "ring-ref");
		if (xs_get_ull(f, node, &v) < 0 || v > UINT32_MAX) {
			logmsg("frontend %s/%s missing or invalid", f, node);
			return -1;
		}
		fr->refs[i] = (uint32_t)v;
	}
	if (xs_get_ull(f, "event-channel", &v) < 0 || v > UINT32_MAX) {
		logmsg("frontend %s/event-channel missing or invalid", f);
		return -1;
	}
	fr->evtchn = (evtchn_port_t)v;
	fr->persistent = xs_get_ull(f, "feature-persistent", &v) == 0 && v == 1;
	return 0;
}

static int connect_txn(xs_transaction_t t, void *arg)
{
	(void)arg;
	if (write_be_features(t) ||
	    xs_printf(t, g.be_path, "state", "%d", XenbusStateConnected))
		return -1;
	return 0;
}

/* Features and size once more, then Connected, in one transaction. */
int announce_connected(void)
{
	if (xs_txn(connect_txn, NULL) < 0) {
		logmsg("switching to Connected failed: %s", strerror(errno));
		return -1;
	}
	g.be_state = XenbusStateConnected;
	return 0;
}

/* ------------------------------------------------------------------ */
/* watches and state                                                   */

void check_xenstore(void)
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

void handle_watches(void)
{
	char **w;

	while ((w = xs_check_watch(g.xs)) != NULL) {
		dbg("watch %s", w[XS_WATCH_PATH]);
		free(w);
	}
	check_xenstore();
}

/* ------------------------------------------------------------------ */
/* removal at shutdown                                                 */

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

/*
 * SIGTERM (or a failed setup): undo what we created.  After a frontend or
 * toolstack initiated close the nodes stay, in state Closed, for whoever
 * owns the device to remove.
 */
void remove_created_nodes(bool was_connected)
{
	bool which[2] = { g.created_fe, g.created_be };

	if (g.stop != STOP_SIGNAL && g.stop != STOP_ERROR)
		return;
	if (!g.created_fe && !g.created_be)
		return;
	if (was_connected && g.created_fe)
		wait_frontend_closed(2000);
	if (xs_txn(remove_nodes_txn, which) < 0)
		logmsg("removing xenstore nodes failed: %s", strerror(errno));
	else
		logmsg("removed %s%s%s", g.created_be ? g.be_path : "",
		       g.created_fe ? " and " : "", g.created_fe ? g.fe_path : "");
}
