/*
 * check_device_alloc.c — the device caching allocator (daemon/device_alloc.c) driven
 * through the host stand-in backend (daemon/device_host.c): the stand-in's stream and
 * event model, a transformer-like training trace with growing sequence lengths (peak
 * reserved over peak allocated, with and without expandable segments), reuse across
 * streams gated by events, a randomized trace cross-checked against a reference model
 * (live blocks never overlap, patterns survive, counters match, the backend's own count
 * of used memory equals reserved), quotas, OOM messages, retry after releasing the cache,
 * injected backend failures, and the statistics (fragmentation, peaks, empty_cache).
 * Each test runs in its own forked process, so each configures the stand-in afresh.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/device_alloc.h"
#include "../daemon/device_host.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define G TD_HOST_VMM_GRANULE

static const struct td_device_backend *B;

static struct td_dalloc *setup(uint64_t cap, bool vmm, bool expandable)
{
    B = td_device_host_backend(1, cap, vmm);
    ck_assert_ptr_nonnull(B);
    char why[64];
    ck_assert_int_eq(B->init(why, sizeof why), 1);
    struct td_status st = TD_STATUS_INIT;
    struct td_dalloc *d = td_dalloc_new(B, 0, expandable, &st);
    ck_assert_msg(d != NULL, "%s", st.msg);
    ck_assert(td_dalloc_expandable(d) == (vmm && expandable));
    return d;
}

static void verify(struct td_dalloc *d)
{
    char why[256] = "";
    ck_assert_msg(td__dalloc_verify(d, why, sizeof why), "allocator invariant: %s", why);
}

static struct td_dalloc_stats stats(struct td_dalloc *d)
{
    struct td_dalloc_stats s;
    td_dalloc_stats(d, &s);
    return s;
}

static struct td_dblock *must(struct td_dalloc *d, uint64_t n, td_stream_t s, struct td_dalloc_account *a)
{
    struct td_status st = TD_STATUS_INIT;
    struct td_dblock *b = td_dalloc_malloc(d, n, s, a, &st);
    ck_assert_msg(b != NULL, "allocating %llu: %s", (unsigned long long)n, st.msg);
    ck_assert_uint_ge(td_dblock_size(b), n);
    return b;
}

static td_stream_t stream_new(void)
{
    td_stream_t s;
    ck_assert_int_eq(B->stream_new(0, &s), 0);
    return s;
}

/* ---- the stand-in's stream model */

START_TEST(test_host_streams)
{
    B = td_device_host_backend(2, 64 * MIB, true);
    ck_assert_ptr_nonnull(B);
    char buf[128];
    B->describe(buf, sizeof buf);
    ck_assert_str_eq(buf, "host stand-in (2 devices, 64 MiB each)");
    struct td_device_props p;
    ck_assert_int_eq(B->get_props(1, &p), 0);
    ck_assert_str_eq(p.name, "tensord host stand-in");
    ck_assert_int_ne(B->get_props(2, &p), 0);

    td_stream_t a, b;
    td_event_t e1, e2, t0, t1;
    ck_assert_int_eq(B->stream_new(0, &a), 0);
    ck_assert_int_eq(B->stream_new(0, &b), 0);
    ck_assert_int_eq(B->event_new(0, &e1, 0), 0);
    ck_assert_int_eq(B->event_new(0, &e2, 0), 0);
    ck_assert_int_eq(B->event_new(0, &t0, 1), 0);
    ck_assert_int_eq(B->event_new(0, &t1, 1), 0);
    ck_assert_int_eq(B->event_query(0, e1), 0); /* never recorded: complete */

    char x[64] = {0}, y[64];
    td_device_host_stream_hold(0, a, true);
    ck_assert_int_eq(B->event_record(0, t0, a), 0);
    ck_assert_int_eq(B->memset_async(0, x, 7, sizeof x, a), 0);
    ck_assert_int_eq(B->event_record(0, e1, a), 0);
    ck_assert_int_eq(B->event_query(0, e1), 1); /* a's memset is held */
    ck_assert_int_eq(B->event_query(0, t0), 0); /* recorded before it */
    /* b waits for e1, then copies: its work is pending behind a's */
    ck_assert_int_eq(B->stream_wait_event(0, b, e1), 0);
    ck_assert_int_eq(B->memcpy_async(0, y, x, sizeof x, TD_COPY_D2D, b), 0);
    ck_assert_int_eq(B->event_record(0, e2, b), 0);
    ck_assert_int_eq(B->event_query(0, e2), 1);
    ck_assert_int_eq(y[63], 7); /* the work itself ran at once */
    td_device_host_stream_hold(0, a, false);
    ck_assert_int_eq(B->event_query(0, e1), 0);
    ck_assert_int_eq(B->event_query(0, e2), 0);
    ck_assert_int_eq(B->event_record(0, t1, a), 0);
    float ms = -1;
    ck_assert_int_eq(B->event_elapsed_ms(0, t0, t1, &ms), 0);
    ck_assert(ms >= 0.0f);
    ck_assert_int_ne(B->event_elapsed_ms(0, e1, e2, &ms), 0); /* no timing */

    /* event_sync completes held work; so does stream_sync */
    td_device_host_stream_hold(0, a, true);
    B->memset_async(0, x, 1, 1, a);
    ck_assert_int_eq(B->event_record(0, e1, a), 0);
    ck_assert_int_eq(B->event_query(0, e1), 1);
    ck_assert_int_eq(B->event_sync(0, e1), 0);
    ck_assert_int_eq(B->event_query(0, e1), 0);
    B->memset_async(0, x, 1, 1, a);
    ck_assert_int_eq(B->event_record(0, e1, a), 0);
    ck_assert_int_eq(B->stream_sync(0, a), 0);
    ck_assert_int_eq(B->event_query(0, e1), 0);
    /* an event outlives its stream */
    B->memset_async(0, x, 1, 1, a);
    ck_assert_int_eq(B->event_record(0, e1, a), 0);
    ck_assert_int_eq(B->stream_free(0, a), 0);
    ck_assert_int_eq(B->event_query(0, e1), 0);
    ck_assert_int_eq(B->stream_free(0, b), 0);
    B->event_free(0, e1);
    B->event_free(0, e2);
    B->event_free(0, t0);
    B->event_free(0, t1);
}
END_TEST

START_TEST(test_host_memory)
{
    B = td_device_host_backend(1, 8 * MIB, true);
    void *p, *q, *va;
    ck_assert_int_eq(B->mem_alloc(0, 5 * MIB, &p), 0);
    ck_assert_uint_eq((uintptr_t)p % 256, 0);
    memset(p, 1, 5 * MIB);
    ck_assert_int_eq(B->mem_alloc(0, 4 * MIB, &q), TD_HOST_ERR_OOM);
    ck_assert_str_eq(B->error_string(TD_HOST_ERR_OOM), "out of memory");
    uint64_t fr, tot;
    ck_assert_int_eq(B->mem_get_info(0, &fr, &tot), 0);
    ck_assert_uint_eq(tot, 8 * MIB);
    ck_assert_uint_eq(fr, 3 * MIB);
    ck_assert_uint_eq(B->vmm_granularity(0), G);
    ck_assert_int_eq(B->vmm_reserve(0, 64 * MIB, &va), 0); /* address space is free */
    ck_assert_uint_eq((uintptr_t)va % G, 0);
    uint64_t h1, h2;
    ck_assert_int_eq(B->vmm_map(0, (char *)va + G, G, &h1), 0);
    ck_assert_int_eq(B->vmm_map(0, (char *)va + G, G, &h2), TD_HOST_ERR_INVALID); /* mapped twice */
    ck_assert_int_eq(B->vmm_map(0, (char *)va + 2 * G, G, &h2), TD_HOST_ERR_OOM); /* 5 + 2 + 2 > 8 */
    memset((char *)va + G, 2, G);
    ck_assert_uint_eq(td_device_host_used(0), 7 * MIB);
    ck_assert_int_eq(B->vmm_release(0, va, 64 * MIB), TD_HOST_ERR_INVALID); /* still mapped */
    ck_assert_int_eq(B->vmm_unmap(0, (char *)va + G, G, h1), 0);
    ck_assert_int_eq(B->vmm_release(0, va, 64 * MIB), 0);
    ck_assert_int_eq(B->mem_free(0, p), 0);
    ck_assert_uint_eq(td_device_host_used(0), 0);
    /* kernels: the CPU ones, the complex variant at a complex dtype */
    ck_assert_ptr_eq(B->kernel(TD_OP_ADD, TD_DTYPE_FLOAT32), td_cpu_kernels[TD_OP_ADD]);
    td_kernel_fn c = td__cpu_complex_kernel(TD_OP_ADD);
    ck_assert_ptr_eq(B->kernel(TD_OP_ADD, TD_DTYPE_COMPLEX64), c ? c : td_cpu_kernels[TD_OP_ADD]);
    ck_assert_ptr_null(B->kernel(TD_OP_COUNT, TD_DTYPE_FLOAT32));
}
END_TEST

/* ---- (a) a fragmenting trace: transformer training with growing sequence lengths */

#define TRACE_MAX 4096

struct trace {
    struct td_dalloc *d;
    struct td_dblock *live[TRACE_MAX];
    int n;
};

static int t_alloc(struct trace *t, uint64_t bytes)
{
    ck_assert_int_lt(t->n, TRACE_MAX);
    t->live[t->n] = must(t->d, bytes, NULL, NULL);
    return t->n++;
}

static void t_free(struct trace *t, int i)
{
    td_dalloc_release(t->d, t->live[i]);
    t->live[i] = NULL;
}

/*
 * 12 layers, hidden 1024, batch 4, 8 heads; sequence length grows 128 -> 1024 over 15
 * steps.  Parameters and Adam state are allocated up front; parameter gradients appear
 * during the first backward pass (between activations) and live on; every third step
 * keeps one activation-sized tensor for six steps and every step a small loss tensor
 * for good: long-lived survivors interleaved with the activations.
 */
static void transformer_trace(struct td_dalloc *d, double *ratio)
{
    static struct trace t;
    memset(&t, 0, sizeof t);
    t.d = d;
    const uint64_t H = 1024, Bt = 4, heads = 8, layers = 12;
    int params[64], grads[64], kept[32] = {0};
    for (uint64_t l = 0; l < layers; l++) {
        params[l] = t_alloc(&t, 12 * H * H * 4 + 13 * H * 4); /* qkv, proj, mlp + norms and biases */
        t_alloc(&t, 2 * (12 * H * H * 4 + 13 * H * 4));       /* Adam m and v */
        grads[l] = -1;
    }
    (void)params;
    for (int step = 0; step < 15; step++) {
        uint64_t L = 128 + (uint64_t)step * 64;
        uint64_t act = Bt * L * H * 4, score = Bt * heads * L * L * 4;
        int saved[64 * 8], ns = 0;
        for (uint64_t l = 0; l < layers; l++) {
            saved[ns++] = t_alloc(&t, act);        /* norm output */
            saved[ns++] = t_alloc(&t, 3 * act);    /* qkv */
            saved[ns++] = t_alloc(&t, Bt * L * 8); /* norm statistics (small) */
            int sc = t_alloc(&t, score);           /* scores */
            saved[ns++] = t_alloc(&t, score);      /* softmax */
            t_free(&t, sc);
            saved[ns++] = t_alloc(&t, act);     /* attention output */
            saved[ns++] = t_alloc(&t, 4 * act); /* mlp hidden */
            int tmp = t_alloc(&t, 4 * act);     /* gelu temporary */
            saved[ns++] = t_alloc(&t, 4 * act);
            t_free(&t, tmp);
        }
        int logits = t_alloc(&t, Bt * L * 32000 * 2);
        int loss = t_alloc(&t, 4);
        (void)loss; /* kept for good, like a logged loss */
        if (step % 3 == 0)
            kept[step] = t_alloc(&t, act);
        if (step >= 6 && step % 3 == 0 && kept[step - 6] >= 0)
            t_free(&t, kept[step - 6]);
        int dlogits = t_alloc(&t, Bt * L * 32000 * 2);
        t_free(&t, logits);
        int dx = t_alloc(&t, act);
        for (int i = ns - 1; i >= 0; i--) {
            int g = t_alloc(&t, t.live[saved[i]] ? td_dblock_size(t.live[saved[i]]) : act);
            if (i % 7 == 0) {
                uint64_t l = (uint64_t)i / 7;
                if (grads[l] < 0)
                    grads[l] = t_alloc(&t, 12 * H * H * 4 + 13 * H * 4); /* lives on */
            }
            t_free(&t, saved[i]);
            t_free(&t, g);
        }
        t_free(&t, dx);
        t_free(&t, dlogits);
        verify(d);
    }
    struct td_dalloc_stats s = stats(d);
    *ratio = (double)s.reserved_peak / (double)s.allocated_peak;
    ck_assert_uint_eq(td_device_host_used(0), s.reserved);
    for (int i = 0; i < t.n; i++)
        if (t.live[i])
            t_free(&t, i);
    td_dalloc_empty_cache(d);
    ck_assert_uint_eq(td_device_host_used(0), 0);
    verify(d);
}

START_TEST(test_fragmentation_trace)
{
    double with, without;
    struct td_dalloc *d = setup(32 * GIB, true, true);
    transformer_trace(d, &with);
    struct td_dalloc_stats s = stats(d);
    double peak_gib = (double)s.allocated_peak / (double)GIB;
    ck_assert_uint_eq(td_dalloc_free(d), 0);
    d = setup(32 * GIB, false, false);
    transformer_trace(d, &without);
    ck_assert_uint_eq(td_dalloc_free(d), 0);
    printf("device_alloc trace: peak allocated %.2f GiB; peak reserved / peak allocated = %.4f with expandable "
           "segments, %.4f without\n",
           peak_gib, with, without);
    ck_assert_msg(with <= 1.05, "expandable segments: peak reserved / peak allocated = %.4f", with);
    ck_assert(without >= 1.0);
}
END_TEST

/* ---- (b) reuse across streams */

START_TEST(test_cross_stream)
{
    struct td_dalloc *d = setup(1 * GIB, _i, true);
    td_stream_t a = stream_new(), b = stream_new();
    /* same stream: released, reused at once (stream order) */
    struct td_dblock *x = must(d, 3 * MIB, a, NULL);
    void *px = td_dblock_ptr(x);
    td_dalloc_release(d, x);
    x = must(d, 3 * MIB, a, NULL);
    ck_assert_ptr_eq(td_dblock_ptr(x), px);
    /* another stream never gets a's cached block */
    td_dalloc_release(d, x);
    struct td_dblock *y = must(d, 3 * MIB, b, NULL);
    ck_assert_ptr_ne(td_dblock_ptr(y), px);
    td_dalloc_release(d, y);

    /* used on b too: held until b's work queued before the release completes */
    x = must(d, 3 * MIB, a, NULL);
    ck_assert_ptr_eq(td_dblock_ptr(x), px);
    ck_assert(td_dalloc_record_stream(d, x, b));
    ck_assert(td_dalloc_record_stream(d, x, b)); /* twice is once */
    ck_assert(td_dalloc_record_stream(d, x, a)); /* its own stream: no-op */
    td_device_host_stream_hold(0, b, true);
    char buf[16];
    B->memset_async(0, buf, 0, sizeof buf, b); /* b's pending work (uses x) */
    td_dalloc_release(d, x);
    struct td_dalloc_stats s = stats(d);
    ck_assert_uint_eq(s.allocated, 0);
    ck_assert_uint_eq(s.active, 3 * MIB);
    y = must(d, 3 * MIB, a, NULL);
    ck_assert_ptr_ne(td_dblock_ptr(y), px);
    td_dalloc_release(d, y);
    verify(d);
    y = must(d, 3 * MIB, a, NULL);
    ck_assert_ptr_ne(td_dblock_ptr(y), px); /* still pending */
    td_dalloc_release(d, y);
    td_device_host_stream_hold(0, b, false);
    y = must(d, 3 * MIB, a, NULL);
    ck_assert_ptr_eq(td_dblock_ptr(y), px); /* b's work done: reusable, coalesced back */
    s = stats(d);
    ck_assert_uint_eq(s.active, 3 * MIB);
    verify(d);

    /* empty_cache waits for pending blocks (event_sync) and gives everything back */
    ck_assert(td_dalloc_record_stream(d, y, b));
    td_device_host_stream_hold(0, b, true);
    B->memset_async(0, buf, 0, sizeof buf, b);
    td_dalloc_release(d, y);
    td_dalloc_empty_cache(d);
    s = stats(d);
    ck_assert_uint_eq(s.active, 0);
    ck_assert_uint_eq(s.reserved, 0);
    ck_assert_uint_eq(td_device_host_used(0), 0);
    verify(d);

    /* retiring a stream: its cache goes back, its live blocks stay valid */
    struct td_dblock *keep = must(d, 5 * MIB, b, NULL);
    td_dalloc_release(d, must(d, 7 * MIB, b, NULL));
    uint64_t syncs = td_device_host_syncs();
    td_dalloc_stream_retire(d, b);
    ck_assert_uint_gt(td_device_host_syncs(), syncs);
    td_device_host_stream_hold(0, b, false);
    ck_assert_int_eq(B->stream_free(0, b), 0);
    ck_assert_uint_eq(stats(d).allocated, 5 * MIB);
    memset(td_dblock_ptr(keep), 3, 5 * MIB);
    td_dalloc_release(d, keep);
    ck_assert_uint_eq(stats(d).reserved, 0); /* a retired pool gives back at once */
    verify(d);
    ck_assert_uint_eq(td_dalloc_free(d), 0);
    ck_assert_uint_eq(td_device_host_used(0), 0);
    B->stream_free(0, a);
}
END_TEST

/* ---- (c) randomized trace against a reference model */

struct live {
    struct td_dblock *b;
    uint64_t req;
    uint8_t tag;
    int stream;
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Bytes of b the test writes: all of a small block, head and tail of a big one. */
static void pattern(struct live *l, bool check)
{
    char *p = td_dblock_ptr(l->b);
    uint64_t n = l->req, part = n <= 256 * 1024 ? n : 64 * 1024;
    for (int half = 0; half < 2; half++) {
        char *q = half ? p + n - part : p;
        if (!check) {
            memset(q, l->tag, part);
            continue;
        }
        uint64_t bad = part;
        for (uint64_t i = 0; i < part && bad == part; i += 97)
            if ((uint8_t)q[i] != l->tag)
                bad = i;
        ck_assert_msg(bad == part, "block %p (%llu bytes) overwritten", (void *)p, (unsigned long long)n);
    }
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)td_dblock_ptr(((const struct live *)a)->b);
    uintptr_t y = (uintptr_t)td_dblock_ptr(((const struct live *)b)->b);
    return x < y ? -1 : x > y;
}

START_TEST(test_random_trace)
{
    bool exp = _i;
    struct td_dalloc *d = setup(2 * GIB, exp, exp);
    td_stream_t streams[3] = {NULL, stream_new(), stream_new()};
    enum { MAXLIVE = 200 };
    static struct live live[MAXLIVE], sorted[MAXLIVE];
    int n = 0;
    uint64_t sum = 0;
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int op = 0; op < 3000; op++) {
        uint64_t r = rnd() % 100;
        if (n < MAXLIVE && (r < 55 || n == 0)) {
            uint64_t kind = rnd() % 10, req;
            req = kind < 6 ? rnd() % (64 * 1024) : kind < 8 ? rnd() % MIB + 1 : rnd() % (24 * MIB) + MIB;
            int s = (int)(rnd() % 3);
            live[n] = (struct live){must(d, req, streams[s], NULL), req, (uint8_t)(rnd() | 1), s};
            ck_assert_ptr_eq(td_dblock_stream(live[n].b), streams[s]);
            ck_assert_uint_eq(td_dblock_size(live[n].b) % 512, 0);
            ck_assert_uint_lt(td_dblock_size(live[n].b) - req, 512 + (req == 0) * 512);
            if (req)
                pattern(&live[n], false);
            sum += td_dblock_size(live[n].b);
            if (rnd() % 8 == 0)
                td_dalloc_record_stream(d, live[n].b, streams[(s + 1) % 3]);
            n++;
        } else if (r < 97) {
            int i = (int)(rnd() % (uint64_t)n);
            if (live[i].req)
                pattern(&live[i], true);
            sum -= td_dblock_size(live[i].b);
            td_dalloc_release(d, live[i].b);
            live[i] = live[--n];
        } else if (r < 99) {
            /* hold a stream for a while: blocks used there stay pending */
            td_device_host_stream_hold(0, streams[rnd() % 3], rnd() % 2);
            B->memset_async(0, &sorted[0], 0, 1, streams[rnd() % 3]);
        } else {
            td_dalloc_empty_cache(d);
        }
        /* the reference model: live blocks are disjoint, counters add up */
        memcpy(sorted, live, (size_t)n * sizeof *live);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_ptr);
        for (int i = 1; i < n; i++)
            ck_assert_msg((char *)td_dblock_ptr(sorted[i - 1].b) + td_dblock_size(sorted[i - 1].b) <=
                              (char *)td_dblock_ptr(sorted[i].b),
                          "op %d: live blocks overlap", op);
        struct td_dalloc_stats s = stats(d);
        ck_assert_uint_eq(s.allocated, sum);
        ck_assert_uint_eq(s.blocks, (uint64_t)n);
        ck_assert_uint_ge(s.active, s.allocated);
        ck_assert_uint_ge(s.reserved, s.active);
        ck_assert_uint_eq(td_device_host_used(0), s.reserved);
        ck_assert(s.fragmentation >= 0.0 && s.fragmentation < 1.0);
        if (op % 50 == 0)
            verify(d);
    }
    struct td_dalloc_stats s = stats(d);
    printf("device_alloc random trace (%s): peak reserved / peak allocated = %.4f, %llu retries\n",
           exp ? "expandable" : "segments", (double)s.reserved_peak / (double)s.allocated_peak,
           (unsigned long long)s.retries);
    for (int i = 0; i < 3; i++)
        td_device_host_stream_hold(0, streams[i], false);
    for (int i = 0; i < n; i++) {
        if (live[i].req)
            pattern(&live[i], true);
        td_dalloc_release(d, live[i].b);
    }
    td_dalloc_empty_cache(d);
    verify(d);
    ck_assert_uint_eq(stats(d).reserved, 0);
    ck_assert_uint_eq(td_dalloc_free(d), 0);
    B->stream_free(0, streams[1]);
    B->stream_free(0, streams[2]);
}
END_TEST

/* ---- (d) quotas, OOM, retry, failures */

START_TEST(test_quota)
{
    struct td_dalloc *d = setup(1 * GIB, true, true);
    struct td_dalloc_account *a = td_dalloc_account_new(42);
    ck_assert_uint_eq(td_dalloc_account_session(a), 42);
    td_dalloc_account_set_limit(a, 10 * MIB);
    struct td_dblock *x = must(d, 6 * MIB, NULL, a);
    ck_assert_uint_eq(td_dalloc_account_in_use(a), 6 * MIB);
    struct td_status st = TD_STATUS_INIT;
    ck_assert_ptr_null(td_dalloc_malloc(d, 6 * MIB, NULL, a, &st));
    ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
    ck_assert_str_eq(st.msg, "CUDA out of memory. Tried to allocate 6.00 MiB (GPU 0). This session's memory quota on "
                             "the device is 10.00 MiB, of which 6.00 MiB is in use.");
    struct td_dblock *y = must(d, 6 * MIB, NULL, NULL); /* others are not limited */
    td_dalloc_account_free(a);                          /* the live block keeps it */
    td_dalloc_release(d, x);
    td_dalloc_release(d, y);
    ck_assert_uint_eq(stats(d).ooms, 1);
    ck_assert_uint_eq(td_dalloc_free(d), 0);
}
END_TEST

START_TEST(test_oom_retry)
{
    /* without VMM: 64 MiB device; b's cached 50 MiB segment must go back for a's 40 */
    struct td_dalloc *d = setup(64 * MIB, false, false);
    td_stream_t a = stream_new(), b = stream_new();
    td_dalloc_release(d, must(d, 50 * MIB, b, NULL));
    ck_assert_uint_eq(stats(d).reserved, 50 * MIB);
    struct td_dblock *x = must(d, 40 * MIB, a, NULL);
    struct td_dalloc_stats s = stats(d);
    ck_assert_uint_eq(s.retries, 1);
    ck_assert_uint_eq(s.reserved, 40 * MIB);
    struct td_status st = TD_STATUS_INIT;
    ck_assert_ptr_null(td_dalloc_malloc(d, 40 * MIB, a, NULL, &st));
    ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
    ck_assert_str_eq(st.msg, "CUDA out of memory. Tried to allocate 40.00 MiB (GPU 0; 64.00 MiB total capacity; "
                             "40.00 MiB already allocated; 24.00 MiB free; 40.00 MiB reserved in total by tensord)");
    s = stats(d);
    ck_assert_uint_eq(s.ooms, 1);
    ck_assert_uint_eq(s.retries, 2);
    /* a fraction limit: 32 MiB allowed */
    td_dalloc_set_limit(d, 48 * MIB);
    td_status_clear(&st);
    ck_assert_ptr_null(td_dalloc_malloc(d, 10 * MIB, a, NULL, &st));
    ck_assert_msg(strstr(st.msg, "; 48.00 MiB allowed; 40.00 MiB reserved") != NULL, "%s", st.msg);
    td_dalloc_set_limit(d, 0);
    struct td_dblock *y = must(d, 10 * MIB, a, NULL);
    td_dalloc_release(d, x);
    td_dalloc_release(d, y);
    verify(d);
    ck_assert_uint_eq(td_dalloc_free(d), 0);
    B->stream_free(0, a);
    B->stream_free(0, b);
}
END_TEST

/* Injected backend failures: one is absorbed by the retry, two fail cleanly. */
START_TEST(test_fail_injection)
{
    bool exp = _i;
    struct td_dalloc *d = setup(256 * MIB, exp, exp);
    for (int n = 0; n < 4; n++) {
        td_device_host_fail_next(n);
        struct td_status st = TD_STATUS_INIT;
        struct td_dblock *x = td_dalloc_malloc(d, 5 * MIB, NULL, NULL, &st);
        td_device_host_fail_next(0);
        if (n < 2) {
            ck_assert_msg(x != NULL, "n=%d: %s", n, st.msg);
            td_dalloc_release(d, x);
        } else {
            ck_assert_ptr_null(x);
            ck_assert_int_eq(st.code, TD_CODE_RESOURCE_EXHAUSTED);
            ck_assert_msg(strstr(st.msg, "CUDA out of memory. Tried to allocate 5.00 MiB (GPU 0;") == st.msg, "%s",
                          st.msg);
        }
        verify(d);
        td_dalloc_empty_cache(d);
        ck_assert_uint_eq(td_device_host_used(0), 0);
        ck_assert_uint_eq(stats(d).reserved, 0);
    }
    ck_assert_uint_eq(td_dalloc_free(d), 0);
}
END_TEST

/* A device larger than the address range the backend reserves (the stand-in refuses
 * ranges over 64 TiB): the pool falls back to plain segments and works. */
START_TEST(test_reserve_fallback)
{
    struct td_dalloc *d = setup(1ull << 47, true, true);
    struct td_dblock *x = must(d, 3 * MIB, NULL, NULL);
    memset(td_dblock_ptr(x), 1, 3 * MIB);
    struct td_dalloc_stats s = stats(d);
    ck_assert_uint_eq(s.reserved, 20 * MIB);
    ck_assert_uint_eq(td_device_host_used(0), 20 * MIB);
    td_dalloc_release(d, x);
    td_dalloc_empty_cache(d);
    ck_assert_uint_eq(td_device_host_used(0), 0);
    verify(d);
    ck_assert_uint_eq(td_dalloc_free(d), 0);
}
END_TEST

/* ---- (e) statistics */

START_TEST(test_stats)
{
    bool exp = _i;
    struct td_dalloc *d = setup(1 * GIB, exp, exp);
    struct td_dblock *b[4];
    for (int i = 0; i < 4; i++)
        b[i] = must(d, 4 * MIB, NULL, NULL);
    for (int i = 1; i < 4; i++)
        ck_assert_ptr_eq(td_dblock_ptr(b[i]), (char *)td_dblock_ptr(b[i - 1]) + 4 * MIB); /* packed */
    struct td_dalloc_stats s = stats(d);
    ck_assert_uint_eq(s.allocated, 16 * MIB);
    ck_assert_uint_eq(s.reserved, exp ? 16 * MIB : 20 * MIB);
    ck_assert_uint_eq(s.cache_hits, exp ? 0 : 3);
    td_dalloc_release(d, b[0]);
    td_dalloc_release(d, b[2]);
    s = stats(d);
    ck_assert_uint_eq(s.allocated, 8 * MIB);
    ck_assert_uint_eq(s.allocated_peak, 16 * MIB);
    ck_assert_uint_eq(s.inactive_split, s.reserved - 8 * MIB);
    ck_assert_uint_eq(s.largest_free, 4 * MIB);
    ck_assert_double_eq_tol(s.fragmentation, exp ? 0.5 : 2.0 / 3.0, 1e-9);
    td_dalloc_reset_peak(d);
    ck_assert_uint_eq(stats(d).allocated_peak, 8 * MIB);

    /* empty_cache: reserved falls to what live blocks need */
    struct td_dblock *small = must(d, 1000, NULL, NULL);
    ck_assert_uint_eq(td_dblock_size(small), 1024);
    td_dalloc_empty_cache(d);
    s = stats(d);
    ck_assert_uint_eq(s.allocated, 8 * MIB + 1024);
    ck_assert_uint_eq(s.requested, 8 * MIB + 1000);
    /* expandable: the granules the live blocks touch; else their segments */
    ck_assert_uint_eq(s.reserved, exp ? 8 * MIB + G : 20 * MIB + 2 * MIB);
    ck_assert_uint_eq(td_device_host_used(0), s.reserved);
    ck_assert_uint_eq(s.segments, 2);
    ck_assert_uint_eq(s.blocks, 3);
    ck_assert_uint_eq(s.allocs, 5);
    ck_assert_uint_eq(s.frees, 2);
    td_dalloc_release(d, small);
    td_dalloc_release(d, b[1]);
    td_dalloc_release(d, b[3]);
    td_dalloc_empty_cache(d);
    s = stats(d);
    ck_assert_uint_eq(s.reserved, 0);
    ck_assert_double_eq(s.fragmentation, 0.0);
    verify(d);

    /* td_dalloc_free reclaims blocks left live, and credits their account */
    struct td_dalloc_account *a = td_dalloc_account_new(1);
    must(d, 3 * MIB, NULL, a);
    must(d, 100, NULL, a);
    ck_assert_uint_eq(td_dalloc_account_peak(a), 3 * MIB + 512);
    ck_assert_uint_eq(td_dalloc_free(d), 2);
    ck_assert_uint_eq(td_dalloc_account_in_use(a), 0);
    td_dalloc_account_free(a);
    ck_assert_uint_eq(td_device_host_used(0), 0);
}
END_TEST

/* ---- threads: one allocator, four threads on their own streams, one shared account */

struct worker {
    struct td_dalloc *d;
    struct td_dalloc_account *a;
    td_stream_t own, other;
    uint64_t seed;
    int bad;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct td_dblock *held[16] = {0};
    uint64_t x = w->seed;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int slot = (int)(x % 16);
        if (held[slot]) {
            char *p = td_dblock_ptr(held[slot]);
            w->bad += p[0] != (char)slot || p[td_dblock_size(held[slot]) - 1] != (char)slot;
            td_dalloc_release(w->d, held[slot]);
            held[slot] = NULL;
            continue;
        }
        uint64_t n = x % 3 ? (x >> 8) % 65536 + 1 : (x >> 8) % (4 * MIB) + 1;
        struct td_status st = TD_STATUS_INIT;
        held[slot] = td_dalloc_malloc(w->d, n, w->own, w->a, &st);
        if (!held[slot]) {
            w->bad++;
            continue;
        }
        if (x % 5 == 0)
            td_dalloc_record_stream(w->d, held[slot], w->other);
        char *p = td_dblock_ptr(held[slot]);
        p[0] = p[td_dblock_size(held[slot]) - 1] = (char)slot;
    }
    for (int i = 0; i < 16; i++)
        td_dalloc_release(w->d, held[i]);
    return NULL;
}

START_TEST(test_threads)
{
    struct td_dalloc *d = setup(4 * GIB, _i, _i);
    struct td_dalloc_account *a = td_dalloc_account_new(7);
    struct worker w[4];
    pthread_t th[4];
    td_stream_t s[4];
    for (int i = 0; i < 4; i++)
        s[i] = stream_new();
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){d, a, s[i], s[(i + 1) % 4], 0x1234567ull * (uint64_t)(i + 1), 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].bad, 0);
    }
    verify(d);
    struct td_dalloc_stats st = stats(d);
    ck_assert_uint_eq(st.allocated, 0);
    ck_assert_uint_eq(st.allocs, st.frees);
    ck_assert_uint_eq(td_dalloc_account_in_use(a), 0);
    ck_assert_uint_gt(td_dalloc_account_peak(a), 0);
    td_dalloc_empty_cache(d);
    ck_assert_uint_eq(td_device_host_used(0), 0);
    ck_assert_uint_eq(td_dalloc_free(d), 0);
    td_dalloc_account_free(a);
    for (int i = 0; i < 4; i++)
        B->stream_free(0, s[i]);
}
END_TEST

static Suite *device_alloc_suite(void)
{
    Suite *s = suite_create("device_alloc");
    TCase *tc = tcase_create("host stand-in");
    tcase_add_test(tc, test_host_streams);
    tcase_add_test(tc, test_host_memory);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("traces");
    tcase_add_test(tc, test_fragmentation_trace);
    tcase_add_loop_test(tc, test_random_trace, 0, 2);
    tcase_set_timeout(tc, 240);
    suite_add_tcase(s, tc);
    tc = tcase_create("streams");
    tcase_add_loop_test(tc, test_cross_stream, 0, 2);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_add_test(tc, test_quota);
    tcase_add_test(tc, test_oom_retry);
    tcase_add_loop_test(tc, test_fail_injection, 0, 2);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_add_loop_test(tc, test_threads, 0, 2);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("stats");
    tcase_add_loop_test(tc, test_stats, 0, 2);
    tcase_add_test(tc, test_reserve_fallback);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(device_alloc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
