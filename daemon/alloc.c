/* alloc.c — storage allocation with counters and a global limit; see alloc.h. */
#include "alloc.h"

#include <stdlib.h>
#include <unistd.h>

static atomic_uint_fast64_t bytes_in_use, bytes_peak, live_storages;
static atomic_uint_fast64_t limit_bytes;
static atomic_int_fast64_t fail_countdown = -1;

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

struct td_storage *td_storage_new(int64_t nbytes, struct td_status *st)
{
    if (!atomic_load(&limit_bytes))
        td_alloc_set_limit(0);
    uint64_t rounded = ((uint64_t)(nbytes > 0 ? nbytes : 0) + 63) & ~(uint64_t)63;
    if (!rounded)
        rounded = 64;
    uint64_t used = atomic_fetch_add(&bytes_in_use, rounded) + rounded;
    struct td_storage *s = NULL;
    if (nbytes < 0 || used > atomic_load(&limit_bytes) || injected_failure())
        goto out_fail;
    s = malloc(sizeof *s);
    if (!s)
        goto out_fail;
    s->data = aligned_alloc(64, rounded);
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
    atomic_fetch_sub(&bytes_in_use, rounded);
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
    uint64_t rounded = ((uint64_t)s->nbytes + 63) & ~(uint64_t)63;
    atomic_fetch_sub(&bytes_in_use, rounded ? rounded : 64);
    atomic_fetch_sub(&live_storages, 1);
    free(s->data);
    free(s);
}

void td_alloc_counters(uint64_t *in_use, uint64_t *peak, uint64_t *storages)
{
    *in_use = atomic_load(&bytes_in_use);
    *peak = atomic_load(&bytes_peak);
    *storages = atomic_load(&live_storages);
}
