/*
 * special_fns.h — the scalar special functions the elementwise math ops need beyond
 * libm, in double: digamma and erfinv as ATen's Math.h computes them, logit with its
 * clamp, and logaddexp with PyTorch's infinity case.  One definition for the CPU
 * kernels (kernels/cpu/math_elem.c) and the CUDA plugin (kernels/cuda/math_ops.cuh),
 * so both give the same values (up to the device math library's last ulp).
 */
#ifndef TD_SPECIAL_FNS_H
#define TD_SPECIAL_FNS_H

#include <math.h>
#include <stdbool.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define TD_SF static inline __host__ __device__
#else
#define TD_SF static inline
#endif

/* digamma for x > 0 */
TD_SF double td_digamma_pos(double x)
{
    double res = 0;
    while (x < 10) {
        res -= 1 / x;
        x += 1;
    }
    if (x == 10)
        return res + 2.25175258906672110764;
    double y = 0;
    if (x < 1.0e17) { /* the asymptotic series in 1/x^2 */
        double z = 1.0 / (x * x);
        y = z * ((((((8.33333333333333333333E-2 * z - 2.10927960927960927961E-2) * z + 7.57575757575757575758E-3) * z -
                    4.16666666666666666667E-3) * z + 3.96825396825396825397E-3) * z - 8.33333333333333333333E-3) * z +
                 8.33333333333333333333E-2);
    }
    return res + log(x) - (0.5 / x) - y;
}

TD_SF double td_digamma(double x)
{
    const double pi = 3.14159265358979323846;
    if (x == 0)
        return copysign(INFINITY, -x);
    if (x < 0) {
        if (x == trunc(x))
            return NAN;
        /* reflection: digamma(1 - x) - pi / tan(pi frac(x)) */
        return td_digamma_pos(1 - x) - pi / tan(pi * (x - trunc(x)));
    }
    return td_digamma_pos(x);
}

TD_SF double td_erfinv(double y)
{
    double ya = fabs(y), x, z;
    if (ya > 1 || y != y)
        return NAN;
    if (ya == 1)
        return copysign(INFINITY, y);
    if (ya <= 0.7) { /* a rational first guess in y^2 */
        z = y * y;
        x = y * (((-0.140543331 * z + 0.914624893) * z - 1.645349621) * z + 0.886226899) /
            ((((0.012229801 * z - 0.329097515) * z + 1.442710462) * z - 2.118377725) * z + 1.0);
    } else { /* in sqrt(-log((1 - |y|) / 2)) near the ends */
        z = sqrt(-log((1.0 - ya) / 2.0));
        x = copysign(((1.641345311 * z + 3.429567803) * z - 1.624906493) * z - 1.970840454, y) /
            ((1.637067800 * z + 3.543889200) * z + 1.0);
    }
    for (int i = 0; i < 2; i++) /* Newton-Raphson on erf(x) = y */
        x = x - (erf(x) - y) / ((2.0 / sqrt(3.14159265358979323846)) * exp(-x * x));
    return x;
}

/* log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps >= 0 */
TD_SF double td_logit(double x, double eps)
{
    if (eps >= 0)
        x = x < eps ? eps : x > 1 - eps ? 1 - eps : x;
    return log(x / (1 - x));
}

/* log(e^a + e^b) (base2: log2(2^a + 2^b)); a == b == +-inf gives itself, NaN propagates */
TD_SF double td_logaddexp(double a, double b, bool base2)
{
    if (isinf(a) && a == b)
        return a;
    double m = a > b || b != b ? a : b, d = -fabs(a - b);
    if (a != a)
        return a;
    return base2 ? m + log1p(exp2(d)) / 0.69314718055994530942 : m + log1p(exp(d));
}

/* LOGCUMSUMEXP's step: log(e^x + e^y) for the running sum x; both the same infinity
 * give x (ATen's rule) */
TD_SF double td_log_add_exp_step(double x, double y)
{
    double mn = y != y ? y : (x < y ? x : y), mx = y != y ? y : (x < y ? y : x);
    if (mn != mx || isfinite(mn))
        return log1p(exp(mn - mx)) + mx;
    return x;
}

#undef TD_SF
#endif
