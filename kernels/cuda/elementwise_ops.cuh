/*
 * elementwise_ops.cuh — the per-element operations of the elementwise families
 * (copy.cu, binary.cu, unary.cu) as functors: operator()(p) reads and writes the
 * elements whose addresses p holds (p[0] the output).  They are host-callable as well
 * as device code, so tests/check_cuda_ops.cu runs these very functions on the host
 * against the CPU kernels (the GPU machine then only has to confirm the device math
 * library and the launches).
 */
#ifndef TD_CUDA_ELEMENTWISE_OPS_CUH
#define TD_CUDA_ELEMENTWISE_OPS_CUH

#include <type_traits>

#include "cuda_common.cuh"

/* dtype kinds an op row accepts */
#define KF 1
#define KI 2
#define KB 4

/* ---- copy.cu: byte movers, conversions, fill, where, clamp */

template <typename W> struct move_f {
    TD_CU_HD void operator()(char **p) const { *(W *)p[0] = *(const W *)p[1]; }
};

struct move16_f {
    TD_CU_HD void operator()(char **p) const
    {
        /* complex128 is only 8-byte aligned */
        ((uint64_t *)p[0])[0] = ((const uint64_t *)p[1])[0];
        ((uint64_t *)p[0])[1] = ((const uint64_t *)p[1])[1];
    }
};

template <int SRC> struct conv_f {
    int dst;
    TD_CU_HD void operator()(char **p) const
    {
        if (SRC == TD_DTYPE_COMPLEX64 && dst == TD_DTYPE_COMPLEX128) {
            ((double *)p[0])[0] = ((const float *)p[1])[0];
            ((double *)p[0])[1] = ((const float *)p[1])[1];
        } else if (SRC == TD_DTYPE_COMPLEX128 && dst == TD_DTYPE_COMPLEX64) {
            ((float *)p[0])[0] = (float)((const double *)p[1])[0];
            ((float *)p[0])[1] = (float)((const double *)p[1])[1];
        } else if (SRC == TD_DTYPE_FLOAT32 || SRC == TD_DTYPE_FLOAT64 || SRC == TD_DTYPE_FLOAT16 ||
                   SRC == TD_DTYPE_BFLOAT16 || SRC == TD_DTYPE_COMPLEX64 || SRC == TD_DTYPE_COMPLEX128) {
            td_cu_store_f(dst, p[0], td_cu_load_f(SRC, p[1]));
        } else {
            td_cu_store_i(dst, p[0], td_cu_load_i(SRC, p[1]));
        }
    }
};

template <typename W> struct fill_f {
    W v;
    TD_CU_HD void operator()(char **p) const { *(W *)p[0] = v; }
};

struct fill16_f {
    uint64_t lo, hi;
    TD_CU_HD void operator()(char **p) const
    {
        ((uint64_t *)p[0])[0] = lo;
        ((uint64_t *)p[0])[1] = hi;
    }
};

template <typename W> struct where_f {
    TD_CU_HD void operator()(char **p) const
    {
        *(W *)p[0] = *(const uint8_t *)p[1] ? *(const W *)p[2] : *(const W *)p[3];
    }
};

struct where16_f {
    TD_CU_HD void operator()(char **p) const
    {
        const uint64_t *s = (const uint64_t *)(*(const uint8_t *)p[1] ? p[2] : p[3]);
        ((uint64_t *)p[0])[0] = s[0];
        ((uint64_t *)p[0])[1] = s[1];
    }
};

template <typename T> struct clamp_f {
    T lo, hi;
    bool has_lo, has_hi;
    TD_CU_HD void operator()(char **p) const
    {
        T y = *(const T *)p[1];
        y = has_lo && y < lo ? lo : y; /* NaN compares false: it stays */
        *(T *)p[0] = has_hi && y > hi ? hi : y;
    }
};

/* ---- binary.cu */

enum {
    B_ADD, B_SUB, B_MUL, B_DIV, B_DIVT, B_DIVF, B_POW, B_REM, B_MAX, B_MIN, B_BAND, B_BOR, B_BXOR, B_SHL, B_SHR,
    C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_LAND, C_LOR, C_LXOR
};

template <typename T> struct wrap_type { typedef uint32_t type; };
template <> struct wrap_type<int64_t> { typedef uint64_t type; };

template <typename T> TD_CU_HD T floordiv(T a, T b)
{
    if (b == 0)
        return a / b;
    T mod = fmod(a, b), div = (a - mod) / b;
    if (mod != 0 && (b < 0) != (mod < 0))
        div -= 1;
    if (div == 0)
        return copysign((T)0, a / b);
    T fl = floor(div);
    return div - fl > (T)0.5 ? fl + 1 : fl;
}

template <typename T> TD_CU_HD T pymod(T a, T b)
{
    T m = fmod(a, b);
    return (m != 0 && (b < 0) != (m < 0)) ? m + b : m;
}

TD_CU_HD int64_t ipow(int64_t a, int64_t b)
{
    uint64_t r = 1, base = (uint64_t)a;
    if (b < 0)
        return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
    while (b) {
        if (b & 1)
            r *= base;
        base *= base;
        b >>= 1;
    }
    return (int64_t)r;
}

/* a * b rounded on its own: the device compiler would otherwise fuse x + al * y into
 * one FMA, one rounding fewer than the CPU kernel (built without contraction) does. */
template <typename T> TD_CU_HD T mul_rn(T a, T b)
{
#if defined(__CUDA_ARCH__)
    if constexpr (sizeof(T) == 4)
        return __fmul_rn(a, b);
    else
        return __dmul_rn(a, b);
#else
    return a * b;
#endif
}

/* x OP y; AL is alpha's type (T for floating, the wrap type for integers, bool). */
template <int OP, typename T, typename AL> TD_CU_HD T arith(T x, T y, AL al)
{
    if constexpr (std::is_same<T, bool>::value) {
        switch (OP) {
        case B_ADD: case B_MAX: case B_BOR: return x || y;
        case B_MUL: case B_MIN: case B_BAND: return x && y;
        default: return x != y; /* B_BXOR */
        }
    } else if constexpr (std::is_floating_point<T>::value) {
        switch (OP) {
        case B_ADD: return x + mul_rn(al, y);
        case B_SUB: return x - mul_rn(al, y);
        case B_MUL: return x * y;
        case B_DIV: return x / y;
        case B_DIVT: return trunc(x / y);
        case B_DIVF: return floordiv(x, y);
        case B_POW: return pow(x, y);
        case B_REM: return pymod(x, y);
        case B_MAX: return (x > y || x != x) ? x : y;
        default: return (x < y || x != x) ? x : y; /* B_MIN */
        }
    } else {
        typedef typename wrap_type<T>::type UT;
        switch (OP) {
        case B_ADD: return (T)((UT)x + al * (UT)y);
        case B_SUB: return (T)((UT)x - al * (UT)y);
        case B_MUL: return (T)((UT)x * (UT)y);
        case B_POW: return (T)ipow(x, y);
        case B_MAX: return x > y ? x : y;
        case B_MIN: return x < y ? x : y;
        case B_BAND: return (T)(x & y);
        case B_BOR: return (T)(x | y);
        case B_BXOR: return (T)(x ^ y);
        case B_SHL:
            if (sizeof(T) == 8)
                return (T)(int64_t)((uint64_t)x << (y & 63));
            return (T)(int32_t)((uint32_t)(int32_t)x << (y & 31));
        default: /* B_SHR */
            if (sizeof(T) == 8)
                return (T)((int64_t)x >> (y & 63));
            return (T)((int32_t)x >> (y & 31));
        }
    }
}

template <int OP, typename T> TD_CU_HD bool compare(T x, T y)
{
    switch (OP) {
    case C_EQ: return x == y;
    case C_NE: return x != y;
    case C_LT: return x < y;
    case C_LE: return x <= y;
    case C_GT: return x > y;
    case C_GE: return x >= y;
    case C_LAND: return x != 0 && y != 0;
    case C_LOR: return x != 0 || y != 0;
    default: return (x != 0) != (y != 0); /* C_LXOR */
    }
}

/* mode 0: two tensors; 1: the scalar s is the left operand; 2: the right one.  With a
 * scalar both iterated operands are the tensor (p[1] == p[2]), one of them unused.
 * S and SO are the operands' and the output's storage types (td_cu_elem): computed in
 * S's compute type T (float for float16/bfloat16). */
/* x ** e for a scalar exponent as torch's kernels compute it: products, sqrt and
 * quotients for 2, 3, -2, 0.5, -0.5, -1 (the CPU kernel's rows in binary.c), else pow */
template <typename T> TD_CU_HD T pow_scalar(T x, T e)
{
    if (e == T(2))
        return mul_rn(x, x);
    if (e == T(3))
        return mul_rn(mul_rn(x, x), x);
    if (e == T(-2))
        return T(1) / mul_rn(x, x);
    if (e == T(0.5))
        return sqrt(x);
    if (e == T(-0.5))
        return rsqrt(x);
    if (e == T(-1))
        return T(1) / x;
    return pow(x, e);
}

template <int OP, typename S, typename SO, typename AL> struct bin_f {
    typedef typename td_cu_elem<S>::T T;
    T s;
    AL al;
    int mode;
    TD_CU_HD void operator()(char **p) const
    {
        T x = mode == 1 ? s : td_cu_elem<S>::load(p[1]);
        T y = mode == 2 ? s : td_cu_elem<S>::load(p[2]);
        if constexpr (OP == B_POW && std::is_floating_point<T>::value)
            if (mode == 2) {
                td_cu_elem<SO>::store(p[0], pow_scalar(x, s));
                return;
            }
        if constexpr (OP >= C_EQ)
            td_cu_elem<SO>::store(p[0], (typename td_cu_elem<SO>::T)compare<OP, T>(x, y));
        else
            td_cu_elem<SO>::store(p[0], arith<OP, T, AL>(x, y, al));
    }
};

template <typename T> struct alpha_type {
    typedef typename std::conditional<std::is_floating_point<T>::value, T,
        typename std::conditional<std::is_same<T, bool>::value, bool, typename wrap_type<T>::type>::type>::type type;
};

/* ---- unary.cu */

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

template <int OP, typename T> TD_CU_HD T un(T x)
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

/* S and SO: the input's and the output's storage types, as in bin_f */
template <int OP, typename S, typename SO> struct un_f {
    typedef typename td_cu_elem<S>::T T;
    TD_CU_HD void operator()(char **p) const
    {
        T x = td_cu_elem<S>::load(p[1]);
        if constexpr (OP == U_LOGICAL_NOT && std::is_same<SO, bool>::value)
            *(SO *)p[0] = x == 0;
        else
            td_cu_elem<SO>::store(p[0], un<OP, T>(x));
    }
};

#endif
