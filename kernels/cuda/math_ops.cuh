/*
 * math_ops.cuh — the per-element operations of math_elem.cu (kernels/cpu/math_elem.c's
 * rows on the GPU) as functors over the elementwise engine: operator()(p) reads the
 * operands whose addresses p holds and writes p[0].  Host-callable too, so
 * tests/check_cuda_ops.cu runs them against the CPU kernels.
 *
 *   unary float rows  TAN ... DIGAMMA, FRAC, LOGIT (eps), NAN_TO_NUM (nan, posinf, neginf)
 *   predicates        ISNAN ISINF ISPOSINF ISNEGINF ISFINITE SIGNBIT (bool out, any dtype)
 *   binary float rows ATAN2 HYPOT COPYSIGN XLOGY LOGADDEXP LOGADDEXP2 FMOD
 *   ternary rows      LERP, ADDCMUL (floating, or integers wrapping), ADDCDIV
 *
 * Expressions are the CPU's, in the same types and order; products that the CPU adds
 * are rounded on their own (mul_rn: the device compiler would fuse them into an FMA).
 * Storage types go through td_cu_elem, so float16/bfloat16 compute in float as the CPU
 * does between its casts.
 */
#ifndef TD_CUDA_MATH_OPS_CUH
#define TD_CUDA_MATH_OPS_CUH

#include "../special_fns.h"
#include "elementwise_ops.cuh"

#define MATH1_OPS(X)                                                                           \
    X(M_TAN, TAN) X(M_ASIN, ASIN) X(M_ACOS, ACOS) X(M_ATAN, ATAN) X(M_SINH, SINH) X(M_COSH, COSH) \
    X(M_ASINH, ASINH) X(M_ACOSH, ACOSH) X(M_ATANH, ATANH) X(M_EXP2, EXP2) X(M_EXPM1, EXPM1)      \
    X(M_LOG2, LOG2) X(M_LOG10, LOG10) X(M_ERF, ERF) X(M_ERFC, ERFC) X(M_ERFINV, ERFINV)          \
    X(M_LGAMMA, LGAMMA) X(M_DIGAMMA, DIGAMMA) X(M_FRAC, FRAC) X(M_LOGIT, LOGIT)                  \
    X(M_NAN_TO_NUM, NAN_TO_NUM)
#define MATH_PRED_OPS(X) \
    X(P_ISNAN, ISNAN) X(P_ISINF, ISINF) X(P_ISPOSINF, ISPOSINF) X(P_ISNEGINF, ISNEGINF) X(P_ISFINITE, ISFINITE) X(P_SIGNBIT, SIGNBIT)
#define MATH2_OPS(X) \
    X(M2_ATAN2, ATAN2) X(M2_HYPOT, HYPOT) X(M2_COPYSIGN, COPYSIGN) X(M2_XLOGY, XLOGY) X(M2_LOGADDEXP, LOGADDEXP) \
    X(M2_LOGADDEXP2, LOGADDEXP2) X(M2_FMOD, FMOD)
#define MATH3_OPS(X) X(M3_LERP, LERP) X(M3_ADDCMUL, ADDCMUL) X(M3_ADDCDIV, ADDCDIV)

#define MATH_ENUM(R, N) R,
enum { MATH1_OPS(MATH_ENUM) M1_COUNT };
enum { MATH_PRED_OPS(MATH_ENUM) P_COUNT };
enum { MATH2_OPS(MATH_ENUM) M2_COUNT };
enum { MATH3_OPS(MATH_ENUM) M3_COUNT };
#undef MATH_ENUM

/* f: LOGIT's eps (negative: none); NAN_TO_NUM's nan, posinf, neginf */
template <int OP, typename T> TD_CU_HD T math1(T x, const double *f)
{
    switch (OP) {
    case M_TAN: return tan(x);
    case M_ASIN: return asin(x);
    case M_ACOS: return acos(x);
    case M_ATAN: return atan(x);
    case M_SINH: return sinh(x);
    case M_COSH: return cosh(x);
    case M_ASINH: return asinh(x);
    case M_ACOSH: return acosh(x);
    case M_ATANH: return atanh(x);
    case M_EXP2: return exp2(x);
    case M_EXPM1: return expm1(x);
    case M_LOG2: return log2(x);
    case M_LOG10: return log10(x);
    case M_ERF: return erf(x);
    case M_ERFC: return erfc(x);
    case M_ERFINV: return (T)td_erfinv(x);
    case M_LGAMMA: return lgamma(x);
    case M_DIGAMMA: return (T)td_digamma(x);
    case M_FRAC: return x - trunc(x);
    case M_LOGIT: return (T)td_logit(x, f[0]);
    default: /* M_NAN_TO_NUM */
        return x != x ? (T)f[0] : x == (T)INFINITY ? (T)f[1] : x == -(T)INFINITY ? (T)f[2] : x;
    }
}

template <int OP, typename S> struct math1_f {
    double f[3];
    TD_CU_HD void operator()(char **p) const
    {
        typedef typename td_cu_elem<S>::T T;
        td_cu_elem<S>::store(p[0], math1<OP, T>(td_cu_elem<S>::load(p[1]), f));
    }
};

/* predicates, on the value as a double (as the CPU's) */
template <int OP, typename S> struct pred_f {
    TD_CU_HD void operator()(char **p) const
    {
        double v = (double)td_cu_elem<S>::load(p[1]);
        bool r;
        switch (OP) {
        case P_ISNAN: r = v != v; break;
        case P_ISINF: r = isinf(v); break;
        case P_ISPOSINF: r = v == INFINITY; break;
        case P_ISNEGINF: r = v == -INFINITY; break;
        case P_ISFINITE: r = isfinite(v); break;
        default: r = signbit(v); break; /* P_SIGNBIT */
        }
        *(bool *)p[0] = r;
    }
};

template <int OP, typename T> TD_CU_HD T math2(T x, T y)
{
    switch (OP) {
    case M2_ATAN2: return atan2(x, y);
    case M2_HYPOT: return hypot(x, y);
    case M2_COPYSIGN: return copysign(x, y);
    case M2_XLOGY: return (y != y) ? y : x == 0 ? (T)0 : x * log(y);
    case M2_LOGADDEXP: return (T)td_logaddexp(x, y, false);
    case M2_LOGADDEXP2: return (T)td_logaddexp(x, y, true);
    default: return fmod(x, y); /* M2_FMOD */
    }
}

/* mode as bin_f's: 0 two tensors, 1 the scalar s on the left, 2 on the right */
template <int OP, typename S> struct math2_f {
    typedef typename td_cu_elem<S>::T T;
    T s;
    int mode;
    TD_CU_HD void operator()(char **p) const
    {
        T x = mode == 1 ? s : td_cu_elem<S>::load(p[1]);
        T y = mode == 2 ? s : td_cu_elem<S>::load(p[2]);
        td_cu_elem<S>::store(p[0], math2<OP, T>(x, y));
    }
};

/* (x, y, w) = LERP (start, end, weight), ADDCMUL/ADDCDIV (tensor1, tensor2, input);
 * ws: LERP's scalar weight when has_ws; v: ADDCMUL/ADDCDIV's value (vi: for integers) */
template <int OP, typename S> struct math3_f {
    typedef typename td_cu_elem<S>::T T;
    T ws, v;
    int64_t vi;
    bool has_ws;
    TD_CU_HD void operator()(char **p) const
    {
        T x = td_cu_elem<S>::load(p[1]), y = td_cu_elem<S>::load(p[2]);
        T w = has_ws ? ws : td_cu_elem<S>::load(p[3]);
        T r;
        if constexpr (!std::is_floating_point<T>::value) { /* ADDCMUL on integers: wrapping */
            typedef typename wrap_type<T>::type UT;
            r = (T)((UT)w + (UT)vi * (UT)x * (UT)y);
        } else if (OP == M3_LERP) {
            r = fabs(w) < (T)0.5 ? x + mul_rn(w, y - x) : y - mul_rn(y - x, (T)1 - w);
        } else if (OP == M3_ADDCMUL) {
            r = w + mul_rn(mul_rn(v, x), y);
        } else {
            r = w + mul_rn(v, x / y);
        }
        td_cu_elem<S>::store(p[0], r);
    }
};

#endif
