/*
 * linalg_matrix_exp.c — MATRIX_EXP of the LINALG_LU family: exp(A) of each square matrix
 * of a batch by scaling and squaring with a diagonal Pade approximant (Higham, "The
 * scaling and squaring method for the matrix exponential revisited", SIAM J. Matrix
 * Anal. Appl. 26(4), 2005, Algorithm 2.3).
 *
 * The degree m in {3, 5, 7, 9, 13} is the smallest whose bound theta_m covers ||A||_1;
 * beyond theta_13, A is scaled by 2^-s and the result squared s times.  The [m/m]
 * approximant is r(A) = q(A)^-1 p(A) with p(A) = V + U, q(A) = V - U (U the odd, V the
 * even powers), formed with gemm and solved with gesv.  Every matrix is computed in
 * double (complex double for complex input) and rounded once on the way out: the
 * thetas are double precision's, and float32 results are then as good as float32 can
 * hold.  A non-finite A gives a NaN matrix (torch 1.13's result for inf input; for NaN
 * input it returns garbage).  Batches as in linalg.h; shapes: kernels/shape_linalg_lu.c.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

/* Matrices of one range's scratch, each n x n column-major in double (complex). */
enum { X_A, X_A2, X_A4, X_A6, X_A8, X_U, X_V, X_T, X_COUNT };

struct expm {
    bool cx;
    int64_t n;
    size_t nd;              /* doubles per matrix: n*n, twice that for complex */
    double *x[X_COUNT];
    void *io;               /* one matrix in the job's dtype, for the copies in and out */
    lapack_int *ipiv;
};

static bool expm_alloc(struct expm *e, const struct la_job *j)
{
    e->cx = j->cx;
    e->n = j->n;
    e->nd = (size_t)j->n * (size_t)j->n * (j->cx ? 2 : 1);
    e->x[0] = malloc(X_COUNT * e->nd * sizeof(double));
    for (int i = 1; i < X_COUNT; i++)
        e->x[i] = e->x[0] ? e->x[0] + (size_t)i * e->nd : NULL;
    e->io = malloc(e->nd * sizeof(double)); /* >= n*n elements of any LAPACK dtype */
    e->ipiv = malloc((size_t)j->n * sizeof(lapack_int));
    return e->x[0] && e->io && e->ipiv;
}

static void expm_free(struct expm *e)
{
    free(e->x[0]);
    free(e->io);
    free(e->ipiv);
}

/* c = a b */
static void mm(const struct expm *e, const double *a, const double *b, double *c)
{
    static const double one[2] = {1.0, 0.0}, zero[2] = {0.0, 0.0};
    blasint n = (blasint)e->n;
    if (e->cx)
        cblas_zgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, one, a, n, b, n, zero, c, n);
    else
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
}

/* d += c s (s NULL: the identity) */
static void axpy(const struct expm *e, double *d, double c, const double *s)
{
    if (!s) {
        for (int64_t i = 0; i < e->n; i++)
            d[(e->cx ? 2 : 1) * i * (e->n + 1)] += c;
        return;
    }
    for (size_t i = 0; i < e->nd; i++)
        d[i] += c * s[i];
}

static double norm1(const struct expm *e, const double *a)
{
    double best = 0.0;
    for (int64_t c = 0; c < e->n; c++) {
        double sum = 0.0;
        for (int64_t r = 0; r < e->n; r++) {
            size_t i = (size_t)(r + c * e->n);
            sum += e->cx ? hypot(a[2 * i], a[2 * i + 1]) : fabs(a[i]);
        }
        if (!(sum <= best)) /* a NaN sum wins, so the caller sees it */
            best = sum;
    }
    return best;
}

/* Coefficients of the [m/m] Pade approximant of exp, c[k] = (2m-k)! m! / ((2m)! k! (m-k)!). */
static void pade_coefs(int m, double *c)
{
    c[0] = 1.0;
    for (int k = 1; k <= m; k++)
        c[k] = c[k - 1] * (double)(m - k + 1) / ((double)k * (double)(2 * m - k + 1));
}

/* U' (odd part without its A factor) into X_U and V into X_V, from A's even powers. */
static void pade_parts(struct expm *e, int m, const double *c)
{
    double **x = e->x;
    memset(x[X_U], 0, e->nd * sizeof(double));
    memset(x[X_V], 0, e->nd * sizeof(double));
    if (m == 13) { /* Higham's grouping: A6 (high terms) + low terms, 3 products */
        const double *pw[] = {NULL, x[X_A2], x[X_A4], x[X_A6]};
        memset(x[X_T], 0, e->nd * sizeof(double));
        for (int p = 1; p <= 3; p++)
            axpy(e, x[X_T], c[2 * p + 7], pw[p]); /* c9 A2 + c11 A4 + c13 A6 */
        mm(e, x[X_A6], x[X_T], x[X_U]);
        memset(x[X_T], 0, e->nd * sizeof(double));
        for (int p = 1; p <= 3; p++)
            axpy(e, x[X_T], c[2 * p + 6], pw[p]); /* c8 A2 + c10 A4 + c12 A6 */
        mm(e, x[X_A6], x[X_T], x[X_V]);
        for (int p = 0; p <= 3; p++) {
            axpy(e, x[X_U], c[2 * p + 1], pw[p]);
            axpy(e, x[X_V], c[2 * p], pw[p]);
        }
        return;
    }
    const double *pw[] = {NULL, x[X_A2], x[X_A4], x[X_A6], x[X_A8]};
    for (int p = 0; 2 * p + 1 <= m; p++) {
        axpy(e, x[X_U], c[2 * p + 1], pw[p]);
        axpy(e, x[X_V], c[2 * p], pw[p]);
    }
}

/* exp of the matrix in X_A into X_V (A is overwritten by its scaled copy). */
static void expm_one(struct expm *e)
{
    static const struct { int m; double theta; } deg[] = {
        {3, 1.495585217958292e-2}, {5, 2.539398330063230e-1}, {7, 9.504178996162932e-1},
        {9, 2.097847961257068e0},  {13, 5.371920351148152e0},
    };
    double **x = e->x, c[14];
    double nrm = norm1(e, x[X_A]);
    if (!isfinite(nrm)) {
        for (size_t i = 0; i < e->nd; i++)
            x[X_V][i] = NAN;
        return;
    }
    int d = 0, s = 0;
    while (d < 4 && nrm > deg[d].theta)
        d++;
    if (nrm > deg[4].theta) {
        s = (int)ceil(log2(nrm / deg[4].theta));
        for (size_t i = 0; i < e->nd; i++)
            x[X_A][i] = ldexp(x[X_A][i], -s);
    }
    int m = deg[d].m;
    pade_coefs(m, c);
    mm(e, x[X_A], x[X_A], x[X_A2]);
    if (m >= 5)
        mm(e, x[X_A2], x[X_A2], x[X_A4]);
    if (m >= 7)
        mm(e, x[X_A4], x[X_A2], x[X_A6]);
    if (m == 9)
        mm(e, x[X_A4], x[X_A4], x[X_A8]);
    pade_parts(e, m, c);
    mm(e, x[X_A], x[X_U], x[X_T]); /* U = A U' */
    for (size_t i = 0; i < e->nd; i++) {
        double u = x[X_T][i], v = x[X_V][i];
        x[X_U][i] = v - u; /* q(A) */
        x[X_V][i] = v + u; /* p(A) */
    }
    lapack_int n = (lapack_int)e->n;
    if (e->cx)
        LAPACKE_zgesv(LAPACK_COL_MAJOR, n, n, (void *)x[X_U], n, e->ipiv, (void *)x[X_V], n);
    else
        LAPACKE_dgesv(LAPACK_COL_MAJOR, n, n, x[X_U], n, e->ipiv, x[X_V], n);
    for (int i = 0; i < s; i++) {
        mm(e, x[X_V], x[X_V], x[X_T]);
        double *t = x[X_V];
        x[X_V] = x[X_T];
        x[X_T] = t;
    }
}

static enum td_code matrix_exp_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    struct expm e;
    enum td_code rc = TD_CODE_OK;
    lapack_int ld = td__la_ld(j->n);
    if (j->n == 0)
        return TD_CODE_OK;
    if (!expm_alloc(&e, j)) {
        rc = TD_CODE_RESOURCE_EXHAUSTED;
        goto out_free;
    }
    for (int64_t b = b0; b < b1; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), e.io, ld, j->es);
        for (size_t i = 0; i < e.nd; i++) /* widen */
            e.x[X_A][i] = td__la_get(e.io, (int64_t)i, j->f64);
        expm_one(&e);
        for (size_t i = 0; i < e.nd; i++) /* round once */
            td__la_set(e.io, (int64_t)i, j->f64, e.x[X_V][i]);
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), e.io, ld, j->es);
    }
out_free:
    expm_free(&e);
    return rc;
}

enum td_code td_cpu_matrix_exp(struct td_kctx *k) { return td__la_exec(k, matrix_exp_range); }
