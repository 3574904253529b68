/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xen-mapblk internals, shared by its units:
 *
 *   main.c      options, logging, signals, the event loop, shutdown
 *   xenstore.c  the xenbus handshake: nodes, states, watches
 *   ring.c      the shared ring: connect, consume requests, respond,
 *               stall diagnostics and the idle check
 *   io.c        the I/O engine: image, request slots, grant mapping per
 *               request, native AIO submit/reap, held and stalled requests
 *   pgrant.c    the persistent-grant pool (feature-persistent)
 *
 * Single-threaded: every function runs from the event loop in main.c.
 * common.h (the blkif ABI bits) is shared with blkif-fuzz.
 */
#ifndef XEN_MAPBLK_H
#define XEN_MAPBLK_H

#include "common.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/uio.h>
#include <linux/aio_abi.h>

#include <xengnttab.h>
#include <xenevtchn.h>
#include <xenstore.h>

#define PROG "xen-mapblk"
#define MAX_LOGGED_REJECTIONS 1000
#define IDLE_CHECK_MS 1000	/* poll timeout while connected */
#define MAX_LOGGED_MISSED 100

/* A ring holds at most this many requests (32 per page, 2^4 pages). */
#define MAX_RING_SLOTS	(32u << MAX_RING_ORDER)
/* Largest --max-persistent: every grant of a full largest ring. */
#define MAX_PGRANTS	(MAX_RING_SLOTS * BLKIF_MAX_SEGMENTS_PER_REQUEST)

/* ------------------------------------------------------------------ */
/* options (main.c)                                                    */

struct options {
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
	bool persistent;	/* advertise feature-persistent */
	unsigned int max_persistent;	/* pool bound, 0 = from the ring size */
	bool no_create;
	bool no_fe_nodes;
	bool replace;
	bool stats;
	bool daemonize;
	int verbose;
	const char *pidfile;
};

extern struct options opt;

/* ------------------------------------------------------------------ */
/* state                                                               */

/* One request between io_submit and its response. */
struct pending {
	int next_free;			/* free-list link, -1 = end */
	bool busy;
	uint64_t id;			/* echoed in the response */
	uint8_t op;			/* echoed in the response */
	bool write;
	bool sync_after;		/* FLUSH_DISKCACHE carrying data */
	void *map;			/* gntdev mapping for this request only:
					 * every segment, or with persistent
					 * grants those the pool had no room for */
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

struct backend {
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
};

extern struct backend g;

struct stats {
	unsigned long long requests, reads, writes, flushes;
	unsigned long long segments, map_calls, map_errors, unmap_errors;
	unsigned long long io_errors, errors, eopnotsupp, rejections;
	unsigned long long discards, secure_discards, held;
	unsigned long long bytes_read, bytes_written, unconsumed_failed;
	/* event loop: wakeups, notifications, what the idle check found */
	unsigned long long kicks, aio_wakeups, notifies;
	unsigned long long missed_kicks, missed_completions, renotifies;
	/* persistent grants: grants kept, segments served from the pool,
	 * largest pool size; grants mapped for one request only; whether the
	 * last connection used them and with what bound */
	unsigned long long pgrant_maps, pgrant_hits, pgrant_peak, req_maps;
	unsigned long long persistent, pgrant_max;
};

extern struct stats st;

/* ------------------------------------------------------------------ */
/* main.c                                                              */

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define dbg(...) do { if (opt.verbose) logmsg(__VA_ARGS__); } while (0)
void print_stats(const char *when);
const char *op_name(unsigned int op);
void sleep_ms(unsigned int ms);
void request_stop(enum stop_reason why, const char *msg);

/* ------------------------------------------------------------------ */
/* xenstore.c                                                          */

/* What the frontend published for its ring (read at connect time). */
struct fe_ring {
	unsigned int pages;
	uint32_t refs[MAX_RING_PAGES];
	evtchn_port_t evtchn;
	bool persistent;	/* frontend wrote feature-persistent=1 */
};

int setup_xenstore(void);
int watch_nodes(void);
void check_xenstore(void);
void handle_watches(void);
void set_be_state(int state);
int read_frontend_ring(struct fe_ring *fr);
int announce_connected(void);
void remove_created_nodes(bool was_connected);

/* ------------------------------------------------------------------ */
/* ring.c                                                              */

int connect_ring(void);
void disconnect_ring(void);
void process_ring(void);
void fail_unconsumed(void);
void respond(uint64_t id, uint8_t op, int16_t status);
void reject(const blkif_request_t *req, int16_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void handle_kick(void);
void print_ring_state(const char *when);
void idle_check(void);

/* ------------------------------------------------------------------ */
/* io.c                                                                */

int open_image(void);
int close_image(void);
int io_connect(unsigned int slots);
void io_disconnect(void);
unsigned int io_free_slots(void);
void io_rw(const blkif_request_t *req, bool write, bool sync_after);
void io_flush(const blkif_request_t *req);
void io_discard(const blkif_request_t *req);
int map_per_request(struct pending *p, uint32_t *refs, unsigned int n);
void handle_aio_wakeup(void);
int reap(struct timespec *tmo);
void wait_inflight(void);
unsigned int held_count(void);
void release_held(void);
void drop_held(void);

/* ------------------------------------------------------------------ */
/* pgrant.c                                                            */

int pgrant_connect(bool on, unsigned int slots);
void pgrant_disconnect(void);
bool pgrant_on(void);
unsigned int pgrant_count(void);
int pgrant_map(struct pending *p, unsigned int nseg, uint32_t *refs,
	       void **page);

#endif
