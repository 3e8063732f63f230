/*
 * metrics_data.h — the counters behind metrics.h, shared by metrics.c (which bumps
 * them) and metrics_http.c (which reads them).  Internal to the daemon.
 */
#ifndef TD_METRICS_DATA_H
#define TD_METRICS_DATA_H

#include <stdatomic.h>
#include <stdint.h>

#include "../kernels/op.h"

#define TD_METRICS_FAMILIES (TD_FAM_LOSS + 1)
#define TD_METRICS_BUCKETS 12 /* finite buckets; one more for +Inf */
#define TD_METRICS_CODES 17   /* enum td_code */

struct td_metrics_data {
    struct {
        atomic_uint_fast64_t bucket[TD_METRICS_BUCKETS + 1]; /* not cumulative */
        atomic_uint_fast64_t sum_ns;
    } ops[TD_METRICS_FAMILIES];
    atomic_uint_fast64_t errors[TD_METRICS_CODES];
    atomic_uint_fast64_t ooms;
};

extern struct td_metrics_data td__metrics;
extern const uint64_t td__metrics_bucket_ns[TD_METRICS_BUCKETS];

#endif
