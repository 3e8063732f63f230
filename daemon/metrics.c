/*
 * metrics.c — the per-record counters of metrics.h (no HTTP here: the fuzzer and the
 * Check suites link this file alone).
 */
#include "metrics.h"

#include <stdatomic.h>
#include <time.h>

#include "../kernels/op.h"
#include "metrics_data.h"

struct td_metrics_data td__metrics;

uint64_t td_metrics_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t td_metrics_op(unsigned op, uint64_t t0, enum td_code code)
{
    uint64_t now = td_metrics_now();
    uint64_t ns = now - t0;
    unsigned fam = op < TD_OP_COUNT ? td_op_table[op].family : 0;
    if (fam >= TD_METRICS_FAMILIES)
        fam = 0;
    int b = 0;
    while (b < TD_METRICS_BUCKETS && ns > td__metrics_bucket_ns[b])
        b++;
    atomic_fetch_add_explicit(&td__metrics.ops[fam].bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&td__metrics.ops[fam].sum_ns, ns, memory_order_relaxed);
    if (code != TD_CODE_OK && (unsigned)code < TD_METRICS_CODES) {
        atomic_fetch_add_explicit(&td__metrics.errors[code], 1, memory_order_relaxed);
        if (code == TD_CODE_RESOURCE_EXHAUSTED)
            atomic_fetch_add_explicit(&td__metrics.ooms, 1, memory_order_relaxed);
    }
    return now;
}

/* Upper bounds of the latency buckets (ns): x4 steps from 1 µs to ~4 s, then +Inf. */
const uint64_t td__metrics_bucket_ns[TD_METRICS_BUCKETS] = {
    1000, 4000, 16000, 64000, 256000, 1000000, 4000000, 16000000, 64000000, 256000000, 1000000000, 4000000000,
};
