/*
 * linalg_packed.c — the LINALG_PACKED family, whose results are LAPACK's packed factor
 * forms: GEQRF (geqrf), ORGQR (orgqr, torch's householder_product), ORMQR (ormqr) on
 * Householder reflectors + tau, LDL_FACTOR (sytrf, lower) and LDL_SOLVE (sytrs) on
 * LDL^T with sytrf's pivots.
 *
 * Same scheme as the LINALG kernels (linalg.h): every batch's matrices are copied into
 * column-major scratch, LAPACKE runs there, the results are copied out; batches are
 * spread over td_parallel_for.  Empty matrices never reach LAPACK.  Shapes and attrs:
 * kernels/shape_linalg_packed.c.
 */
#include <stdlib.h>
#include <string.h>

#include "iter.h"
#include "linalg.h"

static void *scratch(int64_t rows, int64_t cols, size_t es)
{
    return malloc((size_t)(rows > 1 ? rows : 1) * (size_t)(cols > 1 ? cols : 1) * es);
}

/* The vector at p (t's last dim, n elements, compute dtype) into buf. */
static void load_vec(const struct td_kt *t, const char *p, void *buf, int64_t n, size_t es)
{
    int64_t s = t->m.strides[t->m.ndim - 1] * (int64_t)es;
    for (int64_t i = 0; i < n; i++)
        memcpy((char *)buf + i * (int64_t)es, p + i * s, es);
}

static int64_t rows(const struct td_kt *t) { return t->m.sizes[t->m.ndim - 2]; }
static int64_t cols(const struct td_kt *t) { return t->m.sizes[t->m.ndim - 1]; }

static enum td_code geqrf_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    int64_t m = j->m, n = j->n, kk = m < n ? m : n;
    lapack_int ld = td__la_ld(m);
    void *a = scratch(ld, n, j->es), *tau = scratch(kk, 1, j->es);
    enum td_code rc = a && tau ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1 && !rc; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        if (kk > 0)
            LA(j, geqrf, (lapack_int)m, (lapack_int)n, a, ld, tau);
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), a, ld, j->es);
        td__la_store_vec(k->out[1], td__la_batch_ptr(k->out[1], j, b), tau, kk, j->es);
    }
    free(a);
    free(tau);
    return rc;
}

static enum td_code orgqr_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    int64_t m = j->m, n = j->n, kk = cols(k->in[1]);
    lapack_int ld = td__la_ld(m);
    void *a = scratch(ld, n, j->es), *tau = scratch(kk, 1, j->es);
    enum td_code rc = a && tau ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1 && !rc && m > 0 && n > 0; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        load_vec(k->in[1], td__la_batch_ptr(k->in[1], j, b), tau, kk, j->es);
        LAX(j, orgqr, ungqr, (lapack_int)m, (lapack_int)n, (lapack_int)kk, a, ld, tau);
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), a, ld, j->es);
    }
    free(a);
    free(tau);
    return rc;
}

static enum td_code ormqr_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    struct td_kt *c = k->in[2];
    int64_t r = j->m, ka = j->n, kk = cols(k->in[1]), cm = rows(c), cn = cols(c);
    char side = k->attrs[TD_A_ORMQR_LEFT] ? 'L' : 'R', trans = k->attrs[TD_A_ORMQR_TRANSPOSE] ? 'T' : 'N';
    lapack_int lda = td__la_ld(r), ldc = td__la_ld(cm);
    void *a = scratch(lda, ka, j->es), *tau = scratch(kk, 1, j->es), *cb = scratch(ldc, cn, j->es);
    enum td_code rc = a && tau && cb ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1 && !rc; b++) {
        td__la_load(c, td__la_batch_ptr(c, j, b), cb, ldc, j->es);
        if (cm > 0 && cn > 0 && kk > 0) {
            td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, lda, j->es);
            load_vec(k->in[1], td__la_batch_ptr(k->in[1], j, b), tau, kk, j->es);
            LAX(j, ormqr, unmqr, side, trans, (lapack_int)cm, (lapack_int)cn, (lapack_int)kk, a, lda, tau, cb, ldc);
        }
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), cb, ldc, j->es);
    }
    free(a);
    free(tau);
    free(cb);
    return rc;
}

/* sytrf on the lower triangle; the strict upper part of LD is zeroed as torch leaves it. */
static enum td_code ldl_factor_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    int64_t n = j->n;
    lapack_int ld = td__la_ld(n), *ipiv = malloc(sizeof(lapack_int) * (size_t)(n > 0 ? n : 1));
    void *a = scratch(ld, n, j->es);
    enum td_code rc = a && ipiv ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1 && !rc; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        lapack_int info = n > 0 ? LA(j, sytrf, 'L', (lapack_int)n, a, ld, ipiv) : 0;
        for (int64_t col = 1; col < n; col++)
            for (int64_t row = 0; row < col; row++)
                td__la_set(a, row + col * ld, j->f64, 0.0);
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), a, ld, j->es);
        char *pp = td__la_batch_ptr(k->out[1], j, b);
        for (int64_t i = 0; i < n; i++)
            td__la_put(k->out[1], pp + i * k->out[1]->m.strides[k->out[1]->m.ndim - 1] * 4, (double)ipiv[i]);
        td__la_put(k->out[2], td__la_batch_ptr(k->out[2], j, b), (double)info);
    }
    free(a);
    free(ipiv);
    return rc;
}

static enum td_code ldl_solve_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    struct td_kt *bt = k->in[2], *pt = k->in[1];
    int64_t n = j->n, r = cols(bt);
    lapack_int ld = td__la_ld(n), *ipiv = malloc(sizeof(lapack_int) * (size_t)(n > 0 ? n : 1));
    void *a = scratch(ld, n, j->es), *x = scratch(ld, r, j->es);
    enum td_code rc = a && x && ipiv ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1 && !rc; b++) {
        td__la_load(bt, td__la_batch_ptr(bt, j, b), x, ld, j->es);
        if (n > 0 && r > 0) {
            td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
            const char *pp = td__la_batch_ptr(pt, j, b);
            int64_t ps = pt->m.strides[pt->m.ndim - 1];
            for (int64_t i = 0; i < n; i++) {
                int32_t v;
                memcpy(&v, pp + i * ps * 4, 4);
                if (v == 0 || v > n || v < -n) { /* sytrs trusts ipiv: refuse what would index outside LD */
                    rc = td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT,
                                         "torch.linalg.ldl_solve: pivots must be in [-n, -1] or [1, n], got %d", v);
                    break;
                }
                ipiv[i] = v;
            }
            if (rc)
                break;
            LA(j, sytrs, 'L', (lapack_int)n, (lapack_int)r, a, ld, ipiv, x, ld);
        }
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), x, ld, j->es);
    }
    free(a);
    free(x);
    free(ipiv);
    return rc;
}

/* Re-runs the meta rule (so every size the kernels index with is known good) and runs fn. */
static enum td_code exec(struct td_kctx *k, enum td_code (*fn)(struct la_job *j, int64_t b0, int64_t b1))
{
    if (k->op >= TD_OP_COUNT || td_op_table[k->op].family != TD_FAM_LINALG_PACKED || k->n_in != td_op_table[k->op].n_in ||
        k->n_in > 3 || k->n_out != td_op_table[k->op].n_out)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_infer inf;
    enum td_code c = td__kernel_recheck(k, &inf);
    if (c)
        return c;
    if (inf.compute_dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *x = &k->in[0]->m;
    if (x->sizes[x->ndim - 2] > INT32_MAX || x->sizes[x->ndim - 1] > INT32_MAX)
        return TD_CODE_INVALID_ARGUMENT; /* LAPACK counts in 32-bit ints */
    LAPACKE_set_nancheck(0); /* NaN input gives NaN results, as in torch, not an argument error */
    struct la_job j = {
        .k = k, .f64 = k->compute_dtype == TD_DTYPE_FLOAT64, .cx = false, .es = td_dtype_size(k->compute_dtype),
        .rs = td_dtype_size(k->compute_dtype),
        .nb = x->ndim - 2, .bsizes = x->sizes, .m = x->sizes[x->ndim - 2], .n = x->sizes[x->ndim - 1], .fn = fn,
    };
    return td__la_run(&j);
}

enum td_code td_cpu_geqrf(struct td_kctx *k) { return exec(k, geqrf_range); }
enum td_code td_cpu_orgqr(struct td_kctx *k) { return exec(k, orgqr_range); }
enum td_code td_cpu_ormqr(struct td_kctx *k) { return exec(k, ormqr_range); }
enum td_code td_cpu_ldl_factor(struct td_kctx *k) { return exec(k, ldl_factor_range); }
enum td_code td_cpu_ldl_solve(struct td_kctx *k) { return exec(k, ldl_solve_range); }
