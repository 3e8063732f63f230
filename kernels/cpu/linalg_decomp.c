/*
 * linalg_decomp.c — LAPACK-backed decompositions: LINALG_QR (geqrf + orgqr),
 * LINALG_SVD (gesdd, as torch on CPU), LINALG_EIGH (syevd), LINALG_EIG (geev) and
 * LINALG_LSTSQ (gelsy / gelsd / gelss / gels).
 *
 * Failures to converge are results: EIGH reports syevd's info in its int32 output;
 * SVD and EIG fill their values with NaN (the client raises torch's LinAlgError when
 * it sees them); LSTSQ writes -info into its rank output.  Empty matrices never reach
 * LAPACK: their results (identity factors, zero solutions) are written here.
 * Complex inputs take the c/z routines (ungqr for orgqr, heevd for syevd, geev's
 * complex form); singular values and eigh's eigenvalues are real either way, so their
 * scratch has the real element size j->rs.
 * Output shapes and attribute layouts: kernels/shape_linalg.c.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

/* A rows x cols buffer, plus SCRATCH_PAD bytes: OpenBLAS's vector kernels (zgemv_n on
 * Zen, called from zgesdd's reflectors) read a little past the end of a column, which
 * faults when a small buffer ends a heap mapping (seen under ASan). */
enum { SCRATCH_PAD = 256 };

static void *scratch(int64_t rows, int64_t cols, size_t es)
{
    return malloc((size_t)(rows > 1 ? rows : 1) * (size_t)(cols > 1 ? cols : 1) * es + SCRATCH_PAD);
}

/* n floats (doubles when f64) := v; reals(j, count) is the n of count complex elements. */
static void fill(void *buf, int64_t n, bool f64, double v)
{
    for (int64_t i = 0; i < n; i++)
        td__la_set(buf, i, f64, v);
}

/* rows x cols identity of j's compute dtype, column-major with leading dim ld. */
static void identity(const struct la_job *j, void *buf, int64_t rows, int64_t cols, int64_t ld)
{
    for (int64_t c = 0; c < cols; c++)
        for (int64_t r = 0; r < rows; r++)
            td__la_setx(j, buf, r + c * ld, r == c ? 1.0 : 0.0, 0.0);
}

/* Reals in n elements of j's compute dtype. */
static int64_t reals(const struct la_job *j, int64_t n)
{
    return j->cx ? 2 * n : n;
}

/* ---- QR: Q from the reflectors (orgqr) before R's lower part is zeroed */

static enum td_code qr_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    int64_t m = j->m, n = j->n, kk = m < n ? m : n, mode = k->attrs[TD_A_LINALG_QR_MODE];
    int64_t qc = mode == 1 ? m : kk; /* Q's columns */
    lapack_int ld = td__la_ld(m);
    void *a = scratch(ld, n, j->es), *q = scratch(ld, qc > n ? qc : n, j->es), *tau = scratch(kk, 1, j->es);
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    if (!a || !q || !tau)
        goto out_free;
    for (int64_t b = b0; b < b1; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        if (kk > 0)
            LA(j, geqrf, (lapack_int)m, (lapack_int)n, a, ld, tau);
        if (mode != 2 && m > 0 && qc > 0) {
            memcpy(q, a, (size_t)(ld * (qc < n ? qc : n)) * j->es);
            LAX(j, orgqr, ungqr, (lapack_int)m, (lapack_int)qc, (lapack_int)kk, q, ld, tau);
            td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), q, ld, j->es);
        }
        for (int64_t c = 0; c < n; c++)
            for (int64_t r = c + 1; r < m; r++)
                td__la_setx(j, a, r + c * ld, 0.0, 0.0);
        td__la_store(k->out[1], td__la_batch_ptr(k->out[1], j, b), a, ld, j->es);
    }
    rc = TD_CODE_OK;
out_free:
    free(a);
    free(q);
    free(tau);
    return rc;
}

/* ---- SVD */

static enum td_code svd_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    bool full = k->attrs[TD_A_LINALG_SVD_FULL_MATRICES], uv = k->attrs[TD_A_LINALG_SVD_COMPUTE_UV];
    int64_t m = j->m, n = j->n, kk = m < n ? m : n;
    int64_t ucols = uv ? (full ? m : kk) : 1, vrows = uv ? (full ? n : kk) : 1;
    lapack_int lda = td__la_ld(m), ldv = td__la_ld(vrows);
    char jobz = uv ? (full ? 'A' : 'S') : 'N';
    void *a = scratch(lda, n, j->es), *s = scratch(kk, 1, j->rs);
    void *u = scratch(lda, ucols, j->es), *vt = scratch(ldv, uv ? n : 1, j->es);
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    if (!a || !s || !u || !vt)
        goto out_free;
    for (int64_t b = b0; b < b1; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, lda, j->es);
        lapack_int info = 0;
        if (kk > 0)
            info = LA(j, gesdd, jobz, (lapack_int)m, (lapack_int)n, a, lda, s, u, lda, vt, ldv);
        else if (uv) {
            identity(j, u, m, ucols, lda);
            identity(j, vt, vrows, n, ldv);
        }
        if (info != 0) { /* unconverged or non-finite input: NaN marks it for the client */
            fill(s, kk, j->f64, NAN);
            if (uv) {
                fill(u, reals(j, lda * ucols), j->f64, NAN);
                fill(vt, reals(j, (int64_t)ldv * n), j->f64, NAN);
            }
        }
        td__la_store_vec(k->out[1], td__la_batch_ptr(k->out[1], j, b), s, kk, j->rs);
        if (uv) {
            td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), u, lda, j->es);
            td__la_store(k->out[2], td__la_batch_ptr(k->out[2], j, b), vt, ldv, j->es);
        }
    }
    rc = TD_CODE_OK;
out_free:
    free(a);
    free(s);
    free(u);
    free(vt);
    return rc;
}

/* ---- symmetric and general eigenproblems */

static enum td_code eigh_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    bool upper = k->attrs[TD_A_LINALG_EIGH_UPPER], cv = k->attrs[TD_A_LINALG_EIGH_COMPUTE_V];
    int64_t n = j->n;
    lapack_int ld = td__la_ld(n);
    void *a = scratch(ld, n, j->es), *w = scratch(n, 1, j->rs);
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    if (!a || !w)
        goto out_free;
    for (int64_t b = b0; b < b1; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        lapack_int info = 0;
        if (n > 0)
            info = LAX(j, syevd, heevd, cv ? 'V' : 'N', upper ? 'U' : 'L', (lapack_int)n, a, ld, w);
        td__la_store_vec(k->out[0], td__la_batch_ptr(k->out[0], j, b), w, n, j->rs);
        if (cv)
            td__la_store(k->out[1], td__la_batch_ptr(k->out[1], j, b), a, ld, j->es);
        td__la_put(k->out[2], td__la_batch_ptr(k->out[2], j, b), info);
    }
    rc = TD_CODE_OK;
out_free:
    free(a);
    free(w);
    return rc;
}

static enum td_code eig_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    int64_t n = j->n;
    lapack_int ld = td__la_ld(n);
    void *a = scratch(ld, n, j->es), *wr = scratch(n, 1, j->es), *wi = scratch(n, 1, j->es);
    void *vr = scratch(ld, n, j->es), *vl = scratch(1, 1, j->es);
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    if (!a || !wr || !wi || !vr || !vl)
        goto out_free;
    for (int64_t b = b0; b < b1; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        lapack_int info = 0;
        if (n > 0 && j->cx) /* w (complex) in wr; out 1 is a placeholder */
            info = j->f64 ? LAPACKE_zgeev(LAPACK_COL_MAJOR, 'N', 'V', (lapack_int)n, a, ld, wr, vl, 1, vr, ld)
                          : LAPACKE_cgeev(LAPACK_COL_MAJOR, 'N', 'V', (lapack_int)n, a, ld, wr, vl, 1, vr, ld);
        else if (n > 0)
            info = j->f64 ? LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'V', (lapack_int)n, a, ld, wr, wi, vl, 1, vr, ld)
                          : LAPACKE_sgeev(LAPACK_COL_MAJOR, 'N', 'V', (lapack_int)n, a, ld, wr, wi, vl, 1, vr, ld);
        if (info != 0)
            fill(wr, reals(j, n), j->f64, NAN);
        td__la_store_vec(k->out[0], td__la_batch_ptr(k->out[0], j, b), wr, n, j->es);
        if (!j->cx)
            td__la_store_vec(k->out[1], td__la_batch_ptr(k->out[1], j, b), wi, n, j->es);
        td__la_store(k->out[2], td__la_batch_ptr(k->out[2], j, b), vr, ld, j->es);
    }
    rc = TD_CODE_OK;
out_free:
    free(a);
    free(wr);
    free(wi);
    free(vr);
    free(vl);
    return rc;
}

/* ---- least squares */

enum { DRIVER_GELSY, DRIVER_GELSD, DRIVER_GELSS, DRIVER_GELS };

/* One problem: B (already in bb) overwritten by the solution; returns the rank, or
 * -info when LAPACK failed (gels: rank deficient; gelsd/gelss: no convergence). */
static lapack_int lstsq_one(const struct la_job *j, void *a, void *bb, void *s, lapack_int *jpvt, double rcond)
{
    lapack_int m = (lapack_int)j->m, n = (lapack_int)j->n, r = (lapack_int)j->r;
    lapack_int lda = td__la_ld(m), ldb = td__la_ld(m > n ? m : n), rank = 0, info = 0;
    switch (j->k->attrs[TD_A_LINALG_LSTSQ_DRIVER]) {
    case DRIVER_GELSY:
        memset(jpvt, 0, sizeof(lapack_int) * (size_t)n);
        info = LA(j, gelsy, m, n, r, a, lda, bb, ldb, jpvt, rcond, &rank);
        break;
    case DRIVER_GELSD: info = LA(j, gelsd, m, n, r, a, lda, bb, ldb, s, rcond, &rank); break;
    case DRIVER_GELSS: info = LA(j, gelss, m, n, r, a, lda, bb, ldb, s, rcond, &rank); break;
    default: info = LA(j, gels, 'N', m, n, r, a, lda, bb, ldb); break;
    }
    return info > 0 ? -info : rank;
}

static enum td_code lstsq_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    int64_t m = j->m, n = j->n, mx = m > n ? m : n, kk = m < n ? m : n;
    lapack_int lda = td__la_ld(m), ldb = td__la_ld(mx);
    double rcond;
    memcpy(&rcond, &k->attrs[TD_A_LINALG_LSTSQ_RCOND], sizeof rcond);
    if (!(rcond >= 0))
        rcond = (j->f64 ? DBL_EPSILON : FLT_EPSILON) * (double)mx;
    void *a = scratch(lda, n, j->es), *bb = scratch(ldb, j->r, j->es), *s = scratch(kk, 1, j->rs);
    lapack_int *jpvt = malloc(sizeof(lapack_int) * (size_t)(n + 1));
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    if (!a || !bb || !s || !jpvt)
        goto out_free;
    for (int64_t b = b0; b < b1; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, lda, j->es);
        fill(bb, reals(j, (int64_t)ldb * j->r), j->f64, 0.0);
        fill(s, kk, j->f64, 0.0);
        td__la_load(k->in[1], td__la_batch_ptr(k->in[1], j, b), bb, ldb, j->es);
        lapack_int rank = kk > 0 ? lstsq_one(j, a, bb, s, jpvt, rcond) : 0;
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), bb, ldb, j->es);
        td__la_put(k->out[1], td__la_batch_ptr(k->out[1], j, b), rank);
        td__la_store_vec(k->out[2], td__la_batch_ptr(k->out[2], j, b), s, kk, j->rs);
    }
    rc = TD_CODE_OK;
out_free:
    free(a);
    free(bb);
    free(s);
    free(jpvt);
    return rc;
}

enum td_code td_cpu_linalg_qr(struct td_kctx *k) { return td__la_exec(k, qr_range); }
enum td_code td_cpu_linalg_svd(struct td_kctx *k) { return td__la_exec(k, svd_range); }
enum td_code td_cpu_linalg_eigh(struct td_kctx *k) { return td__la_exec(k, eigh_range); }
enum td_code td_cpu_linalg_eig(struct td_kctx *k) { return td__la_exec(k, eig_range); }
enum td_code td_cpu_linalg_lstsq(struct td_kctx *k) { return td__la_exec(k, lstsq_range); }
