/*
 * cuda_common.cuh — what every source of the CUDA plugin shares: the kernel contract
 * headers (compiled as C++ here), dtype sizes and the device-side conversions that
 * match the CPU's (kernels/cpu/copy.c, kernels/dtype.c), the plugin's stream object,
 * and the strided N-d iteration that the elementwise families launch through.
 *
 * Iteration: the host side (cu_iter_init) does what kernels/cpu/iter.h does for the
 * CPU: broadcast operands to operand 0's shape, drop size-1 dims, merge dims that are
 * contiguous for every operand.  The device side turns a linear index into one byte
 * offset per operand.  When every offset fits, the index math runs in 32 bits (much
 * cheaper divisions on the GPU); a 1-d iteration (contiguous operands, or a broadcast
 * scalar) needs no division at all.
 */
#ifndef TD_CUDA_COMMON_CUH
#define TD_CUDA_COMMON_CUH

/* The shared headers are C11; _Static_assert is static_assert in C++. */
#if defined(__cplusplus) && !defined(_Static_assert)
#define _Static_assert static_assert
#endif

#include <stdint.h>
#include <math.h>
#include <string.h>

#include "portability.h"
#include "../device.h"
#include "../iter_order.h"
#include "../op_attrs.h"

#define TD_CU_HIDDEN __attribute__((visibility("hidden")))
#define TD_CU_MAXOP 4
#define TD_CU_THREADS 256
#define TD_CU_MAX_BLOCKS 65536

/* A stream's index-error record (index_ops.cuh): the record in device memory, its flag
 * in mapped pinned host memory and the flag's device address; made on first use. */
struct td_cu_ierr;
struct td_cu_ierr_pair {
    struct td_cu_ierr *rec;
    int *flag;
    int *dflag;
};

/* The plugin's stream: the CUDA stream plus what kernels need per stream (the
 * matmul workspace may only be used by one stream at a time). */
struct td_cu_stream {
    cudaStream_t s;
    int dev;
    void *workspace; /* cuBLASLt workspace, allocated on first matmul */
    size_t workspace_bytes;
    struct td_cu_ierr_pair ierr; /* index errors found by its kernels */
    void *conv;                  /* conv.cu's cuDNN handle and workspace, made on first use */
};

static inline cudaStream_t td_cu_stream_of(void *s) { return s ? ((struct td_cu_stream *)s)->s : (cudaStream_t)0; }

/* Makes the stream's device current (kernels launch on the device of their stream);
 * false when that fails. */
static inline bool td_cu_enter(const struct td_kctx *k)
{
    int dev = k->stream ? ((struct td_cu_stream *)k->stream)->dev : k->device;
    return cudaSetDevice(dev) == cudaSuccess;
}

/* The launch's status: a bad configuration or a sticky error shows up here
 * without waiting for the stream. */
static inline enum td_code td_cu_launched(void)
{
    return cudaGetLastError() == cudaSuccess ? TD_CODE_OK : TD_CODE_INTERNAL;
}

/* ---- dtypes (sizes and kinds without kernels/dtype.c, which the plugin does not link) */

static inline int td_cu_dtype_size(int dt)
{
    static const uint8_t sz[TD_DTYPE_COUNT] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1, 8, 16};
    return dt >= 0 && dt < TD_DTYPE_COUNT ? sz[dt] : 0;
}

static inline bool td_cu_dtype_is_float(int dt)
{
    return dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 || dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16;
}

static inline bool td_cu_dtype_is_complex(int dt) { return dt == TD_DTYPE_COMPLEX64 || dt == TD_DTYPE_COMPLEX128; }

/* The eight dtypes kernels compute in (float16/bfloat16 arrive as float32). */
static inline bool td_cu_compute_dtype(int dt)
{
    return dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 || dt == TD_DTYPE_INT64 || dt == TD_DTYPE_INT32 ||
           dt == TD_DTYPE_INT16 || dt == TD_DTYPE_INT8 || dt == TD_DTYPE_UINT8 || dt == TD_DTYPE_BOOL;
}

/* Runs the statement with T typedef'd to compute dtype dt's C type; INVALID_ARGUMENT for others. */
#define TD_CU_DISPATCH(dt, ...)                                    \
    switch (dt) {                                                  \
    case TD_DTYPE_FLOAT32: { typedef float T; __VA_ARGS__; } break;       \
    case TD_DTYPE_FLOAT64: { typedef double T; __VA_ARGS__; } break;      \
    case TD_DTYPE_INT64: { typedef int64_t T; __VA_ARGS__; } break;       \
    case TD_DTYPE_INT32: { typedef int32_t T; __VA_ARGS__; } break;       \
    case TD_DTYPE_INT16: { typedef int16_t T; __VA_ARGS__; } break;       \
    case TD_DTYPE_INT8: { typedef int8_t T; __VA_ARGS__; } break;         \
    case TD_DTYPE_UINT8: { typedef uint8_t T; __VA_ARGS__; } break;       \
    case TD_DTYPE_BOOL: { typedef bool T; __VA_ARGS__; } break;           \
    default: return TD_CODE_INVALID_ARGUMENT;                      \
    }

/* Scalar attribute (kind, bits) as type T, the way td__scalar_store converts it
 * (float -> integer saturates, NaN -> INT64_MIN, as td_store_f64 does). */
template <typename T> static inline T td_cu_scalar(int64_t kind, int64_t bits)
{
    if (kind == TD_SCALAR_FLOAT) {
        double v;
        memcpy(&v, &bits, sizeof v);
        if (sizeof(T) == 1 && (T)0.5 == (T)1) /* bool */
            return (T)(v != 0);
        if ((T)0.5 != (T)0) /* floating */
            return (T)v;
        int64_t i = v != v ? INT64_MIN : v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v;
        return (T)i;
    }
    if (sizeof(T) == 1 && (T)0.5 == (T)1)
        return (T)(bits != 0);
    if ((T)0.5 != (T)0) /* floating: through double, as td_store_i64 goes */
        return (T)(double)bits;
    return (T)bits;
}

static inline bool td_cu_scalar_kind_ok(int64_t kind)
{
    return kind == TD_SCALAR_BOOL || kind == TD_SCALAR_INT || kind == TD_SCALAR_FLOAT;
}

/* ---- conversions, matching kernels/dtype.c and kernels/cpu/copy.c bit for bit.  Host
 * callable too, so tests/check_cuda_ops.cu can hold them against the CPU's. */

#define TD_CU_HD __host__ __device__ __forceinline__
#ifdef __CUDA_ARCH__ /* host compilers do not know the pragma */
#define TD_CU_UNROLL _Pragma("unroll")
#else
#define TD_CU_UNROLL
#endif

TD_CU_HD uint32_t td_cu_f2u(float f)
{
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
#endif
}

TD_CU_HD float td_cu_u2f(uint32_t u)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, 4);
    return f;
#endif
}

TD_CU_HD float td_cu_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ffu, u;
    if (exp == 0) {
        float f = (float)man * 5.9604644775390625e-8f; /* man * 2^-24, exact */
        return sign ? -f : f;
    }
    u = exp == 31 ? (sign | 0x7f800000u | (man << 13)) : (sign | ((exp + 112) << 23) | (man << 13));
    return td_cu_u2f(u);
}

TD_CU_HD uint16_t td_cu_float_to_half(float f)
{
    uint32_t u = td_cu_f2u(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00u;
    if (a >= 0x477ff000u)
        return sign | 0x7c00u;
    if (a < 0x38800000u)
        return sign | (uint16_t)(int)rintf(td_cu_u2f(a) * 16777216.0f); /* 2^24, to even */
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - (112u << 23);
    return sign | (uint16_t)(r >> 13);
}

TD_CU_HD float td_cu_bf16_to_float(uint16_t b) { return td_cu_u2f((uint32_t)b << 16); }

TD_CU_HD uint16_t td_cu_float_to_bf16(float f)
{
    uint32_t u = td_cu_f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* float -> integer as the CPU build gets it on x86: out of range and NaN become the
 * "integer indefinite", narrower types truncate the 32-bit result. */
TD_CU_HD int64_t td_cu_cvt_i64(double v)
{
    return v >= -9.2233720368547758e18 && v < 9.2233720368547758e18 ? (int64_t)v : INT64_MIN;
}

TD_CU_HD int32_t td_cu_cvt_i32(double v)
{
    return v > -2147483649.0 && v < 2147483648.0 ? (int32_t)v : INT32_MIN;
}

/* Element of dtype dt at p, widened: floating (and complex: the real part) to double,
 * the rest to int64.  wide_is_f says which. */
TD_CU_HD bool td_cu_wide_is_f(int dt)
{
    return dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 || dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16 ||
           dt == TD_DTYPE_COMPLEX64 || dt == TD_DTYPE_COMPLEX128;
}

TD_CU_HD double td_cu_load_f(int dt, const char *p)
{
    switch (dt) {
    case TD_DTYPE_FLOAT32: return *(const float *)p;
    case TD_DTYPE_FLOAT64: return *(const double *)p;
    case TD_DTYPE_FLOAT16: return td_cu_half_to_float(*(const uint16_t *)p);
    case TD_DTYPE_BFLOAT16: return td_cu_bf16_to_float(*(const uint16_t *)p);
    case TD_DTYPE_COMPLEX64: return *(const float *)p;
    default: return *(const double *)p; /* COMPLEX128 */
    }
}

TD_CU_HD int64_t td_cu_load_i(int dt, const char *p)
{
    switch (dt) {
    case TD_DTYPE_INT64: return *(const int64_t *)p;
    case TD_DTYPE_INT32: return *(const int32_t *)p;
    case TD_DTYPE_INT16: return *(const int16_t *)p;
    case TD_DTYPE_INT8: return *(const int8_t *)p;
    case TD_DTYPE_UINT8: return *(const uint8_t *)p;
    default: return *(const uint8_t *)p != 0; /* BOOL */
    }
}

TD_CU_HD void td_cu_store_f(int dt, char *p, double v)
{
    switch (dt) {
    case TD_DTYPE_FLOAT32: *(float *)p = (float)v; break;
    case TD_DTYPE_FLOAT64: *(double *)p = v; break;
    case TD_DTYPE_FLOAT16: *(uint16_t *)p = td_cu_float_to_half((float)v); break;
    case TD_DTYPE_BFLOAT16: *(uint16_t *)p = td_cu_float_to_bf16((float)v); break;
    case TD_DTYPE_INT64: *(int64_t *)p = td_cu_cvt_i64(v); break;
    case TD_DTYPE_INT32: *(int32_t *)p = td_cu_cvt_i32(v); break;
    case TD_DTYPE_INT16: *(int16_t *)p = (int16_t)td_cu_cvt_i32(v); break;
    case TD_DTYPE_INT8: *(int8_t *)p = (int8_t)td_cu_cvt_i32(v); break;
    case TD_DTYPE_UINT8: *(uint8_t *)p = (uint8_t)td_cu_cvt_i32(v); break;
    case TD_DTYPE_BOOL: *(uint8_t *)p = v != 0; break;
    case TD_DTYPE_COMPLEX64: ((float *)p)[0] = (float)v, ((float *)p)[1] = 0; break;
    case TD_DTYPE_COMPLEX128: ((double *)p)[0] = v, ((double *)p)[1] = 0; break;
    }
}

TD_CU_HD void td_cu_store_i(int dt, char *p, int64_t v)
{
    switch (dt) {
    case TD_DTYPE_FLOAT32: *(float *)p = (float)v; break;
    case TD_DTYPE_FLOAT64: *(double *)p = (double)v; break;
    case TD_DTYPE_FLOAT16: *(uint16_t *)p = td_cu_float_to_half((float)v); break;
    case TD_DTYPE_BFLOAT16: *(uint16_t *)p = td_cu_float_to_bf16((float)v); break;
    case TD_DTYPE_INT64: *(int64_t *)p = v; break;
    case TD_DTYPE_INT32: *(int32_t *)p = (int32_t)v; break;
    case TD_DTYPE_INT16: *(int16_t *)p = (int16_t)v; break;
    case TD_DTYPE_INT8: *(int8_t *)p = (int8_t)v; break;
    case TD_DTYPE_UINT8: *(uint8_t *)p = (uint8_t)v; break;
    case TD_DTYPE_BOOL: *(uint8_t *)p = v != 0; break;
    case TD_DTYPE_COMPLEX64: ((float *)p)[0] = (float)v, ((float *)p)[1] = 0; break;
    case TD_DTYPE_COMPLEX128: ((double *)p)[0] = (double)v, ((double *)p)[1] = 0; break;
    }
}

/* double -> dtype dt as kernels/dtype.c's td_store_f64 stores it (what the CPU's
 * reductions, scans and samplers use): integers saturate, NaN -> INT64_MIN, then wrap
 * to narrower types; COPY_'s x86 conversion (td_cu_store_f) differs out of range. */
TD_CU_HD void td_cu_store_f64(int dt, char *p, double v)
{
    if (td_cu_wide_is_f(dt) || dt == TD_DTYPE_BOOL) {
        td_cu_store_f(dt, p, v);
        return;
    }
    int64_t i = v != v ? INT64_MIN : v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v;
    td_cu_store_i(dt, p, i);
}

/* ---- float16 / bfloat16 in native kernels (device.h's half_kernel): 16-bit storage,
 * computed in float.  The CPU computes these dtypes in float32 between two casts, so
 * loading into float, computing there and storing rounded to nearest even gives the
 * CPU's bits without the executor's two conversion passes. */
struct td_cu_f16 { uint16_t bits; };
struct td_cu_bf16 { uint16_t bits; };

static inline bool td_cu_is_half(int dt) { return dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16; }

/* How a kernel reads and writes elements of storage type S; T is the type it computes in. */
template <typename S> struct td_cu_elem {
    typedef S T;
    static TD_CU_HD S load(const char *p) { return *(const S *)p; }
    static TD_CU_HD void store(char *p, S v) { *(S *)p = v; }
};
template <> struct td_cu_elem<td_cu_f16> {
    typedef float T;
    static TD_CU_HD float load(const char *p) { return td_cu_half_to_float(*(const uint16_t *)p); }
    static TD_CU_HD void store(char *p, float v) { *(uint16_t *)p = td_cu_float_to_half(v); }
};
template <> struct td_cu_elem<td_cu_bf16> {
    typedef float T;
    static TD_CU_HD float load(const char *p) { return td_cu_bf16_to_float(*(const uint16_t *)p); }
    static TD_CU_HD void store(char *p, float v) { *(uint16_t *)p = td_cu_float_to_bf16(v); }
};

/* Runs the statement with T typedef'd to the storage type of half dtype dt; nothing for others. */
#define TD_CU_DISPATCH_HALF(dt, ...)                                      \
    switch (dt) {                                                         \
    case TD_DTYPE_FLOAT16: { typedef td_cu_f16 T; __VA_ARGS__; } break;   \
    case TD_DTYPE_BFLOAT16: { typedef td_cu_bf16 T; __VA_ARGS__; } break; \
    default: break;                                                       \
    }

/* ---- block folds: v of every thread of the block (blockDim.x a power of two) combined
 * through red[blockDim.x] in a tree (a fixed order); a NaN wins a max or a min.  Every
 * thread gets the result, and red is free again when it returns. */
enum { TD_CU_FOLD_SUM, TD_CU_FOLD_MAX, TD_CU_FOLD_MIN };

template <int OP> __device__ double td_cu_block_fold(double v, double *red)
{
    red[threadIdx.x] = v;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) {
            double a = red[threadIdx.x], b = red[threadIdx.x + w];
            red[threadIdx.x] = OP == TD_CU_FOLD_SUM ? a + b
                               : (a != a || (OP == TD_CU_FOLD_MAX ? a >= b : a <= b)) ? a : b;
        }
        __syncthreads();
    }
    double r = red[0];
    __syncthreads();
    return r;
}

/* ---- N-d iteration */

struct td_cu_iter {
    int nop, ndim;
    int64_t numel;
    int64_t size[TD_MAX_DIMS];                  /* dim 0 is the innermost */
    int64_t stride[TD_MAX_DIMS][TD_CU_MAXOP];   /* bytes */
    char *base[TD_CU_MAXOP];
};

/* What a launch carries: index type IDX (int32_t when every offset fits, else int64_t). */
template <int NOP, typename IDX> struct td_cu_args {
    int ndim;
    IDX numel;
    IDX size[TD_MAX_DIMS];
    IDX stride[TD_MAX_DIMS][NOP];
    char *base[NOP];
};

/* Sets up it over operand 0's shape (see iter.h's td__iter_setup, which this follows;
 * any_order: operand 0's memory order, for elementwise kernels); false when an operand
 * does not broadcast or a stride overflows. */
static inline bool td_cu__iter_setup(struct td_cu_iter *it, int nop, struct td_kt *const *ops, bool any_order)
{
    const struct td_meta *shape = &ops[0]->m;
    int nd = shape->ndim;
    it->nop = nop;
    it->ndim = 0;
    it->numel = 1;
    for (int o = 0; o < nop; o++) {
        const struct td_meta *m = &ops[o]->m;
        if (m->ndim > nd || td_cu_dtype_size(m->dtype) == 0)
            return false;
        it->base[o] = ops[o]->data + m->offset * (int64_t)td_cu_dtype_size(m->dtype);
    }
    bool empty = false;
    for (int d = nd - 1; d >= 0; d--) {
        int64_t sz = shape->sizes[d];
        empty |= sz == 0;
        if (!empty && __builtin_mul_overflow(it->numel, sz, &it->numel))
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
                    if (__builtin_mul_overflow(m->strides[od], (int64_t)td_cu_dtype_size(m->dtype), &s))
                        return false;
                } else if (m->sizes[od] != 1) {
                    return false;
                }
            }
            it->stride[k][o] = s;
        }
    }
    if (empty) {
        it->numel = 0;
        it->ndim = 0;
        return true;
    }
    if (any_order)
        td_iter_memory_order(it->ndim, it->size, &it->stride[0][0], TD_CU_MAXOP);
    int w = 0;
    for (int k = 1; k < it->ndim; k++) {
        bool ok = true;
        int64_t step;
        for (int o = 0; o < nop && ok; o++)
            ok = !__builtin_mul_overflow(it->stride[w][o], it->size[w], &step) && it->stride[k][o] == step;
        if (ok) {
            it->size[w] *= it->size[k];
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

static inline bool td_cu_iter_init(struct td_cu_iter *it, int nop, struct td_kt *const *ops)
{
    return td_cu__iter_setup(it, nop, ops, false);
}

static inline bool td_cu_iter_init_elementwise(struct td_cu_iter *it, int nop, struct td_kt *const *ops)
{
    return td_cu__iter_setup(it, nop, ops, true);
}

/* Whether 32-bit index math covers the iteration: numel and every operand's farthest
 * byte offset below 2^30, so index + grid stride never overflows either. */
static inline bool td_cu_iter_fits32(const struct td_cu_iter *it)
{
    const int64_t lim = INT64_C(1) << 30;
    if (it->numel >= lim)
        return false;
    for (int o = 0; o < it->nop; o++) {
        int64_t span = 0;
        for (int d = 0; d < it->ndim; d++) {
            int64_t s = it->stride[d][o] < 0 ? -it->stride[d][o] : it->stride[d][o];
            if (s >= lim)
                return false;
            span += (it->size[d] - 1) * s; /* each term < 2^60: no overflow over 16 dims of < 2^30 */
            if (span >= lim)
                return false;
        }
    }
    return true;
}

template <int NOP, typename IDX> static inline td_cu_args<NOP, IDX> td_cu_pack(const struct td_cu_iter *it)
{
    td_cu_args<NOP, IDX> a;
    memset(&a, 0, sizeof a);
    a.ndim = it->ndim;
    a.numel = (IDX)it->numel;
    for (int d = 0; d < it->ndim; d++) {
        a.size[d] = (IDX)it->size[d];
        for (int o = 0; o < NOP; o++)
            a.stride[d][o] = (IDX)it->stride[d][o];
    }
    for (int o = 0; o < NOP; o++)
        a.base[o] = it->base[o];
    return a;
}

/* The addresses of element i (a linear index over operand 0's shape, innermost dim
 * fastest) of every operand.  Host-callable, so tests/check_cuda_ops.cu checks the
 * iteration against the CPU's. */
template <int NOP, typename IDX> TD_CU_HD void td_cu_addr(const td_cu_args<NOP, IDX> &a, IDX i, char **p)
{
    if (a.ndim <= 1) { /* contiguous or broadcast-scalar operands: no division */
TD_CU_UNROLL
        for (int o = 0; o < NOP; o++)
            p[o] = a.base[o] + (a.ndim == 1 ? i * a.stride[0][o] : 0);
        return;
    }
    IDX r = i;
TD_CU_UNROLL
    for (int o = 0; o < NOP; o++)
        p[o] = a.base[o];
    for (int d = 0; d < a.ndim; d++) {
        IDX q = r / a.size[d], x = r - q * a.size[d];
        r = q;
TD_CU_UNROLL
        for (int o = 0; o < NOP; o++)
            p[o] += x * a.stride[d][o];
    }
}

/* f(p) for every element, p[o] the address of operand o's element.  Grid-stride loop. */
template <int NOP, typename IDX, typename F>
__global__ void __launch_bounds__(TD_CU_THREADS) td_cu_elementwise(const td_cu_args<NOP, IDX> a, F f)
{
    const IDX step = (IDX)gridDim.x * (IDX)blockDim.x;
    for (IDX i = (IDX)blockIdx.x * (IDX)blockDim.x + (IDX)threadIdx.x; i < a.numel; i += step) {
        char *p[NOP];
        td_cu_addr(a, i, p);
        f(p);
    }
}

/* Launches f over it on stream s (it->nop must equal NOP). */
template <int NOP, typename F> static inline enum td_code td_cu_launch(const struct td_cu_iter *it, cudaStream_t s, F f)
{
    if (it->numel <= 0)
        return TD_CODE_OK;
    int64_t blocks = (it->numel + TD_CU_THREADS - 1) / TD_CU_THREADS;
    if (blocks > TD_CU_MAX_BLOCKS)
        blocks = TD_CU_MAX_BLOCKS;
    if (td_cu_iter_fits32(it))
        td_cu_elementwise<NOP, int32_t, F><<<(unsigned)blocks, TD_CU_THREADS, 0, s>>>(td_cu_pack<NOP, int32_t>(it), f);
    else
        td_cu_elementwise<NOP, int64_t, F><<<(unsigned)blocks, TD_CU_THREADS, 0, s>>>(td_cu_pack<NOP, int64_t>(it), f);
    return td_cu_launched();
}

/* ---- the families' kernel lookups (NULL: no device kernel; the executor stages) */
TD_CU_HIDDEN td_kernel_fn td__cuda_copy_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_binary_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_unary_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_math_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_create_kernel(unsigned op, unsigned dt);
/* copy.cu: t's elements set to the scalar (kind, bits) v, converted as td__scalar_store does */
TD_CU_HIDDEN enum td_code td__cuda_fill(struct td_kctx *k, struct td_kt *t, const int64_t *v);
TD_CU_HIDDEN td_kernel_fn td__cuda_reduce_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_matmul_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_softmax_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_index_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_index_half_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_optim_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_conv_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_pool_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_random_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_scan_kernel(unsigned op, unsigned dt);
TD_CU_HIDDEN td_kernel_fn td__cuda_sort_kernel(unsigned op, unsigned dt);
/* pool.cu: t's elements, dense (row-major contiguous): t's own when it is, else a copy
 * in stream-ordered scratch (*scratch, for cudaFreeAsync); NULL with *fail on error */
TD_CU_HIDDEN const void *td__cuda_dense(struct td_kctx *k, struct td_kt *t, void **scratch, enum td_code *fail);
/* conv.cu: frees a stream's cuDNN handle and workspace (stream_free) */
TD_CU_HIDDEN void td__cuda_conv_release(struct td_cu_stream *st);
/* index_ops.cuh: where indexing kernels record a bad index (false: none could be made) */
struct td_cu_ierr_slot;
TD_CU_HIDDEN bool td__cuda_ierr_slot(const struct td_kctx *k, struct td_cu_ierr_slot *slot);
/* stream_sync's error for a bad index found by a kernel; error_string gives the CPU's message */
#define TD_CU_ERR_INDEX 300000
/* matmul.cu: frees a stream's cuBLASLt workspace (backend.cu's stream_free). */
TD_CU_HIDDEN void td__cuda_stream_release(struct td_cu_stream *st);
/* TF32 tensor cores for float32 matmul; off unless TENSORD_CUDA_ALLOW_TF32=1 at init. */
extern TD_CU_HIDDEN int td__cuda_allow_tf32;

/* ---- ops along one dim (softmax, cumulative ops): x (input 0) and y (output 0) of equal
 * sizes; the dim's length and byte strides, and the other dims ("lanes", size-1 dims
 * dropped) as sizes and byte strides of x and y, so lane m starts at td_cu_lane_base. */
struct td_cu_lanes {
    int nk;
    int64_t ks[TD_MAX_DIMS], kx[TD_MAX_DIMS], ky[TD_MAX_DIMS]; /* the other dims: sizes, bytes */
    int64_t lanes, len, xs, ys;                                /* along the dim: length, bytes */
    const char *x;
    char *y;
};

/* Plans k's op along the dim in attribute dim_attr (negative counts from the end; a 0-d
 * tensor has one dim of length 1); false when the operands are not one input of the
 * compute dtype and an output of its sizes and a real dtype. */
static inline bool td_cu_lanes_plan(const struct td_kctx *k, uint32_t dim_attr, td_cu_lanes *p)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr <= dim_attr || k->in[0]->m.dtype != k->compute_dtype)
        return false;
    const struct td_meta *x = &k->in[0]->m, *o = &k->out[0]->m;
    if (o->ndim != x->ndim || td_cu_dtype_size(o->dtype) == 0 || td_cu_dtype_is_complex(o->dtype))
        return false;
    for (int i = 0; i < x->ndim; i++)
        if (o->sizes[i] != x->sizes[i])
            return false;
    int64_t d = k->attrs[dim_attr];
    int nd1 = x->ndim ? x->ndim : 1;
    if (d < 0)
        d += nd1;
    if (d < 0 || d >= nd1)
        return false;
    memset(p, 0, sizeof *p);
    int64_t ei = td_cu_dtype_size(x->dtype), eo = td_cu_dtype_size(o->dtype);
    p->x = k->in[0]->data + x->offset * ei;
    p->y = k->out[0]->data + o->offset * eo;
    p->len = x->ndim ? x->sizes[d] : 1;
    p->xs = x->ndim ? x->strides[d] * ei : 0;
    p->ys = x->ndim ? o->strides[d] * eo : 0;
    p->lanes = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (i == d)
            continue;
        p->lanes *= x->sizes[i];
        if (x->sizes[i] != 1) {
            p->ks[p->nk] = x->sizes[i], p->kx[p->nk] = x->strides[i] * ei, p->ky[p->nk] = o->strides[i] * eo;
            p->nk++;
        }
    }
    return true;
}

__device__ __forceinline__ void td_cu_lane_base(const td_cu_lanes &p, int64_t m, const char **x, char **y)
{
    int64_t ox = 0, oy = 0;
    for (int d = p.nk - 1; d >= 0; d--) {
        int64_t q = m / p.ks[d], i = m - q * p.ks[d];
        ox += i * p.kx[d];
        oy += i * p.ky[d];
        m = q;
    }
    *x = p.x + ox;
    *y = p.y + oy;
}

#endif
