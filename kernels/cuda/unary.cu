/*
 * unary.cu — elementwise unary ops on the GPU (NEG ... BITWISE_NOT, LOGICAL_NOT), with
 * kernels/cpu/unary.c's semantics: ROUND is half-to-even, SIGN(NaN) is 0, RELU keeps
 * NaN and -0.0, integer NEG/ABS wrap, rounding ops are identities on integers, and
 * LOGICAL_NOT writes bool (or the input dtype in place).  Transcendentals use CUDA's
 * full-precision math (no fast-math intrinsics), within a few ulp of the CPU's.
 */
#include <type_traits>

#include "cuda_common.cuh"

#define KF 1
#define KI 2
#define KB 4
/* X(row, OP name, kinds) */
#define UN_OPS(X)                              \
    X(U_NEG, NEG, KF | KI)                     \
    X(U_ABS, ABS, KF | KI | KB)                \
    X(U_EXP, EXP, KF)                          \
    X(U_LOG, LOG, KF)                          \
    X(U_LOG1P, LOG1P, KF)                      \
    X(U_SQRT, SQRT, KF)                        \
    X(U_RSQRT, RSQRT, KF)                      \
    X(U_SIN, SIN, KF)                          \
    X(U_COS, COS, KF)                          \
    X(U_TANH, TANH, KF)                        \
    X(U_SIGMOID, SIGMOID, KF)                  \
    X(U_RELU, RELU, KF | KI | KB)              \
    X(U_FLOOR, FLOOR, KF | KI | KB)            \
    X(U_CEIL, CEIL, KF | KI | KB)              \
    X(U_ROUND, ROUND, KF | KI | KB)            \
    X(U_TRUNC, TRUNC, KF | KI | KB)            \
    X(U_SIGN, SIGN, KF | KI | KB)              \
    X(U_RECIPROCAL, RECIPROCAL, KF)            \
    X(U_BITWISE_NOT, BITWISE_NOT, KI | KB)     \
    X(U_LOGICAL_NOT, LOGICAL_NOT, KF | KI | KB)

#define UN_ENUM(R, N, K) R,
enum { UN_OPS(UN_ENUM) U_COUNT };

template <typename T> struct wrap_type { typedef uint32_t type; };
template <> struct wrap_type<int64_t> { typedef uint64_t type; };

template <int OP, typename T> __device__ __forceinline__ T un(T x)
{
    if constexpr (std::is_same<T, bool>::value) {
        switch (OP) {
        case U_BITWISE_NOT: case U_LOGICAL_NOT: return !x;
        default: return x; /* abs relu floor ceil round trunc sign */
        }
    } else if constexpr (std::is_floating_point<T>::value) {
        switch (OP) {
        case U_NEG: return -x;
        case U_ABS: return fabs(x);
        case U_EXP: return exp(x);
        case U_LOG: return log(x);
        case U_LOG1P: return log1p(x);
        case U_SQRT: return sqrt(x);
        case U_RSQRT: return (T)1 / sqrt(x);
        case U_SIN: return sin(x);
        case U_COS: return cos(x);
        case U_TANH: return tanh(x);
        case U_SIGMOID: return (T)1 / ((T)1 + exp(-x));
        case U_RELU: return x < 0 ? (T)0 : x;
        case U_FLOOR: return floor(x);
        case U_CEIL: return ceil(x);
        case U_ROUND: return rint(x);
        case U_TRUNC: return trunc(x);
        case U_SIGN: return (T)((x > 0) - (x < 0));
        case U_RECIPROCAL: return (T)1 / x;
        default: return x == 0; /* U_LOGICAL_NOT in place */
        }
    } else {
        typedef typename wrap_type<T>::type UT;
        switch (OP) {
        case U_NEG: return (T)(0 - (UT)x);
        case U_ABS: return x < 0 ? (T)(0 - (UT)x) : x;
        case U_RELU: return x < 0 ? (T)0 : x;
        case U_SIGN: return (T)((x > 0) - (x < 0));
        case U_BITWISE_NOT: return (T)(~(UT)x);
        case U_LOGICAL_NOT: return x == 0;
        default: return x; /* rounding ops */
        }
    }
}

template <int OP, typename T, typename TO> struct un_f {
    __device__ void operator()(char **p) const
    {
        T x = *(const T *)p[1];
        if constexpr (OP == U_LOGICAL_NOT && std::is_same<TO, bool>::value)
            *(TO *)p[0] = x == 0;
        else
            *(TO *)p[0] = un<OP, T>(x);
    }
};

template <int OP, typename T> static enum td_code run(struct td_kctx *k)
{
    int dt = k->compute_dtype, odt = k->out[0]->m.dtype;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    struct td_cu_iter it;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    if (!td_cu_iter_init(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (odt == dt)
        return td_cu_launch<2>(&it, s, un_f<OP, T, T>());
    if constexpr (OP == U_LOGICAL_NOT) {
        if (odt == TD_DTYPE_BOOL)
            return td_cu_launch<2>(&it, s, un_f<OP, T, bool>());
    }
    return TD_CODE_INVALID_ARGUMENT;
}

template <int OP, unsigned KINDS> static enum td_code row(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (k->n_in != 1 || k->n_out < 1 || k->in[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    switch (dt) {
    case TD_DTYPE_FLOAT32: if constexpr ((KINDS & KF) != 0) return run<OP, float>(k); break;
    case TD_DTYPE_FLOAT64: if constexpr ((KINDS & KF) != 0) return run<OP, double>(k); break;
    case TD_DTYPE_INT64: if constexpr ((KINDS & KI) != 0) return run<OP, int64_t>(k); break;
    case TD_DTYPE_INT32: if constexpr ((KINDS & KI) != 0) return run<OP, int32_t>(k); break;
    case TD_DTYPE_INT16: if constexpr ((KINDS & KI) != 0) return run<OP, int16_t>(k); break;
    case TD_DTYPE_INT8: if constexpr ((KINDS & KI) != 0) return run<OP, int8_t>(k); break;
    case TD_DTYPE_UINT8: if constexpr ((KINDS & KI) != 0) return run<OP, uint8_t>(k); break;
    case TD_DTYPE_BOOL: if constexpr ((KINDS & KB) != 0) return run<OP, bool>(k); break;
    default: break;
    }
    return TD_CODE_INVALID_ARGUMENT;
}

td_kernel_fn td__cuda_unary_kernel(unsigned op, unsigned dt)
{
    unsigned kb = dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 ? KF : dt == TD_DTYPE_BOOL ? KB : KI;
    switch (op) {
#define UN_CASE(R, N, K) \
    case TD_OP_##N: return ((K) & kb) ? row<R, (K)> : NULL;
        UN_OPS(UN_CASE)
#undef UN_CASE
    default: return NULL;
    }
}
