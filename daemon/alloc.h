/*
 * alloc.h — the daemon's tensor-storage allocator (CPU) and refcounted storages.
 *
 * The only code that allocates tensor bytes.  Storages are 64-byte aligned (vector
 * loads), never NULL (a 0-byte storage still gets a block, so kernels may form
 * pointers freely), and counted: bytes in use, peak, live storages.  A daemon-wide
 * limit (--max-memory, default: physical RAM) turns absurd requests into a clean
 * RESOURCE_EXHAUSTED instead of the kernel's OOM killer.  Thread-safe.
 * Freed large blocks are cached for reuse (alloc.c says why); the shared-memory
 * arenas come later behind this same interface.
 */
#ifndef TD_ALLOC_H
#define TD_ALLOC_H

#include <stdatomic.h>
#include <stdint.h>

#include "../kernels/status.h"

struct td_storage {
    atomic_int refs;
    int64_t nbytes;
    char *data;
};

/* New storage of nbytes (uninitialized), refcount 1.  NULL + RESOURCE_EXHAUSTED. */
struct td_storage *td_storage_new(int64_t nbytes, struct td_status *st);
void td_storage_ref(struct td_storage *s);
/* Drops one reference; frees at zero.  NULL ok. */
void td_storage_unref(struct td_storage *s);

/* Counters for Stats. */
void td_alloc_counters(uint64_t *in_use, uint64_t *peak, uint64_t *storages);
/* Idle bytes held by the block cache (not in use, counted against the limit). */
uint64_t td_alloc_cached_bytes(void);
/* Frees every cached block (torch.cuda.empty_cache's CPU counterpart). */
void td_alloc_empty_cache(void);
/* Upper bound on bytes in use; 0 = physical memory. */
void td_alloc_set_limit(uint64_t bytes);
/* Test hook: the n-th allocation from now fails (n < 0: never). */
void td_alloc_fail_after(int64_t n);

#endif
