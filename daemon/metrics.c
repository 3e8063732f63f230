/*
 * metrics.c — the per-record counters of metrics.h (no HTTP here: the fuzzer and the
 * Check suites link this file alone).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
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

/*
 * The record clock.  Every record reads it once, and a CLOCK_MONOTONIC read (vDSO) costs
 * 2-3x a bare rdtsc on this VM, a tenth of a small op's daemon time.  Where the kernel
 * itself keeps CLOCK_MONOTONIC on the TSC (its clocksource is "tsc": invariant and
 * synchronized across CPUs, or the kernel would have switched away), stamps are raw TSC
 * ticks, converted to ns by a rate measured once against CLOCK_MONOTONIC over ~2 ms
 * (each end read within 20000 ticks: error under 0.5%, far inside the x4 histogram
 * buckets).  Elsewhere stamps are ns.
 */
#if defined(__x86_64__)
#include <x86intrin.h>
static bool use_tsc;
static double ns_per_tick = 1.0;
static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;

/* A (tsc, ns) pair read back to back; false when every try was split by preemption. */
static bool tsc_pair(uint64_t *tsc, uint64_t *ns)
{
    for (int tries = 0; tries < 100; tries++) {
        uint64_t a = __rdtsc(), n = td_metrics_now(), b = __rdtsc();
        if (b - a < 20000) {
            *tsc = a / 2 + b / 2;
            *ns = n;
            return true;
        }
    }
    return false;
}

static void tsc_calibrate(void)
{
    char src[32] = "";
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f) {
        if (!fgets(src, sizeof src, f))
            src[0] = 0;
        fclose(f);
    }
    uint64_t t0, n0, t1, n1;
    if (strcmp(src, "tsc\n") != 0 || !tsc_pair(&t0, &n0))
        return;
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    if (!tsc_pair(&t1, &n1) || t1 <= t0 || n1 <= n0)
        return;
    ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
    use_tsc = true;
}

static uint64_t raw_stamp(void) { return use_tsc ? __rdtsc() : td_metrics_now(); }

uint64_t td_metrics_stamp(void)
{
    pthread_once(&tsc_once, tsc_calibrate);
    return raw_stamp();
}

static uint64_t stamp_ns(uint64_t ticks) { return use_tsc ? (uint64_t)((double)ticks * ns_per_tick) : ticks; }
#else
static uint64_t raw_stamp(void) { return td_metrics_now(); }
uint64_t td_metrics_stamp(void) { return td_metrics_now(); }
static uint64_t stamp_ns(uint64_t ticks) { return ticks; }
#endif

/*
 * Records of one family and bucket in a row are counted here and added to the shared
 * histogram once, when another family or bucket comes or the batch ends
 * (td_metrics_flush): a locked add costs more than the rest of the bookkeeping (it also
 * waits for the record's stores to drain), and a small op paid two.
 */
static _Thread_local struct {
    unsigned fam, bucket;
    uint64_t n, ns;
} run;

void td_metrics_flush(void)
{
    if (!run.n)
        return;
    atomic_fetch_add_explicit(&td__metrics.ops[run.fam].bucket[run.bucket], run.n, memory_order_relaxed);
    atomic_fetch_add_explicit(&td__metrics.ops[run.fam].sum_ns, run.ns, memory_order_relaxed);
    run.n = run.ns = 0;
}

uint64_t td_metrics_stamp_ns(uint64_t t0, uint64_t t1) { return t1 > t0 ? stamp_ns(t1 - t0) : 0; }

uint64_t td_metrics_op(unsigned op, uint64_t t0, enum td_code code)
{
    uint64_t now = raw_stamp(); /* t0 came from td_metrics_stamp: calibrated */
    uint64_t ns = now > t0 ? stamp_ns(now - t0) : 0;
    unsigned fam = op < TD_OP_COUNT ? td_op_table[op].family : 0;
    if (fam >= TD_METRICS_FAMILIES)
        fam = 0;
    int b = 0;
    while (b < TD_METRICS_BUCKETS && ns > td__metrics_bucket_ns[b])
        b++;
    if (run.n && (run.fam != fam || run.bucket != (unsigned)b))
        td_metrics_flush();
    run.fam = fam;
    run.bucket = (unsigned)b;
    run.n++;
    run.ns += ns;
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
