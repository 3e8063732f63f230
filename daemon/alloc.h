/*
 * alloc.h — the daemon's CPU caching allocator: tensor storage in daemon-owned memfd
 * arenas, refcounted storages, per-session accounts (quotas) and statistics.
 *
 * The only code that allocates tensor bytes.  Storages are 64-byte aligned (vector
 * loads; 2 MiB for blocks of 2 MiB and more), never NULL (a 0-byte storage still gets a
 * block, so kernels may form pointers freely), and live in an arena: a memfd the daemon
 * created, mapped MAP_SHARED, sealed against shrinking, that the transport may send to
 * clients of the arena's uid (td_alloc_arena_fd).  Arenas are pooled per uid, the trust
 * boundary: memory of one uid's pool is never handed to another uid.  docs/design/memory.md
 * describes the design (size rounding, small/large pools, best fit, splitting and
 * coalescing, idle release, quotas) and its figures.  All of the allocator's metadata
 * lives in the daemon's heap, never in arena memory, which clients can write.
 * Thread-safe (one lock; storage refcounts are atomic).  Small storages dropped by the
 * thread bound to their own account are parked on that thread for reuse without the lock
 * (alloc.c, docs/design/memory.md); they stay counted as live until given back.
 */
#ifndef TD_ALLOC_H
#define TD_ALLOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/status.h"

struct td_alloc_account;
struct td__block;

struct td_storage {
    atomic_int refs;
    int64_t nbytes;
    char *data;
    uint32_t arena;                /* id of the arena holding data (never reused; 0: none) */
    uint64_t offset;               /* byte offset of data in that arena's memfd */
    struct td_alloc_account *acct; /* the account charged: credited at the last unref */
    struct td__block *block;       /* the allocator's own record (daemon heap) */
    uint8_t device;                /* 0: CPU (this allocator); 1 + i: cuda:i (daemon/device.h) */
    void *dblock;                  /* a device storage's block in its device's allocator */
};

/*
 * New storage of nbytes (uninitialized: a cached block holds bytes an earlier storage of
 * the same uid pool left), refcount 1, charged to the account bound to this thread (none
 * bound: the daemon's own, unidentified and unlimited).  NULL + RESOURCE_EXHAUSTED when
 * the session's quota or the daemon's limit is hit or the system refuses memory.
 */
struct td_storage *td_storage_new(int64_t nbytes, struct td_status *st);
void td_storage_ref(struct td_storage *s);
/* Drops one reference; at zero the block goes back to the cache and its account is
 * credited, whichever thread or session dropped it.  NULL ok. */
void td_storage_unref(struct td_storage *s);

/* ---- accounts: who pays for a storage */

#define TD_ALLOC_UID_NONE UINT32_MAX /* not identified: a pool that is never exported */

/*
 * A session's account: its pool (by uid) and its quota.  session is the id reported in
 * stats; the byte limit is the daemon's default (td_alloc_set_session_limit) at creation.
 * NULL on OOM.  td_alloc_account_free drops the creator's hold: the account lives on
 * (and keeps being credited) while storages charged to it live.  NULL ok.
 */
struct td_alloc_account *td_alloc_account_new(uint64_t session, uint32_t uid);
void td_alloc_account_free(struct td_alloc_account *a);
/* Moves the account to uid's pool; false (nothing changed) once it has allocated. */
bool td_alloc_account_set_uid(struct td_alloc_account *a, uint32_t uid);
/* Its own byte limit (0: none). */
void td_alloc_account_set_limit(struct td_alloc_account *a, uint64_t bytes);
uint64_t td_alloc_account_in_use(const struct td_alloc_account *a);
/* Binds the account td_storage_new charges on this thread (NULL: the daemon's own).
 * td_session_exec binds its session's, as it sets the thread limit, and unbinds at the
 * end of the batch.  Binding another account (or none) gives back the storages parked on
 * this thread, so a thread that binds must unbind before it stops. */
void td_alloc_bind(struct td_alloc_account *a);

/*
 * The memfd of arena `arena` when it exists and belongs to uid's pool (the unidentified
 * pool never matches), with its size (fixed: arenas never grow or shrink); else -1.
 * A duplicate made under the allocator's lock, owned by the caller (close it): the
 * arena's own descriptor may be closed by the housekeeping thread at any time once the
 * arena is wholly free, and a number used after that could name an unrelated file.
 */
int td_alloc_arena_fd(uint32_t arena, uint32_t uid, uint64_t *size);

/* ---- limits and returning memory */

/* Upper bound on bytes in use, daemon-wide; 0 = physical memory. */
void td_alloc_set_limit(uint64_t bytes);
/* Default quota of new accounts (0: none). */
void td_alloc_set_session_limit(uint64_t bytes);
/* Free blocks idle this long go back to the system (default 10 s). */
void td_alloc_set_idle_ns(uint64_t ns);
/* Monotonic clock of the idle policy, in ns. */
uint64_t td_alloc_now_ns(void);
/* Releases blocks idle since before now_ns - idle time (punches their pages, closes
 * wholly free arenas).  The housekeeping thread calls it; tests pass a future now_ns. */
void td_alloc_release_idle(uint64_t now_ns);
/* Releases every free block at once (torch.cuda.empty_cache's CPU counterpart). */
void td_alloc_empty_cache(void);
/* Memory pressure: when the room the machine or the daemon's cgroup has left falls below
 * fraction of its total (daemon/mempressure.h), cached free blocks go back at once
 * (default 0.05; 0: never).  td_alloc_relieve_pressure checks once, reading under the
 * given roots ("/proc", "/sys/fs/cgroup"; tests pass their own). */
void td_alloc_set_pressure_fraction(double fraction);
void td_alloc_relieve_pressure(const char *proc_root, const char *cgroup_root);
/* A thread calling td_alloc_release_idle every quarter of the idle time and
 * td_alloc_relieve_pressure as often (at least every 1 s, at most every 10 ms). */
bool td_alloc_housekeeping_start(void);
void td_alloc_housekeeping_stop(void);

/* ---- statistics */

struct td_alloc_stats {
    uint64_t in_use, peak;                /* bytes of live blocks (rounded sizes) */
    uint64_t reserved, reserved_peak;     /* arena bytes that may be backed by memory */
    uint64_t cached;                      /* reserved - in_use: free but backed */
    uint64_t free_bytes, largest_free;    /* free blocks in arenas, backed or not */
    uint64_t arenas, arena_bytes;         /* open arenas and their total size */
    uint64_t storages;                    /* live storages */
    uint64_t allocs, cache_hits;          /* allocations; those that reused a free block */
    uint64_t releases, ooms;              /* blocks/arenas given back; refused requests */
    uint64_t pressure_releases;           /* passes that gave cached memory back under pressure */
    double fragmentation;                 /* 1 - largest_free / free_bytes (0 when none) */
};
void td_alloc_stats(struct td_alloc_stats *out);

/* Per-account usage, for the Stats reply. */
struct td_alloc_usage {
    uint64_t session, in_use, peak, limit;
    uint32_t uid;
};
/* Fills at most max entries (live accounts, newest first); returns how many. */
int td_alloc_usage(struct td_alloc_usage *out, int max);

/* Kept for callers of the old interface. */
void td_alloc_counters(uint64_t *in_use, uint64_t *peak, uint64_t *storages);
uint64_t td_alloc_cached_bytes(void);

/* Tests: walks every arena and checks the invariants (blocks tile each arena, free blocks
 * are merged and binned, counters match); false with the reason in why. */
bool td__alloc_verify(char *why, size_t n);
/* Test hook: the n-th allocation from now fails (n < 0: never). */
void td_alloc_fail_after(int64_t n);

#endif
