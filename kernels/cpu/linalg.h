/*
 * linalg.h — helpers shared by the LAPACK-backed kernels (linalg.c, linalg_decomp.c,
 * linalg_packed.c, linalg_lu.c, linalg_matrix_exp.c).  td__la_setup serves the LINALG
 * and LINALG_LU families (linalg_packed.c has its own, real-only).
 *
 * Each kernel walks the batch dims of its operands (equal for every operand, the meta
 * rule guarantees it; placeholder outputs of shape (0) are never touched), copies one
 * matrix at a time into a column-major scratch buffer (so any strides, including the
 * 0 strides of an expanded operand, are fine), calls LAPACKE in column-major layout
 * and copies the results out.  Batches are spread over td_parallel_for in ranges;
 * each range allocates its own scratch.  float32, float64, complex64 and complex128 reach
 * these kernels (the s, d, c and z routines); a complex element is an (re, im) pair, so
 * the copies move it as one 8- or 16-byte unit and the scalar helpers below take both
 * parts.  LAPACK's int is 32-bit: matrices with a dim above INT32_MAX are refused.
 */
#ifndef TD_CPU_LINALG_H
#define TD_CPU_LINALG_H

#include <lapacke.h>
#include <stdbool.h>
#include <stdint.h>

#include "iter.h"

/* LAX(j, orgqr, ungqr, args...): LAPACKE_{s,d}orgqr or LAPACKE_{c,z}ungqr, as job j's
 * dtype wants, in column-major layout; LA(j, getrf, args...) when the real and complex
 * routines share a name.  Buffers are passed as void * so one call site serves all four
 * dtypes; only routines whose four forms take the same arguments can go through here
 * (geev cannot: the real one returns wr, wi, the complex one w). */
#define LAX(j, rfn, cfn, ...)                                                                   \
    ((j)->cx ? ((j)->f64 ? LAPACKE_z##cfn(LAPACK_COL_MAJOR, __VA_ARGS__)                         \
                         : LAPACKE_c##cfn(LAPACK_COL_MAJOR, __VA_ARGS__))                        \
             : ((j)->f64 ? LAPACKE_d##rfn(LAPACK_COL_MAJOR, __VA_ARGS__)                         \
                         : LAPACKE_s##rfn(LAPACK_COL_MAJOR, __VA_ARGS__)))
#define LA(j, fn, ...) LAX(j, fn, fn, __VA_ARGS__)

/* One kernel invocation, as every range of batches sees it. */
struct la_job {
    struct td_kctx *k;
    bool f64;                      /* double precision (float64, complex128) */
    bool cx;                       /* complex compute dtype */
    size_t es;                     /* element size of the compute dtype */
    size_t rs;                     /* element size of its real part (S, eigh's w, ...) */
    int nb;                        /* batch dims */
    const int64_t *bsizes;         /* batch sizes (input 0's leading dims) */
    int64_t m, n, r;               /* A is m x n; B (solve, lstsq) m x r */
    enum td_code (*fn)(struct la_job *j, int64_t b0, int64_t b1);
    int failed;                    /* first failure code of any range (atomic) */
};

/* Validates counts, dtypes and shapes against the meta rule and fills j (minus fn).
 * INVALID_ARGUMENT when anything disagrees. */
enum td_code td__la_setup(struct td_kctx *k, struct la_job *j);
/* Runs j->fn over all batches, in parallel when the matrices are small. */
enum td_code td__la_run(struct la_job *j);
/* Both: the whole kernel for a range function fn. */
enum td_code td__la_exec(struct td_kctx *k, enum td_code (*fn)(struct la_job *j, int64_t b0, int64_t b1));

/* Address of batch b's first element in t (t's first nb dims are the batch). */
char *td__la_batch_ptr(const struct td_kt *t, const struct la_job *j, int64_t b);
/* t's matrix at p (its last two dims) into buf, column-major with leading dim ld. */
void td__la_load(const struct td_kt *t, const char *p, void *buf, int64_t ld, size_t es);
/* buf (column-major, leading dim ld) into the matrix at p of t (t's last two dims). */
void td__la_store(struct td_kt *t, char *p, const void *buf, int64_t ld, size_t es);
/* n values of buf into the vector at p (t's last dim). */
void td__la_store_vec(struct td_kt *t, char *p, const void *buf, int64_t n, size_t es);
/* v into the element at p of t (any dtype the linalg outputs use; complex: (v, 0)). */
void td__la_put(const struct td_kt *t, char *p, double v);
/* (re, im) into the element at p of the complex tensor t. */
void td__la_putc(const struct td_kt *t, char *p, double re, double im);

static inline double td__la_get(const void *buf, int64_t i, bool f64)
{
    return f64 ? ((const double *)buf)[i] : (double)((const float *)buf)[i];
}

static inline void td__la_set(void *buf, int64_t i, bool f64, double v)
{
    if (f64)
        ((double *)buf)[i] = v;
    else
        ((float *)buf)[i] = (float)v;
}

/* Element i of a buffer of job j's compute dtype: real part (and imaginary part). */
static inline double td__la_re(const struct la_job *j, const void *buf, int64_t i)
{
    return td__la_get(buf, j->cx ? 2 * i : i, j->f64);
}

static inline double td__la_im(const struct la_job *j, const void *buf, int64_t i)
{
    return j->cx ? td__la_get(buf, 2 * i + 1, j->f64) : 0.0;
}

/* Element i of a buffer of job j's compute dtype := re (+ i im when complex). */
static inline void td__la_setx(const struct la_job *j, void *buf, int64_t i, double re, double im)
{
    if (j->cx) {
        td__la_set(buf, 2 * i, j->f64, re);
        td__la_set(buf, 2 * i + 1, j->f64, im);
    } else {
        td__la_set(buf, i, j->f64, re);
    }
}

static inline lapack_int td__la_ld(int64_t rows)
{
    return rows > 1 ? (lapack_int)rows : 1;
}

#endif
