/*
 * device_alloc.c — the per-device caching allocator (device_alloc.h), over the backend
 * table only.
 *
 * Layout: an allocator has one pool per stream; a pool has, per kind (small, large),
 * its segments and size bins of its free blocks.  A segment is either a mem_alloc'd
 * range or, with expandable segments, a reserved address range as large as the device
 * whose granules are mapped on demand.  Blocks tile their segment in address order.
 *
 * Invariants (td__dalloc_verify checks them all):
 *   - every block is FREE (in its pool's bin for its size), LIVE (handed out) or
 *     PENDING (released, waiting for events on the streams that used it, in the
 *     allocator's pending list); two FREE blocks are never neighbours;
 *   - in an expandable segment every granule a LIVE or PENDING block touches is mapped;
 *     so reserved == allocated + pending + the mapped bytes of FREE blocks;
 *   - memory goes back to the backend (mem_free, vmm_unmap) only after the owning
 *     stream was synchronized since the last release into that pool (pool->dirty).
 * Not here: device memory contents (never touched), tensor refcounts (the daemon's).
 */
#include "device_alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MIB (1ull << 20)
#define NBINS 256
#define SMALL_SEGMENT (2 * MIB)
#define LARGE_SEGMENT (20 * MIB) /* large requests under 10 MiB share 20 MiB segments */
#define MAX_REQUEST (1ull << 56) /* beyond any device: refused before rounding overflows */
#define ERR_LIMIT (-1)           /* our own limit, not the backend's memory */

enum kind { SMALL, LARGE, NKIND };
enum state { FREE, LIVE, PENDING };

struct seg;
struct pool;

struct td_dblock {
    char *ptr;
    uint64_t size, requested;
    struct seg *seg;
    struct td_dblock *prev, *next;   /* address neighbours in seg */
    struct td_dblock *lprev, *lnext; /* bin list (FREE) or pending list (PENDING) */
    enum state state;
    td_stream_t stream;
    td_stream_t *uses; /* other streams that used it (record_stream) */
    int nuses, cap_uses;
    td_event_t *events; /* PENDING: one per stream in uses */
    int nevents;
    struct td_dalloc_account *acct;
};

struct seg {
    struct seg *next; /* in its pool's list for its kind */
    struct pool *pool;
    enum kind kind;
    char *base;
    uint64_t size;
    bool expandable;
    uint8_t *mapped;   /* expandable: one byte per granule */
    uint64_t *handles; /* expandable: vmm_map's handle per mapped granule */
    uint64_t nmapped;
    struct td_dblock *first;
};

struct bins {
    struct td_dblock *head[NBINS];
    uint64_t nonempty[NBINS / 64];
};

struct pool {
    struct pool *next;
    td_stream_t stream;
    bool retired; /* the stream is gone: nothing allocates here, releases go back at once */
    bool dirty;   /* a block was released since the stream was last synchronized */
    bool plain;   /* the backend refused an address range: mem_alloc'd segments only */
    struct bins bins[NKIND];
    struct seg *segs[NKIND];
};

struct td_dalloc_account {
    uint64_t session;
    atomic_uint_fast64_t in_use, peak, limit;
    atomic_int refs;
};

struct td_dalloc {
    pthread_mutex_t mu;
    const struct td_device_backend *b;
    int dev;
    bool expandable;
    uint64_t gran, total, limit;
    struct pool *pools;
    struct td_dblock *pending;
    td_event_t *events; /* idle events for reuse */
    int nevents, cap_events;
    uint64_t pending_bytes;
    struct td_dalloc_stats s; /* counters and peaks; the derived fields are filled by td_dalloc_stats */
};

/* ---- sizes and bins */

static uint64_t round_size(uint64_t n)
{
    return n ? (n + TD_DALLOC_ROUND - 1) & ~(TD_DALLOC_ROUND - 1) : TD_DALLOC_ROUND;
}

static uint64_t round_up(uint64_t n, uint64_t to)
{
    return (n + to - 1) / to * to;
}

/* Four bins per power of two of size/512: bins are ordered, each holds a size range. */
static int bin_of(uint64_t size)
{
    uint64_t u = size / TD_DALLOC_ROUND;
    int lg = 63 - __builtin_clzll(u);
    if (lg < 2)
        return (int)u - 1;
    return lg * 4 + (int)((u >> (lg - 2)) & 3) - 5;
}

static struct bins *bins_of(struct td_dblock *b)
{
    return &b->seg->pool->bins[b->seg->kind];
}

static void bin_insert(struct td_dblock *b)
{
    struct bins *bs = bins_of(b);
    int i = bin_of(b->size);
    b->lprev = NULL;
    b->lnext = bs->head[i];
    if (b->lnext)
        b->lnext->lprev = b;
    bs->head[i] = b;
    bs->nonempty[i / 64] |= 1ull << (i % 64);
}

static void bin_remove(struct td_dblock *b)
{
    struct bins *bs = bins_of(b);
    int i = bin_of(b->size);
    if (b->lprev)
        b->lprev->lnext = b->lnext;
    else
        bs->head[i] = b->lnext;
    if (b->lnext)
        b->lnext->lprev = b->lprev;
    if (!bs->head[i])
        bs->nonempty[i / 64] &= ~(1ull << (i % 64));
    b->lprev = b->lnext = NULL;
}

/* Smallest free block of at least size (ties: lowest address), or NULL.  Blocks of
 * higher bins all fit, so only the first bin with a fitting block is scanned. */
static struct td_dblock *best_fit(struct bins *bs, uint64_t size)
{
    for (int i = bin_of(size); i < NBINS; i++) {
        uint64_t word = bs->nonempty[i / 64] >> (i % 64);
        if (!word) {
            i = (i / 64 + 1) * 64 - 1;
            continue;
        }
        i += __builtin_ctzll(word);
        struct td_dblock *best = NULL;
        for (struct td_dblock *b = bs->head[i]; b; b = b->lnext)
            if (b->size >= size && (!best || b->size < best->size || (b->size == best->size && b->ptr < best->ptr)))
                best = b;
        if (best)
            return best;
    }
    return NULL;
}

/* ---- counters */

static void bump_peak(uint64_t cur, uint64_t *peak)
{
    if (cur > *peak)
        *peak = cur;
}

static void add_reserved(struct td_dalloc *d, uint64_t n)
{
    d->s.reserved += n;
    bump_peak(d->s.reserved, &d->s.reserved_peak);
}

/* ---- expandable segments: granules */

static uint64_t gran_floor(struct seg *g, const char *p, uint64_t gran)
{
    return (uint64_t)(p - g->base) / gran;
}

static uint64_t gran_ceil(struct seg *g, const char *p, uint64_t gran)
{
    return ((uint64_t)(p - g->base) + gran - 1) / gran;
}

/* Maps every unmapped granule [p, p+n) touches.  0, ERR_LIMIT or the backend's code;
 * granules mapped before a failure stay mapped (free; the OOM retry unmaps them). */
static int map_range(struct td_dalloc *d, struct seg *g, char *p, uint64_t n)
{
    uint64_t lo = gran_floor(g, p, d->gran), hi = gran_ceil(g, p + n, d->gran), need = 0;
    for (uint64_t i = lo; i < hi; i++)
        need += !g->mapped[i];
    if (d->s.reserved + need * d->gran > d->limit)
        return ERR_LIMIT;
    for (uint64_t i = lo; i < hi; i++) {
        if (g->mapped[i])
            continue;
        int rc = d->b->vmm_map(d->dev, g->base + i * d->gran, d->gran, &g->handles[i]);
        if (rc)
            return rc;
        g->mapped[i] = 1;
        g->nmapped++;
        d->s.backend_allocs++;
        add_reserved(d, d->gran);
    }
    return 0;
}

/* Granules wholly inside free block b: [*lo, *hi). */
static void free_granules(struct td_dalloc *d, struct td_dblock *b, uint64_t *lo, uint64_t *hi)
{
    *lo = gran_ceil(b->seg, b->ptr, d->gran);
    *hi = gran_floor(b->seg, b->ptr + b->size, d->gran);
    if (*hi < *lo)
        *hi = *lo;
}

/* Mapped granules wholly inside free blocks of g: what unmap_free would give back. */
static uint64_t count_free_mapped(struct td_dalloc *d, struct seg *g)
{
    uint64_t n = 0, lo, hi;
    for (struct td_dblock *b = g->first; b; b = b->next) {
        if (b->state != FREE)
            continue;
        free_granules(d, b, &lo, &hi);
        for (uint64_t i = lo; i < hi; i++)
            n += g->mapped[i];
    }
    return n;
}

static void sync_pool(struct td_dalloc *d, struct pool *p)
{
    if (!p->dirty || p->retired)
        return;
    int rc = d->b->stream_sync(d->dev, p->stream);
    if (rc)
        td_log(TD_LOG_WARN, "device %d: stream_sync before releasing memory: %s", d->dev, d->b->error_string(rc));
    p->dirty = false;
    d->s.syncs++;
}

/* Unmaps the granules wholly inside g's free blocks (the caller synchronized). */
static void unmap_free(struct td_dalloc *d, struct seg *g)
{
    uint64_t lo, hi;
    for (struct td_dblock *b = g->first; b; b = b->next) {
        if (b->state != FREE)
            continue;
        free_granules(d, b, &lo, &hi);
        for (uint64_t i = lo; i < hi; i++) {
            if (!g->mapped[i])
                continue;
            int rc = d->b->vmm_unmap(d->dev, g->base + i * d->gran, d->gran, g->handles[i]);
            if (rc) {
                td_log(TD_LOG_WARN, "device %d: vmm_unmap: %s", d->dev, d->b->error_string(rc));
                continue;
            }
            g->mapped[i] = 0;
            g->nmapped--;
            d->s.reserved -= d->gran;
            d->s.backend_frees++;
        }
    }
}

/* ---- segments */

static struct td_dblock *block_new(struct seg *g, char *ptr, uint64_t size)
{
    struct td_dblock *b = calloc(1, sizeof *b);
    if (b)
        *b = (struct td_dblock){.ptr = ptr, .size = size, .seg = g, .state = FREE};
    return b;
}

static void block_destroy(struct td_dblock *b)
{
    free(b->uses);
    free(b->events);
    free(b);
}

/* A new segment for kind k in pool p holding at least size: a mem_alloc'd one, or the
 * pool's expandable range.  0, ERR_LIMIT or the backend's code (-2: our own OOM). */
static int seg_new_as(struct td_dalloc *d, struct pool *p, enum kind k, uint64_t size, bool exp)
{
    uint64_t bytes = exp                        ? round_up(d->total, d->gran)
                     : k == SMALL               ? SMALL_SEGMENT
                     : size < LARGE_SEGMENT / 2 ? LARGE_SEGMENT
                                                : round_up(size, 2 * MIB);
    if (!exp && d->s.reserved + bytes > d->limit)
        return ERR_LIMIT;
    struct seg *g = calloc(1, sizeof *g);
    if (!g)
        return -2;
    *g = (struct seg){.pool = p, .kind = k, .size = bytes, .expandable = exp};
    void *base = NULL;
    int rc = exp ? d->b->vmm_reserve(d->dev, bytes, &base) : d->b->mem_alloc(d->dev, bytes, &base);
    g->base = base;
    if (!rc && exp) {
        g->mapped = calloc(bytes / d->gran, 1);
        g->handles = calloc(bytes / d->gran, sizeof *g->handles);
    }
    g->first = rc ? NULL : block_new(g, g->base, bytes);
    if (!rc && (!g->first || (exp && (!g->mapped || !g->handles)))) {
        exp ? d->b->vmm_release(d->dev, base, bytes) : d->b->mem_free(d->dev, base);
        rc = -2;
    }
    if (rc) {
        free(g->first);
        free(g->mapped);
        free(g->handles);
        free(g);
        return rc;
    }
    if (!exp) {
        add_reserved(d, bytes);
        d->s.backend_allocs++;
    }
    d->s.segments++;
    g->next = p->segs[k];
    p->segs[k] = g;
    bin_insert(g->first);
    return 0;
}

/* An expandable range when the allocator uses them; a mem_alloc'd segment when not, or
 * when the backend refuses the address range (address space is finite: a range per
 * stream and kind, each as large as the device). */
static int seg_new(struct td_dalloc *d, struct pool *p, enum kind k, uint64_t size)
{
    int rc = seg_new_as(d, p, k, size, d->expandable && !p->plain);
    if (rc > 0 && d->expandable && !p->plain) {
        p->plain = true;
        td_log(TD_LOG_WARN, "device %d: vmm_reserve: %s; using plain segments for this pool", d->dev,
               d->b->error_string(rc));
        rc = seg_new_as(d, p, k, size, false);
    }
    return rc;
}

/* Gives a wholly free segment back (the caller synchronized its stream). */
static void seg_release(struct td_dalloc *d, struct seg *g)
{
    struct seg **pp = &g->pool->segs[g->kind];
    while (*pp != g)
        pp = &(*pp)->next;
    *pp = g->next;
    bin_remove(g->first);
    if (g->expandable) {
        unmap_free(d, g);
        int rc = d->b->vmm_release(d->dev, g->base, g->size);
        if (rc)
            td_log(TD_LOG_WARN, "device %d: vmm_release: %s", d->dev, d->b->error_string(rc));
    } else {
        int rc = d->b->mem_free(d->dev, g->base);
        if (rc)
            td_log(TD_LOG_WARN, "device %d: mem_free: %s", d->dev, d->b->error_string(rc));
        d->s.reserved -= g->size;
        d->s.backend_frees++;
    }
    d->s.segments--;
    block_destroy(g->first);
    free(g->mapped);
    free(g->handles);
    free(g);
}

static bool seg_is_free(const struct seg *g)
{
    return g->first->state == FREE && !g->first->next;
}

/* ---- blocks */

/* b becomes FREE and merges with its free neighbours; into the bins. */
static void free_block(struct td_dblock *b)
{
    b->state = FREE;
    b->nuses = 0;
    struct td_dblock *n = b->next, *p = b->prev;
    if (p && p->state == FREE) {
        bin_remove(p);
        p->size += b->size;
        p->next = n;
        if (n)
            n->prev = p;
        block_destroy(b);
        b = p;
    }
    if (n && n->state == FREE) {
        bin_remove(n);
        b->size += n->size;
        b->next = n->next;
        if (n->next)
            n->next->prev = b;
        block_destroy(n);
    }
    bin_insert(b);
}

/* Splits free, unbinned b at size: the rest becomes a free block.  False on OOM. */
static bool split(struct td_dblock *b, uint64_t size)
{
    if (b->size == size)
        return true;
    struct td_dblock *r = block_new(b->seg, b->ptr + size, b->size - size);
    if (!r)
        return false;
    r->prev = b;
    r->next = b->next;
    if (b->next)
        b->next->prev = r;
    b->next = r;
    b->size = size;
    bin_insert(r); /* b's next neighbour is not free (invariant), so r merges with nothing */
    return true;
}

/* ---- pools */

static struct pool *pool_get(struct td_dalloc *d, td_stream_t s)
{
    for (struct pool *p = d->pools; p; p = p->next)
        if (p->stream == s && !p->retired)
            return p;
    struct pool *p = calloc(1, sizeof *p);
    if (p) {
        p->stream = s;
        p->next = d->pools;
        d->pools = p;
    }
    return p;
}

/* Gives back the cached memory of p: wholly free mem_alloc'd segments, free granules. */
static void pool_trim(struct td_dalloc *d, struct pool *p)
{
    bool any = false;
    for (int k = 0; k < NKIND; k++)
        for (struct seg *g = p->segs[k]; g && !any; g = g->next)
            any = g->expandable ? count_free_mapped(d, g) > 0 || (p->retired && seg_is_free(g)) : seg_is_free(g);
    if (!any)
        return;
    sync_pool(d, p);
    for (int k = 0; k < NKIND; k++) {
        for (struct seg *g = p->segs[k], *next; g; g = next) {
            next = g->next;
            if (seg_is_free(g) && (!g->expandable || p->retired))
                seg_release(d, g);
            else if (g->expandable)
                unmap_free(d, g);
        }
    }
}

/* A retired pool with no segments left is dropped. */
static void pool_drop_if_empty(struct td_dalloc *d, struct pool *p)
{
    if (!p->retired || p->segs[SMALL] || p->segs[LARGE])
        return;
    struct pool **pp = &d->pools;
    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    free(p);
}

/* ---- events for blocks used on other streams */

static void event_put(struct td_dalloc *d, td_event_t e)
{
    if (d->nevents == d->cap_events) {
        int cap = d->cap_events ? 2 * d->cap_events : 16;
        td_event_t *n = realloc(d->events, (size_t)cap * sizeof *n);
        if (!n) {
            d->b->event_free(d->dev, e);
            return;
        }
        d->events = n;
        d->cap_events = cap;
    }
    d->events[d->nevents++] = e;
}

/* Released block b whose events completed (or are waited for): it becomes free. */
static void unpend(struct td_dalloc *d, struct td_dblock *b)
{
    if (b->lprev)
        b->lprev->lnext = b->lnext;
    else
        d->pending = b->lnext;
    if (b->lnext)
        b->lnext->lprev = b->lprev;
    b->lprev = b->lnext = NULL;
    for (int i = 0; i < b->nevents; i++)
        event_put(d, b->events[i]);
    free(b->events);
    b->events = NULL;
    b->nevents = 0;
    d->pending_bytes -= b->size;
    struct pool *p = b->seg->pool;
    free_block(b);
    if (p->retired) {
        pool_trim(d, p);
        pool_drop_if_empty(d, p);
    }
}

/* Frees the pending blocks whose events completed; wait: blocks on them all. */
static void process_events(struct td_dalloc *d, bool wait)
{
    for (struct td_dblock *b = d->pending, *next; b; b = next) {
        next = b->lnext;
        bool done = true;
        for (int i = 0; i < b->nevents && done; i++) {
            int rc = wait ? d->b->event_sync(d->dev, b->events[i]) : d->b->event_query(d->dev, b->events[i]);
            if (rc == 1)
                done = false;
            else if (rc)
                td_log(TD_LOG_WARN, "device %d: event wait: %s", d->dev, d->b->error_string(rc));
        }
        if (done)
            unpend(d, b);
    }
}

/* Records an event on each stream in b's uses; false when none could be (then those
 * streams were synchronized instead, and b is free to reuse). */
static bool record_uses(struct td_dalloc *d, struct td_dblock *b)
{
    b->events = malloc((size_t)b->nuses * sizeof *b->events);
    b->nevents = 0;
    for (int i = 0; i < b->nuses; i++) {
        td_event_t e = NULL;
        int rc = 0;
        if (d->nevents > 0)
            e = d->events[--d->nevents];
        else
            rc = d->b->event_new(d->dev, &e, 0);
        if (!rc)
            rc = d->b->event_record(d->dev, e, b->uses[i]);
        if (!rc && b->events) {
            b->events[b->nevents++] = e;
            continue;
        }
        if (e)
            event_put(d, e);
        d->b->stream_sync(d->dev, b->uses[i]); /* no event: wait for that stream now */
        d->s.syncs++;
    }
    return b->nevents > 0;
}

/* ---- accounts */

struct td_dalloc_account *td_dalloc_account_new(uint64_t session)
{
    struct td_dalloc_account *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->session = session;
    atomic_init(&a->refs, 1);
    return a;
}

static void account_unref(struct td_dalloc_account *a)
{
    if (a && atomic_fetch_sub(&a->refs, 1) == 1)
        free(a);
}

void td_dalloc_account_free(struct td_dalloc_account *a)
{
    account_unref(a);
}

void td_dalloc_account_set_limit(struct td_dalloc_account *a, uint64_t bytes)
{
    atomic_store(&a->limit, bytes);
}

uint64_t td_dalloc_account_in_use(const struct td_dalloc_account *a)
{
    return atomic_load(&a->in_use);
}

uint64_t td_dalloc_account_peak(const struct td_dalloc_account *a)
{
    return atomic_load(&a->peak);
}

void td_dalloc_account_reset_peak(struct td_dalloc_account *a)
{
    atomic_store(&a->peak, atomic_load(&a->in_use));
}

uint64_t td_dalloc_account_limit(const struct td_dalloc_account *a)
{
    return atomic_load(&a->limit);
}

uint64_t td_dalloc_account_session(const struct td_dalloc_account *a)
{
    return a->session;
}

/* Charges n unless that takes a over its limit.  Lock-free: accounts span devices. */
static bool account_charge(struct td_dalloc_account *a, uint64_t n)
{
    uint_fast64_t old = atomic_load(&a->in_use), lim = atomic_load(&a->limit);
    do {
        if (lim && old + n > lim)
            return false;
    } while (!atomic_compare_exchange_weak(&a->in_use, &old, old + n));
    uint_fast64_t peak = atomic_load(&a->peak);
    while (old + n > peak && !atomic_compare_exchange_weak(&a->peak, &peak, old + n))
        ;
    atomic_fetch_add(&a->refs, 1);
    return true;
}

static void account_credit(struct td_dalloc_account *a, uint64_t n)
{
    if (!a)
        return;
    atomic_fetch_sub(&a->in_use, n);
    account_unref(a);
}

/* ---- the allocator */

struct td_dalloc *td_dalloc_new(const struct td_device_backend *b, int dev, bool expandable, struct td_status *st)
{
    uint64_t free_b = 0, total = 0;
    int rc = b->mem_get_info(dev, &free_b, &total);
    if (rc) {
        td_status_set(st, TD_CODE_INTERNAL, "device %d: mem_get_info: %s", dev, b->error_string(rc));
        return NULL;
    }
    struct td_dalloc *d = calloc(1, sizeof *d);
    if (!d) {
        td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "device %d: out of host memory for the allocator", dev);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    d->b = b;
    d->dev = dev;
    d->total = total;
    d->limit = total;
    d->gran = expandable && b->vmm_granularity ? b->vmm_granularity(dev) : 0;
    d->expandable = d->gran > 0;
    return d;
}

bool td_dalloc_expandable(const struct td_dalloc *d)
{
    return d->expandable;
}

void *td_dblock_ptr(const struct td_dblock *b)
{
    return b->ptr;
}

uint64_t td_dblock_size(const struct td_dblock *b)
{
    return b->size;
}

td_stream_t td_dblock_stream(const struct td_dblock *b)
{
    return b->stream;
}

/* Under lock: a LIVE-to-be block of size for kind k from pool p, cut to size and
 * mapped.  0, ERR_LIMIT, -2 (host OOM) or the backend's code. */
static int take(struct td_dalloc *d, struct pool *p, enum kind k, uint64_t size, struct td_dblock **out)
{
    uint64_t backend_before = d->s.backend_allocs;
    struct td_dblock *b = best_fit(&p->bins[k], size);
    if (!b) {
        int rc = seg_new(d, p, k, size);
        if (rc)
            return rc;
        b = best_fit(&p->bins[k], size);
        if (!b)
            return ERR_LIMIT; /* an expandable range smaller than the request */
    }
    bin_remove(b);
    if (!split(b, size)) {
        bin_insert(b);
        return -2;
    }
    b->state = LIVE;
    struct seg *g = b->seg;
    if (g->expandable) {
        uint64_t lo = gran_floor(g, b->ptr, d->gran), hi = gran_ceil(g, b->ptr + size, d->gran), need = 0;
        for (uint64_t i = lo; i < hi; i++)
            need += !g->mapped[i];
        /* Growing while free granules sit elsewhere in this range: give those back first,
         * so the range's mapped bytes track its live bytes (costs one stream sync). */
        if (need && count_free_mapped(d, g)) {
            sync_pool(d, p);
            unmap_free(d, g);
        }
        int rc = map_range(d, g, b->ptr, size);
        if (rc) {
            free_block(b);
            return rc;
        }
    }
    if (d->s.backend_allocs == backend_before)
        d->s.cache_hits++;
    *out = b;
    return 0;
}

static void fmt_size(char *buf, size_t n, uint64_t bytes)
{
    if (bytes < 1024)
        snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
    else if (bytes < MIB)
        snprintf(buf, n, "%.2f KiB", (double)bytes / 1024.0);
    else if (bytes < (1ull << 30))
        snprintf(buf, n, "%.2f MiB", (double)bytes / (double)MIB);
    else
        snprintf(buf, n, "%.2f GiB", (double)bytes / (double)(1ull << 30));
}

/* "CUDA" for backend kind "cuda": the name PyTorch's messages use. */
static void device_word(const struct td_dalloc *d, char *buf, size_t n)
{
    snprintf(buf, n, "%s", d->b->kind ? d->b->kind : "device");
    for (char *c = buf; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
}

/* Under lock: PyTorch's out-of-memory message, or the backend's error when it was not
 * a shortage. */
static void oom_message(struct td_dalloc *d, uint64_t bytes, int rc, struct td_status *st)
{
    char word[16], req[32], tot[32], alloc[32], fr[32], res[32], lim[48] = "";
    device_word(d, word, sizeof word);
    if (rc > 0 && !strstr(d->b->error_string(rc), "out of memory")) {
        td_status_set(st, TD_CODE_INTERNAL, "%s error: %s (allocating %llu bytes on GPU %d)", word,
                      d->b->error_string(rc), (unsigned long long)bytes, d->dev);
        return;
    }
    uint64_t free_b = 0, total = d->total;
    if (d->b->mem_get_info(d->dev, &free_b, &total))
        free_b = 0;
    fmt_size(req, sizeof req, bytes);
    fmt_size(tot, sizeof tot, total);
    fmt_size(alloc, sizeof alloc, d->s.allocated);
    fmt_size(fr, sizeof fr, free_b);
    fmt_size(res, sizeof res, d->s.reserved);
    if (d->limit < total) {
        char l[32];
        fmt_size(l, sizeof l, d->limit);
        snprintf(lim, sizeof lim, "; %s allowed", l);
    }
    td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED,
                  "%s out of memory. Tried to allocate %s (GPU %d; %s total capacity; %s already allocated; "
                  "%s free%s; %s reserved in total by tensord)%s",
                  word, req, d->dev, tot, alloc, fr, lim, res,
                  !d->expandable && d->s.reserved - d->s.allocated > d->s.allocated / 4 + 2 * MIB
                      ? " If reserved memory is >> allocated memory, enable expandable segments to avoid "
                        "fragmentation."
                      : "");
}

static void quota_message(struct td_dalloc *d, uint64_t bytes, struct td_dalloc_account *a, struct td_status *st)
{
    char word[16], req[32], lim[32], use[32];
    device_word(d, word, sizeof word);
    fmt_size(req, sizeof req, bytes);
    fmt_size(lim, sizeof lim, atomic_load(&a->limit));
    fmt_size(use, sizeof use, atomic_load(&a->in_use));
    td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED,
                  "%s out of memory. Tried to allocate %s (GPU %d). This session's memory quota on the device is %s, "
                  "of which %s is in use.",
                  word, req, d->dev, lim, use);
}

/* Under lock: everything cached goes back, pending blocks included (waited for). */
static void release_cache(struct td_dalloc *d)
{
    process_events(d, true);
    for (struct pool *p = d->pools, *next; p; p = next) {
        next = p->next;
        pool_trim(d, p);
        pool_drop_if_empty(d, p);
    }
}

struct td_dblock *td_dalloc_malloc(struct td_dalloc *d, uint64_t bytes, td_stream_t s, struct td_dalloc_account *acct,
                                   struct td_status *st)
{
    uint64_t size = bytes > MAX_REQUEST ? MAX_REQUEST : round_size(bytes);
    enum kind k = size <= TD_DALLOC_SMALL_MAX ? SMALL : LARGE;
    pthread_mutex_lock(&d->mu);
    if (acct && !account_charge(acct, size)) {
        quota_message(d, bytes, acct, st);
        d->s.ooms++;
        pthread_mutex_unlock(&d->mu);
        return NULL;
    }
    process_events(d, false);
    struct td_dblock *b = NULL;
    struct pool *p = pool_get(d, s);
    int rc = !p ? -2 : size > d->limit ? ERR_LIMIT : take(d, p, k, size, &b);
    if (rc && rc != -2 && size <= d->limit) {
        release_cache(d);
        d->s.retries++;
        p = pool_get(d, s);
        rc = p ? take(d, p, k, size, &b) : -2;
    }
    if (rc) {
        d->s.ooms++;
        if (rc == -2)
            td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "GPU %d: out of host memory for allocator metadata", d->dev);
        else
            oom_message(d, bytes, rc, st);
        pthread_mutex_unlock(&d->mu);
        account_credit(acct, size);
        return NULL;
    }
    b->stream = s;
    b->requested = bytes;
    b->acct = acct;
    d->s.allocated += size;
    d->s.requested += bytes;
    bump_peak(d->s.allocated, &d->s.allocated_peak);
    bump_peak(d->s.allocated + d->pending_bytes, &d->s.active_peak);
    d->s.blocks++;
    d->s.allocs++;
    pthread_mutex_unlock(&d->mu);
    return b;
}

bool td_dalloc_record_stream(struct td_dalloc *d, struct td_dblock *b, td_stream_t other)
{
    bool ok = true;
    pthread_mutex_lock(&d->mu);
    bool known = other == b->stream;
    for (int i = 0; i < b->nuses && !known; i++)
        known = b->uses[i] == other;
    if (!known && b->nuses == b->cap_uses) {
        int cap = b->cap_uses ? 2 * b->cap_uses : 2;
        td_stream_t *n = realloc(b->uses, (size_t)cap * sizeof *n);
        if (n) {
            b->uses = n;
            b->cap_uses = cap;
        }
        ok = n != NULL;
    }
    if (!known && ok)
        b->uses[b->nuses++] = other;
    pthread_mutex_unlock(&d->mu);
    return ok;
}

void td_dalloc_release(struct td_dalloc *d, struct td_dblock *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&d->mu);
    struct td_dalloc_account *a = b->acct;
    uint64_t size = b->size;
    d->s.allocated -= size;
    d->s.requested -= b->requested;
    d->s.blocks--;
    d->s.frees++;
    b->acct = NULL;
    struct pool *p = b->seg->pool;
    p->dirty = true; /* work queued on its stream may still use b */
    if (b->nuses && record_uses(d, b)) {
        b->state = PENDING;
        b->lprev = NULL;
        b->lnext = d->pending;
        if (d->pending)
            d->pending->lprev = b;
        d->pending = b;
        d->pending_bytes += size;
    } else {
        free(b->events);
        b->events = NULL;
        free_block(b);
        if (p->retired) {
            pool_trim(d, p);
            pool_drop_if_empty(d, p);
        }
    }
    pthread_mutex_unlock(&d->mu);
    account_credit(a, size);
}

void td_dalloc_empty_cache(struct td_dalloc *d)
{
    pthread_mutex_lock(&d->mu);
    release_cache(d);
    pthread_mutex_unlock(&d->mu);
}

void td_dalloc_stream_retire(struct td_dalloc *d, td_stream_t s)
{
    pthread_mutex_lock(&d->mu);
    for (struct pool *p = d->pools; p; p = p->next) {
        if (p->stream != s || p->retired)
            continue;
        p->dirty = true;
        sync_pool(d, p);
        p->retired = true;
        pool_trim(d, p);
        pool_drop_if_empty(d, p);
        break;
    }
    /* Live blocks of any pool that other work recorded on s (record_stream) need not wait
     * for it any more, and must not record an event on it once it is freed: s is
     * synchronized now (above, or here when it owned no pool). */
    bool synced = false;
    for (struct pool *p = d->pools; p; p = p->next)
        for (int k = 0; k < NKIND; k++)
            for (struct seg *g = p->segs[k]; g; g = g->next)
                for (struct td_dblock *b = g->first; b; b = b->next)
                    for (int i = 0; b->state == LIVE && i < b->nuses; i++)
                        if (b->uses[i] == s) {
                            if (!synced) {
                                d->b->stream_sync(d->dev, s);
                                synced = true;
                            }
                            b->uses[i--] = b->uses[--b->nuses];
                        }
    pthread_mutex_unlock(&d->mu);
}

void td_dalloc_set_limit(struct td_dalloc *d, uint64_t bytes)
{
    pthread_mutex_lock(&d->mu);
    d->limit = bytes && bytes < d->total ? bytes : d->total;
    pthread_mutex_unlock(&d->mu);
}

/* Under lock: the largest run of reserved bytes inside one free block. */
static uint64_t largest_free(struct td_dalloc *d)
{
    uint64_t best = 0;
    for (struct pool *p = d->pools; p; p = p->next)
        for (int k = 0; k < NKIND; k++)
            for (struct seg *g = p->segs[k]; g; g = g->next)
                for (struct td_dblock *b = g->first; b; b = b->next) {
                    if (b->state != FREE)
                        continue;
                    if (!g->expandable) {
                        best = b->size > best ? b->size : best;
                        continue;
                    }
                    /* runs of mapped granules, clipped to the block */
                    uint64_t run = 0, lo = gran_floor(g, b->ptr, d->gran), hi = gran_ceil(g, b->ptr + b->size, d->gran);
                    for (uint64_t i = lo; i < hi; i++) {
                        char *s0 = g->base + i * d->gran, *e0 = s0 + d->gran;
                        char *s1 = s0 < b->ptr ? b->ptr : s0, *e1 = e0 > b->ptr + b->size ? b->ptr + b->size : e0;
                        run = g->mapped[i] ? run + (uint64_t)(e1 - s1) : 0;
                        best = run > best ? run : best;
                    }
                }
    return best;
}

void td_dalloc_stats(struct td_dalloc *d, struct td_dalloc_stats *out)
{
    pthread_mutex_lock(&d->mu);
    process_events(d, false);
    *out = d->s;
    out->active = d->s.allocated + d->pending_bytes;
    out->inactive_split = d->s.reserved - out->active;
    out->largest_free = largest_free(d);
    out->fragmentation = out->inactive_split ? 1.0 - (double)out->largest_free / (double)out->inactive_split : 0.0;
    out->limit = d->limit;
    pthread_mutex_unlock(&d->mu);
}

void td_dalloc_reset_peak(struct td_dalloc *d)
{
    pthread_mutex_lock(&d->mu);
    d->s.allocated_peak = d->s.allocated;
    d->s.reserved_peak = d->s.reserved;
    d->s.active_peak = d->s.allocated + d->pending_bytes;
    pthread_mutex_unlock(&d->mu);
}

uint64_t td_dalloc_free(struct td_dalloc *d)
{
    if (!d)
        return 0;
    pthread_mutex_lock(&d->mu);
    process_events(d, true);
    uint64_t live = 0;
    for (struct pool *p = d->pools; p; p = p->next) {
        p->dirty = true;
        sync_pool(d, p);
        p->retired = true; /* whole segments go back, expandable ranges included */
        for (int k = 0; k < NKIND; k++)
            for (struct seg *g = p->segs[k]; g; g = g->next)
                for (struct td_dblock *b = g->first; b;) {
                    if (b->state != LIVE) {
                        b = b->next;
                        continue;
                    }
                    live++;
                    account_credit(b->acct, b->size);
                    free_block(b); /* may merge b's neighbours away: start over */
                    b = g->first;
                }
    }
    while (d->pools) {
        struct pool *p = d->pools;
        pool_trim(d, p);
        pool_drop_if_empty(d, p);
    }
    for (int i = 0; i < d->nevents; i++)
        d->b->event_free(d->dev, d->events[i]);
    free(d->events);
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return live;
}

/* ---- invariants, for tests */

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        snprintf(why, len, __VA_ARGS__);                                                                               \
        goto out;                                                                                                      \
    } while (0)

bool td__dalloc_verify(struct td_dalloc *d, char *why, size_t len)
{
    bool ok = false;
    pthread_mutex_lock(&d->mu);
    uint64_t live = 0, pend = 0, reserved = 0, free_mapped = 0;
    for (struct pool *p = d->pools; p; p = p->next)
        for (int k = 0; k < NKIND; k++) {
            uint64_t nfree = 0, nbinned = 0;
            for (int i = 0; i < NBINS; i++)
                for (struct td_dblock *b = p->bins[k].head[i]; b; b = b->lnext, nbinned++)
                    if (b->state != FREE || bin_of(b->size) != i || b->seg->pool != p || b->seg->kind != (enum kind)k)
                        FAIL("bin %d of pool %p holds a block that does not belong there", i, (void *)p);
            for (struct seg *g = p->segs[k]; g; g = g->next) {
                char *at = g->base;
                uint64_t nm = 0;
                for (uint64_t i = 0; g->expandable && i < g->size / d->gran; i++)
                    nm += g->mapped[i];
                if (g->expandable && nm != g->nmapped)
                    FAIL("segment %p: %llu granules mapped, counted %llu", (void *)g->base, (unsigned long long)nm,
                         (unsigned long long)g->nmapped);
                reserved += g->expandable ? g->nmapped * d->gran : g->size;
                for (struct td_dblock *b = g->first; b; b = b->next) {
                    if (b->ptr != at || b->seg != g || (b->next && b->next->prev != b) || b->size % TD_DALLOC_ROUND)
                        FAIL("blocks of segment %p do not tile it at offset %llu", (void *)g->base,
                             (unsigned long long)(at - g->base));
                    if (b->state == FREE && b->next && b->next->state == FREE)
                        FAIL("two free neighbours at offset %llu", (unsigned long long)(at - g->base));
                    at += b->size;
                    live += b->state == LIVE ? b->size : 0;
                    pend += b->state == PENDING ? b->size : 0;
                    nfree += b->state == FREE;
                    if (!g->expandable) {
                        free_mapped += b->state == FREE ? b->size : 0;
                        continue;
                    }
                    for (uint64_t i = gran_floor(g, b->ptr, d->gran); i < gran_ceil(g, at, d->gran); i++) {
                        if (b->state != FREE && !g->mapped[i])
                            FAIL("a live block at offset %llu touches an unmapped granule",
                                 (unsigned long long)(b->ptr - g->base));
                        if (b->state == FREE && g->mapped[i]) {
                            char *s0 = g->base + i * d->gran, *e0 = s0 + d->gran;
                            free_mapped += (uint64_t)((e0 < at ? e0 : at) - (s0 > b->ptr ? s0 : b->ptr));
                        }
                    }
                }
                if (at != g->base + g->size)
                    FAIL("blocks of segment %p end short of its size", (void *)g->base);
            }
            if (nfree != nbinned)
                FAIL("pool %p kind %d: %llu free blocks, %llu in bins", (void *)p, k, (unsigned long long)nfree,
                     (unsigned long long)nbinned);
        }
    if (live != d->s.allocated || pend != d->pending_bytes)
        FAIL("allocated %llu / pending %llu, counted %llu / %llu", (unsigned long long)live, (unsigned long long)pend,
             (unsigned long long)d->s.allocated, (unsigned long long)d->pending_bytes);
    if (reserved != d->s.reserved || reserved != live + pend + free_mapped)
        FAIL("reserved %llu (counted %llu) != live %llu + pending %llu + free mapped %llu",
             (unsigned long long)reserved, (unsigned long long)d->s.reserved, (unsigned long long)live,
             (unsigned long long)pend, (unsigned long long)free_mapped);
    ok = true;
out:
    pthread_mutex_unlock(&d->mu);
    return ok;
}
