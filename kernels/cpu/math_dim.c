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

#include "../special_fns.h"
#include "iter.h"
#include "vmath.h"

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
            v[j] = acc = td_log_add_exp_step(acc, v[j]);
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

/* ---- softmax fast paths (float32/float64, the softmax dim at stride 1 or a contiguous
 * outer x len x inner block) ----
 *
 * Rows are handled in the tensor's own type, in three vector passes: max, sum of
 * exp(x - max) (stored), then scale (or (x - max) - log(sum)).  exp is a Cody-Waite
 * reduction plus a Taylor polynomial (within 1-2 ulp) without branches; arguments are
 * <= 0, below the underflow limit it gives 0, NaN stays NaN.  A lane whose maximum is not finite (+inf, all -inf) or whose sum is NaN
 * (a NaN in it) goes through softmax_row in double, which gives PyTorch's NaNs. */
/* GCC vector extensions: the ternaries of a scalar exp defeat if-conversion, so the hot
 * loops are written on explicit 32-byte vectors (two SSE halves on the baseline clone).
 * They never cross a non-inlined call, so the psabi note about passing them is moot. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double v4df __attribute__((vector_size(32), aligned(8)));
typedef int64_t v4di __attribute__((vector_size(32), aligned(8)));
#define SPLAT4(c) ((v4df){c, c, c, c})
#define SEL4(m, a, b) ((v4df)(((m) & (v4di)(a)) | (~(m) & (v4di)(b))))

/* x <= 0 or NaN; round(c / ln 2) by the 1.5 * 2^52 magic-add trick (the float lanes'
 * exp is vmath.h's vm_expf_neg8). */
static inline __attribute__((always_inline)) v4df vexp_f64(v4df x)
{
    v4di lo = x < SPLAT4(-708.0), nan = x != x;
    v4df c = SEL4(lo | nan, SPLAT4(-708.0), x);
    c = SEL4(c > SPLAT4(0.0), SPLAT4(0.0), c);
    v4df t = c * SPLAT4(1.4426950408889634) + SPLAT4(6755399441055744.0);
    v4df n = t - SPLAT4(6755399441055744.0);
    v4di ni = (v4di)t - (v4di)SPLAT4(6755399441055744.0);
    v4df r = c - n * SPLAT4(6.93145751953125e-1) - n * SPLAT4(1.42860682030941723212e-6);
    v4df p = SPLAT4(1.0 / 479001600);
    p = p * r + SPLAT4(1.0 / 39916800);
    p = p * r + SPLAT4(1.0 / 3628800);
    p = p * r + SPLAT4(1.0 / 362880);
    p = p * r + SPLAT4(1.0 / 40320);
    p = p * r + SPLAT4(1.0 / 5040);
    p = p * r + SPLAT4(1.0 / 720);
    p = p * r + SPLAT4(1.0 / 120);
    p = p * r + SPLAT4(1.0 / 24);
    p = p * r + SPLAT4(1.0 / 6);
    p = p * r + SPLAT4(0.5);
    p = p * r + SPLAT4(1.0);
    p = p * r + SPLAT4(1.0);
    v4df res = p * (v4df)((ni + 1023) << 52);
    res = SEL4(lo, SPLAT4(0.0), res);
    return SEL4(nan, x, res);
}

/* Scalar forms (tails) through lane 0 of the vector code, so every element agrees. */
static inline __attribute__((always_inline)) float exp1_f32(float x) { return vm_expf_neg8(VM_FSPLAT8(x))[0]; }
static inline __attribute__((always_inline)) double exp1_f64(double x) { return vexp_f64(SPLAT4(x))[0]; }

/* Slow lane (non-finite maximum or a NaN): n values at x (stride xs) to y (stride ys). */
#define GEN_SM_SLOW(sfx, T)                                                                  \
    static void sm_slow_##sfx(const T *x, int64_t xs, T *y, int64_t ys, int64_t n, bool logsm) \
    {                                                                                        \
        double *v = malloc(sizeof(double) * (size_t)n);                                      \
        if (!v) { /* no scratch: all-NaN lane, still defined output */                       \
            for (int64_t j = 0; j < n; j++)                                                  \
                y[j * ys] = (T)NAN;                                                          \
            return;                                                                          \
        }                                                                                    \
        for (int64_t j = 0; j < n; j++)                                                      \
            v[j] = x[j * xs];                                                                \
        softmax_row(v, n, logsm);                                                            \
        for (int64_t j = 0; j < n; j++)                                                      \
            y[j * ys] = (T)v[j];                                                             \
        free(v);                                                                             \
    }

/* One contiguous lane x[0..n) -> y[0..n); VT holds W elements, MI is its compare mask. */
#define GEN_SM_ROW(sfx, T, VT, MI, W, SPLAT, SEL, VEXP, EXP1)                                \
    TD_CLONES static void sm_row_##sfx(const T *restrict x, T *restrict y, int64_t n, bool logsm) \
    {                                                                                        \
        int64_t nb = n / W * W;                                                              \
        VT vm = SPLAT(-INFINITY), va, v;                                                     \
        T mx = -INFINITY, sum = 0;                                                           \
        for (int64_t j = 0; j < nb; j += W) {                                                \
            memcpy(&v, x + j, sizeof v);                                                     \
            vm = SEL((MI)(v > vm), v, vm); /* NaN shows up in the sum */                     \
        }                                                                                    \
        for (int l = 0; l < W; l++)                                                          \
            mx = vm[l] > mx ? vm[l] : mx;                                                    \
        for (int64_t j = nb; j < n; j++)                                                     \
            mx = x[j] > mx ? x[j] : mx;                                                      \
        if (!isfinite(mx)) {                                                                 \
            sm_slow_##sfx(x, 1, y, 1, n, logsm);                                             \
            return;                                                                          \
        }                                                                                    \
        va = SPLAT((T)0);                                                                    \
        for (int64_t j = 0; j < nb; j += W) { /* log_softmax: y is scratch until the end */  \
            memcpy(&v, x + j, sizeof v);                                                     \
            v = VEXP(v - SPLAT(mx));                                                         \
            memcpy(y + j, &v, sizeof v);                                                     \
            va += v;                                                                         \
        }                                                                                    \
        for (int64_t j = nb; j < n; j++)                                                     \
            sum += y[j] = EXP1(x[j] - mx);                                                   \
        for (int l = 0; l < W; l++)                                                          \
            sum += va[l];                                                                    \
        if (sum != sum) { /* a NaN in the lane */                                            \
            sm_slow_##sfx(x, 1, y, 1, n, logsm);                                             \
            return;                                                                          \
        }                                                                                    \
        if (logsm) {                                                                         \
            T ls = (T)log((double)sum);                                                      \
            for (int64_t j = 0; j < n; j++)                                                  \
                y[j] = (x[j] - mx) - ls;                                                     \
        } else {                                                                             \
            T inv = (T)1 / sum;                                                              \
            for (int64_t j = 0; j < n; j++)                                                  \
                y[j] *= inv;                                                                 \
        }                                                                                    \
    }

/* A block x[len][inner] (row stride ld) -> y, softmax down the columns; mx, sum: inner
 * scratch; bad[i] marks columns for sm_slow (maximum not finite, or a NaN). */
#define GEN_SM_COLS(sfx, T, VT, MI, W, SPLAT, SEL, VEXP, EXP1)                               \
    TD_CLONES static void sm_cols_##sfx(const T *restrict x, T *restrict y, int64_t len, int64_t inner, \
                                        int64_t ld, T *restrict mx, T *restrict sum, bool *bad, bool logsm) \
    {                                                                                        \
        int64_t ib = inner / W * W;                                                          \
        VT v, m;                                                                             \
        for (int64_t i = 0; i < inner; i++)                                                  \
            mx[i] = -INFINITY, sum[i] = 0;                                                   \
        for (int64_t j = 0; j < len; j++) {                                                  \
            for (int64_t i = 0; i < ib; i += W) {                                            \
                memcpy(&v, x + j * ld + i, sizeof v);                                        \
                memcpy(&m, mx + i, sizeof m);                                                \
                m = SEL((MI)(v > m), v, m);                                                  \
                memcpy(mx + i, &m, sizeof m);                                                \
            }                                                                                \
            for (int64_t i = ib; i < inner; i++)                                             \
                mx[i] = x[j * ld + i] > mx[i] ? x[j * ld + i] : mx[i];                       \
        }                                                                                    \
        for (int64_t i = 0; i < inner; i++)                                                  \
            if ((bad[i] = !isfinite(mx[i])))                                                 \
                mx[i] = 0; /* the caller redoes these columns with sm_slow */                \
        for (int64_t j = 0; j < len; j++) {                                                  \
            T *yr = y + j * ld;                                                              \
            for (int64_t i = 0; i < ib; i += W) {                                            \
                memcpy(&v, x + j * ld + i, sizeof v);                                        \
                memcpy(&m, mx + i, sizeof m);                                                \
                v = VEXP(v - m);                                                             \
                if (!logsm)                                                                  \
                    memcpy(yr + i, &v, sizeof v);                                            \
                memcpy(&m, sum + i, sizeof m);                                               \
                m += v;                                                                      \
                memcpy(sum + i, &m, sizeof m);                                               \
            }                                                                                \
            for (int64_t i = ib; i < inner; i++) {                                           \
                T e = EXP1(x[j * ld + i] - mx[i]);                                           \
                if (!logsm)                                                                  \
                    yr[i] = e;                                                               \
                sum[i] += e;                                                                 \
            }                                                                                \
        }                                                                                    \
        for (int64_t i = 0; i < inner; i++) {                                                \
            bad[i] = bad[i] || sum[i] != sum[i];                                             \
            sum[i] = logsm ? (T)log((double)sum[i]) : (T)1 / sum[i];                         \
        }                                                                                    \
        for (int64_t j = 0; j < len; j++)                                                    \
            for (int64_t i = 0; i < inner; i++)                                              \
                y[j * ld + i] = logsm ? (x[j * ld + i] - mx[i]) - sum[i] : y[j * ld + i] * sum[i]; \
    }

GEN_SM_SLOW(f32, float)
GEN_SM_SLOW(f64, double)
GEN_SM_ROW(f32, float, vm_f8, vm_fi8, 8, VM_FSPLAT8, VM_FSEL8, vm_expf_neg8, exp1_f32)
GEN_SM_ROW(f64, double, v4df, v4di, 4, SPLAT4, SEL4, vexp_f64, exp1_f64)
GEN_SM_COLS(f32, float, vm_f8, vm_fi8, 8, VM_FSPLAT8, VM_FSEL8, vm_expf_neg8, exp1_f32)
GEN_SM_COLS(f64, double, v4df, v4di, 4, SPLAT4, SEL4, vexp_f64, exp1_f64)

#define SM_TILE 512 /* columns per block task in the strided-dim path */

struct sm_job {
    struct lanes *L;
    bool logsm, f64;
    int64_t inner, tiles; /* column path: inner size, tiles per outer index */
};

static void sm_rows_task(void *ctx, int64_t b, int64_t e)
{
    struct sm_job *J = ctx;
    struct lanes *L = J->L;
    int64_t off[3];
    for (int64_t m = b; m < e; m++) {
        lane_off(L, m, off);
        const char *in = L->t[0]->data + off[0];
        char *out = L->t[1]->data + off[1];
        if (J->f64)
            sm_row_f64((const double *)in, (double *)out, L->len, J->logsm);
        else
            sm_row_f32((const float *)in, (float *)out, L->len, J->logsm);
    }
}

/* Task t: outer index t / tiles, columns [c0, c0 + SM_TILE) of that block. */
static void sm_cols_task(void *ctx, int64_t b, int64_t e)
{
    struct sm_job *J = ctx;
    struct lanes *L = J->L;
    union {
        double d[2 * SM_TILE];
        float f[2 * SM_TILE];
    } sc;
    bool bad[SM_TILE];
    size_t es = J->f64 ? 8 : 4;
    int64_t len = L->len, inner = J->inner;
    for (int64_t t = b; t < e; t++) {
        int64_t o = t / J->tiles, c0 = t % J->tiles * SM_TILE, w = inner - c0 < SM_TILE ? inner - c0 : SM_TILE;
        int64_t el = o * len * inner + c0;
        const char *in = L->t[0]->data + (L->t[0]->m.offset + el) * (int64_t)es;
        char *out = L->t[1]->data + (L->t[1]->m.offset + el) * (int64_t)es;
        if (J->f64)
            sm_cols_f64((const double *)in, (double *)out, len, w, inner, sc.d, sc.d + SM_TILE, bad, J->logsm);
        else
            sm_cols_f32((const float *)in, (float *)out, len, w, inner, sc.f, sc.f + SM_TILE, bad, J->logsm);
        for (int64_t i = 0; i < w; i++) { /* columns whose maximum was not finite */
            if (!bad[i])
                continue;
            if (J->f64)
                sm_slow_f64((const double *)in + i, inner, (double *)out + i, inner, len, J->logsm);
            else
                sm_slow_f32((const float *)in + i, inner, (float *)out + i, inner, len, J->logsm);
        }
    }
}

/* True when the fast paths took the op (L validated, numel > 0). */
static bool softmax_fast(struct lanes *L)
{
    const struct td_meta *x = &L->t[0]->m, *y = &L->t[1]->m;
    if ((x->dtype != TD_DTYPE_FLOAT32 && x->dtype != TD_DTYPE_FLOAT64) || y->dtype != x->dtype || x->ndim == 0)
        return false;
    struct sm_job J = {.L = L, .logsm = L->k->op == TD_OP_LOG_SOFTMAX, .f64 = x->dtype == TD_DTYPE_FLOAT64};
    int64_t numel = td_meta_numel(x);
    if ((x->strides[L->d] == 1 || L->len == 1) && (y->strides[L->d] == 1 || L->len == 1)) {
        td_parallel_for(numel / L->len, TD_GRAIN / L->len + 1, sm_rows_task, &J);
        return true;
    }
    if (!td_meta_is_contiguous(x) || !td_meta_is_contiguous(y))
        return false;
    J.inner = 1;
    for (int d = L->d + 1; d < x->ndim; d++)
        J.inner *= x->sizes[d];
    J.tiles = (J.inner + SM_TILE - 1) / SM_TILE;
    int64_t ntask = numel / (L->len * J.inner) * J.tiles, per = L->len * (J.inner < SM_TILE ? J.inner : SM_TILE);
    td_parallel_for(ntask, TD_GRAIN / per + 1, sm_cols_task, &J);
    return true;
}

static bool same_sizes(const struct td_meta *a, const struct td_meta *b)
{
    return a->ndim == b->ndim && !memcmp(a->sizes, b->sizes, sizeof(int64_t) * a->ndim);
}

static enum td_code along_dim(struct td_kctx *k)
{
    const struct td_meta *x = &k->in[0]->m;
    int two = k->op == TD_OP_CUMMAX || k->op == TD_OP_CUMMIN;
    if (k->n_in != 1 || k->n_out < 1 + two || k->n_attr <= TD_A_SOFTMAX_DIM || x->dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    struct lanes L = {.k = k, .nt = 2 + two, .nd = x->ndim, .t = {k->in[0], k->out[0], two ? k->out[1] : NULL}};
    int64_t d = k->attrs[TD_A_SOFTMAX_DIM]; /* CUMULATIVE's dim alike (op.c) */
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
    if ((k->op == TD_OP_SOFTMAX || k->op == TD_OP_LOG_SOFTMAX) && softmax_fast(&L))
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
