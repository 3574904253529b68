// SPDX-License-Identifier: GPL-2.0
/*
 * xen-mapblk: the persistent-grant pool.
 *
 * When both ends write feature-persistent=1, the frontend promises to keep
 * reusing the same granted pages (Linux blkfront keeps a pool of its own
 * pages and copies data through them), so the backend may keep each grant
 * mapped once it has seen it.  This pool, one per connection, maps every
 * grant ref the first time a request carries it and keeps the mapping,
 * keyed by grant ref, until the ring is disconnected.  A warm request then
 * costs no gntdev call at all, hence no grant hypercall.
 *
 * The pool is bounded (see pgrant_connect()).  Nothing is ever evicted: a
 * frontend that keeps to its promise never needs more, and when the pool
 * is full the grants that do not fit are mapped for that request only and
 * unmapped when it completes, exactly as without persistent grants.
 *
 * The grants of one request that are not in the pool yet are mapped with
 * one gntdev call (a "chunk" of contiguous pages).  gntdev can only unmap a
 * mapping whole, so the pool remembers its chunks and unmaps those.
 *
 * Persistent mappings are always read-write: the same grant carries reads
 * and writes over time (blkfront grants its pool pages read-write; a grant
 * that is read-only fails to map, and that request gets BLKIF_RSP_ERROR,
 * as in Linux blkback).
 */
#define _GNU_SOURCE
#include "mapblk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct pgrant {
	uint32_t gref;
	int next;		/* hash chain, -1 = end */
	void *addr;		/* the page, inside one of the chunks */
};

struct chunk {
	void *map;
	uint32_t count;
};

static struct {
	bool on;		/* negotiated for this connection */
	unsigned int max;	/* bound on the number of kept grants */
	unsigned int count;
	struct pgrant *ent;	/* [max] */
	struct chunk *chunk;	/* [max]: every chunk holds at least one */
	unsigned int nchunks;
	int *bucket;		/* [1 << bits], -1 = empty */
	unsigned int bits;
} pool;

bool pgrant_on(void)
{
	return pool.on;
}

unsigned int pgrant_count(void)
{
	return pool.count;
}

static unsigned int hash(uint32_t gref)
{
	return (gref * 2654435761u) >> (32 - pool.bits);
}

static void *lookup(uint32_t gref)
{
	int i;

	for (i = pool.bucket[hash(gref)]; i >= 0; i = pool.ent[i].next)
		if (pool.ent[i].gref == gref)
			return pool.ent[i].addr;
	return NULL;
}

static void insert(uint32_t gref, void *addr)
{
	struct pgrant *e = &pool.ent[pool.count];
	unsigned int h = hash(gref);

	e->gref = gref;
	e->addr = addr;
	e->next = pool.bucket[h];
	pool.bucket[h] = (int)pool.count++;
	if (pool.count > st.pgrant_peak)
		st.pgrant_peak = pool.count;
}

/*
 * A new connection.  @on: both ends wrote feature-persistent=1.  The bound
 * is --max-persistent, by default every grant a full ring of the largest
 * requests can carry (@slots * 11: 352 for blkfront's default one-page
 * ring): as much as a frontend that reuses its grants can ever present,
 * since it cannot revoke a grant we keep mapped.
 */
int pgrant_connect(bool on, unsigned int slots)
{
	unsigned int i;

	memset(&pool, 0, sizeof(pool));
	st.persistent = 0;
	st.pgrant_max = 0;
	if (!on)
		return 0;
	pool.max = opt.max_persistent ? opt.max_persistent :
		   slots * BLKIF_MAX_SEGMENTS_PER_REQUEST;
	for (pool.bits = 1; (1u << pool.bits) < pool.max; pool.bits++)
		;
	pool.ent = calloc(pool.max, sizeof(*pool.ent));
	pool.chunk = calloc(pool.max, sizeof(*pool.chunk));
	pool.bucket = malloc(sizeof(*pool.bucket) << pool.bits);
	if (!pool.ent || !pool.chunk || !pool.bucket) {
		logmsg("out of memory for the persistent-grant pool");
		pgrant_disconnect();
		return -1;
	}
	for (i = 0; i < 1u << pool.bits; i++)
		pool.bucket[i] = -1;
	pool.on = true;
	st.persistent = 1;
	st.pgrant_max = pool.max;
	return 0;
}

/* Unmap every kept grant.  AIO must be done with them (io_destroy). */
void pgrant_disconnect(void)
{
	unsigned int i;

	for (i = 0; i < pool.nchunks; i++) {
		if (xengnttab_unmap(g.xgt, pool.chunk[i].map, pool.chunk[i].count) < 0) {
			st.unmap_errors++;
			logmsg("unmapping %u persistent grant(s): %s",
			       pool.chunk[i].count, strerror(errno));
		}
	}
	if (pool.count)
		dbg("unmapped %u persistent grant(s) in %u chunk(s)", pool.count,
		    pool.nchunks);
	free(pool.ent);
	free(pool.chunk);
	free(pool.bucket);
	memset(&pool, 0, sizeof(pool));
}

/* Map @n grants read-write with one call and keep them. */
static int keep(uint32_t *refs, unsigned int n)
{
	void *map;
	unsigned int i;

	st.map_calls++;
	map = xengnttab_map_domain_grant_refs(g.xgt, n, opt.fe_domid, refs,
					      PROT_READ | PROT_WRITE);
	if (!map)
		return -1;
	pool.chunk[pool.nchunks].map = map;
	pool.chunk[pool.nchunks].count = n;
	pool.nchunks++;
	for (i = 0; i < n; i++)
		insert(refs[i], (char *)map + (size_t)i * XPAGE_SIZE);
	st.pgrant_maps += n;
	return 0;
}

/*
 * The pages of a request's @nseg grants @refs, into @page.  Grants already
 * kept are hits; the others (each ref once) are kept while the pool has
 * room, and the rest mapped for this request only (p->map, unmapped at
 * completion).  0, or -1 with errno set and nothing mapped for the request
 * (grants kept before the failure stay kept: they are valid).
 */
int pgrant_map(struct pending *p, unsigned int nseg, uint32_t *refs,
	       void **page)
{
	uint32_t miss[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	int slot[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	unsigned int i, j, nmiss = 0, room, nkeep;

	for (i = 0; i < nseg; i++) {
		page[i] = lookup(refs[i]);
		slot[i] = -1;
		if (page[i]) {
			st.pgrant_hits++;
			continue;
		}
		for (j = 0; j < nmiss && miss[j] != refs[i]; j++)
			;
		if (j == nmiss)
			miss[nmiss++] = refs[i];
		slot[i] = (int)j;
	}
	if (!nmiss)
		return 0;

	room = pool.max - pool.count;
	nkeep = nmiss < room ? nmiss : room;
	if (nkeep && keep(miss, nkeep) < 0)
		return -1;
	if (nmiss > nkeep &&
	    map_per_request(p, miss + nkeep, nmiss - nkeep) < 0)
		return -1;
	for (i = 0; i < nseg; i++) {
		if (slot[i] < 0)
			continue;
		if ((unsigned int)slot[i] < nkeep)
			page[i] = lookup(refs[i]);
		else
			page[i] = (char *)p->map +
				  (size_t)(slot[i] - (int)nkeep) * XPAGE_SIZE;
	}
	return 0;
}
