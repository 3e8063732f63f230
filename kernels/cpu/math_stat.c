/*
 * math_stat.c — the STAT family: VAR STD VAR_MEAN STD_MEAN LOGSUMEXP NORM NANSUM NANMEAN
 * COUNT_NONZERO AMINMAX MEDIAN MEDIAN_DIM MODE over a dim mask.
 *
 * Each output element gathers its reduced elements (row-major over the reduced dims)
 * into a scratch row — double for float dtypes, int64 for integer/bool ones so int64
 * values stay exact — and a per-op routine turns the row into one or two results.
 * Outputs are fresh and contiguous, so output element m is at offset m.  Rows run in
 * parallel.  This favours simplicity and exactness (two-pass variance, exact medians)
 * over the streaming speed of reduce.c; the scratch row costs 8 bytes per reduced
 * element per thread.
 * Semantics kept from PyTorch: var divides by max(0, N - correction); logsumexp
 * treats an infinite maximum as 0 when shifting; median is the lower median and NaN
 * when the row has a NaN; mode picks the most frequent value (the smallest on ties)
 * and the index of its last occurrence; aminmax propagates NaN.
 */
#pragma GCC optimize("O3")

#include <math.h>
#include <stdlib.h>

#include "iter.h"

struct splan {
    struct td_kctx *k;
    int nk, nr;
    int64_t ks[TD_MAX_DIMS], kst[TD_MAX_DIMS]; /* kept sizes / byte strides */
    int64_t rs[TD_MAX_DIMS], rst[TD_MAX_DIMS]; /* reduced sizes / byte strides */
    int64_t kcount, rcount;
    const char *in;
    enum td_dtype idt;
    bool fl;
    int err;
};

struct fpair { double v; int64_t i; };
struct ipair { int64_t v; int64_t i; };

static int cmp_f(const void *a_, const void *b_)
{
    const struct fpair *a = a_, *b = b_;
    bool na = a->v != a->v, nb = b->v != b->v;
    if (na != nb)
        return na ? 1 : -1; /* NaN sorts last */
    if (!na && a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int cmp_i(const void *a_, const void *b_)
{
    const struct ipair *a = a_, *b = b_;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Gathers output m's reduced elements into f (float) or v (int). */
static void gather(const struct splan *P, int64_t m, double *f, int64_t *v)
{
    int64_t base = 0, idx[TD_MAX_DIMS] = {0};
    for (int d = P->nk - 1; d >= 0; d--) {
        base += (m % P->ks[d]) * P->kst[d];
        m /= P->ks[d];
    }
    const char *p = P->in + base;
    for (int64_t r = 0; r < P->rcount; r++) {
        if (P->fl)
            f[r] = td_load_f64(P->idt, p);
        else
            v[r] = td_load_i64(P->idt, p);
        for (int d = P->nr - 1; d >= 0; d--) { /* odometer over the reduced dims */
            p += P->rst[d];
            if (++idx[d] < P->rs[d])
                break;
            p -= P->rst[d] * P->rs[d];
            idx[d] = 0;
        }
    }
}

static double norm_row(const double *f, int64_t n, double p)
{
    double acc = 0;
    if (isinf(p)) {
        acc = n ? fabs(f[0]) : 0;
        for (int64_t j = 0; j < n; j++) {
            double a = fabs(f[j]);
            if (a != a || (p > 0 ? a > acc : a < acc))
                acc = a;
            if (a != a)
                break;
        }
        return acc;
    }
    for (int64_t j = 0; j < n; j++) {
        double a = fabs(f[j]);
        acc += p == 0 ? (a != 0) : p == 1 ? a : p == 2 ? a * a : pow(a, p);
    }
    return p == 0 || p == 1 ? acc : p == 2 ? sqrt(acc) : pow(acc, 1 / p);
}

/* One float row to results r[0], r[1] (value or index). */
static void row_f(const struct splan *P, double *f, void *scratch, double *r, int64_t *ri)
{
    int64_t n = P->rcount;
    const int64_t *a = P->k->attrs;
    double sum = 0, mx = -INFINITY, c;
    int64_t cnt = 0;
    switch (P->k->op) {
    case TD_OP_VAR:
    case TD_OP_STD:
    case TD_OP_VAR_MEAN:
    case TD_OP_STD_MEAN: {
        for (int64_t j = 0; j < n; j++)
            sum += f[j];
        double mean = sum / (double)n, m2 = 0;
        for (int64_t j = 0; j < n; j++)
            m2 += (f[j] - mean) * (f[j] - mean);
        c = (double)n - (double)a[TD_A_STAT_EXTRA]; /* the correction */
        double var = m2 / (c > 0 ? c : 0);
        r[0] = (P->k->op == TD_OP_STD || P->k->op == TD_OP_STD_MEAN) ? sqrt(var) : var;
        r[1] = mean;
        return;
    }
    case TD_OP_LOGSUMEXP:
        for (int64_t j = 0; j < n; j++)
            if (f[j] > mx || f[j] != f[j])
                mx = f[j];
        if (isinf(mx))
            mx = 0;
        for (int64_t j = 0; j < n; j++)
            sum += exp(f[j] - mx);
        r[0] = log(sum) + mx;
        return;
    case TD_OP_NORM: memcpy(&c, &a[TD_A_NORM_P], sizeof c); r[0] = norm_row(f, n, c); return;
    case TD_OP_NANSUM:
    case TD_OP_NANMEAN:
        for (int64_t j = 0; j < n; j++)
            if (f[j] == f[j])
                sum += f[j], cnt++;
        r[0] = P->k->op == TD_OP_NANSUM ? sum : sum / (double)cnt;
        return;
    case TD_OP_COUNT_NONZERO:
        for (int64_t j = 0; j < n; j++)
            cnt += f[j] != 0;
        ri[0] = cnt;
        return;
    case TD_OP_AMINMAX:
        r[0] = INFINITY, r[1] = -INFINITY;
        for (int64_t j = 0; j < n; j++) {
            if (f[j] != f[j]) {
                r[0] = r[1] = f[j];
                return;
            }
            r[0] = f[j] < r[0] ? f[j] : r[0];
            r[1] = f[j] > r[1] ? f[j] : r[1];
        }
        return;
    default: break; /* MEDIAN, MEDIAN_DIM, MODE */
    }
    struct fpair *pr = scratch;
    for (int64_t j = 0; j < n; j++)
        pr[j] = (struct fpair){f[j], j};
    qsort(pr, (size_t)n, sizeof *pr, cmp_f);
    if (P->k->op != TD_OP_MODE) {
        int64_t k = (n - 1) / 2;
        if (n && pr[n - 1].v != pr[n - 1].v) /* a NaN: the first one */
            for (k = n - 1; k > 0 && pr[k - 1].v != pr[k - 1].v; k--)
                ;
        r[0] = n ? pr[k].v : NAN;
        ri[1] = n ? pr[k].i : 0;
        return;
    }
    int64_t best = 0;
    for (int64_t j = 0, run = 0; j < n; j++) {
        run = (j && (pr[j].v == pr[j - 1].v || (pr[j].v != pr[j].v && pr[j - 1].v != pr[j - 1].v))) ? run + 1 : 1;
        if (run > best)
            best = run, r[0] = pr[j].v, ri[1] = pr[j].i;
        else if (run == best && r[0] == pr[j].v)
            ri[1] = pr[j].i;
    }
}

static void row_i(const struct splan *P, int64_t *v, void *scratch, int64_t *r, int64_t *ri)
{
    int64_t n = P->rcount, cnt = 0;
    uint64_t sum = 0;
    switch (P->k->op) {
    case TD_OP_NANSUM:
        for (int64_t j = 0; j < n; j++)
            sum += (uint64_t)v[j];
        r[0] = (int64_t)sum;
        return;
    case TD_OP_COUNT_NONZERO:
        for (int64_t j = 0; j < n; j++)
            cnt += v[j] != 0;
        ri[0] = cnt;
        return;
    case TD_OP_AMINMAX:
        r[0] = r[1] = n ? v[0] : 0;
        for (int64_t j = 0; j < n; j++) {
            r[0] = v[j] < r[0] ? v[j] : r[0];
            r[1] = v[j] > r[1] ? v[j] : r[1];
        }
        return;
    default: break;
    }
    struct ipair *pr = scratch;
    for (int64_t j = 0; j < n; j++)
        pr[j] = (struct ipair){v[j], j};
    qsort(pr, (size_t)n, sizeof *pr, cmp_i);
    if (P->k->op != TD_OP_MODE) {
        r[0] = n ? pr[(n - 1) / 2].v : 0;
        ri[1] = n ? pr[(n - 1) / 2].i : 0;
        return;
    }
    int64_t best = 0;
    for (int64_t j = 0, run = 0; j < n; j++) {
        run = (j && pr[j].v == pr[j - 1].v) ? run + 1 : 1;
        if (run > best)
            best = run, r[0] = pr[j].v, ri[1] = pr[j].i;
        else if (run == best && r[0] == pr[j].v)
            ri[1] = pr[j].i;
    }
}

/* Which results an op stores: value in out0 (as float or int), out1 as value or index. */
static void store(const struct splan *P, int64_t m, const double *rf, const int64_t *ri_v, const int64_t *ri)
{
    struct td_kctx *k = P->k;
    unsigned op = k->op;
    for (int o = 0; o < k->n_out; o++) {
        const struct td_meta *om = &k->out[o]->m;
        char *dst = k->out[o]->data + (om->offset + m) * (int64_t)td_dtype_size((enum td_dtype)om->dtype);
        bool is_index = o == 1 && (op == TD_OP_MEDIAN_DIM || op == TD_OP_MODE);
        if (op == TD_OP_COUNT_NONZERO || is_index)
            td_store_i64((enum td_dtype)om->dtype, dst, ri[o]);
        else if (P->fl)
            td_store_f64((enum td_dtype)om->dtype, dst, rf[o]);
        else
            td_store_i64((enum td_dtype)om->dtype, dst, ri_v[o]);
    }
}

static void stat_task(void *ctx, int64_t b, int64_t e)
{
    struct splan *P = ctx;
    size_t n = (size_t)P->rcount + 1;
    int64_t *buf = malloc(n * sizeof(int64_t) * 3); /* row + pair scratch */
    if (!buf) {
        __atomic_store_n(&P->err, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t m = b; m < e; m++) {
        double rf[2] = {0, 0};
        int64_t rv[2] = {0, 0}, ri[2] = {0, 0};
        gather(P, m, (double *)buf, buf);
        if (P->fl)
            row_f(P, (double *)buf, buf + n, rf, ri);
        else
            row_i(P, buf, buf + n, rv, ri);
        store(P, m, rf, rv, ri);
    }
    free(buf);
}

static enum td_code stat(struct td_kctx *k)
{
    const struct td_meta *x = &k->in[0]->m;
    if (k->n_in != 1 || k->n_attr < TD_N_STAT || k->n_out != td_op_table[k->op].n_out || x->dtype != k->compute_dtype ||
        x->dtype == TD_DTYPE_FLOAT16 || x->dtype == TD_DTYPE_BFLOAT16)
        return TD_CODE_INVALID_ARGUMENT;
    struct splan P = {.k = k, .kcount = 1, .rcount = 1, .idt = (enum td_dtype)x->dtype};
    int nd = x->ndim;
    uint64_t mask = (uint64_t)k->attrs[TD_A_STAT_DIM];
    if (k->op == TD_OP_MEDIAN)
        mask = ~0ull;
    size_t esz = td_dtype_size(P.idt);
    for (int d = 0; d < nd; d++) {
        int64_t s = x->sizes[d], bs = x->strides[d] * (int64_t)esz;
        if (mask >> d & 1) {
            P.rs[P.nr] = s, P.rst[P.nr++] = bs, P.rcount *= s;
        } else {
            P.ks[P.nk] = s, P.kst[P.nk++] = bs, P.kcount *= s;
        }
    }
    for (int o = 0; o < k->n_out; o++)
        if (td_meta_numel(&k->out[o]->m) != P.kcount || !td_meta_is_contiguous(&k->out[o]->m))
            return TD_CODE_INVALID_ARGUMENT;
    bool needs_elem = k->op == TD_OP_AMINMAX || k->op == TD_OP_MEDIAN_DIM || k->op == TD_OP_MODE ||
                      (k->op == TD_OP_MEDIAN && !td_dtype_is_float(P.idt));
    if (needs_elem && P.rcount == 0 && P.kcount > 0)
        return TD_CODE_INVALID_ARGUMENT;
    P.in = k->in[0]->data + x->offset * (int64_t)esz;
    P.fl = td_dtype_is_float(P.idt);
    if (P.kcount == 0)
        return TD_CODE_OK;
    td_parallel_for(P.kcount, TD_GRAIN / (P.rcount + 1) + 1, stat_task, &P);
    return P.err ? TD_CODE_RESOURCE_EXHAUSTED : TD_CODE_OK;
}

enum td_code td_cpu_var(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_std(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_var_mean(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_std_mean(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_logsumexp(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_norm(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_nansum(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_nanmean(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_count_nonzero(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_aminmax(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_median(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_median_dim(struct td_kctx *k) { return stat(k); }
enum td_code td_cpu_mode(struct td_kctx *k) { return stat(k); }
