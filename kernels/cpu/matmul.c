/*
 * matmul.c — MATMUL (torch.matmul: 1-D operands, broadcast batch dims), MM and BMM.
 *
 * Every case is reduced to a batch of (n x k) @ (k x m) products over strided
 * matrices: a 1-D left operand is a 1 x k row, a 1-D right operand a k x 1 column,
 * and batch dims broadcast like elementwise ops (size 1 or missing = stride 0).
 * float32/float64 go to OpenBLAS sgemm/dgemm (complex64/128: cgemm/zgemm), one
 * single-threaded call per panel of C on the intra-op pool (a batch is spread by
 * product instead); a matrix with unit stride in one dim is passed as is (transposed
 * when its columns are contiguous), anything else is packed into a contiguous scratch
 * first.  Integer and bool products use a plain loop that
 * wraps (uint64 accumulation).  An empty inner dim gives zeros.
 * Not here: shape checking for the client (kernels/shape.c); this file re-checks only
 * what it indexes with.
 */
#include <cblas.h>
#include <stdlib.h>

#include "iter.h"

struct mat {
    char *p;
    int64_t rows, cols;
    int64_t rs, cs; /* element strides */
};

/* ---- integer / bool products */
#define GEN_IGEMM(sfx, DT, T, UT, CL)                                                  \
    static void igemm_##sfx(const struct mat *a, const struct mat *b, struct mat *c,  \
                            int64_t k)                                                 \
    {                                                                                  \
        const T *ap = (const T *)a->p, *bp = (const T *)b->p;                          \
        for (int64_t i = 0; i < c->rows; i++)                                          \
            for (int64_t j = 0; j < c->cols; j++) {                                    \
                uint64_t acc = 0;                                                      \
                for (int64_t q = 0; q < k; q++)                                        \
                    acc += (uint64_t)ap[i * a->rs + q * a->cs] *                       \
                           (uint64_t)bp[q * b->rs + j * b->cs];                        \
                ((T *)c->p)[i * c->rs + j * c->cs] = (T)acc;                           \
            }                                                                          \
    }
TD_COMPUTE_TYPES(GEN_IGEMM)
typedef void (*igemm_fn)(const struct mat *, const struct mat *, struct mat *, int64_t);
#define IGEMM_ENTRY(sfx, DT, ...) [TD_DTYPE_##DT] = igemm_##sfx,
static const igemm_fn igemm_tab[TD_DTYPE_COUNT] = {TD_COMPUTE_TYPES(IGEMM_ENTRY)};

/* ---- BLAS products */

/* How BLAS can read m as is: trans and leading dim; false when it must be packed. */
static bool blas_layout(const struct mat *m, bool *trans, int64_t *ld)
{
    int64_t r = m->rows, c = m->cols;
    if ((m->cs == 1 || c == 1) && (r == 1 || m->rs >= c)) {
        *trans = false;
        *ld = r == 1 ? (c > 1 ? c : 1) : m->rs;
        return *ld >= (c > 1 ? c : 1);
    }
    if ((m->rs == 1 || r == 1) && (c == 1 || m->cs >= r)) {
        *trans = true;
        *ld = c == 1 ? (r > 1 ? r : 1) : m->cs;
        return *ld >= (r > 1 ? r : 1);
    }
    return false;
}

/* Copies m (element size es) into a contiguous row-major scratch and points m at it. */
static bool pack(struct mat *m, size_t es, char **scratch)
{
    char *dst = malloc((size_t)(m->rows * m->cols) * es);
    if (!dst)
        return false;
    for (int64_t i = 0; i < m->rows; i++)
        for (int64_t j = 0; j < m->cols; j++)
            memcpy(dst + (i * m->cols + j) * (int64_t)es,
                   m->p + (i * m->rs + j * m->cs) * (int64_t)es, es);
    *scratch = dst;
    m->p = dst;
    m->rs = m->cols;
    m->cs = 1;
    return true;
}

/* One BLAS product, split into row (or column) panels of C over the intra-op pool:
 * OpenBLAS itself runs single-threaded (parallel.c), so a session's thread limit holds
 * for GEMM too, and a limit of 1 is one plain single-threaded call. */
struct gemm_job {
    enum td_dtype dt;
    enum CBLAS_TRANSPOSE tA, tB;
    struct mat a, b, c; /* c: row-major with unit column stride (ldc = c.rs) */
    int64_t lda, ldb, ldc, k;
    bool by_rows;
};

static void gemm_panel(void *ctx, int64_t begin, int64_t end)
{
    const struct gemm_job *j = ctx;
    int64_t es = (int64_t)td_dtype_size(j->dt), m = j->c.rows, n = j->c.cols;
    const char *ap = j->a.p, *bp = j->b.p;
    char *cp = j->c.p;
    if (j->by_rows) {
        ap += begin * j->a.rs * es;
        cp += begin * j->c.rs * es;
        m = end - begin;
    } else {
        bp += begin * j->b.cs * es;
        cp += begin * j->c.cs * es;
        n = end - begin;
    }
    static const float c1f[2] = {1, 0}, c0f[2] = {0, 0};
    static const double c1d[2] = {1, 0}, c0d[2] = {0, 0};
    blasint M = (blasint)m, N = (blasint)n, K = (blasint)j->k, lda = (blasint)j->lda, ldb = (blasint)j->ldb,
            ldc = (blasint)j->ldc;
    if (j->dt == TD_DTYPE_COMPLEX64)
        cblas_cgemm(CblasRowMajor, j->tA, j->tB, M, N, K, c1f, ap, lda, bp, ldb, c0f, cp, ldc);
    else if (j->dt == TD_DTYPE_COMPLEX128)
        cblas_zgemm(CblasRowMajor, j->tA, j->tB, M, N, K, c1d, ap, lda, bp, ldb, c0d, cp, ldc);
    else if (j->dt == TD_DTYPE_FLOAT32)
        cblas_sgemm(CblasRowMajor, j->tA, j->tB, M, N, K, 1.0f, (const float *)ap, lda, (const float *)bp, ldb,
                    0.0f, (float *)cp, ldc);
    else
        cblas_dgemm(CblasRowMajor, j->tA, j->tB, M, N, K, 1.0, (const double *)ap, lda, (const double *)bp, ldb,
                    0.0, (double *)cp, ldc);
}

/* Below this many multiply-adds per panel, splitting costs more than it gains. */
#define GEMM_PANEL_MIN_WORK (INT64_C(1) << 21)

static void run_gemm(struct gemm_job *j)
{
    int nt = td_parallel_threads();
    int64_t m = j->c.rows, n = j->c.cols;
    j->by_rows = m >= n;
    /* per row (column) of C: n*k (m*k) <= the numel of B (A), so no overflow */
    int64_t len = j->by_rows ? m : n, unit = (j->by_rows ? n : m) * j->k;
    /* one panel per thread: each packs its own copy of the shared operand, so fewer,
     * larger panels; none smaller than GEMM_PANEL_MIN_WORK or 32 rows/columns */
    int64_t grain = nt > 1 ? (len + nt - 1) / nt : len;
    int64_t min_len = GEMM_PANEL_MIN_WORK / (unit > 0 ? unit : 1);
    if (grain < min_len)
        grain = min_len;
    if (grain < 32)
        grain = 32;
    td_parallel_for(len, grain, gemm_panel, j);
}

static enum td_code blas_gemm(enum td_dtype dt, struct mat a, struct mat b, struct mat *c,
                              int64_t k)
{
    size_t es = td_dtype_size(dt);
    char *sa = NULL, *sb = NULL, *sc = NULL;
    bool ta, tb, tc;
    int64_t lda, ldb, ldc;
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    struct mat cc = *c;
    if (!blas_layout(&a, &ta, &lda) && !(pack(&a, es, &sa) && blas_layout(&a, &ta, &lda)))
        goto out_free;
    if (!blas_layout(&b, &tb, &ldb) && !(pack(&b, es, &sb) && blas_layout(&b, &tb, &ldb)))
        goto out_free;
    if (!blas_layout(&cc, &tc, &ldc) || tc) { /* compute into scratch, copy out below */
        sc = malloc((size_t)(c->rows * c->cols) * es);
        if (!sc)
            goto out_free;
        cc = (struct mat){sc, c->rows, c->cols, c->cols, 1};
        ldc = c->cols > 1 ? c->cols : 1;
    }
    struct gemm_job job = {
        .dt = dt, .tA = ta ? CblasTrans : CblasNoTrans, .tB = tb ? CblasTrans : CblasNoTrans,
        .a = a, .b = b, .c = cc, .lda = lda, .ldb = ldb, .ldc = ldc, .k = k,
    };
    run_gemm(&job);
    if (sc)
        for (int64_t i = 0; i < c->rows; i++)
            for (int64_t j = 0; j < c->cols; j++)
                memcpy(c->p + (i * c->rs + j * c->cs) * (int64_t)es,
                       sc + (i * c->cols + j) * (int64_t)es, es);
    rc = TD_CODE_OK;
out_free:
    free(sa);
    free(sb);
    free(sc);
    return rc;
}

/* One product c = a @ b with k inner elements. */
static enum td_code gemm(enum td_dtype dt, const struct mat *a, const struct mat *b, struct mat *c,
                         int64_t k)
{
    size_t es = td_dtype_size(dt);
    if (c->rows == 0 || c->cols == 0)
        return TD_CODE_OK;
    if (k == 0) {
        for (int64_t i = 0; i < c->rows; i++)
            for (int64_t j = 0; j < c->cols; j++)
                memset(c->p + (i * c->rs + j * c->cs) * (int64_t)es, 0, es);
        return TD_CODE_OK;
    }
    if (td_dtype_is_float(dt) || td_dtype_is_complex(dt)) /* f32, f64, c64 (cgemm), c128 (zgemm) */
        return blas_gemm(dt, *a, *b, c, k);
    igemm_tab[dt](a, b, c, k);
    return TD_CODE_OK;
}

/* ---- shapes */

/* Operand t as a batch of matrices: the last two dims (a 1-D operand is a row when
 * left, a column when right); the leading dims are its batch dims. */
static void as_mat(const struct td_kt *t, bool left, struct mat *m, int *nbatch)
{
    const struct td_meta *tm = &t->m;
    int nd = tm->ndim;
    m->p = t->data + tm->offset * (int64_t)td_dtype_size((enum td_dtype)tm->dtype);
    if (nd == 1) {
        *m = left ? (struct mat){m->p, 1, tm->sizes[0], 0, tm->strides[0]}
                  : (struct mat){m->p, tm->sizes[0], 1, tm->strides[0], 0};
        *nbatch = 0;
        return;
    }
    *m = (struct mat){m->p, tm->sizes[nd - 2], tm->sizes[nd - 1], tm->strides[nd - 2],
                      tm->strides[nd - 1]};
    *nbatch = nd - 2;
}

/* Stride of operand t's batch dim aligned with out batch dim j of nb; false if it
 * does not broadcast. */
static bool batch_stride(const struct td_meta *tm, int tb, int nb, int j, int64_t size,
                         int64_t *stride)
{
    int d = j - (nb - tb);
    *stride = 0;
    if (d < 0 || tm->sizes[d] == 1)
        return true;
    *stride = tm->strides[d];
    return tm->sizes[d] == size;
}

/* A batch of products spread over the pool by batch (each product then runs on one
 * thread: nested td_parallel_for calls are serial), so small matrices in a batch still
 * use every thread. */
struct batch_job {
    enum td_dtype dt;
    struct mat a, b, c; /* batch 0 */
    int64_t k;
    int nbo;
    const int64_t *sizes, *ostrides, *sa, *sb; /* out batch dims; operand batch strides */
    enum td_code rc;                           /* the first failure (atomic) */
};

static void batch_range(void *ctx, int64_t begin, int64_t end)
{
    struct batch_job *j = ctx;
    int64_t es = (int64_t)td_dtype_size(j->dt);
    for (int64_t t = begin; t < end; t++) {
        struct mat ab = j->a, bb = j->b, cb = j->c;
        int64_t r = t;
        for (int d = j->nbo - 1; d >= 0; d--) {
            int64_t i = r % j->sizes[d];
            r /= j->sizes[d];
            ab.p += i * j->sa[d] * es;
            bb.p += i * j->sb[d] * es;
            cb.p += i * j->ostrides[d] * es;
        }
        enum td_code rc = gemm(j->dt, &ab, &bb, &cb, j->k);
        if (rc != TD_CODE_OK) {
            enum td_code ok = TD_CODE_OK;
            __atomic_compare_exchange_n(&j->rc, &ok, rc, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        }
    }
}

static enum td_code matmul(struct td_kctx *k)
{
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    if (k->n_in != 2 || k->n_out < 1 || !td_dtype_valid(dt) || (!igemm_tab[dt] && !td_dtype_is_complex(dt)))
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *ta = k->in[0], *tb = k->in[1];
    struct td_kt *tc = k->out[0];
    const struct td_meta *om = &tc->m;
    if (ta->m.dtype != dt || tb->m.dtype != dt || om->dtype != dt || ta->m.ndim < 1 ||
        tb->m.ndim < 1)
        return TD_CODE_INVALID_ARGUMENT;
    struct mat a, b, c;
    int na, nb;
    as_mat(ta, true, &a, &na);
    as_mat(tb, false, &b, &nb);
    int a1 = ta->m.ndim == 1, b1 = tb->m.ndim == 1;
    int nbo = om->ndim - (a1 ? 0 : 1) - (b1 ? 0 : 1);
    if (a.cols != b.rows || nbo < 0 || nbo < na || nbo < nb)
        return TD_CODE_INVALID_ARGUMENT;
    c = (struct mat){tc->data + om->offset * (int64_t)td_dtype_size(dt), a.rows, b.cols,
                     a1 ? 0 : om->strides[nbo], b1 ? 0 : om->strides[om->ndim - 1]};
    if ((!a1 && om->sizes[nbo] != a.rows) || (!b1 && om->sizes[om->ndim - 1] != b.cols))
        return TD_CODE_INVALID_ARGUMENT;

    int64_t sa[TD_MAX_DIMS], sb[TD_MAX_DIMS], nbatch = 1;
    for (int j = 0; j < nbo; j++) {
        if (!batch_stride(&ta->m, na, nbo, j, om->sizes[j], &sa[j]) ||
            !batch_stride(&tb->m, nb, nbo, j, om->sizes[j], &sb[j]))
            return TD_CODE_INVALID_ARGUMENT;
        nbatch *= om->sizes[j];
    }
    struct batch_job j = {.dt = dt, .a = a, .b = b, .c = c, .k = a.cols, .nbo = nbo, .sizes = om->sizes,
                          .ostrides = om->strides, .sa = sa, .sb = sb, .rc = TD_CODE_OK};
    if (nbatch == 1) /* one product: its panels spread over the pool instead */
        return gemm(dt, &a, &b, &c, a.cols);
    /* enough multiply-adds per chunk to be worth a thread (GEMM_PANEL_MIN_WORK) */
    int64_t unit = a.rows * b.cols, grain = 1;
    if (unit > 0 && a.cols > 0 && unit <= GEMM_PANEL_MIN_WORK / a.cols)
        grain = GEMM_PANEL_MIN_WORK / (unit * a.cols);
    td_parallel_for(nbatch, grain, batch_range, &j);
    return j.rc;
}

enum td_code td_cpu_matmul(struct td_kctx *k) { return matmul(k); }

enum td_code td_cpu_mm(struct td_kctx *k)
{
    if (k->n_in != 2 || k->in[0]->m.ndim != 2 || k->in[1]->m.ndim != 2)
        return TD_CODE_INVALID_ARGUMENT;
    return matmul(k);
}

enum td_code td_cpu_bmm(struct td_kctx *k)
{
    if (k->n_in != 2 || k->in[0]->m.ndim != 3 || k->in[1]->m.ndim != 3 ||
        k->in[0]->m.sizes[0] != k->in[1]->m.sizes[0])
        return TD_CODE_INVALID_ARGUMENT;
    return matmul(k);
}
