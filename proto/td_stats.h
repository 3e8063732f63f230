/*
 * td_stats.h — struct td_stats, the daemon-wide counters, field for field the
 * StatsReply message of tensord.proto (version aside).
 *
 * One declaration for both sides: the daemon fills it (daemon/session.c, counted
 * atomically by sessions and the allocator) and answers the Stats call from it;
 * libtensord's td_client_stats (tensord.h) fills it from the reply.  Installed with
 * tensord.h, which includes it.  A new counter is a new field here and in StatsReply.
 */
#ifndef TD_STATS_H
#define TD_STATS_H

#include <stdint.h>

#define TD_STATS_MAX_SESSIONS 64 /* per-session rows a reply carries at most */

struct td_stats {
    uint64_t sessions;       /* live sessions */
    uint64_t sessions_total; /* sessions since the daemon started */
    uint64_t tensors;        /* live handles over all sessions */
    uint64_t storages;       /* live storages */
    uint64_t bytes_in_use;   /* tensor bytes allocated */
    uint64_t bytes_peak;     /* most bytes_in_use ever */
    uint64_t ops_executed;   /* records executed */
    uint64_t errors;         /* records that failed */
    uint64_t bad_messages;   /* messages rejected before execution */
    uint64_t bytes_cached;   /* bytes_reserved - bytes_in_use: free but still backed */
    /* the CPU caching allocator (docs/design/memory.md) */
    uint64_t bytes_reserved;      /* arena bytes that may be backed by memory */
    uint64_t bytes_reserved_peak; /* most bytes_reserved ever */
    uint64_t bytes_free;          /* free blocks in arenas, backed or not */
    uint64_t bytes_largest_free;  /* the largest of them */
    uint64_t arenas;              /* open arenas (memfds) */
    uint64_t arena_bytes;         /* their total size */
    uint64_t allocs;              /* storages allocated since start */
    uint64_t alloc_cache_hits;    /* of those, served by a cached (backed) free block */
    uint64_t alloc_releases;      /* free blocks and arenas given back to the system */
    uint64_t alloc_ooms;          /* requests refused (quota, limit, system) */
    uint64_t alloc_pressure_releases; /* times cached memory went back under memory pressure */
    double fragmentation;         /* 1 - bytes_largest_free / bytes_free; 0 when nothing is free */
    uint32_t n_session_memory;    /* entries used in session_memory */
    struct td_session_memory {
        uint64_t session, bytes_in_use, bytes_peak, limit; /* limit 0: none */
        uint32_t uid;                                      /* UINT32_MAX: not identified */
        uint64_t gpu_bytes_in_use;                         /* its device storages, all devices */
    } session_memory[TD_STATS_MAX_SESSIONS]; /* live sessions' accounts, newest first */
};

#endif
