/*
 * conv.c — the convolution kernels CONV (bias fused), CONV_BACKWARD_INPUT and
 * CONV_BACKWARD_WEIGHT for float32/float64 over 1-3 spatial dims, and the helpers the
 * CONV family's kernels share (conv.h).  run() is where a record's kernel is chosen:
 * conv_dnnl.c's oneDNN path when it takes the geometry (float32; see there), else the
 * im2col path below.
 *
 * Each (batch element, group) is one GEMM over an im2col matrix: col (C_in/g * prod k,
 * prod out) holds, per input channel and kernel offset, the input value each output
 * position reads (zero in the padding), so that
 *     out[n, g] = W[g] (C_out/g, C_in/g * prod k) @ col          forward
 *     col       = W[g]^T @ grad_out[n, g], then added back (col2im)  backward input
 *     gW[g]    += grad_out[n, g] @ col^T                          backward weight
 * with OpenBLAS sgemm/dgemm (single-threaded: parallel.c).  A 1x1 kernel with stride 1
 * and no padding needs no col: the input is its own.  The batch is split into one part
 * per thread of the intra-op pool, each with its own col scratch and, for the weight
 * gradient, its own accumulator, summed at the end.  Spatial dims are padded to 3
 * (leading size-1 dims), so one loop nest serves 1-d, 2-d and 3-d.
 * Not here: argument checking (kernels/shape_conv.c, re-run by td__conv_setup).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"

#define COL_BYTES_LIMIT (INT64_C(1) << 30) /* all parts' col scratch together, where it can be */

/* ---- the family's shared helpers (conv.h) */

enum td_code td__conv_setup(struct td_kctx *k, struct td_conv_geom *g)
{
    struct td_infer inf;
    enum td_code c = td__kernel_recheck(k, &inf);
    if (c)
        return c;
    if (inf.compute_dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *in_m[3];
    if (k->n_in > 3)
        return TD_CODE_INVALID_ARGUMENT;
    for (int i = 0; i < k->n_in; i++)
        in_m[i] = &k->in[i]->m;
    struct td_op_args a = {.op = k->op, .n_in = (uint16_t)k->n_in, .in = in_m, .attrs = k->attrs,
                           .n_attr = k->n_attr, .default_float = TD_DTYPE_FLOAT32};
    struct td_status st = TD_STATUS_INIT;
    if (td_conv_geom_of(&a, g, &st))
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "%s", st.msg);
    return TD_CODE_OK;
}

const void *td__conv_dense(const struct td_kt *t, void **scratch)
{
    int64_t es = (int64_t)td_dtype_size((enum td_dtype)t->m.dtype);
    *scratch = NULL;
    if (td_meta_is_contiguous(&t->m))
        return t->data + t->m.offset * es;
    struct td_kt d;
    if (td_meta_contiguous(&d.m, (enum td_dtype)t->m.dtype, t->m.ndim, t->m.sizes, NULL))
        return NULL;
    d.data = malloc((size_t)(d.m.storage_nbytes > 0 ? d.m.storage_nbytes : 1));
    if (!d.data)
        return NULL;
    td__copy(&d, (struct td_kt *)t);
    *scratch = d.data;
    return d.data;
}

int td__conv_parts(int64_t n, int max_parts)
{
    int64_t p = td_parallel_threads();
    if (p > n)
        p = n;
    if (p > max_parts)
        p = max_parts;
    return p < 1 ? 1 : (int)p;
}

struct parts_job {
    int64_t n;
    int parts;
    td_conv_part_fn fn;
    void *ctx;
};

static void parts_range(void *ctx, int64_t b, int64_t e)
{
    const struct parts_job *j = ctx;
    for (int64_t i = b; i < e; i++)
        j->fn(j->ctx, (int)i, i * j->n / j->parts, (i + 1) * j->n / j->parts);
}

void td__conv_run_parts(int64_t n, int parts, td_conv_part_fn fn, void *ctx)
{
    struct parts_job j = {n, parts, fn, ctx};
    td_parallel_for(parts, 1, parts_range, &j);
}

void td__conv_sum_parts(void *out, char **acc, int parts, int64_t n, bool f64)
{
    for (int64_t i = 0; i < n; i++) {
        double t = 0;
        for (int q = 0; q < parts; q++)
            t += f64 ? ((double *)acc[q])[i] : ((float *)acc[q])[i];
        if (f64)
            ((double *)out)[i] = t;
        else
            ((float *)out)[i] = (float)t;
    }
}

/* ---- the plan: the geometry as the loops read it */

struct plan {
    bool f64, direct; /* direct: 1x1 kernel, stride 1, no padding (col is the input) */
    int64_t es, batch, c_in, c_out, groups;
    int64_t cg, og;      /* channels per group, in and out */
    int64_t kk, kc;      /* prod k; cg * kk (col's rows) */
    int64_t x_plane, P;  /* prod in; prod out (col's columns) */
    int64_t in[3], out[3], k[3], s[3], p[3], d[3];
};

static void plan_of(const struct td_conv_geom *g, enum td_dtype dt, struct plan *p)
{
    memset(p, 0, sizeof *p);
    p->f64 = dt == TD_DTYPE_FLOAT64;
    p->es = (int64_t)td_dtype_size(dt);
    p->batch = g->batch;
    p->c_in = g->c_in;
    p->c_out = g->c_out;
    p->groups = g->groups;
    p->cg = g->c_in / g->groups;
    p->og = g->c_out / g->groups;
    p->direct = true;
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - g->nsp); /* the geometry's dim, < 0 for a padding dim */
        p->in[i] = j < 0 ? 1 : g->in[j];
        p->out[i] = j < 0 ? 1 : g->out[j];
        p->k[i] = j < 0 ? 1 : g->k[j];
        p->s[i] = j < 0 ? 1 : g->stride[j];
        p->p[i] = j < 0 ? 0 : g->pad[j];
        p->d[i] = j < 0 ? 1 : g->dil[j];
        p->direct &= p->k[i] == 1 && p->s[i] == 1 && p->p[i] == 0;
    }
    p->kk = p->k[0] * p->k[1] * p->k[2];
    p->kc = p->cg * p->kk;
    p->x_plane = p->in[0] * p->in[1] * p->in[2];
    p->P = p->out[0] * p->out[1] * p->out[2];
}

/* The outputs o in [*lo, *hi) of a row whose input index o * s + off lies in [0, n). */
static void valid_span(int64_t off, int64_t s, int64_t n, int64_t n_out, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - off <= 0 ? 0 : (n - off + s - 1) / s;
    *lo = a < n_out ? a : n_out;
    *hi = b < n_out ? b : n_out;
    if (*hi < *lo)
        *hi = *lo;
}

/* col (kc, P) from x (cg, in0, in1, in2), and x += col's values back at their places. */
#define GEN_COL(sfx, T)                                                                                  \
    static void im2col_##sfx(const struct plan *p, const T *x, T *col)                                   \
    {                                                                                                    \
        const int64_t *in = p->in, *out = p->out;                                                        \
        for (int64_t c = 0; c < p->cg; c++)                                                              \
            for (int64_t k0 = 0; k0 < p->k[0]; k0++)                                                     \
                for (int64_t k1 = 0; k1 < p->k[1]; k1++)                                                 \
                    for (int64_t k2 = 0; k2 < p->k[2]; k2++) {                                           \
                        int64_t lo, hi, off = k2 * p->d[2] - p->p[2], s2 = p->s[2];                      \
                        valid_span(off, s2, in[2], out[2], &lo, &hi);                                    \
                        for (int64_t o0 = 0; o0 < out[0]; o0++) {                                        \
                            int64_t i0 = o0 * p->s[0] - p->p[0] + k0 * p->d[0];                          \
                            for (int64_t o1 = 0; o1 < out[1]; o1++, col += out[2]) {                     \
                                int64_t i1 = o1 * p->s[1] - p->p[1] + k1 * p->d[1];                      \
                                if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1]) {                    \
                                    memset(col, 0, sizeof(T) * (size_t)out[2]);                          \
                                    continue;                                                            \
                                }                                                                        \
                                const T *row = x + ((c * in[0] + i0) * in[1] + i1) * in[2];              \
                                int64_t o2 = 0;                                                          \
                                for (; o2 < lo; o2++)                                                    \
                                    col[o2] = 0;                                                         \
                                if (s2 == 1)                                                             \
                                    memcpy(col + lo, row + lo + off, sizeof(T) * (size_t)(hi - lo));     \
                                else                                                                     \
                                    for (o2 = lo; o2 < hi; o2++)                                         \
                                        col[o2] = row[o2 * s2 + off];                                    \
                                for (o2 = hi; o2 < out[2]; o2++)                                         \
                                    col[o2] = 0;                                                         \
                            }                                                                            \
                        }                                                                                \
                    }                                                                                    \
    }                                                                                                    \
    static void col2im_##sfx(const struct plan *p, const T *col, T *x)                                   \
    {                                                                                                    \
        const int64_t *in = p->in, *out = p->out;                                                        \
        for (int64_t c = 0; c < p->cg; c++)                                                              \
            for (int64_t k0 = 0; k0 < p->k[0]; k0++)                                                     \
                for (int64_t k1 = 0; k1 < p->k[1]; k1++)                                                 \
                    for (int64_t k2 = 0; k2 < p->k[2]; k2++) {                                           \
                        int64_t lo, hi, off = k2 * p->d[2] - p->p[2], s2 = p->s[2];                      \
                        valid_span(off, s2, in[2], out[2], &lo, &hi);                                    \
                        for (int64_t o0 = 0; o0 < out[0]; o0++) {                                        \
                            int64_t i0 = o0 * p->s[0] - p->p[0] + k0 * p->d[0];                          \
                            for (int64_t o1 = 0; o1 < out[1]; o1++, col += out[2]) {                     \
                                int64_t i1 = o1 * p->s[1] - p->p[1] + k1 * p->d[1];                      \
                                if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1])                      \
                                    continue;                                                            \
                                T *row = x + ((c * in[0] + i0) * in[1] + i1) * in[2];                    \
                                for (int64_t o2 = lo; o2 < hi; o2++)                                     \
                                    row[o2 * s2 + off] += col[o2];                                       \
                            }                                                                            \
                        }                                                                                \
                    }                                                                                    \
    }
GEN_COL(f32, float)
GEN_COL(f64, double)

static void im2col(const struct plan *p, const void *x, void *col)
{
    p->f64 ? im2col_f64(p, x, col) : im2col_f32(p, x, col);
}

static void col2im(const struct plan *p, const void *col, void *x)
{
    p->f64 ? col2im_f64(p, col, x) : col2im_f32(p, col, x);
}

/* C (m, n; ldc) = op(A) op(B) + beta C, row-major; nothing to multiply when k == 0. */
static void gemm(const struct plan *p, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, bool beta, void *c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        for (int64_t i = 0; i < m && !beta; i++)
            memset((char *)c + i * ldc * p->es, 0, (size_t)(n * p->es));
        return;
    }
    enum CBLAS_TRANSPOSE tA = ta ? CblasTrans : CblasNoTrans, tB = tb ? CblasTrans : CblasNoTrans;
    if (p->f64)
        cblas_dgemm(CblasRowMajor, tA, tB, (blasint)m, (blasint)n, (blasint)k, 1.0, a, (blasint)lda, b,
                    (blasint)ldb, beta ? 1.0 : 0.0, c, (blasint)ldc);
    else
        cblas_sgemm(CblasRowMajor, tA, tB, (blasint)m, (blasint)n, (blasint)k, 1.0f, a, (blasint)lda, b,
                    (blasint)ldb, beta ? 1.0f : 0.0f, c, (blasint)ldc);
}

/* ---- the kernels */

struct job {
    struct plan p;
    const char *x, *w, *bias, *go; /* dense operands (those the op reads) */
    char *out;
    char **col;  /* per part: im2col scratch (NULL when direct) */
    char **acc;  /* backward weight, per part: gW accumulator */
};

/* x's group g of batch element n, and the col the GEMMs read for it */
static const char *x_group(const struct job *j, int64_t n, int64_t g)
{
    const struct plan *p = &j->p;
    return j->x + ((n * p->c_in + g * p->cg) * p->x_plane) * p->es;
}

static const char *col_of(const struct job *j, int part, int64_t n, int64_t g)
{
    const char *xg = x_group(j, n, g);
    if (j->p.direct)
        return xg;
    im2col(&j->p, xg, j->col[part]);
    return j->col[part];
}

/* Row r of out (og, P) set to bias[r]. */
static void fill_bias(const struct plan *p, const void *bias, void *out)
{
    for (int64_t r = 0; r < p->og; r++)
        for (int64_t q = 0; q < p->P; q++) {
            if (p->f64)
                ((double *)out)[r * p->P + q] = ((const double *)bias)[r];
            else
                ((float *)out)[r * p->P + q] = ((const float *)bias)[r];
        }
}

static void forward_part(void *ctx, int part, int64_t n0, int64_t n1)
{
    const struct job *j = ctx;
    const struct plan *p = &j->p;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t g = 0; g < p->groups; g++) {
            char *o = j->out + ((n * p->c_out + g * p->og) * p->P) * p->es;
            if (j->bias) /* the bias first, the product added to it */
                fill_bias(p, (const char *)j->bias + g * p->og * p->es, o);
            gemm(p, false, false, p->og, p->P, p->kc, j->w + g * p->og * p->kc * p->es, p->kc, col_of(j, part, n, g),
                 p->P, j->bias != NULL, o, p->P);
        }
}

static void backward_input_part(void *ctx, int part, int64_t n0, int64_t n1)
{
    const struct job *j = ctx;
    const struct plan *p = &j->p;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t g = 0; g < p->groups; g++) {
            char *gx = j->out + ((n * p->c_in + g * p->cg) * p->x_plane) * p->es;
            const char *gog = j->go + ((n * p->c_out + g * p->og) * p->P) * p->es;
            char *c = p->direct ? gx : j->col[part];
            gemm(p, true, false, p->kc, p->P, p->og, j->w + g * p->og * p->kc * p->es, p->kc, gog, p->P, false, c,
                 p->P);
            if (!p->direct) {
                memset(gx, 0, (size_t)(p->cg * p->x_plane * p->es));
                col2im(p, c, gx);
            }
        }
}

static void backward_weight_part(void *ctx, int part, int64_t n0, int64_t n1)
{
    const struct job *j = ctx;
    const struct plan *p = &j->p;
    char *acc = j->acc[part];
    if (!p->c_out || !p->kc) /* an empty weight: nothing to accumulate (and no scratch) */
        return;
    memset(acc, 0, (size_t)(p->c_out * p->kc * p->es));
    for (int64_t n = n0; n < n1; n++)
        for (int64_t g = 0; g < p->groups; g++) {
            const char *gog = j->go + ((n * p->c_out + g * p->og) * p->P) * p->es;
            gemm(p, false, true, p->og, p->kc, p->P, gog, p->P, col_of(j, part, n, g), p->P, true,
                 acc + g * p->og * p->kc * p->es, p->kc);
        }
}

/* Sizes BLAS counts in 32-bit ints, and the scratch each part needs (bytes). */
static enum td_code plan_limits(const struct plan *p, int64_t *col_bytes)
{
    const int64_t lim = INT32_MAX;
    if (p->og > lim || p->kc > lim || p->P > lim || p->cg > lim)
        return TD_CODE_INVALID_ARGUMENT;
    *col_bytes = 0;
    if (!p->direct && (td_mul_overflow(p->kc, p->P, col_bytes) || td_mul_overflow(*col_bytes, p->es, col_bytes) ||
                       *col_bytes > TD_MAX_NUMEL))
        return TD_CODE_RESOURCE_EXHAUSTED;
    return TD_CODE_OK;
}

static void free_parts(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* v[0..parts) of bytes each (none when bytes is 0); false when out of memory. */
static bool alloc_parts(struct td_kctx *k, char ***v, int parts, int64_t bytes)
{
    *v = calloc((size_t)parts, sizeof **v);
    for (int i = 0; *v && bytes && i < parts; i++)
        if (!((*v)[i] = td_scratch_alloc(k, (uint64_t)bytes)))
            return false;
    return *v != NULL;
}

static enum td_code run(struct td_kctx *k, td_conv_part_fn fn)
{
    struct td_conv_geom g;
    enum td_code rc = td__conv_setup(k, &g);
    if (rc)
        return rc;
    struct job j = {.out = k->out[0]->data + k->out[0]->m.offset * (int64_t)td_dtype_size(k->out[0]->m.dtype)};
    plan_of(&g, (enum td_dtype)k->compute_dtype, &j.p);
    const struct plan *p = &j.p;
    int64_t col_bytes, acc_bytes = p->c_out * p->kc * p->es;
    if ((rc = plan_limits(p, &col_bytes)))
        return rc;
    /* the operands each op reads: CONV input weight [bias]; backward input grad_output
       weight; backward weight grad_output input */
    void *s[3] = {NULL, NULL, NULL};
    int parts = 0;
    bool fwd = k->op == TD_OP_CONV, bwi = k->op == TD_OP_CONV_BACKWARD_INPUT;
    j.go = fwd ? NULL : td__conv_dense(k->in[0], &s[0]);
    j.x = bwi ? NULL : td__conv_dense(k->in[fwd ? 0 : 1], &s[1]);
    j.w = k->op == TD_OP_CONV_BACKWARD_WEIGHT ? NULL : td__conv_dense(k->in[1], &s[2]);
    bool ok = (fwd || j.go) && (bwi || j.x) && (k->op == TD_OP_CONV_BACKWARD_WEIGHT || j.w);
    void *sb = NULL;
    if (fwd && k->n_in == 3 && !(j.bias = td__conv_dense(k->in[2], &sb)))
        ok = false;
    if (ok && td__conv_dnnl(k, &g, j.x, j.w, j.bias, j.go, j.out, &rc)) /* oneDNN takes it */
        goto out_free;
    int64_t per_part = col_bytes + (fn == backward_weight_part ? acc_bytes : 0);
    int max_parts = per_part ? (int)(COL_BYTES_LIMIT / per_part) : TD_MAX_THREADS;
    parts = td__conv_parts(p->batch, max_parts);
    ok = ok && alloc_parts(k, &j.col, parts, col_bytes) &&
         alloc_parts(k, &j.acc, parts, fn == backward_weight_part ? acc_bytes : 0);
    if (!ok) {
        rc = TD_CODE_RESOURCE_EXHAUSTED;
        goto out_free;
    }
    if (fn == backward_weight_part && p->batch == 0 && acc_bytes)
        memset(j.out, 0, (size_t)acc_bytes);
    if (p->batch > 0)
        td__conv_run_parts(p->batch, parts, fn, &j);
    if (fn == backward_weight_part && p->batch > 0)
        td__conv_sum_parts(j.out, j.acc, parts, p->c_out * p->kc, p->f64);
out_free:
    free_parts(j.col, parts);
    free_parts(j.acc, parts);
    for (int i = 0; i < 3; i++)
        free(s[i]);
    free(sb);
    return rc;
}

enum td_code td_cpu_conv(struct td_kctx *k) { return run(k, forward_part); }
enum td_code td_cpu_conv_backward_input(struct td_kctx *k) { return run(k, backward_input_part); }
enum td_code td_cpu_conv_backward_weight(struct td_kctx *k) { return run(k, backward_weight_part); }
