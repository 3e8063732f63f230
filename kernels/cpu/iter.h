/*
 * iter.h — the N-d strided iterator shared by the CPU kernel families, plus the few
 * internal helpers several families need (scalar conversion, strided copy and fill).
 *
 * An iterator walks the shape of operand 0 (the output) over up to TD_ITER_MAXOP
 * operands.  Setup broadcasts the other operands to that shape (missing or size-1
 * dims get stride 0), drops size-1 dims and merges dims that are contiguous for every
 * operand, so a fully contiguous op becomes one flat dim.  td_iter_run hands the
 * inner dim to a loop function `fn(ctx, ptr, stride, n)` (strides in BYTES, one per
 * operand) and splits large iterations over td_parallel_for by element ranges.
 *
 * Loop functions must tolerate being called concurrently on disjoint ranges.
 * Nothing here allocates; everything is static inline so each family gets its copy.
 */
#ifndef TD_CPU_ITER_H
#define TD_CPU_ITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../iter_order.h"
#include "../kernel.h"

#define TD_ITER_MAXOP 4
#define TD_GRAIN 32768 /* elements below which an op stays on the calling thread */

/* Contiguous fast paths are compiled for several ISAs and picked at load time (an
 * ifunc per function); -DTD_NO_CLONES builds the baseline ISA only. */
#if defined(TD_NO_CLONES)
#define TD_CLONES
#else
#define TD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

/* X(sfx, DTYPE, T, UT, clones): the eight dtypes kernels compute in.  UT is the unsigned
 * type integer arithmetic wraps in (at least unsigned int, so no promotion to int). */
#define TD_COMPUTE_TYPES(X)                          \
    X(f32, FLOAT32, float, uint32_t, TD_CLONES)      \
    X(f64, FLOAT64, double, uint64_t, TD_CLONES)     \
    X(i64, INT64, int64_t, uint64_t, )               \
    X(i32, INT32, int32_t, uint32_t, )               \
    X(i16, INT16, int16_t, uint32_t, )               \
    X(i8, INT8, int8_t, uint32_t, )                  \
    X(u8, UINT8, uint8_t, uint32_t, )                \
    X(b, BOOL, bool, uint32_t, )

typedef void (*td_loop_fn)(void *ctx, char **ptr, const int64_t *stride, int64_t n);

/* One row of a loop table indexed by enum td_dtype: the functions nm##_<sfx>##S stamped
 * for the eight compute dtypes of TD_COMPUTE_TYPES (float16/bfloat16 run as float32). */
#define TD_DTYPE_TAB_ROW(nm, S)                                                           \
    {                                                                                     \
        [TD_DTYPE_FLOAT32] = nm##_f32##S, [TD_DTYPE_FLOAT64] = nm##_f64##S,               \
        [TD_DTYPE_INT64] = nm##_i64##S, [TD_DTYPE_INT32] = nm##_i32##S,                   \
        [TD_DTYPE_INT16] = nm##_i16##S, [TD_DTYPE_INT8] = nm##_i8##S,                     \
        [TD_DTYPE_UINT8] = nm##_u8##S, [TD_DTYPE_BOOL] = nm##_b##S,                       \
    },

struct td_iter {
    int nop, ndim;
    int64_t numel;
    int64_t size[TD_MAX_DIMS];                  /* dim 0 is the innermost */
    int64_t stride[TD_MAX_DIMS][TD_ITER_MAXOP]; /* bytes */
    char *base[TD_ITER_MAXOP];
};

/* Sets up it over the shape of ops[0]; false when an operand does not broadcast or its
 * byte strides do not fit in int64 (metas that passed td_meta_check_bounds always fit;
 * the check is here so that no caller has to prove it).  The arithmetic is checked even
 * for empty shapes: an empty view's strides are never used to address memory, but they
 * are still multiplied here. */
/* any_order: the walk may follow memory order instead of row-major order (elementwise
 * ops, whose result does not depend on the order: ../iter_order.h). */
static inline bool td__iter_setup(struct td_iter *it, int nop, struct td_kt *const *ops, bool any_order)
{
    const struct td_meta *shape = &ops[0]->m;
    int nd = shape->ndim;
    it->nop = nop;
    it->ndim = 0;
    it->numel = 1;
    for (int o = 0; o < nop; o++) {
        const struct td_meta *m = &ops[o]->m;
        if (m->ndim > nd)
            return false;
        it->base[o] = ops[o]->data + m->offset * (int64_t)td_dtype_size(m->dtype);
    }
    bool empty = false;
    for (int d = nd - 1; d >= 0; d--) { /* innermost first */
        int64_t sz = shape->sizes[d];
        empty |= sz == 0;
        if (!empty && td_mul_overflow(it->numel, sz, &it->numel))
            return false;
        if (sz == 1)
            continue;
        int k = it->ndim++;
        it->size[k] = sz;
        for (int o = 0; o < nop; o++) {
            const struct td_meta *m = &ops[o]->m;
            int od = d - (nd - m->ndim);
            int64_t s = 0;
            if (od >= 0) {
                if (m->sizes[od] == sz) {
                    if (td_mul_overflow(m->strides[od], (int64_t)td_dtype_size(m->dtype), &s))
                        return false;
                } else if (m->sizes[od] != 1) {
                    return false;
                }
            }
            it->stride[k][o] = s;
        }
    }
    if (empty) { /* nothing to walk; the dims above only had to broadcast */
        it->numel = 0;
        it->ndim = 0;
        return true;
    }
    if (any_order)
        td_iter_memory_order(it->ndim, it->size, &it->stride[0][0], TD_ITER_MAXOP);
    /* merge dim k+1 into k when every operand steps through both as one */
    int w = 0;
    for (int k = 1; k < it->ndim; k++) {
        bool ok = true;
        int64_t step;
        for (int o = 0; o < nop && ok; o++)
            ok = !td_mul_overflow(it->stride[w][o], it->size[w], &step) && it->stride[k][o] == step;
        if (ok) {
            it->size[w] *= it->size[k]; /* a factor of numel, which fits */
        } else {
            w++;
            it->size[w] = it->size[k];
            memcpy(it->stride[w], it->stride[k], sizeof(it->stride[k]));
        }
    }
    if (it->ndim > 0)
        it->ndim = w + 1;
    return true;
}

/* Row-major walk over operand 0's shape. */
static inline bool td_iter_init(struct td_iter *it, int nop, struct td_kt *const *ops)
{
    return td__iter_setup(it, nop, ops, false);
}

/* A walk in operand 0's memory order: for elementwise kernels only. */
static inline bool td_iter_init_elementwise(struct td_iter *it, int nop, struct td_kt *const *ops)
{
    return td__iter_setup(it, nop, ops, true);
}

struct td__iter_job {
    const struct td_iter *it;
    td_loop_fn fn;
    void *ctx;
};

/* Runs fn over the linear element range [begin, end) of the iteration. */
static inline void td__iter_range(void *job_, int64_t begin, int64_t end)
{
    const struct td__iter_job *job = job_;
    const struct td_iter *it = job->it;
    int nop = it->nop;
    char *ptr[TD_ITER_MAXOP];
    int64_t idx[TD_MAX_DIMS], s0[TD_ITER_MAXOP];
    if (it->ndim == 0) { /* a single element */
        for (int o = 0; o < nop; o++)
            ptr[o] = it->base[o], s0[o] = 0;
        job->fn(job->ctx, ptr, s0, end - begin);
        return;
    }
    int64_t rem = begin;
    for (int o = 0; o < nop; o++)
        ptr[o] = it->base[o], s0[o] = it->stride[0][o];
    for (int k = 0; k < it->ndim; k++) {
        idx[k] = rem % it->size[k];
        rem /= it->size[k];
        for (int o = 0; o < nop; o++)
            ptr[o] += idx[k] * it->stride[k][o];
    }
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = it->size[0] - idx[0];
        if (n > end - pos)
            n = end - pos;
        job->fn(job->ctx, ptr, s0, n);
        pos += n;
        if (pos >= end)
            break;
        /* carry: the inner dim is finished, step the outer ones */
        for (int o = 0; o < nop; o++)
            ptr[o] -= idx[0] * it->stride[0][o];
        idx[0] = 0;
        for (int k = 1; k < it->ndim; k++) {
            for (int o = 0; o < nop; o++)
                ptr[o] += it->stride[k][o];
            if (++idx[k] < it->size[k])
                break;
            for (int o = 0; o < nop; o++)
                ptr[o] -= idx[k] * it->stride[k][o];
            idx[k] = 0;
        }
    }
}

/* Runs fn over the whole iteration, in parallel when it is large. */
static inline void td_iter_run(const struct td_iter *it, td_loop_fn fn, void *ctx)
{
    struct td__iter_job job = {it, fn, ctx};
    if (it->numel <= 0)
        return;
    td_parallel_for(it->numel, TD_GRAIN, td__iter_range, &job);
}

/* Scalar attribute (kind, bits) converted to dtype dt, written at dst. */
static inline void td__scalar_store(enum td_dtype dt, void *dst, int64_t kind, int64_t bits)
{
    if (kind == TD_SCALAR_FLOAT) {
        double v;
        memcpy(&v, &bits, sizeof v);
        td_store_f64(dt, dst, v);
    } else {
        td_store_i64(dt, dst, bits);
    }
}

static inline double td__scalar_f64(int64_t kind, int64_t bits)
{
    double v;
    if (kind != TD_SCALAR_FLOAT)
        return (double)bits;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static inline bool td__scalar_kind_ok(int64_t kind)
{
    return kind == TD_SCALAR_BOOL || kind == TD_SCALAR_INT || kind == TD_SCALAR_FLOAT;
}

/* Returns c, first writing PyTorch's message for it into k->msg when the executor gave
 * a buffer (Check tests call kernels without one). */
enum td_code td__kernel_fail(struct td_kctx *k, enum td_code c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Re-runs k's meta rule over its operands (for kernels that index with shapes, so every
 * size is known good) and checks each output has the inferred dtype and sizes and lies
 * inside its storage.  inf gets the inference; INVALID_ARGUMENT (with the rule's message)
 * when anything disagrees. */
enum td_code td__kernel_recheck(struct td_kctx *k, struct td_infer *inf);

/* copy.c: dst = src elementwise (src broadcast to dst, any dtypes, dst may be strided).
 * INVALID_ARGUMENT when src does not broadcast. */
enum td_code td__copy(struct td_kt *dst, struct td_kt *src);
/* copy.c: every element of t set to the td_dtype_size(t) bytes at elem. */
void td__fill(struct td_kt *t, const void *elem);

#endif
