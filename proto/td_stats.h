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
    uint64_t bytes_cached;   /* idle blocks the allocator keeps for reuse */
};

#endif
