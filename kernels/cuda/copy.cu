/*
 * copy.cu — moving and converting elements on the GPU: COPY_, CAST, CLONE, FILL_,
 * WHERE, CLAMP, CAT, FLIP and TRIL/TRIU, with the CPU's semantics (kernels/cpu/copy.c,
 * cat.c, move.c).
 *
 * Same-dtype copies, fills and selects only move bytes, by element size.  Conversions
 * load the source into its wide type (double for floating and complex sources, int64
 * for integers and bool) and store that into the destination dtype with the CPU's
 * rules (float -> integer as x86 truncation gives it, float16/bfloat16 round to
 * nearest even), so a tensor copied on either device holds the same bits.  The
 * source dtype is a template parameter, the destination a warp-uniform switch: 24
 * kernels instead of 144.
 */
#include <math.h>

#include "elementwise_ops.cuh"
#include "../cat_slices.h"

/* dst = src elementwise (src broadcast to dst), any dtypes. */
static enum td_code copy_elems(struct td_kt *dst, struct td_kt *src, cudaStream_t s)
{
    struct td_kt *ops[2] = {dst, src};
    struct td_cu_iter it;
    int dd = dst->m.dtype, sd = src->m.dtype;
    if (!td_cu_iter_init_elementwise(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    if (dd == sd) {
        switch (td_cu_dtype_size(dd)) {
        case 1: return td_cu_launch<2>(&it, s, move_f<uint8_t>());
        case 2: return td_cu_launch<2>(&it, s, move_f<uint16_t>());
        case 4: return td_cu_launch<2>(&it, s, move_f<uint32_t>());
        case 8: return td_cu_launch<2>(&it, s, move_f<uint64_t>());
        default: return td_cu_launch<2>(&it, s, move16_f());
        }
    }
    switch (sd) {
#define CONV_CASE(DT) \
    case TD_DTYPE_##DT: return td_cu_launch<2>(&it, s, conv_f<TD_DTYPE_##DT>{dd});
        CONV_CASE(FLOAT32)
        CONV_CASE(FLOAT64)
        CONV_CASE(FLOAT16)
        CONV_CASE(BFLOAT16)
        CONV_CASE(INT64)
        CONV_CASE(INT32)
        CONV_CASE(INT16)
        CONV_CASE(INT8)
        CONV_CASE(UINT8)
        CONV_CASE(BOOL)
        CONV_CASE(COMPLEX64)
        CONV_CASE(COMPLEX128)
#undef CONV_CASE
    default: return TD_CODE_INVALID_ARGUMENT;
    }
}

static enum td_code cu_cast(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_N_CAST || k->attrs[TD_A_CAST_DTYPE] != k->out[0]->m.dtype)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    return copy_elems(k->out[0], k->in[0], td_cu_stream_of(k->stream));
}

static enum td_code cu_clone(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    return copy_elems(k->out[0], k->in[0], td_cu_stream_of(k->stream));
}

static enum td_code cu_copy_(struct td_kctx *k)
{
    if (k->n_in != 2)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    return copy_elems(k->in[0], k->in[1], td_cu_stream_of(k->stream));
}

/* The scalar (kind, bits) in dtype dt's bytes, as td__scalar_store writes it. */
static void scalar_bytes(int dt, int64_t kind, int64_t bits, uint64_t out[2])
{
    double f;
    memcpy(&f, &bits, sizeof f);
    bool isf = kind == TD_SCALAR_FLOAT;
    out[0] = out[1] = 0;
    switch (dt) {
    case TD_DTYPE_FLOAT32: { float v = isf ? (float)f : (float)(double)bits; memcpy(out, &v, 4); break; }
    case TD_DTYPE_FLOAT64: { double v = isf ? f : (double)bits; memcpy(out, &v, 8); break; }
    case TD_DTYPE_COMPLEX64: { float v = isf ? (float)f : (float)(double)bits; memcpy(out, &v, 4); break; }
    case TD_DTYPE_COMPLEX128: { double v = isf ? f : (double)bits; memcpy(out, &v, 8); break; }
    case TD_DTYPE_FLOAT16:
    case TD_DTYPE_BFLOAT16: {
        /* host conversion with the same rounding as kernels/dtype.c */
        float v = isf ? (float)f : (float)(double)bits; /* int64 -> double -> float, as td_store_i64 */
        uint32_t u;
        memcpy(&u, &v, 4);
        uint16_t h;
        if (dt == TD_DTYPE_BFLOAT16) {
            h = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40) : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        } else {
            uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
            uint32_t a = u & 0x7fffffffu;
            if (a > 0x7f800000u) {
                h = sign | 0x7e00u;
            } else if (a >= 0x477ff000u) {
                h = sign | 0x7c00u;
            } else if (a < 0x38800000u) {
                float af;
                memcpy(&af, &a, 4);
                h = sign | (uint16_t)lrintf(af * 16777216.0f); /* 2^24, round to even */
            } else {
                h = sign | (uint16_t)((a + 0xfffu + ((a >> 13) & 1u) - (112u << 23)) >> 13);
            }
        }
        memcpy(out, &h, 2);
        break;
    }
    case TD_DTYPE_INT64: { int64_t v = td_cu_scalar<int64_t>(kind, bits); memcpy(out, &v, 8); break; }
    case TD_DTYPE_INT32: { int32_t v = td_cu_scalar<int32_t>(kind, bits); memcpy(out, &v, 4); break; }
    case TD_DTYPE_INT16: { int16_t v = td_cu_scalar<int16_t>(kind, bits); memcpy(out, &v, 2); break; }
    case TD_DTYPE_INT8: { int8_t v = td_cu_scalar<int8_t>(kind, bits); memcpy(out, &v, 1); break; }
    case TD_DTYPE_UINT8: { uint8_t v = td_cu_scalar<uint8_t>(kind, bits); memcpy(out, &v, 1); break; }
    case TD_DTYPE_BOOL: { uint8_t v = isf ? f != 0 : bits != 0; memcpy(out, &v, 1); break; }
    }
}

enum td_code td__cuda_fill(struct td_kctx *k, struct td_kt *t, const int64_t *v)
{
    if (!td_cu_scalar_kind_ok(v[0]) || td_cu_dtype_size(t->m.dtype) == 0)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    int dt = t->m.dtype;
    uint64_t e[2];
    scalar_bytes(dt, v[0], v[1], e);
    struct td_kt *ops[1] = {t};
    struct td_cu_iter it;
    if (!td_cu_iter_init_elementwise(&it, 1, ops))
        return TD_CODE_INVALID_ARGUMENT;
    cudaStream_t s = td_cu_stream_of(k->stream);
    switch (td_cu_dtype_size(dt)) {
    case 1: return td_cu_launch<1>(&it, s, fill_f<uint8_t>{(uint8_t)e[0]});
    case 2: return td_cu_launch<1>(&it, s, fill_f<uint16_t>{(uint16_t)e[0]});
    case 4: return td_cu_launch<1>(&it, s, fill_f<uint32_t>{(uint32_t)e[0]});
    case 8: return td_cu_launch<1>(&it, s, fill_f<uint64_t>{e[0]});
    default: return td_cu_launch<1>(&it, s, fill16_f{e[0], e[1]});
    }
}

static enum td_code cu_fill_(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_attr < TD_N_FILL_)
        return TD_CODE_INVALID_ARGUMENT;
    return td__cuda_fill(k, k->in[0], k->attrs + TD_A_FILL__VALUE);
}

/* CAT: kernels/cat_slices.h's plan, each slice a device copy */
static enum td_code copy_slice(struct td_kctx *k, struct td_kt *dst, struct td_kt *src)
{
    return copy_elems(dst, src, td_cu_stream_of(k->stream));
}

static enum td_code cu_cat(struct td_kctx *k)
{
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    return td_cat_slices(k, copy_slice);
}

static enum td_code cu_where(struct td_kctx *k)
{
    if (k->n_in != 3 || k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[4] = {k->out[0], k->in[0], k->in[1], k->in[2]};
    int dt = k->out[0]->m.dtype;
    if (td_cu_dtype_size(dt) == 0 || ops[1]->m.dtype != TD_DTYPE_BOOL || ops[2]->m.dtype != dt || ops[3]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    struct td_cu_iter it;
    if (!td_cu_iter_init_elementwise(&it, 4, ops))
        return TD_CODE_INVALID_ARGUMENT;
    cudaStream_t s = td_cu_stream_of(k->stream);
    switch (td_cu_dtype_size(dt)) {
    case 1: return td_cu_launch<4>(&it, s, where_f<uint8_t>());
    case 2: return td_cu_launch<4>(&it, s, where_f<uint16_t>());
    case 4: return td_cu_launch<4>(&it, s, where_f<uint32_t>());
    case 8: return td_cu_launch<4>(&it, s, where_f<uint64_t>());
    default: return td_cu_launch<4>(&it, s, where16_f());
    }
}

template <typename T> static enum td_code clamp_run(struct td_kctx *k, struct td_cu_iter *it)
{
    const int64_t *lo = k->attrs + TD_A_CLAMP_MIN, *hi = k->attrs + TD_A_CLAMP_MAX;
    clamp_f<T> f;
    f.has_lo = k->attrs[TD_A_CLAMP_HAS_MIN] != 0;
    f.has_hi = k->attrs[TD_A_CLAMP_HAS_MAX] != 0;
    if ((f.has_lo && !td_cu_scalar_kind_ok(lo[0])) || (f.has_hi && !td_cu_scalar_kind_ok(hi[0])))
        return TD_CODE_INVALID_ARGUMENT;
    f.lo = f.has_lo ? td_cu_scalar<T>(lo[0], lo[1]) : T(0);
    f.hi = f.has_hi ? td_cu_scalar<T>(hi[0], hi[1]) : T(0);
    return td_cu_launch<2>(it, td_cu_stream_of(k->stream), f);
}

static enum td_code cu_clamp(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_N_CLAMP || !td_cu_compute_dtype(dt) ||
        k->in[0]->m.dtype != dt || k->out[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    struct td_cu_iter it;
    if (!td_cu_iter_init_elementwise(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    TD_CU_DISPATCH(dt, return clamp_run<T>(k, &it));
    return TD_CODE_INVALID_ARGUMENT;
}

/* FLIP: a copy from the input seen through negated strides (the engine walks them) */
static enum td_code cu_flip(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || k->n_attr < TD_N_FLIP || k->in[0]->m.dtype != k->out[0]->m.dtype)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt src = *k->in[0];
    uint64_t mask = (uint64_t)k->attrs[TD_A_FLIP_DIMS];
    for (int d = 0; d < src.m.ndim; d++)
        if (((mask >> d) & 1) && src.m.sizes[d] > 1) {
            src.m.offset += (src.m.sizes[d] - 1) * src.m.strides[d];
            src.m.strides[d] = -src.m.strides[d];
        }
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    return copy_elems(k->out[0], &src, td_cu_stream_of(k->stream));
}

/* TRIL/TRIU: element (.., i, j) of the last two dims kept when j - i <= diag (lower) or
 * >= diag, else zero bytes (0, 0.0 and false alike); any strides, in place too. */
struct tri_args {
    const char *x;
    char *o;
    int64_t rows, cols, diag, n;
    int nb, es;
    bool lower;
    int64_t bsz[TD_MAX_DIMS], bx[TD_MAX_DIMS], bo[TD_MAX_DIMS]; /* leading dims: sizes, byte strides */
    int64_t xs0, xs1, os0, os1;
};

template <typename W> __global__ void __launch_bounds__(TD_CU_THREADS) tri_kernel(const tri_args a)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < a.n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t j = e % a.cols, t = e / a.cols, i = t % a.rows, b = t / a.rows, xo = 0, oo = 0;
        for (int d = a.nb - 1; d >= 0; d--) {
            int64_t c = b % a.bsz[d];
            b /= a.bsz[d];
            xo += c * a.bx[d];
            oo += c * a.bo[d];
        }
        W *dst = (W *)(a.o + oo + i * a.os0 + j * a.os1);
        bool keep = a.lower ? j - i <= a.diag : j - i >= a.diag;
        *dst = keep ? *(const W *)(a.x + xo + i * a.xs0 + j * a.xs1) : W();
    }
}

struct w16 {
    uint64_t lo, hi;
};

static enum td_code cu_tri(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || k->n_attr < TD_N_TRIL) /* TRIU's layout alike */
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0];
    struct td_kt *o = k->out[0];
    int nd = x->m.ndim;
    if (nd < 2 || o->m.ndim != nd || x->m.dtype != o->m.dtype)
        return TD_CODE_INVALID_ARGUMENT;
    tri_args a;
    memset(&a, 0, sizeof a);
    a.es = td_cu_dtype_size(x->m.dtype);
    a.x = x->data + x->m.offset * (int64_t)a.es;
    a.o = o->data + o->m.offset * (int64_t)a.es;
    a.rows = x->m.sizes[nd - 2], a.cols = x->m.sizes[nd - 1], a.diag = k->attrs[TD_A_TRIL_DIAGONAL];
    a.lower = k->op == TD_OP_TRIL;
    a.nb = nd - 2;
    a.n = a.rows * a.cols;
    for (int d = 0; d < nd - 2; d++) {
        a.bsz[d] = x->m.sizes[d];
        a.bx[d] = x->m.strides[d] * (int64_t)a.es;
        a.bo[d] = o->m.strides[d] * (int64_t)a.es;
        a.n *= a.bsz[d];
    }
    a.xs0 = x->m.strides[nd - 2] * (int64_t)a.es, a.xs1 = x->m.strides[nd - 1] * (int64_t)a.es;
    a.os0 = o->m.strides[nd - 2] * (int64_t)a.es, a.os1 = o->m.strides[nd - 1] * (int64_t)a.es;
    if (a.n == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    int64_t blocks = (a.n + TD_CU_THREADS - 1) / TD_CU_THREADS;
    unsigned g = (unsigned)(blocks < TD_CU_MAX_BLOCKS ? blocks : TD_CU_MAX_BLOCKS);
    switch (a.es) {
    case 1: tri_kernel<uint8_t><<<g, TD_CU_THREADS, 0, s>>>(a); break;
    case 2: tri_kernel<uint16_t><<<g, TD_CU_THREADS, 0, s>>>(a); break;
    case 4: tri_kernel<uint32_t><<<g, TD_CU_THREADS, 0, s>>>(a); break;
    case 8: tri_kernel<uint64_t><<<g, TD_CU_THREADS, 0, s>>>(a); break;
    default: tri_kernel<w16><<<g, TD_CU_THREADS, 0, s>>>(a); break; /* complex128: 8-byte aligned */
    }
    return td_cu_launched();
}

td_kernel_fn td__cuda_copy_kernel(unsigned op, unsigned dt)
{
    switch (op) {
    case TD_OP_COPY_: return cu_copy_; /* every dtype pair: the executor casts with it */
    case TD_OP_CAST: return cu_cast;
    case TD_OP_CLONE: return cu_clone;
    case TD_OP_FILL_: return cu_fill_;
    case TD_OP_CAT: return td_cu_dtype_size((int)dt) ? cu_cat : NULL; /* byte movers */
    case TD_OP_FLIP: return td_cu_dtype_size((int)dt) ? cu_flip : NULL;
    case TD_OP_TRIL:
    case TD_OP_TRIU: return td_cu_dtype_size((int)dt) ? cu_tri : NULL;
    case TD_OP_WHERE: return td_cu_dtype_is_complex((int)dt) || td_cu_dtype_size((int)dt) ? cu_where : NULL;
    case TD_OP_CLAMP: return td_cu_compute_dtype((int)dt) ? cu_clamp : NULL;
    default: return NULL;
    }
}
