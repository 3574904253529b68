// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny stand-in for libxenstore / libxengnttab / libxenevtchn, so that
 * xen-mapblk and blkif-fuzz can be run against each other on a machine that
 * is not a Xen dom0.  It is NOT Xen: it only models what the two programs
 * rely on, across two processes, with everything under $MOCK_XEN_DIR
 * (default /tmp/xen-mapblk-mock):
 *
 *  - xenstore: one directory per node under xs/, value in a file "v";
 *    transactions are an flock (not atomic for readers); watches are a
 *    polling thread that hashes the watched subtree every 10 ms.
 *  - grants: a shared file "gnt" of MOCK_NGNT pages; gntshr hands out refs
 *    (= page index), gnttab maps refs MAP_SHARED page by page into one VA
 *    range (so O_DIRECT AIO really goes into shared, separately mapped
 *    pages); unknown refs fail the whole map.  Live gnttab mappings are
 *    counted and reported at close (leak check).
 *  - event channels: a port table in the gnt header page, one unix
 *    datagram socket per process; notify sends the peer port number.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenstore.h>
#include <xengnttab.h>
#include <xenevtchn.h>

#define PG 4096
#define MOCK_NGNT 1024
#define MOCK_NPORT 256

static const char *mdir(void)
{
	const char *d = getenv("MOCK_XEN_DIR");

	return d ? d : "/tmp/xen-mapblk-mock";
}

/* ---------------------------------------------------------------- */
/* shared header page: grant validity + event channel table          */

struct hdr {
	uint32_t next_ref;
	uint32_t next_port;
	uint8_t valid[MOCK_NGNT];
	struct { int32_t owner; uint32_t peer; } port[MOCK_NPORT];
};

static int gnt_fd = -1;
static struct hdr *H;
static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;

static int hdr_open(void)
{
	char p[512];

	if (H)
		return 0;
	mkdir(mdir(), 0755);
	snprintf(p, sizeof(p), "%s/gnt", mdir());
	gnt_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (gnt_fd < 0)
		return -1;
	if (ftruncate(gnt_fd, (off_t)MOCK_NGNT * PG) < 0)
		return -1;
	H = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, gnt_fd, 0);
	if (H == MAP_FAILED) {
		H = NULL;
		return -1;
	}
	return 0;
}

static void hdr_lock(void)
{
	pthread_mutex_lock(&hlock);
	flock(gnt_fd, LOCK_EX);
}

static void hdr_unlock(void)
{
	flock(gnt_fd, LOCK_UN);
	pthread_mutex_unlock(&hlock);
}

/* ---------------------------------------------------------------- */
/* grants                                                            */

struct xengntdev_handle { int is_shr; };
static long live_maps;

xengnttab_handle *xengnttab_open(struct xentoollog_logger *l, unsigned f)
{
	(void)l; (void)f;
	if (hdr_open() < 0)
		return NULL;
	return calloc(1, sizeof(struct xengntdev_handle));
}

int xengnttab_close(xengnttab_handle *h)
{
	if (live_maps)
		fprintf(stderr, "mock-xen: LEAK: %ld grant page(s) still mapped at close\n",
			live_maps);
	free(h);
	return 0;
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *h, uint32_t count,
				      uint32_t domid, uint32_t *refs, int prot)
{
	char *va;
	uint32_t i;

	(void)h; (void)domid;
	if (count == 0) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < count; i++) {
		if (refs[i] == 0 || refs[i] >= MOCK_NGNT || !H->valid[refs[i]]) {
			errno = EINVAL;	/* gntdev: GNTST_bad_gntref -> mmap fails */
			return NULL;
		}
	}
	va = mmap(NULL, (size_t)count * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (va == MAP_FAILED)
		return NULL;
	for (i = 0; i < count; i++) {
		if (mmap(va + (size_t)i * PG, PG, prot, MAP_SHARED | MAP_FIXED, gnt_fd,
			 (off_t)refs[i] * PG) == MAP_FAILED) {
			munmap(va, (size_t)count * PG);
			return NULL;
		}
	}
	__atomic_add_fetch(&live_maps, count, __ATOMIC_SEQ_CST);
	return va;
}

int xengnttab_unmap(xengnttab_handle *h, void *addr, uint32_t count)
{
	(void)h;
	if (munmap(addr, (size_t)count * PG) < 0)
		return -1;
	__atomic_sub_fetch(&live_maps, count, __ATOMIC_SEQ_CST);
	return 0;
}

xengntshr_handle *xengntshr_open(struct xentoollog_logger *l, unsigned f)
{
	struct xengntdev_handle *h;

	(void)l; (void)f;
	if (hdr_open() < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h)
		h->is_shr = 1;
	return h;
}

int xengntshr_close(xengntshr_handle *h)
{
	free(h);
	return 0;
}

void *xengntshr_share_pages(xengntshr_handle *h, uint32_t domid, int count,
			    uint32_t *refs, int writable)
{
	uint32_t base, i;
	void *va;

	(void)h; (void)domid; (void)writable;
	hdr_lock();
	if (H->next_ref == 0)
		H->next_ref = 1;
	base = H->next_ref;
	if (count <= 0 || base + (uint32_t)count > MOCK_NGNT) {
		hdr_unlock();
		errno = ENOSPC;
		return NULL;
	}
	H->next_ref += (uint32_t)count;
	for (i = 0; i < (uint32_t)count; i++) {
		refs[i] = base + i;
		H->valid[base + i] = 1;
	}
	hdr_unlock();
	va = mmap(NULL, (size_t)count * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		  gnt_fd, (off_t)base * PG);
	if (va == MAP_FAILED)
		return NULL;
	memset(va, 0, (size_t)count * PG);
	return va;
}

int xengntshr_unshare(xengntshr_handle *h, void *start, uint32_t count)
{
	(void)h; (void)start; (void)count;
	/* refs stay valid in this model; just drop our mapping */
	return munmap(start, (size_t)count * PG);
}

/* ---------------------------------------------------------------- */
/* event channels                                                    */

struct xenevtchn_handle { int fd; };

static void sock_path(int pid, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s/evt-%d", mdir(), pid);
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *l, unsigned f)
{
	struct xenevtchn_handle *h;
	struct sockaddr_un a;

	(void)l; (void)f;
	if (hdr_open() < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sock_path(getpid(), &a);
	unlink(a.sun_path);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

int xenevtchn_close(xenevtchn_handle *h)
{
	struct sockaddr_un a;

	sock_path(getpid(), &a);
	unlink(a.sun_path);
	close(h->fd);
	free(h);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
	return h->fd;
}

static int port_alloc(uint32_t peer)
{
	uint32_t p;

	hdr_lock();
	if (H->next_port == 0)
		H->next_port = 1;
	p = H->next_port++;
	if (p >= MOCK_NPORT) {
		hdr_unlock();
		errno = ENOSPC;
		return -1;
	}
	H->port[p].owner = getpid();
	H->port[p].peer = peer;
	if (peer)
		H->port[peer].peer = p;
	hdr_unlock();
	return (int)p;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
	(void)h; (void)domid;
	return port_alloc(0);
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
						     evtchn_port_t remote)
{
	(void)h; (void)domid;
	if (remote == 0 || remote >= MOCK_NPORT || H->port[remote].owner == 0 ||
	    H->port[remote].peer != 0) {
		errno = EINVAL;
		return -1;
	}
	return port_alloc(remote);
}

int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
	(void)h;
	if (port == 0 || port >= MOCK_NPORT)
		return errno = EINVAL, -1;
	hdr_lock();
	if (H->port[port].peer)
		H->port[H->port[port].peer].peer = 0;
	H->port[port].owner = 0;
	H->port[port].peer = 0;
	hdr_unlock();
	return 0;
}

int xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	struct sockaddr_un a;
	uint32_t peer;

	if (port == 0 || port >= MOCK_NPORT || !H->port[port].peer)
		return errno = ENOTCONN, -1;
	peer = H->port[port].peer;
	sock_path(H->port[peer].owner, &a);
	if (sendto(h->fd, &peer, sizeof(peer), MSG_DONTWAIT, (struct sockaddr *)&a,
		   sizeof(a)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
	uint32_t p;

	if (recv(h->fd, &p, sizeof(p), 0) != sizeof(p))
		return -1;
	return (int)p;
}

int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	(void)h; (void)port;
	return 0;
}

/* ---------------------------------------------------------------- */
/* xenstore                                                          */

struct watch { char *path, *token; uint64_t sig; struct watch *next; };
struct ev { char *path, *token; struct ev *next; };

struct xs_handle {
	int lockfd;
	int pipe[2];
	pthread_t thr;
	bool thr_started;
	pthread_mutex_t m;
	struct watch *watches;
	struct ev *evq, **evtail;
};

static void node_dir(const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s/xs%s", mdir(), path);
}

static int mkdir_p(const char *d)
{
	char tmp[1024], *p;

	snprintf(tmp, sizeof(tmp), "%s", d);
	for (p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static uint64_t fnv(uint64_t h, const void *d, size_t n)
{
	const unsigned char *p = d;

	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static uint64_t tree_sig(const char *dir, uint64_t h)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[1024], buf[512];
	int fd;
	ssize_t n;

	if (!d)
		return fnv(h, "-", 1);
	snprintf(p, sizeof(p), "%s/v", dir);
	fd = open(p, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			h = fnv(h, buf, (size_t)n);
		close(fd);
	}
	h = fnv(h, "+", 1);
	/* order of readdir is stable enough for change detection */
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "v"))
			continue;
		h = fnv(h, e->d_name, strlen(e->d_name));
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		h = tree_sig(p, h);
	}
	closedir(d);
	return h;
}

static uint64_t watch_sig(const char *path)
{
	char d[1024];

	node_dir(path, d, sizeof(d));
	return tree_sig(d, 1469598103934665603ull);
}

static void queue_ev(struct xs_handle *h, const char *path, const char *token)
{
	struct ev *e = calloc(1, sizeof(*e));
	char c = 1;

	e->path = strdup(path);
	e->token = strdup(token);
	*h->evtail = e;
	h->evtail = &e->next;
	if (write(h->pipe[1], &c, 1) < 0) {
		/* pipe full: a wakeup is pending anyway */
	}
}

static void *watch_thread(void *arg)
{
	struct xs_handle *h = arg;

	for (;;) {
		struct watch *w;

		usleep(10000);
		pthread_mutex_lock(&h->m);
		for (w = h->watches; w; w = w->next) {
			uint64_t s = watch_sig(w->path);

			if (s != w->sig) {
				w->sig = s;
				queue_ev(h, w->path, w->token);
			}
		}
		pthread_mutex_unlock(&h->m);
	}
	return NULL;
}

struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *h = calloc(1, sizeof(*h));
	char p[512];

	(void)flags;
	mkdir(mdir(), 0755);
	snprintf(p, sizeof(p), "%s/xs", mdir());
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/xs.lock", mdir());
	h->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (h->lockfd < 0 || pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->m, NULL);
	h->evtail = &h->evq;
	return h;
}

void xs_close(struct xs_handle *h)
{
	/* the watch thread is left running; processes exit right after */
	(void)h;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	char d[1024], p[1100], *buf;
	struct stat sb;
	int fd;
	ssize_t n;

	(void)h; (void)t;
	node_dir(path, d, sizeof(d));
	if (stat(d, &sb) < 0) {
		errno = ENOENT;
		return NULL;
	}
	buf = calloc(1, 4097);
	snprintf(p, sizeof(p), "%s/v", d);
	fd = open(p, O_RDONLY);
	n = 0;
	if (fd >= 0) {
		n = read(fd, buf, 4096);
		close(fd);
		if (n < 0)
			n = 0;
	}
	buf[n] = 0;
	if (len)
		*len = (unsigned int)n;
	return buf;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
	      const void *data, unsigned int len)
{
	char d[1024], p[1100], tmp[1100];
	int fd;

	(void)h; (void)t;
	node_dir(path, d, sizeof(d));
	if (mkdir_p(d) < 0)
		return false;
	snprintf(p, sizeof(p), "%s/v", d);
	snprintf(tmp, sizeof(tmp), "%s/.v.%d", d, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return false;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return false;
	}
	close(fd);
	return rename(tmp, p) == 0;
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	char d[1024];

	(void)h; (void)t;
	node_dir(path, d, sizeof(d));
	return mkdir_p(d) == 0;
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	char d[1024], cmd[1200];
	struct stat sb;

	(void)h; (void)t;
	node_dir(path, d, sizeof(d));
	if (stat(d, &sb) < 0) {
		errno = ENOENT;
		return false;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	return system(cmd) == 0;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
			struct xs_permissions *perms, unsigned int num)
{
	(void)h; (void)t; (void)path; (void)perms; (void)num;
	return true;
}

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	flock(h->lockfd, LOCK_EX);
	return 1;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	(void)t; (void)abort;	/* no rollback in this model */
	flock(h->lockfd, LOCK_UN);
	return true;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	struct watch *w = calloc(1, sizeof(*w));

	w->path = strdup(path);
	w->token = strdup(token);
	pthread_mutex_lock(&h->m);
	w->sig = watch_sig(path);
	w->next = h->watches;
	h->watches = w;
	queue_ev(h, path, token);	/* xenstore fires a new watch once */
	if (!h->thr_started) {
		pthread_create(&h->thr, NULL, watch_thread, h);
		h->thr_started = true;
	}
	pthread_mutex_unlock(&h->m);
	return true;
}

int xs_fileno(struct xs_handle *h)
{
	return h->pipe[0];
}

char **xs_check_watch(struct xs_handle *h)
{
	struct ev *e;
	char **ret, c;
	size_t a, b;

	pthread_mutex_lock(&h->m);
	e = h->evq;
	if (!e) {
		while (read(h->pipe[0], &c, 1) == 1)
			;
		pthread_mutex_unlock(&h->m);
		errno = EAGAIN;
		return NULL;
	}
	h->evq = e->next;
	if (!h->evq)
		h->evtail = &h->evq;
	pthread_mutex_unlock(&h->m);
	a = strlen(e->path) + 1;
	b = strlen(e->token) + 1;
	ret = malloc(2 * sizeof(char *) + a + b);
	ret[0] = (char *)(ret + 2);
	ret[1] = ret[0] + a;
	memcpy(ret[0], e->path, a);
	memcpy(ret[1], e->token, b);
	free(e->path);
	free(e->token);
	free(e);
	return ret;
}
