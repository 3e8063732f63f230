/*
 * device_alloc.h — the caching allocator for one device's memory, written against the
 * backend table (kernels/device.h) only: the CUDA plugin, its ROCm build and the host
 * stand-in all get the same allocator.
 *
 * Blocks are carved from segments and cached when released, in the manner of PyTorch's
 * CUDA caching allocator: requests are rounded to 512 B; a small pool (<= 1 MiB) and a
 * large pool never share a segment; best fit, always splitting, coalescing free
 * neighbours at release; pools per stream, so a block released on stream S is at once
 * reusable on S (stream order makes it safe), and a block that other streams used too
 * (td_dalloc_record_stream) waits until an event recorded on each of them at release
 * has completed.  With expandable segments (a backend with vmm_granularity > 0), each
 * stream's pool is one reserved address range per kind that is backed granule by
 * granule, so all free memory of a pool coalesces, and granules wholly inside free
 * blocks are unmapped when the pool would otherwise grow and at empty_cache.  Without
 * virtual memory the segments are mem_alloc'd (2 MiB small, 20 MiB or the rounded
 * request large).  docs/design/device_memory.md describes the design and its figures.
 *
 * The allocator never touches device memory (it may not be host-visible) and never
 * frees or unmaps memory queued work may still use: it synchronizes the owning stream
 * first.  Thread-safe: one mutex per allocator; accounts use atomics, so one account
 * may be charged by several devices' allocators.
 */
#ifndef TD_DEVICE_ALLOC_H
#define TD_DEVICE_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/device.h"
#include "../kernels/status.h"

struct td_dalloc;
struct td_dblock;
struct td_dalloc_account;

#define TD_DALLOC_SMALL_MAX (1ull << 20) /* requests up to this come from the small pool */
#define TD_DALLOC_ROUND 512ull           /* every block size is a multiple of this */

/*
 * The allocator of backend b's device dev (the backend's index, 0-based).  expandable:
 * use expandable segments when the backend has virtual memory (ignored otherwise).
 * NULL + st filled when the backend does not answer mem_get_info.
 */
struct td_dalloc *td_dalloc_new(const struct td_device_backend *b, int dev, bool expandable, struct td_status *st);
/* Synchronizes every stream it allocated on, releases all memory to the backend and
 * frees the allocator.  Blocks still live are released too (their owners must be gone);
 * returns how many there were (0 on a clean shutdown).  NULL ok. */
uint64_t td_dalloc_free(struct td_dalloc *d);
/* Whether it uses expandable segments. */
bool td_dalloc_expandable(const struct td_dalloc *d);

/*
 * A block of at least bytes (rounded up to 512 B; 0 gets a block too) for work on
 * stream s (NULL: the default stream), charged to acct (NULL: none).  Its bytes are
 * whatever the last user left.  NULL + RESOURCE_EXHAUSTED when acct's limit, the
 * allocator's limit (td_dalloc_set_limit) or the device's memory is exhausted, after
 * releasing cached memory and retrying once; the message is PyTorch's ("CUDA out of
 * memory. Tried to allocate 20.00 MiB (GPU 0; ...)").
 */
struct td_dblock *td_dalloc_malloc(struct td_dalloc *d, uint64_t bytes, td_stream_t s, struct td_dalloc_account *acct,
                                   struct td_status *st);
/* The block's device pointer and its (rounded) size; stable while it is live. */
void *td_dblock_ptr(const struct td_dblock *b);
uint64_t td_dblock_size(const struct td_dblock *b);
/* The stream it was allocated for. */
td_stream_t td_dblock_stream(const struct td_dblock *b);
/*
 * Marks that work on stream `other` uses b (torch's Tensor.record_stream): at release,
 * b is reused only after that work completes.  other == b's own stream is a no-op.
 * Returns false (b unchanged) on OOM of the allocator's own metadata.
 */
bool td_dalloc_record_stream(struct td_dalloc *d, struct td_dblock *b, td_stream_t other);
/* Gives b back: it is reusable at once on its stream, after the recorded streams'
 * work on others.  Credits its account.  NULL ok. */
void td_dalloc_release(struct td_dalloc *d, struct td_dblock *b);

/* Releases every cached byte it can: wholly free segments go back (mem_free), free
 * granules of expandable segments are unmapped; waits for blocks pending on other
 * streams' events first (torch.cuda.empty_cache). */
void td_dalloc_empty_cache(struct td_dalloc *d);
/*
 * Before the daemon frees stream s: synchronizes it, releases the memory cached for s
 * and retires its pool.  Blocks still live on s stay valid; released later, they are
 * freed or unmapped at the next empty_cache.  Live blocks that recorded s
 * (td_dalloc_record_stream) forget it: its work is done.  No allocation or
 * record_stream may name s afterwards.
 */
void td_dalloc_stream_retire(struct td_dalloc *d, td_stream_t s);
/* Upper bound on reserved bytes (0: the device's capacity): set_per_process_memory_fraction. */
void td_dalloc_set_limit(struct td_dalloc *d, uint64_t bytes);

struct td_dalloc_stats {
    uint64_t allocated, allocated_peak; /* bytes of live blocks (rounded sizes) */
    uint64_t requested;                 /* bytes asked for by live blocks (unrounded) */
    uint64_t reserved, reserved_peak;   /* bytes held from the backend (segments, mapped granules) */
    uint64_t active, active_peak;       /* live + released blocks still waiting on events */
    uint64_t inactive_split;            /* reserved bytes in free blocks (reserved - active) */
    uint64_t largest_free;              /* largest free reserved run (no backend call to use it) */
    double fragmentation;               /* 1 - largest_free / inactive_split; 0 when nothing is free */
    uint64_t segments;                  /* mem_alloc segments + expandable ranges */
    uint64_t blocks;                    /* live blocks */
    uint64_t allocs, frees;             /* td_dalloc_malloc successes, releases */
    uint64_t cache_hits;                /* allocations that took no new memory from the backend */
    uint64_t backend_allocs;            /* mem_alloc / vmm_map calls */
    uint64_t backend_frees;             /* mem_free / vmm_unmap calls */
    uint64_t retries;                   /* OOMs that released the cache and retried */
    uint64_t ooms;                      /* requests that failed for lack of memory */
    uint64_t syncs;                     /* stream syncs before freeing or unmapping */
    uint64_t limit;                     /* td_dalloc_set_limit, or the device capacity */
};

void td_dalloc_stats(struct td_dalloc *d, struct td_dalloc_stats *out);
/* Resets the peaks to the current values (torch.cuda.reset_peak_memory_stats). */
void td_dalloc_reset_peak(struct td_dalloc *d);

/* ---- accounts: who pays for a block (a session) */

/* An account with no limit, for session id `session`.  Refcounted: td_dalloc_account_free
 * drops the creator's hold, live blocks charged to it keep it alive (and credited).
 * NULL on OOM. */
struct td_dalloc_account *td_dalloc_account_new(uint64_t session);
void td_dalloc_account_free(struct td_dalloc_account *a);
/* Byte limit on its live blocks (0: none).  Takes effect for the next allocation. */
void td_dalloc_account_set_limit(struct td_dalloc_account *a, uint64_t bytes);
uint64_t td_dalloc_account_in_use(const struct td_dalloc_account *a);
uint64_t td_dalloc_account_peak(const struct td_dalloc_account *a);
/* The peak starts again from what is in use (torch.cuda.reset_peak_memory_stats). */
void td_dalloc_account_reset_peak(struct td_dalloc_account *a);
uint64_t td_dalloc_account_limit(const struct td_dalloc_account *a); /* 0: none */
uint64_t td_dalloc_account_session(const struct td_dalloc_account *a);

/* Tests: checks every invariant (blocks tile segments, no two free neighbours, bins hold
 * exactly the free blocks, live blocks mapped, counters match); false + why if broken. */
bool td__dalloc_verify(struct td_dalloc *d, char *why, size_t len);

#endif
