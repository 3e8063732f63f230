/*
 * fft.c — the FFT family on the CPU: FFT_C2C, FFT_R2C and FFT_C2R through FFTW 3
 * (libfftw3 for complex128/float64, libfftw3f for complex64/float32).
 *
 * One FFTW guru plan per call describes the whole op: the transformed dims as the
 * plan's dims, every other dim as a "howmany" (batch) dim, each with the operands' own
 * strides, so strided and broadcast (stride 0) inputs are read where they are and no
 * copy is made, except for C2R: FFTW's complex-to-real transforms overwrite their input,
 * so that input is first copied into contiguous scratch.  Plans are made with
 * FFTW_ESTIMATE (no measuring, arrays untouched) under a lock, since FFTW's planner is
 * not thread-safe; executing a plan is.  The normalization (the norm attribute: 0 none, 1 by 1/N,
 * 2 by 1/sqrt(N)) is a scaling pass over the contiguous output.  Shapes and attributes:
 * kernels/shape_fft.c.  Not here: resizing the signal to n/s, dim wrapping (the client).
 */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel.h"

static pthread_mutex_t planner = PTHREAD_MUTEX_INITIALIZER;

struct fft_job {
    int rank, howmany;
    fftw_iodim64 dims[TD_MAX_DIMS], batch[TD_MAX_DIMS];
    int sign;
    char *in, *out;
};

/* One precision: plan (under the lock), execute, destroy.  fftwf_iodim64 has the layout of
 * fftw_iodim64 (both are {ptrdiff_t n, is, os}), hence the casts in the float version. */
#define FFT_RUN(P, real, cplx)                                                                            \
    static enum td_code run_##P(unsigned op, const struct fft_job *j)                                    \
    {                                                                                                    \
        const P##_iodim64 *d = (const P##_iodim64 *)j->dims, *b = (const P##_iodim64 *)j->batch;          \
        unsigned fl = FFTW_ESTIMATE | (op == TD_OP_FFT_C2R ? FFTW_DESTROY_INPUT : FFTW_PRESERVE_INPUT);   \
        P##_plan p;                                                                                      \
        pthread_mutex_lock(&planner);                                                                    \
        if (op == TD_OP_FFT_C2C)                                                                         \
            p = P##_plan_guru64_dft(j->rank, d, j->howmany, b, (cplx *)j->in, (cplx *)j->out, j->sign, fl); \
        else if (op == TD_OP_FFT_R2C)                                                                    \
            p = P##_plan_guru64_dft_r2c(j->rank, d, j->howmany, b, (real *)j->in, (cplx *)j->out, fl);     \
        else                                                                                             \
            p = P##_plan_guru64_dft_c2r(j->rank, d, j->howmany, b, (cplx *)j->in, (real *)j->out, fl);     \
        pthread_mutex_unlock(&planner);                                                                  \
        if (!p)                                                                                          \
            return TD_CODE_INTERNAL;                                                                     \
        P##_execute(p);                                                                                  \
        pthread_mutex_lock(&planner);                                                                    \
        P##_destroy_plan(p);                                                                             \
        pthread_mutex_unlock(&planner);                                                                  \
        return TD_CODE_OK;                                                                               \
    }

FFT_RUN(fftw, double, fftw_complex)
FFT_RUN(fftwf, float, fftwf_complex)

_Static_assert(sizeof(fftw_iodim64) == sizeof(fftwf_iodim64), "fftw iodim layouts differ");

/* A contiguous copy of t (C2R's input, which FFTW overwrites); NULL when out of memory. */
static char *contiguous_copy(const struct td_kt *t, int64_t numel, size_t es)
{
    char *buf = malloc((size_t)(numel > 0 ? numel : 1) * es);
    int64_t idx[TD_MAX_DIMS] = {0};
    const char *base = t->data + t->m.offset * (int64_t)es;
    for (int64_t i = 0; buf && i < numel; i++) {
        int64_t off = 0;
        for (int d = 0; d < t->m.ndim; d++)
            off += idx[d] * t->m.strides[d];
        memcpy(buf + i * (int64_t)es, base + off * (int64_t)es, es);
        for (int d = t->m.ndim - 1; d >= 0 && ++idx[d] == t->m.sizes[d]; d--)
            idx[d] = 0;
    }
    return buf;
}

static void scale(struct td_kt *y, int64_t numel, double f)
{
    bool dbl = y->m.dtype == TD_DTYPE_FLOAT64 || y->m.dtype == TD_DTYPE_COMPLEX128;
    int64_t n = numel * (td_dtype_is_complex((enum td_dtype)y->m.dtype) ? 2 : 1);
    if (dbl) {
        double *p = (double *)y->data + y->m.offset * (td_dtype_is_complex((enum td_dtype)y->m.dtype) ? 2 : 1);
        for (int64_t i = 0; i < n; i++)
            p[i] *= f;
    } else {
        float *p = (float *)y->data + y->m.offset * (td_dtype_is_complex((enum td_dtype)y->m.dtype) ? 2 : 1);
        for (int64_t i = 0; i < n; i++)
            p[i] = (float)(p[i] * f);
    }
}

static enum td_code fft(struct td_kctx *k)
{
    struct td_kt *x = k->in[0], *y = k->out[0];
    int rank = (int)k->n_attr - TD_A_FFT_DIMS; /* the dims list is the last attribute */
    const int64_t *tdims = k->attrs + TD_A_FFT_DIMS;
    size_t xes = td_dtype_size((enum td_dtype)x->m.dtype);
    int64_t in_numel = td_meta_numel(&x->m), out_numel = td_meta_numel(&y->m);
    struct fft_job j = {.rank = rank, .sign = k->attrs[TD_A_FFT_X] ? FFTW_FORWARD : FFTW_BACKWARD};
    bool is_tr[TD_MAX_DIMS] = {false};
    double n_signal = 1;
    if (out_numel == 0)
        return TD_CODE_OK;
    j.in = x->data + x->m.offset * (int64_t)xes;
    j.out = y->data + y->m.offset * (int64_t)td_dtype_size((enum td_dtype)y->m.dtype);
    char *scratch = NULL;
    struct td_meta xm = x->m;
    if (k->op == TD_OP_FFT_C2R) {
        scratch = contiguous_copy(x, in_numel, xes);
        if (!scratch)
            return TD_CODE_RESOURCE_EXHAUSTED;
        j.in = scratch;
        for (int64_t d = xm.ndim - 1, acc = 1; d >= 0; acc *= xm.sizes[d], d--)
            xm.strides[d] = acc;
    }
    for (int i = 0; i < rank; i++) {
        int64_t d = tdims[i];
        /* the logical (real-domain) length: the output's for C2R, the input's otherwise */
        int64_t n = k->op == TD_OP_FFT_C2R ? y->m.sizes[d] : x->m.sizes[d];
        j.dims[i] = (fftw_iodim64){.n = n, .is = xm.strides[d], .os = y->m.strides[d]};
        is_tr[d] = true;
        n_signal *= (double)n;
    }
    for (int d = 0; d < x->m.ndim; d++)
        if (!is_tr[d])
            j.batch[j.howmany++] = (fftw_iodim64){.n = x->m.sizes[d], .is = xm.strides[d], .os = y->m.strides[d]};
    bool dbl = x->m.dtype == TD_DTYPE_FLOAT64 || x->m.dtype == TD_DTYPE_COMPLEX128;
    enum td_code rc = dbl ? run_fftw(k->op, &j) : run_fftwf(k->op, &j);
    free(scratch);
    int64_t norm = k->attrs[TD_A_FFT_NORM];
    if (!rc && norm)
        scale(y, out_numel, norm == 1 ? 1.0 / n_signal : 1.0 / sqrt(n_signal));
    return rc;
}

enum td_code td_cpu_fft_c2c(struct td_kctx *k) { return fft(k); }
enum td_code td_cpu_fft_r2c(struct td_kctx *k) { return fft(k); }
enum td_code td_cpu_fft_c2r(struct td_kctx *k) { return fft(k); }
