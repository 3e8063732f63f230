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
 * The functions work on GCC vector extensions of 4 doubles (vm4_*: one AVX register, two
 * SSE halves on the baseline clone) or 8 (vm8_*: one AVX-512 register, for code compiled
 * for AVX-512 only: GCC 12 crashes compiling 64-byte vectors for the baseline ISA).  They
 * are always_inline so each caller compiles them for its own ISA; one body serves both
 * widths (vmath_lanes.h, included once per width).  sin/cos reduce exactly only for |x| <= 1e6:
 * vm_trig_ok() tells the caller which blocks must go to libm instead (also inf, NaN).
 * Float64 data stays on libm: a double evaluation cannot be checked against a wider type.
 */
#ifndef TD_CPU_VMATH_H
#define TD_CPU_VMATH_H

#include <stdbool.h>
#include <stdint.h>

/* clang's vector-ABI warning obeys this pragma; GCC's note does not (the Makefile passes
 * -Wno-psabi for the includers). These helpers are always_inline: no call crosses an ABI. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double vm_d4 __attribute__((vector_size(32), aligned(8)));
typedef int64_t vm_i4 __attribute__((vector_size(32), aligned(8)));
typedef float vm_f4 __attribute__((vector_size(16), aligned(4)));
typedef double vm_d8 __attribute__((vector_size(64), aligned(8)));
typedef int64_t vm_i8 __attribute__((vector_size(64), aligned(8)));
typedef float vm_f8 __attribute__((vector_size(32), aligned(4)));

#define VM_INLINE static inline __attribute__((always_inline))
#define VM_CAT_(a, b) a##b
#define VM_CAT(a, b) VM_CAT_(a, b)
#define VM_SPLAT4(c) ((vm_d4){c, c, c, c})
#define VM_SPLAT8(c) ((vm_d8){c, c, c, c, c, c, c, c})
#define VM_MAGIC 6755399441055744.0 /* 1.5 * 2^52: x + MAGIC rounds x to an integer */

/* int64 lanes to double lanes (lane by lane for 8: see above) */
VM_INLINE vm_d4 vm_i2d4(vm_i4 e) { return __builtin_convertvector(e, vm_d4); }
VM_INLINE vm_d8 vm_i2d8(vm_i8 e)
{
    return (vm_d8){(double)e[0], (double)e[1], (double)e[2], (double)e[3],
                   (double)e[4], (double)e[5], (double)e[6], (double)e[7]};
}

typedef int32_t vm_fi8 __attribute__((vector_size(32), aligned(4)));
#define VM_FSPLAT8(c) ((vm_f8){c, c, c, c, c, c, c, c})
#define VM_FSEL8(m, a, b) ((vm_f8)(((m) & (vm_fi8)(a)) | (~(m) & (vm_fi8)(b))))

/* e^x in eight float lanes for x <= 0 (or NaN: NaN), within 1-2 ulp: Cody-Waite reduction
 * (round(x / ln 2) by the 1.5 * 2^23 magic-add trick) and a degree-7 polynomial; below the
 * underflow limit 0.  For log-sum-exps (softmax, CTC), whose arguments are never positive:
 * cheaper than the double-evaluated functions above, at float accuracy. */
VM_INLINE vm_f8 vm_expf_neg8(vm_f8 x)
{
    vm_fi8 lo = x < VM_FSPLAT8(-87.3f), nan = x != x;
    vm_f8 c = VM_FSEL8(lo | nan, VM_FSPLAT8(-87.3f), x);
    c = VM_FSEL8(c > VM_FSPLAT8(0.0f), VM_FSPLAT8(0.0f), c);
    vm_f8 t = c * VM_FSPLAT8(1.44269504f) + VM_FSPLAT8(12582912.0f);
    vm_f8 n = t - VM_FSPLAT8(12582912.0f);
    vm_fi8 ni = (vm_fi8)t - (vm_fi8)VM_FSPLAT8(12582912.0f);
    vm_f8 r = c - n * VM_FSPLAT8(0.693359375f) + n * VM_FSPLAT8(2.12194440e-4f);
    vm_f8 p = VM_FSPLAT8(1.0f / 5040);
    p = p * r + VM_FSPLAT8(1.0f / 720);
    p = p * r + VM_FSPLAT8(1.0f / 120);
    p = p * r + VM_FSPLAT8(1.0f / 24);
    p = p * r + VM_FSPLAT8(1.0f / 6);
    p = p * r + VM_FSPLAT8(0.5f);
    p = p * r + VM_FSPLAT8(1.0f);
    p = p * r + VM_FSPLAT8(1.0f);
    vm_f8 res = p * (vm_f8)((ni + 127) << 23);
    res = VM_FSEL8(lo, VM_FSPLAT8(0.0f), res);
    return VM_FSEL8(nan, x, res);
}


#define VM_N 4
#include "vmath_lanes.h"
#undef VM_N
#define VM_N 8
#include "vmath_lanes.h"
#undef VM_N

#endif
