/*
 * vmath_lanes.h — the body of vmath.h's functions for VM_N lanes (4 or 8), included by
 * vmath.h once per width (no include guard: it is a template).  Names: vm4_exp,
 * vm8_exp, ...; types vm_d4/vm_i4 or vm_d8/vm_i8.
 */
#define VD VM_CAT(vm_d, VM_N)
#define VI VM_CAT(vm_i, VM_N)
#define VF(name) VM_CAT(VM_CAT(vm, VM_N), _##name)
#define VS(c) VM_CAT(VM_SPLAT, VM_N)(c)
#define VSEL(m, a, b) ((VD)(((m) & (VI)(a)) | (~(m) & (VI)(b))))

/* e^x for lo <= x <= hi (clamped; NaN stays NaN).  |n| <= 1021 keeps 2^n normal. */
VM_INLINE VD VF(exp)(VD x, double lo, double hi)
{
    VI nan = x != x;
    VD c = VSEL(x < VS(lo), VS(lo), x);
    c = VSEL(c > VS(hi), VS(hi), c);
    c = VSEL(nan, VS(0.0), c);
    VD t = c * VS(1.4426950408889634) + VS(VM_MAGIC);
    VD n = t - VS(VM_MAGIC);
    VI ni = (VI)t - (VI)VS(VM_MAGIC);
    /* ln 2 split: hi has 32 significant bits, so n * hi is exact */
    VD r = (c - n * VS(6.93147180369123816490e-01)) - n * VS(1.90821492927058770002e-10);
    VD p = VS(1.0 / 362880);
    p = p * r + VS(1.0 / 40320);
    p = p * r + VS(1.0 / 5040);
    p = p * r + VS(1.0 / 720);
    p = p * r + VS(1.0 / 120);
    p = p * r + VS(1.0 / 24);
    p = p * r + VS(1.0 / 6);
    p = p * r + VS(0.5);
    p = p * r + VS(1.0);
    p = p * r + VS(1.0);
    VD res = p * (VD)((ni + 1023) << 52);
    return VSEL(nan, x, res);
}

/* exp of a float: beyond [-104, 89] the float result is 0 or inf anyway */
VM_INLINE VD VF(expf)(VD x) { return VF(exp)(x, -104.0, 89.0); }

/* 1 / (1 + e^-x) */
VM_INLINE VD VF(sigmoidf)(VD x) { return VS(1.0) / (VS(1.0) + VF(exp)(-x, -708.0, 708.0)); }

/* tanh: an odd Taylor polynomial near 0 (no cancellation), 1 - 2 / (e^2a + 1) beyond */
VM_INLINE VD VF(tanhf)(VD x)
{
    VI sign = (VI)x & (VI)VS(-0.0);
    VD a = (VD)((VI)x & ~(VI)VS(-0.0));
    VD big = VS(1.0) - VS(2.0) / (VF(exp)(a + a, -708.0, 40.0) + VS(1.0));
    VD a2 = a * a;
    VD p = VS(62.0 / 2835);
    p = p * a2 - VS(17.0 / 315);
    p = p * a2 + VS(2.0 / 15);
    p = p * a2 - VS(1.0 / 3);
    VD small = a + a * a2 * p;
    VD res = VSEL(a < VS(0.0625), small, big);
    res = (VD)((VI)res | sign);
    return VSEL(x != x, x, res);
}

/* log: x = 2^e * m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(f / (2 + f)), f = m - 1.
 * x < 0 and NaN give NaN, 0 gives -inf, inf gives inf.  x must be a double from a float
 * (never a double denormal). */
VM_INLINE VD VF(logf)(VD x)
{
    VI bits = (VI)x;
    VI e = ((bits >> 52) & 0x7ff) - 1023;
    VD m = (VD)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);
    VI hi = m > VS(1.4142135623730951);
    m = VSEL(hi, m * VS(0.5), m);
    e -= hi; /* hi is -1 where true */
    VD f = m - VS(1.0);
    VD s = f / (VS(2.0) + f), s2 = s * s;
    VD p = VS(2.0 / 13);
    p = p * s2 + VS(2.0 / 11);
    p = p * s2 + VS(2.0 / 9);
    p = p * s2 + VS(2.0 / 7);
    p = p * s2 + VS(2.0 / 5);
    p = p * s2 + VS(2.0 / 3);
    VD logm = s * VS(2.0) + s * s2 * p;
    VD ed = VM_CAT(vm_i2d, VM_N)(e);
    VD res = ed * VS(6.93147180369123816490e-01) + (logm + ed * VS(1.90821492927058770002e-10));
    res = VSEL(x == VS(0.0), VS(-__builtin_inf()), res);
    res = VSEL(x == VS(__builtin_inf()), x, res);
    return VSEL((x < VS(0.0)) | (x != x), VS(__builtin_nan("")), res);
}

/* true in every lane whose |x| is small enough for vm_sincos (false for inf and NaN) */
VM_INLINE VI VF(trig_ok)(VD x) { return (x <= VS(1e6)) & (x >= VS(-1e6)); }

/* sin x (cos_ = false) or cos x, for |x| <= 1e6: x = n pi/2 + r, |r| <= pi/4, pi/2 in
 * three parts of which the first two have 33 bits, so n * part is exact for n < 2^20. */
VM_INLINE VD VF(sincos)(VD x, bool cos_)
{
    VD t = x * VS(6.36619772367581382433e-01) + VS(VM_MAGIC);
    VD n = t - VS(VM_MAGIC);
    VI q = (VI)t - (VI)VS(VM_MAGIC) + (cos_ ? 1 : 0);
    VD r = x - n * VS(1.57079632673412561417e+00);
    r = r - n * VS(6.07710050630396597660e-11);
    r = r - n * VS(2.02226624879595063154e-21);
    VD r2 = r * r;
    VD s = VS(-1.0 / 39916800);
    s = s * r2 + VS(1.0 / 362880);
    s = s * r2 - VS(1.0 / 5040);
    s = s * r2 + VS(1.0 / 120);
    s = s * r2 - VS(1.0 / 6);
    s = r + r * r2 * s;
    VD c = VS(1.0 / 479001600);
    c = c * r2 - VS(1.0 / 3628800);
    c = c * r2 + VS(1.0 / 40320);
    c = c * r2 - VS(1.0 / 720);
    c = c * r2 + VS(1.0 / 24);
    c = c * r2 - VS(0.5);
    c = c * r2 + VS(1.0);
    VD res = VSEL((q & 1) != 0, c, s);
    VI neg = (q & 2) << 62; /* quadrants 2 and 3 flip the sign */
    return (VD)((VI)res ^ neg);
}


#undef VD
#undef VI
#undef VF
#undef VS
#undef VSEL
