/*
 * alloc.c — storage allocation with counters, a global limit and a block cache; see alloc.h.
 *
 * Why a cache: a fresh multi-megabyte block comes from mmap and every first touch of
 * its pages is a fault plus a page clear, which costs more than the kernel that fills
 * it (a 16M-element add spent most of its time there).  Freed blocks of at least
 * CACHE_MIN bytes are kept, keyed by their rounded size, and handed out again for
 * the same rounded size: training loops allocate the same shapes every step.
 * The cache is bounded (CACHE_MAX, and the global limit counts cached bytes) and is
 * emptied before an allocation is refused.  Sanitizer builds do not cache, so
 * use-after-free stays visible to ASan.
 *
 * What a block may hold when handed out: blocks are shared by all sessions and are not
 * cleared here (a memset per allocation would cost as much as the kernel writing the
 * output; docs/performance.md has the figures).  Every producer writes its whole output
 * before a client can read it, except EMPTY, which zeroes its block (kernels/cpu/create.c),
 * so no session sees another's freed data.  The free-list link is scrubbed on reuse all
 * the same, so the allocator's own pointers never reach a tensor.
 */
#include "alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CACHE_MIN (256u << 10)            /* smaller blocks come from malloc's own pools */
#define CACHE_MAX ((uint64_t)2 << 30)     /* at most this many idle bytes */
#define HUGE_MIN (2u << 20)               /* blocks from here on get huge pages */

#if defined(__SANITIZE_ADDRESS__)
#define CACHE_ENABLED 0
#else
#define CACHE_ENABLED 1
#endif

/* An idle block; the link lives inside the block itself. */
struct free_block {
    struct free_block *next;
    uint64_t size;
};

static atomic_uint_fast64_t bytes_in_use, bytes_peak, live_storages, bytes_cached;
static atomic_uint_fast64_t limit_bytes;
static atomic_int_fast64_t fail_countdown = -1;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_block *cache_head;

void td_alloc_set_limit(uint64_t bytes)
{
    if (!bytes) {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        bytes = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : UINT64_MAX;
    }
    atomic_store(&limit_bytes, bytes);
}

void td_alloc_fail_after(int64_t n) { atomic_store(&fail_countdown, n); }

static int injected_failure(void)
{
    int64_t n = atomic_load(&fail_countdown);
    while (n >= 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 0;
    }
    return 0;
}

/* Block size for nbytes: 64-byte multiples; cacheable sizes round up to 64 KiB steps
 * (under 25% waste at the 256 KiB threshold, less above) so near-equal shapes share blocks. */
static uint64_t block_size(int64_t nbytes)
{
    uint64_t n = (uint64_t)(nbytes > 0 ? nbytes : 0);
    if (n >= CACHE_MIN)
        return (n + 0xffffu) & ~(uint64_t)0xffff;
    n = (n + 63) & ~(uint64_t)63;
    return n ? n : 64;
}

/* A new block.  Large ones are 2 MiB aligned and asked to be backed by transparent huge
 * pages (the system default here is "madvise"): a kernel streaming through 64 MB of 4 KiB
 * pages spends much of its time on TLB misses (amax over a 4096x4096 float32 matrix ran
 * 1.6x slower than over numpy's buffers, which numpy madvises the same way), and a
 * first touch faults once per 2 MiB instead of once per 4 KiB. */
static char *block_alloc(uint64_t size)
{
    if (size < HUGE_MIN)
        return aligned_alloc(64, size);
    char *p = aligned_alloc(HUGE_MIN, (size + HUGE_MIN - 1) & ~(uint64_t)(HUGE_MIN - 1));
#ifdef MADV_HUGEPAGE
    if (p)
        madvise(p, size & ~(uint64_t)(HUGE_MIN - 1), MADV_HUGEPAGE); /* advice only: errors ignored */
#endif
    return p;
}

static char *cache_take(uint64_t size)
{
    if (!CACHE_ENABLED || size < CACHE_MIN)
        return NULL;
    pthread_mutex_lock(&cache_lock);
    struct free_block **pp = &cache_head, *b = NULL;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->size == size) {
            b = *pp;
            *pp = b->next;
            atomic_fetch_sub(&bytes_cached, size);
            break;
        }
    pthread_mutex_unlock(&cache_lock);
    if (b)
        memset(b, 0, sizeof *b); /* the link is a heap pointer: never let it reach a tensor */
    return (char *)b;
}

static void cache_put_or_free(char *data, uint64_t size)
{
    if (CACHE_ENABLED && size >= CACHE_MIN && atomic_load(&bytes_cached) + size <= CACHE_MAX) {
        struct free_block *b = (struct free_block *)data;
        pthread_mutex_lock(&cache_lock);
        b->size = size;
        b->next = cache_head;
        cache_head = b;
        atomic_fetch_add(&bytes_cached, size);
        pthread_mutex_unlock(&cache_lock);
        return;
    }
    free(data);
}

void td_alloc_empty_cache(void)
{
    pthread_mutex_lock(&cache_lock);
    struct free_block *b = cache_head;
    cache_head = NULL;
    atomic_store(&bytes_cached, 0);
    pthread_mutex_unlock(&cache_lock);
    while (b) {
        struct free_block *next = b->next;
        free(b);
        b = next;
    }
}

static bool over_limit(uint64_t used)
{
    uint64_t limit = atomic_load(&limit_bytes);
    if (used + atomic_load(&bytes_cached) <= limit)
        return false;
    td_alloc_empty_cache(); /* idle blocks give way to live ones */
    return used > limit;
}

struct td_storage *td_storage_new(int64_t nbytes, struct td_status *st)
{
    if (!atomic_load(&limit_bytes))
        td_alloc_set_limit(0);
    uint64_t size = block_size(nbytes);
    uint64_t used = atomic_fetch_add(&bytes_in_use, size) + size;
    struct td_storage *s = NULL;
    if (nbytes < 0 || injected_failure() || over_limit(used))
        goto out_fail;
    s = malloc(sizeof *s);
    if (!s)
        goto out_fail;
    s->data = cache_take(size);
    if (!s->data)
        s->data = block_alloc(size);
    if (!s->data)
        goto out_free_s;
    atomic_init(&s->refs, 1);
    s->nbytes = nbytes;
    uint64_t peak = atomic_load(&bytes_peak);
    while (used > peak && !atomic_compare_exchange_weak(&bytes_peak, &peak, used))
        ;
    atomic_fetch_add(&live_storages, 1);
    return s;

out_free_s:
    free(s);
out_fail:
    atomic_fetch_sub(&bytes_in_use, size);
    td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED,
                  "DefaultCPUAllocator: can't allocate memory: you tried to allocate %lld bytes.",
                  (long long)nbytes);
    return NULL;
}

void td_storage_ref(struct td_storage *s) { atomic_fetch_add(&s->refs, 1); }

void td_storage_unref(struct td_storage *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    uint64_t size = block_size(s->nbytes);
    atomic_fetch_sub(&bytes_in_use, size);
    atomic_fetch_sub(&live_storages, 1);
    cache_put_or_free(s->data, size);
    free(s);
}

void td_alloc_counters(uint64_t *in_use, uint64_t *peak, uint64_t *storages)
{
    *in_use = atomic_load(&bytes_in_use);
    *peak = atomic_load(&bytes_peak);
    *storages = atomic_load(&live_storages);
}

uint64_t td_alloc_cached_bytes(void) { return atomic_load(&bytes_cached); }
