/*
 * vmath.h — branch-free vector exp, log, sin, cos, tanh and sigmoid for float32 data.
 *
 * Float32 inputs are widened to double, the function is evaluated in double and the
 * result rounded once back to float.  The double evaluation is accurate to ~1e-12
 * relative (Cody-Waite argument reduction, Taylor polynomials), so the float results
 * are correctly rounded except in rare near-halfway cases (max error 0.5 + 1e-4 ulp),
 * and the float edge cases come for free: overflow to inf and gradual underflow happen
 * in the final conversion, float denormal inputs are normal doubles.
 *
 * The functions work on GCC vector extensions of 4 doubles (one AVX register; two SSE
 * halves on the baseline clone).  They are always_inline so each target clone of the
 * caller compiles them for its own ISA.  sin/cos reduce exactly only for |x| <= 1e6:
 * vm_trig_ok() tells the caller which blocks must go to libm instead (also inf, NaN).
 * Float64 data stays on libm: a double evaluation cannot be checked against a wider type.
 */
#ifndef TD_CPU_VMATH_H
#define TD_CPU_VMATH_H

#include <stdint.h>

/* clang's vector-ABI warning obeys this pragma; GCC's note does not (the Makefile passes
 * -Wno-psabi for the includers). These helpers are always_inline: no call crosses an ABI. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double vm_d4 __attribute__((vector_size(32), aligned(8)));
typedef int64_t vm_i4 __attribute__((vector_size(32), aligned(8)));
typedef float vm_f4 __attribute__((vector_size(16), aligned(4)));

#define VM_INLINE static inline __attribute__((always_inline))
#define VM_S(c) ((vm_d4){c, c, c, c})
#define VM_SEL(m, a, b) ((vm_d4)(((m) & (vm_i4)(a)) | (~(m) & (vm_i4)(b))))
#define VM_MAGIC 6755399441055744.0 /* 1.5 * 2^52: x + MAGIC rounds x to an integer */

/* e^x for lo <= x <= hi (clamped; NaN stays NaN).  |n| <= 1021 keeps 2^n normal. */
VM_INLINE vm_d4 vm_exp(vm_d4 x, double lo, double hi)
{
    vm_i4 nan = x != x;
    vm_d4 c = VM_SEL(x < VM_S(lo), VM_S(lo), x);
    c = VM_SEL(c > VM_S(hi), VM_S(hi), c);
    c = VM_SEL(nan, VM_S(0.0), c);
    vm_d4 t = c * VM_S(1.4426950408889634) + VM_S(VM_MAGIC);
    vm_d4 n = t - VM_S(VM_MAGIC);
    vm_i4 ni = (vm_i4)t - (vm_i4)VM_S(VM_MAGIC);
    /* ln 2 split: hi has 32 significant bits, so n * hi is exact */
    vm_d4 r = (c - n * VM_S(6.93147180369123816490e-01)) - n * VM_S(1.90821492927058770002e-10);
    vm_d4 p = VM_S(1.0 / 362880);
    p = p * r + VM_S(1.0 / 40320);
    p = p * r + VM_S(1.0 / 5040);
    p = p * r + VM_S(1.0 / 720);
    p = p * r + VM_S(1.0 / 120);
    p = p * r + VM_S(1.0 / 24);
    p = p * r + VM_S(1.0 / 6);
    p = p * r + VM_S(0.5);
    p = p * r + VM_S(1.0);
    p = p * r + VM_S(1.0);
    vm_d4 res = p * (vm_d4)((ni + 1023) << 52);
    return VM_SEL(nan, x, res);
}

/* exp of a float: beyond [-104, 89] the float result is 0 or inf anyway */
VM_INLINE vm_d4 vm_expf(vm_d4 x) { return vm_exp(x, -104.0, 89.0); }

/* 1 / (1 + e^-x) */
VM_INLINE vm_d4 vm_sigmoidf(vm_d4 x) { return VM_S(1.0) / (VM_S(1.0) + vm_exp(-x, -708.0, 708.0)); }

/* tanh: an odd Taylor polynomial near 0 (no cancellation), 1 - 2 / (e^2a + 1) beyond */
VM_INLINE vm_d4 vm_tanhf(vm_d4 x)
{
    vm_i4 sign = (vm_i4)x & (vm_i4)VM_S(-0.0);
    vm_d4 a = (vm_d4)((vm_i4)x & ~(vm_i4)VM_S(-0.0));
    vm_d4 big = VM_S(1.0) - VM_S(2.0) / (vm_exp(a + a, -708.0, 40.0) + VM_S(1.0));
    vm_d4 a2 = a * a;
    vm_d4 p = VM_S(62.0 / 2835);
    p = p * a2 - VM_S(17.0 / 315);
    p = p * a2 + VM_S(2.0 / 15);
    p = p * a2 - VM_S(1.0 / 3);
    vm_d4 small = a + a * a2 * p;
    vm_d4 res = VM_SEL(a < VM_S(0.0625), small, big);
    res = (vm_d4)((vm_i4)res | sign);
    return VM_SEL(x != x, x, res);
}

/* log: x = 2^e * m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(f / (2 + f)), f = m - 1.
 * x < 0 and NaN give NaN, 0 gives -inf, inf gives inf.  x must be a double from a float
 * (never a double denormal). */
VM_INLINE vm_d4 vm_logf(vm_d4 x)
{
    vm_i4 bits = (vm_i4)x;
    vm_i4 e = ((bits >> 52) & 0x7ff) - 1023;
    vm_d4 m = (vm_d4)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);
    vm_i4 hi = m > VM_S(1.4142135623730951);
    m = VM_SEL(hi, m * VM_S(0.5), m);
    e -= hi; /* hi is -1 where true */
    vm_d4 f = m - VM_S(1.0);
    vm_d4 s = f / (VM_S(2.0) + f), s2 = s * s;
    vm_d4 p = VM_S(2.0 / 13);
    p = p * s2 + VM_S(2.0 / 11);
    p = p * s2 + VM_S(2.0 / 9);
    p = p * s2 + VM_S(2.0 / 7);
    p = p * s2 + VM_S(2.0 / 5);
    p = p * s2 + VM_S(2.0 / 3);
    vm_d4 logm = s * VM_S(2.0) + s * s2 * p;
    vm_d4 ed = __builtin_convertvector(e, vm_d4);
    vm_d4 res = ed * VM_S(6.93147180369123816490e-01) + (logm + ed * VM_S(1.90821492927058770002e-10));
    res = VM_SEL(x == VM_S(0.0), VM_S(-__builtin_inf()), res);
    res = VM_SEL(x == VM_S(__builtin_inf()), x, res);
    return VM_SEL((x < VM_S(0.0)) | (x != x), VM_S(__builtin_nan("")), res);
}

/* true in every lane whose |x| is small enough for vm_sincos (false for inf and NaN) */
VM_INLINE vm_i4 vm_trig_ok(vm_d4 x) { return (x <= VM_S(1e6)) & (x >= VM_S(-1e6)); }

/* sin x (cos_ = false) or cos x, for |x| <= 1e6: x = n pi/2 + r, |r| <= pi/4, pi/2 in
 * three parts of which the first two have 33 bits, so n * part is exact for n < 2^20. */
VM_INLINE vm_d4 vm_sincos(vm_d4 x, bool cos_)
{
    vm_d4 t = x * VM_S(6.36619772367581382433e-01) + VM_S(VM_MAGIC);
    vm_d4 n = t - VM_S(VM_MAGIC);
    vm_i4 q = (vm_i4)t - (vm_i4)VM_S(VM_MAGIC) + (cos_ ? 1 : 0);
    vm_d4 r = x - n * VM_S(1.57079632673412561417e+00);
    r = r - n * VM_S(6.07710050630396597660e-11);
    r = r - n * VM_S(2.02226624879595063154e-21);
    vm_d4 r2 = r * r;
    vm_d4 s = VM_S(-1.0 / 39916800);
    s = s * r2 + VM_S(1.0 / 362880);
    s = s * r2 - VM_S(1.0 / 5040);
    s = s * r2 + VM_S(1.0 / 120);
    s = s * r2 - VM_S(1.0 / 6);
    s = r + r * r2 * s;
    vm_d4 c = VM_S(1.0 / 479001600);
    c = c * r2 - VM_S(1.0 / 3628800);
    c = c * r2 + VM_S(1.0 / 40320);
    c = c * r2 - VM_S(1.0 / 720);
    c = c * r2 + VM_S(1.0 / 24);
    c = c * r2 - VM_S(0.5);
    c = c * r2 + VM_S(1.0);
    vm_d4 res = VM_SEL((q & 1) != 0, c, s);
    vm_i4 neg = (q & 2) << 62; /* quadrants 2 and 3 flip the sign */
    return (vm_d4)((vm_i4)res ^ neg);
}

#endif
