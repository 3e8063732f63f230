/*
 * linalg.c — LAPACK-backed kernels built on an LU or Cholesky factorization:
 * LINALG_INV, LINALG_SOLVE, LINALG_DET, LINALG_SLOGDET, LINALG_CHOLESKY; plus the
 * batch/copy helpers of linalg.h that linalg_decomp.c shares.
 *
 * Data-dependent failures are results, not errors: getrf's and potrf's info goes to an
 * int32 output (the client raises torch's LinAlgError from it), and the numeric outputs
 * hold whatever LAPACK left (inf/nan for a singular solve, as torch's inv_ex does).
 * LAPACKE's NaN check is switched off once: a NaN input must give NaN results, not a
 * refusal.  Complex inputs use the c/z routines on the same buffers (getrs with 'T', a
 * plain transpose, still undoes the transposed load); det and slogdet multiply the
 * diagonal in double complex, slogdet's sign being prod(sgn(U(i,i))) as torch's.
 * Output shapes, layouts and info semantics: kernels/shape_linalg.c.
 */
#include <complex.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

static pthread_once_t nancheck_once = PTHREAD_ONCE_INIT;

static void nancheck_off(void) { LAPACKE_set_nancheck(0); }

/* ---- shared helpers (linalg.h) */

enum td_code td__la_setup(struct td_kctx *k, struct la_job *j)
{
    pthread_once(&nancheck_once, nancheck_off);
    if (k->op >= TD_OP_COUNT ||
        (td_op_table[k->op].family != TD_FAM_LINALG && td_op_table[k->op].family != TD_FAM_LINALG_LU) ||
        k->n_in != td_op_table[k->op].n_in || k->n_out != td_op_table[k->op].n_out ||
        (k->compute_dtype != TD_DTYPE_FLOAT32 && k->compute_dtype != TD_DTYPE_FLOAT64 &&
         k->compute_dtype != TD_DTYPE_COMPLEX64 && k->compute_dtype != TD_DTYPE_COMPLEX128))
        return TD_CODE_INVALID_ARGUMENT;
    struct td_infer inf;
    enum td_code c = td__kernel_recheck(k, &inf); /* every shape the kernel indexes with is good */
    if (c)
        return c;
    /* the rule fixes every input's dtype (A's, or int32 for pivots), so the kernel may read
       them as the compute dtype once that is the rule's */
    if (inf.compute_dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *x = &k->in[0]->m;
    enum td_dtype cd = (enum td_dtype)k->compute_dtype;
    *j = (struct la_job){
        .k = k, .f64 = cd == TD_DTYPE_FLOAT64 || cd == TD_DTYPE_COMPLEX128, .cx = td_dtype_is_complex(cd),
        .es = td_dtype_size(cd), .rs = td_dtype_size(td_dtype_to_real(cd)),
        .nb = x->ndim - 2, .bsizes = x->sizes, .m = x->sizes[x->ndim - 2], .n = x->sizes[x->ndim - 1],
        .r = k->n_in >= 2 ? k->in[k->n_in - 1]->m.sizes[k->in[k->n_in - 1]->m.ndim - 1] : 0, /* B's columns */
    };
    if (j->m > INT32_MAX || j->n > INT32_MAX || j->r > INT32_MAX)
        return TD_CODE_INVALID_ARGUMENT; /* LAPACK counts in 32-bit ints */
    return TD_CODE_OK;
}

static void run_range(void *ctx, int64_t b0, int64_t b1)
{
    struct la_job *j = ctx;
    enum td_code c = j->fn(j, b0, b1);
    if (c)
        __atomic_store_n(&j->failed, (int)c, __ATOMIC_RELAXED);
}

enum td_code td__la_run(struct la_job *j)
{
    int64_t count = 1;
    for (int d = 0; d < j->nb; d++)
        count *= j->bsizes[d];
    /* ~ flops of one matrix; ranges of at least ~1 Mflop amortize the hand-off */
    double mx = (double)(j->m > j->n ? j->m : j->n);
    double work = mx * mx * mx + (double)j->r * mx * mx + 1.0;
    int64_t grain = work >= 1e6 ? 1 : (int64_t)(1e6 / work) + 1;
    td_parallel_for(count, grain, run_range, j);
    return (enum td_code)j->failed;
}

char *td__la_batch_ptr(const struct td_kt *t, const struct la_job *j, int64_t b)
{
    int64_t off = t->m.offset;
    for (int d = j->nb - 1; d >= 0; d--) {
        off += (b % j->bsizes[d]) * t->m.strides[d];
        b /= j->bsizes[d];
    }
    return t->data + off * (int64_t)td_dtype_size((enum td_dtype)t->m.dtype);
}

/* The copies below run once per matrix of a batch, so they move typed elements (4, 8
 * or 16 bytes: float32, float64 or complex64, complex128) instead of calling memcpy
 * per element; dst[i * ds0 + j * ds1] = src[i * ss0 + j * ss1] for i < n0, j < n1,
 * strides in elements.  Integer types: the bits move unchanged, NaN payloads too. */
struct la_pair64 {
    uint64_t re, im;
};

#define LA_COPY2(T)                                                                     \
    {                                                                                   \
        T *d = dst;                                                                     \
        const T *s = src;                                                               \
        for (int64_t i = 0; i < n0; i++)                                                \
            for (int64_t j = 0; j < n1; j++)                                            \
                d[i * ds0 + j * ds1] = s[i * ss0 + j * ss1];                            \
        return;                                                                         \
    }

static void copy2(void *dst, int64_t ds0, int64_t ds1, const void *src, int64_t ss0, int64_t ss1, int64_t n0,
                  int64_t n1, size_t es)
{
    switch (es) {
    case 4: LA_COPY2(uint32_t)
    case 8: LA_COPY2(uint64_t)
    case 16: LA_COPY2(struct la_pair64)
    default:
        for (int64_t i = 0; i < n0; i++)
            for (int64_t j = 0; j < n1; j++)
                memcpy((char *)dst + (i * ds0 + j * ds1) * (int64_t)es,
                       (const char *)src + (i * ss0 + j * ss1) * (int64_t)es, es);
    }
}
#undef LA_COPY2

void td__la_load(const struct td_kt *t, const char *p, void *buf, int64_t ld, size_t es)
{
    int nd = t->m.ndim;
    int64_t rows = t->m.sizes[nd - 2], cols = t->m.sizes[nd - 1];
    int64_t rs = t->m.strides[nd - 2], cs = t->m.strides[nd - 1];
    /* walk the source's smaller stride innermost */
    if (cs <= rs)
        copy2(buf, 1, ld, p, rs, cs, rows, cols, es);
    else
        copy2(buf, ld, 1, p, cs, rs, cols, rows, es);
}

void td__la_store(struct td_kt *t, char *p, const void *buf, int64_t ld, size_t es)
{
    int nd = t->m.ndim;
    int64_t rows = t->m.sizes[nd - 2], cols = t->m.sizes[nd - 1];
    int64_t rs = t->m.strides[nd - 2], cs = t->m.strides[nd - 1];
    if (cs <= rs)
        copy2(p, rs, cs, buf, 1, ld, rows, cols, es);
    else
        copy2(p, cs, rs, buf, ld, 1, cols, rows, es);
}

void td__la_store_vec(struct td_kt *t, char *p, const void *buf, int64_t n, size_t es)
{
    copy2(p, 0, t->m.strides[t->m.ndim - 1], buf, 0, 1, 1, n, es);
}

void td__la_put(const struct td_kt *t, char *p, double v)
{
    switch (t->m.dtype) {
    case TD_DTYPE_FLOAT32: *(float *)p = (float)v; break;
    case TD_DTYPE_FLOAT64: *(double *)p = v; break;
    case TD_DTYPE_INT32: *(int32_t *)p = (int32_t)v; break;
    case TD_DTYPE_INT64: *(int64_t *)p = (int64_t)v; break;
    case TD_DTYPE_COMPLEX64:
    case TD_DTYPE_COMPLEX128: td__la_putc(t, p, v, 0.0); break;
    default: break; /* the meta rule allows no other output dtype */
    }
}

void td__la_putc(const struct td_kt *t, char *p, double re, double im)
{
    if (t->m.dtype == TD_DTYPE_COMPLEX64) {
        ((float *)p)[0] = (float)re;
        ((float *)p)[1] = (float)im;
    } else {
        ((double *)p)[0] = re;
        ((double *)p)[1] = im;
    }
}

/* ---- LU: inverse, solve, determinants */

/* Scratch for one LU solve: A (n x n), pivots, right-hand side (n x r). */
struct lu_scratch {
    void *a, *b;
    lapack_int *ipiv;
};

static bool lu_alloc(struct lu_scratch *s, const struct la_job *j, int64_t r)
{
    size_t n = (size_t)j->n;
    s->a = malloc(n * n * j->es + 1);
    s->b = malloc(n * (size_t)r * j->es + 1);
    s->ipiv = malloc(n * sizeof(lapack_int) + 1);
    return s->a && s->b && s->ipiv;
}

static void lu_free(struct lu_scratch *s)
{
    free(s->a);
    free(s->b);
    free(s->ipiv);
}

/* Whether t is contiguous (row-major) as torch's is_contiguous() sees it.  (A solve's A
 * that the client broadcast to B's batch dims is not, where torch factors it before
 * broadcasting; its info then has A's batch shape, not B's, anyway.) */
static bool row_major(const struct td_kt *t)
{
    int64_t want = 1;
    for (int d = t->m.ndim - 1; d >= 0; d--) {
        if (t->m.sizes[d] == 1)
            continue;
        if (t->m.strides[d] != want)
            return false;
        want *= t->m.sizes[d];
    }
    return true;
}

/* Factor A^T, and solve with trans = 'T', rather than A: torch's inv and solve do that
 * when A is real and contiguous (its row-major A is LAPACK's A^T, no copy needed) and
 * factor A itself otherwise, as det and slogdet always do; the index of the first zero
 * pivot reported for a singular matrix (inv's message, the info outputs) and the
 * rounding of a singular determinant depend on it. */
static bool lu_transposed(const struct la_job *j)
{
    return j->k->op != TD_OP_LINALG_DET && j->k->op != TD_OP_LINALG_SLOGDET && !j->cx && row_major(j->k->in[0]);
}

static char lu_trans(const struct la_job *j)
{
    return lu_transposed(j) ? 'T' : 'N';
}

/* A^T = P L U (lu_transposed) or A = P L U of batch b into s->a; returns getrf's info. */
static lapack_int lu_factor(const struct la_job *j, struct lu_scratch *s, int64_t b)
{
    struct td_kt at = *j->k->in[0];
    int nd = at.m.ndim;
    if (lu_transposed(j)) {
        at.m.strides[nd - 2] = j->k->in[0]->m.strides[nd - 1];
        at.m.strides[nd - 1] = j->k->in[0]->m.strides[nd - 2];
    }
    lapack_int n = (lapack_int)j->n;
    td__la_load(&at, td__la_batch_ptr(&at, j, b), s->a, td__la_ld(n), j->es);
    if (n == 0)
        return 0;
    return LA(j, getrf, n, n, s->a, td__la_ld(n), s->ipiv);
}

/* INV (B = identity) and SOLVE (B = input 1): X = A^-1 B, info. */
static enum td_code solve_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    bool inv = k->op == TD_OP_LINALG_INV;
    int64_t r = inv ? j->n : j->r;
    lapack_int n = (lapack_int)j->n, ld = td__la_ld(n);
    struct lu_scratch s;
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    if (!lu_alloc(&s, j, r))
        goto out_free;
    for (int64_t b = b0; b < b1; b++) {
        lapack_int info = lu_factor(j, &s, b);
        if (inv) {
            memset(s.b, 0, (size_t)(n * r) * j->es);
            for (int64_t i = 0; i < n; i++)
                td__la_setx(j, s.b, i * (n + 1), 1.0, 0.0);
        } else {
            td__la_load(k->in[1], td__la_batch_ptr(k->in[1], j, b), s.b, ld, j->es);
        }
        /* singular (info > 0) still solves: inf/nan like torch's inv_ex */
        if (n > 0 && r > 0 && info >= 0)
            LA(j, getrs, lu_trans(j), n, (lapack_int)r, s.a, ld, s.ipiv, s.b, ld);
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), s.b, ld, j->es);
        td__la_put(k->out[1], td__la_batch_ptr(k->out[1], j, b), info);
    }
    rc = TD_CODE_OK;
out_free:
    lu_free(&s);
    return rc;
}

static double sign_of(double d)
{
    return d > 0 ? 1.0 : d < 0 ? -1.0 : d == 0 ? 0.0 : NAN;
}

/* d / |d|, 0 for 0 (torch.sgn); NaN stays NaN. */
static double complex sgn_of(double complex d)
{
    double a = cabs(d);
    return a == 0 ? 0.0 : d / a;
}

/* DET: det; SLOGDET: sign, log|det| — from the diagonal of U and the pivots' parity. */
static enum td_code det_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    lapack_int n = (lapack_int)j->n, ld = td__la_ld(n);
    struct lu_scratch s;
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    if (!lu_alloc(&s, j, 0))
        goto out_free;
    for (int64_t b = b0; b < b1; b++) {
        lu_factor(j, &s, b);
        double det = 1.0, sign = 1.0, logabs = 0.0;
        double complex cdet = 1.0, csign = 1.0;
        for (lapack_int i = 0; i < n; i++) {
            int64_t at = (int64_t)i * (ld + 1);
            double d = td__la_re(j, s.a, at);
            double p = s.ipiv[i] != i + 1 ? -1.0 : 1.0;
            if (j->cx) {
                double complex dc = CMPLX(d, td__la_im(j, s.a, at));
                cdet *= dc * p;
                csign *= sgn_of(dc) * p;
                logabs += log(cabs(dc));
                continue;
            }
            det *= d * p;
            sign *= sign_of(d) * p;
            logabs += log(fabs(d));
        }
        char *o0 = td__la_batch_ptr(k->out[0], j, b);
        if (j->cx) {
            double complex v = k->op == TD_OP_LINALG_DET ? cdet : csign;
            td__la_putc(k->out[0], o0, creal(v), cimag(v));
        } else {
            td__la_put(k->out[0], o0, k->op == TD_OP_LINALG_DET ? det : sign);
        }
        if (k->op == TD_OP_LINALG_SLOGDET)
            td__la_put(k->out[1], td__la_batch_ptr(k->out[1], j, b), logabs);
    }
    rc = TD_CODE_OK;
out_free:
    lu_free(&s);
    return rc;
}

/* CHOLESKY: the factor (other triangle zeroed) and potrf's info. */
static enum td_code cholesky_range(struct la_job *j, int64_t b0, int64_t b1)
{
    struct td_kctx *k = j->k;
    bool upper = k->attrs[TD_A_LINALG_CHOLESKY_UPPER] != 0;
    lapack_int n = (lapack_int)j->n, ld = td__la_ld(n);
    void *a = malloc((size_t)n * (size_t)n * j->es + 1);
    if (!a)
        return TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = b0; b < b1; b++) {
        td__la_load(k->in[0], td__la_batch_ptr(k->in[0], j, b), a, ld, j->es);
        lapack_int info = n ? LA(j, potrf, upper ? 'U' : 'L', n, a, ld) : 0;
        for (lapack_int c = 0; c < n; c++)
            for (lapack_int r = 0; r < n; r++)
                if (upper ? r > c : r < c)
                    td__la_setx(j, a, r + (int64_t)c * ld, 0.0, 0.0);
        td__la_store(k->out[0], td__la_batch_ptr(k->out[0], j, b), a, ld, j->es);
        td__la_put(k->out[1], td__la_batch_ptr(k->out[1], j, b), info);
    }
    free(a);
    return TD_CODE_OK;
}

enum td_code td__la_exec(struct td_kctx *k, enum td_code (*fn)(struct la_job *, int64_t, int64_t))
{
    struct la_job j;
    if (td__la_setup(k, &j))
        return TD_CODE_INVALID_ARGUMENT;
    j.fn = fn;
    return td__la_run(&j);
}

enum td_code td_cpu_linalg_inv(struct td_kctx *k) { return td__la_exec(k, solve_range); }
enum td_code td_cpu_linalg_solve(struct td_kctx *k) { return td__la_exec(k, solve_range); }
enum td_code td_cpu_linalg_det(struct td_kctx *k) { return td__la_exec(k, det_range); }
enum td_code td_cpu_linalg_slogdet(struct td_kctx *k) { return td__la_exec(k, det_range); }
enum td_code td_cpu_linalg_cholesky(struct td_kctx *k) { return td__la_exec(k, cholesky_range); }
