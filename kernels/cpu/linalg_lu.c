/*
 * linalg_lu.c — LU_FACTOR (getrf), LU_SOLVE (getrs) and TRIANGULAR_SOLVE (BLAS trsm) of
 * the LINALG_LU family; MATRIX_EXP is in linalg_matrix_exp.c.
 *
 * Same scheme as the LINALG kernels (linalg.h): each batch's matrices are copied into
 * column-major scratch, LAPACK/BLAS run there, results are copied out; batches are
 * spread over td_parallel_for.  A is factored as it is (never A^T: torch's lu_factor
 * returns the pivots of A itself), so pivots and info are getrf's, which torch returns.
 * A zero pivot is a result (info), and the solves divide by it (inf/nan), as torch's
 * CPU kernels do.  Pivots arriving for getrs are range-checked first: getrs trusts
 * them and would index outside the matrix.  Empty matrices never reach LAPACK/BLAS.
 * Shapes and attributes: kernels/shape_linalg_lu.c and the rows in proto/ops.def.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

static void *scratch(int64_t rows, int64_t cols, size_t es)
{
    return malloc((size_t)(rows > 1 ? rows : 1) * (size_t)(cols > 1 ? cols : 1) * es);
}

static int64_t rows(const struct td_kt *t) { return t->m.sizes[t->m.ndim - 2]; }
static int64_t cols(const struct td_kt *t) { return t->m.sizes[t->m.ndim - 1]; }

/* Element i of the int32 vector at p (t's last dim). */
static char *vec_at(const struct td_kt *t, char *p, int64_t i)
{
    return p + i * t->m.strides[t->m.ndim - 1] * (int64_t)sizeof(int32_t);
}

static enum td_code lu_factor_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    int64_t m = j->m, n = j->n, kk = m < n ? m : n;
    lapack_int ld = td__la_ld(m);
    void *a = scratch(ld, n, j->es);
    lapack_int *ipiv = scratch(kk, 1, sizeof(lapack_int));
    enum td_code rc = a && ipiv ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1 && !rc; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        lapack_int info = kk > 0 ? LA(j, getrf, (lapack_int)m, (lapack_int)n, a, ld, ipiv) : 0;
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), a, ld, j->es);
        char *pp = td__la_batch_ptr(k->out[1], j, b);
        for (int64_t i = 0; i < kk; i++)
            td__la_put(k->out[1], vec_at(k->out[1], pp, i), (double)ipiv[i]);
        td__la_put(k->out[2], td__la_batch_ptr(k->out[2], j, b), (double)info);
    }
    free(a);
    free(ipiv);
    return rc;
}

/* Batch b's pivots into ipiv, refused (torch's messages) unless each is in [1, n]. */
static enum td_code load_pivots(struct la_job *j, int64_t b, lapack_int *ipiv)
{
    const struct td_kt *pt = j->k->in[1];
    char *pp = td__la_batch_ptr(pt, j, b);
    for (int64_t i = 0; i < j->n; i++) {
        int32_t v;
        memcpy(&v, vec_at(pt, pp, i), sizeof v);
        if (v < 1)
            return td__kernel_fail(j->k, TD_CODE_INVALID_ARGUMENT,
                                   "Pivots given to lu_solve must all be greater or equal to 1. Did you properly "
                                   "pass the result of lu_factor?");
        if (v > j->n)
            return td__kernel_fail(j->k, TD_CODE_INVALID_ARGUMENT,
                                   "Pivots given to lu_solve must all be smaller or equal to LU.size(-2). Did you "
                                   "properly pass the result of lu_factor?");
        ipiv[i] = v;
    }
    return TD_CODE_OK;
}

static enum td_code lu_solve_range(struct la_job *j, int64_t b0, int64_t b1)
{
    static const char trans[] = {'N', 'T', 'C'};
    struct td_kctx *k = j->k;
    struct td_kt *bt = k->in[2];
    int64_t n = j->n, r = cols(bt);
    lapack_int ld = td__la_ld(n), *ipiv = scratch(n, 1, sizeof(lapack_int));
    void *a = scratch(ld, n, j->es), *x = scratch(ld, r, j->es);
    enum td_code rc = a && x && ipiv ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1 && !rc; b++) {
        td__la_load(bt, td__la_batch_ptr(bt, j, b), x, ld, j->es);
        if (n > 0 && r > 0) {
            if ((rc = load_pivots(j, b, ipiv)))
                break;
            td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
            LA(j, getrs, trans[k->attrs[TD_A_LU_SOLVE_TRANS]], (lapack_int)n, (lapack_int)r, a, ld, ipiv, x, ld);
        }
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), x, ld, j->es);
    }
    free(a);
    free(x);
    free(ipiv);
    return rc;
}

/* B := op(A)^-1 B (left) or B op(A)^-1 (right) on column-major scratch, in j's dtype. */
static void trsm(const struct la_job *j, enum CBLAS_SIDE side, enum CBLAS_UPLO uplo, enum CBLAS_TRANSPOSE tr,
                 enum CBLAS_DIAG diag, blasint m, blasint n, const void *a, blasint lda, void *b, blasint ldb)
{
    static const float one_c[2] = {1.0f, 0.0f};
    static const double one_z[2] = {1.0, 0.0};
    if (j->cx && j->f64)
        cblas_ztrsm(CblasColMajor, side, uplo, tr, diag, m, n, one_z, a, lda, b, ldb);
    else if (j->cx)
        cblas_ctrsm(CblasColMajor, side, uplo, tr, diag, m, n, one_c, a, lda, b, ldb);
    else if (j->f64)
        cblas_dtrsm(CblasColMajor, side, uplo, tr, diag, m, n, 1.0, a, lda, b, ldb);
    else
        cblas_strsm(CblasColMajor, side, uplo, tr, diag, m, n, 1.0f, a, lda, b, ldb);
}

static enum td_code triangular_solve_range(struct la_job *j, int64_t b0, int64_t b1)
{
    static const enum CBLAS_TRANSPOSE trans[] = {CblasNoTrans, CblasTrans, CblasConjTrans};
    struct td_kctx *k = j->k;
    struct td_kt *bt = k->in[1];
    int64_t n = j->n, bm = rows(bt), bn = cols(bt);
    lapack_int lda = td__la_ld(n), ldb = td__la_ld(bm);
    void *a = scratch(lda, n, j->es), *x = scratch(ldb, bn, j->es);
    enum td_code rc = a && x ? TD_CODE_OK : TD_CODE_RESOURCE_EXHAUSTED;
    if (bm > INT32_MAX) /* B's rows (right side) are the one count td__la_setup did not bound */
        rc = TD_CODE_INVALID_ARGUMENT;
    for (int64_t b = b0; b < b1 && !rc; b++) {
        td__la_load(bt, td__la_batch_ptr(bt, j, b), x, ldb, j->es);
        if (bm > 0 && bn > 0) { /* only A's triangle is read: the other one may hold anything */
            td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, lda, j->es);
            trsm(j, k->attrs[TD_A_TRIANGULAR_SOLVE_LEFT] ? CblasLeft : CblasRight,
                 k->attrs[TD_A_TRIANGULAR_SOLVE_UPPER] ? CblasUpper : CblasLower,
                 trans[k->attrs[TD_A_TRIANGULAR_SOLVE_TRANS]],
                 k->attrs[TD_A_TRIANGULAR_SOLVE_UNITRIANGULAR] ? CblasUnit : CblasNonUnit, (blasint)bm, (blasint)bn, a,
                 lda, x, ldb);
        }
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), x, ldb, j->es);
    }
    free(a);
    free(x);
    return rc;
}

enum td_code td_cpu_lu_factor(struct td_kctx *k) { return td__la_exec(k, lu_factor_range); }
enum td_code td_cpu_lu_solve(struct td_kctx *k) { return td__la_exec(k, lu_solve_range); }
enum td_code td_cpu_triangular_solve(struct td_kctx *k) { return td__la_exec(k, triangular_solve_range); }
