/*
 * math_dim.c — ops along one dim whose output has the input's shape: SOFTMAX,
 * LOG_SOFTMAX, CUMSUM, CUMPROD, CUMMAX, CUMMIN (values, indices), LOGCUMSUMEXP.
 *
 * The input is split into lanes (every index combination of the other dims); each lane
 * is loaded into a scratch row (double for float dtypes, int64 for integer and bool
 * ones, so int64 values stay exact), transformed, and stored in each output's dtype
 * through its own strides (CUMSUM_/CUMPROD_ write into a strided view).  Lanes run in
 * parallel.  Softmax subtracts the lane maximum first (numerically stable; a lane of
 * all -inf gives NaN as in PyTorch); integer cumsum/cumprod wrap in uint64; cummax and
 * cummin follow ATen's rule (>= / <=, so the last equal element's index, and a NaN
 * sticks once seen).
 */
#pragma GCC optimize("O3")

#include <math.h>
#include <stdlib.h>

#include "iter.h"

struct lanes {
    struct td_kctx *k;
    int nt, d, nd;
    int64_t len;
    const struct td_kt *t[3]; /* input, out0, out1 */
    bool fl;                  /* float lane (double scratch) */
    int err;
};

/* Byte offsets of lane m's first element in each tensor. */
static void lane_off(const struct lanes *L, int64_t m, int64_t *off)
{
    for (int t = 0; t < L->nt; t++)
        off[t] = L->t[t]->m.offset;
    for (int dd = L->nd - 1; dd >= 0; dd--) {
        if (dd == L->d)
            continue;
        int64_t s = L->t[0]->m.sizes[dd], i = m % s;
        m /= s;
        for (int t = 0; t < L->nt; t++)
            off[t] += i * L->t[t]->m.strides[dd];
    }
    for (int t = 0; t < L->nt; t++)
        off[t] *= (int64_t)td_dtype_size((enum td_dtype)L->t[t]->m.dtype);
}

static int64_t dstride(const struct lanes *L, int t)
{
    const struct td_meta *m = &L->t[t]->m;
    return L->nd ? m->strides[L->d] * (int64_t)td_dtype_size((enum td_dtype)m->dtype) : 0;
}

static void softmax_row(double *v, int64_t n, bool logsm)
{
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n; j++)
        if (v[j] > mx || v[j] != v[j])
            mx = v[j];
    for (int64_t j = 0; j < n; j++)
        sum += exp(v[j] - mx);
    double ls = log(sum);
    for (int64_t j = 0; j < n; j++)
        v[j] = logsm ? v[j] - mx - ls : exp(v[j] - mx) / sum;
}

static double log_add_exp(double x, double y)
{
    double mn = y != y ? y : (x < y ? x : y), mx = y != y ? y : (x < y ? y : x);
    if (mn != mx || isfinite(mn))
        return log1p(exp(mn - mx)) + mx;
    return x;
}

/* Float lane v[0..n) in place; idx filled for cummax/cummin. */
static void lane_f(unsigned op, double *v, int64_t *idx, int64_t n)
{
    double acc = op == TD_OP_CUMPROD ? 1 : op == TD_OP_LOGCUMSUMEXP ? -INFINITY : 0;
    int64_t ai = 0;
    switch (op) {
    case TD_OP_SOFTMAX:
    case TD_OP_LOG_SOFTMAX: softmax_row(v, n, op == TD_OP_LOG_SOFTMAX); return;
    case TD_OP_CUMSUM:
        for (int64_t j = 0; j < n; j++)
            v[j] = acc += v[j];
        return;
    case TD_OP_CUMPROD:
        for (int64_t j = 0; j < n; j++)
            v[j] = acc *= v[j];
        return;
    case TD_OP_LOGCUMSUMEXP:
        for (int64_t j = 0; j < n; j++)
            v[j] = acc = log_add_exp(acc, v[j]);
        return;
    default: /* CUMMAX, CUMMIN */
        acc = n ? v[0] : 0;
        for (int64_t j = 0; j < n; j++) {
            double x = v[j];
            bool better = op == TD_OP_CUMMAX ? x >= acc : x <= acc;
            if (x != x || (acc == acc && better))
                acc = x, ai = j;
            v[j] = acc;
            idx[j] = ai;
        }
    }
}

static void lane_i(unsigned op, int64_t *v, int64_t *idx, int64_t n)
{
    uint64_t acc = op == TD_OP_CUMPROD ? 1 : 0;
    int64_t best = n ? v[0] : 0, ai = 0;
    for (int64_t j = 0; j < n; j++) {
        switch (op) {
        case TD_OP_CUMSUM: v[j] = (int64_t)(acc += (uint64_t)v[j]); break;
        case TD_OP_CUMPROD: v[j] = (int64_t)(acc *= (uint64_t)v[j]); break;
        default:
            if (op == TD_OP_CUMMAX ? v[j] >= best : v[j] <= best)
                best = v[j], ai = j;
            v[j] = best;
            idx[j] = ai;
        }
    }
}

static void lane_task(void *ctx, int64_t b, int64_t e)
{
    struct lanes *L = ctx;
    int64_t n = L->len, off[3], s[3];
    int64_t *ibuf = malloc(sizeof(int64_t) * (size_t)(2 * n + 1));
    if (!ibuf) {
        __atomic_store_n(&L->err, 1, __ATOMIC_RELAXED);
        return;
    }
    double *fbuf = (double *)ibuf; /* same size as int64 */
    int64_t *idx = ibuf + n;
    unsigned op = L->k->op;
    for (int t = 0; t < L->nt; t++)
        s[t] = dstride(L, t);
    for (int64_t m = b; m < e; m++) {
        lane_off(L, m, off);
        const char *in = L->t[0]->data + off[0];
        enum td_dtype idt = (enum td_dtype)L->t[0]->m.dtype, odt = (enum td_dtype)L->t[1]->m.dtype;
        for (int64_t j = 0; j < n; j++) {
            if (L->fl)
                fbuf[j] = td_load_f64(idt, in + j * s[0]);
            else
                ibuf[j] = td_load_i64(idt, in + j * s[0]);
        }
        if (L->fl)
            lane_f(op, fbuf, idx, n);
        else
            lane_i(op, ibuf, idx, n);
        char *o = L->t[1]->data + off[1];
        for (int64_t j = 0; j < n; j++) {
            if (L->fl)
                td_store_f64(odt, o + j * s[1], fbuf[j]);
            else
                td_store_i64(odt, o + j * s[1], ibuf[j]);
        }
        if (L->nt == 3)
            for (int64_t j = 0; j < n; j++)
                memcpy(L->t[2]->data + off[2] + j * s[2], &idx[j], 8);
    }
    free(ibuf);
}

static bool same_sizes(const struct td_meta *a, const struct td_meta *b)
{
    return a->ndim == b->ndim && !memcmp(a->sizes, b->sizes, sizeof(int64_t) * a->ndim);
}

static enum td_code along_dim(struct td_kctx *k)
{
    const struct td_meta *x = &k->in[0]->m;
    int two = k->op == TD_OP_CUMMAX || k->op == TD_OP_CUMMIN;
    if (k->n_in != 1 || k->n_out < 1 + two || k->n_attr < 1 || x->dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    struct lanes L = {.k = k, .nt = 2 + two, .nd = x->ndim, .t = {k->in[0], k->out[0], two ? k->out[1] : NULL}};
    int64_t d = k->attrs[0];
    if (d < 0)
        d += x->ndim ? x->ndim : 1;
    if (d < 0 || d >= (x->ndim ? x->ndim : 1))
        return TD_CODE_INVALID_ARGUMENT;
    for (int t = 1; t < L.nt; t++)
        if (!same_sizes(x, &L.t[t]->m) || !td_dtype_valid(L.t[t]->m.dtype))
            return TD_CODE_INVALID_ARGUMENT;
    if (two && L.t[2]->m.dtype != TD_DTYPE_INT64)
        return TD_CODE_INVALID_ARGUMENT;
    L.d = (int)d;
    L.fl = td_dtype_is_float((enum td_dtype)x->dtype);
    bool float_only = k->op == TD_OP_SOFTMAX || k->op == TD_OP_LOG_SOFTMAX || k->op == TD_OP_LOGCUMSUMEXP;
    if (float_only && !L.fl)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t numel = td_meta_numel(x);
    L.len = x->ndim ? x->sizes[d] : 1;
    if (numel == 0 || L.len == 0)
        return TD_CODE_OK;
    int64_t lanes = numel / L.len;
    td_parallel_for(lanes, TD_GRAIN / L.len + 1, lane_task, &L);
    return L.err ? TD_CODE_RESOURCE_EXHAUSTED : TD_CODE_OK;
}

enum td_code td_cpu_softmax(struct td_kctx *k) { return along_dim(k); }
enum td_code td_cpu_log_softmax(struct td_kctx *k) { return along_dim(k); }
enum td_code td_cpu_cumsum(struct td_kctx *k) { return along_dim(k); }
enum td_code td_cpu_cumprod(struct td_kctx *k) { return along_dim(k); }
enum td_code td_cpu_cummax(struct td_kctx *k) { return along_dim(k); }
enum td_code td_cpu_cummin(struct td_kctx *k) { return along_dim(k); }
enum td_code td_cpu_logcumsumexp(struct td_kctx *k) { return along_dim(k); }
