/*
 * random_ops.cuh — the device random generator and the per-element samplers of
 * random.cu.  Host-callable, so tests/check_cuda_ops.cu checks Philox against its
 * published known-answer vectors and the samplers' distributions on the host.
 *
 * Generator: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC'11), a counter-based generator: element i of an op reads the 128 bits of
 * block (counter = (i, draw), key), so every value depends on (key, i) alone, never on
 * the launch configuration or on which thread runs it.  Each op takes its key from
 * the session's own generator (one 64-bit draw, td_rng_u64 of kernels/rng.h), so a seed gives
 * the same device values on every run and ops differ from one another.  The device's
 * values are not the CPU's (as in PyTorch); their distributions are the same.
 */
#ifndef TD_CUDA_RANDOM_OPS_CUH
#define TD_CUDA_RANDOM_OPS_CUH

#include "cuda_common.cuh"

struct td_cu_u32x4 {
    uint32_t v[4];
};

TD_CU_HD void td_cu_mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* Philox-4x32 with 10 rounds of counter c under key (k0, k1). */
TD_CU_HD td_cu_u32x4 td_cu_philox(td_cu_u32x4 c, uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, lo0, hi1, lo1;
        td_cu_mulhilo(0xD2511F53u, c.v[0], &hi0, &lo0);
        td_cu_mulhilo(0xCD9E8D57u, c.v[2], &hi1, &lo1);
        td_cu_u32x4 n = {{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
        c = n;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return c;
}

/* The two 64-bit words of element i's draw number `draw`. */
TD_CU_HD void td_cu_rand2(uint64_t key, uint64_t i, uint32_t draw, uint64_t *a, uint64_t *b)
{
    td_cu_u32x4 c = {{(uint32_t)i, (uint32_t)(i >> 32), draw, 0}};
    td_cu_u32x4 r = td_cu_philox(c, (uint32_t)key, (uint32_t)(key >> 32));
    *a = (uint64_t)r.v[0] | (uint64_t)r.v[1] << 32;
    *b = (uint64_t)r.v[2] | (uint64_t)r.v[3] << 32;
}

/* What an op samples; a and b its parameters (from/to, mean/std, p, lambda, ...). */
enum { TD_CU_R_UNIFORM, TD_CU_R_NORMAL, TD_CU_R_LOG_NORMAL, TD_CU_R_EXPONENTIAL, TD_CU_R_CAUCHY, TD_CU_R_GEOMETRIC,
       TD_CU_R_BERNOULLI, TD_CU_R_INT };

struct td_cu_rand {
    int kind, dt;      /* dt: the output's dtype (a compute dtype) */
    int bits;          /* uniform: random bits, as many as the final dtype's mantissa holds */
    int final_dt;      /* uniform: the dtype the values end in (float16/bfloat16 round trips) */
    uint64_t key;
    double a, b;
    int64_t from;      /* integers: from + below(span) */
    uint64_t span;
    bool full;         /* integers: the whole int64 range (span 0) */
};

TD_CU_HD double td_cu_unit53(uint64_t w) { return (double)(w >> 11) * 0x1.0p-53; }

/* v after a round trip through dtype dt (uniform_ must never reach `to` there) */
TD_CU_HD double td_cu_rounded(int dt, double v)
{
    switch (dt) {
    case TD_DTYPE_FLOAT32: return (double)(float)v;
    case TD_DTYPE_FLOAT16: return td_cu_half_to_float(td_cu_float_to_half((float)v));
    case TD_DTYPE_BFLOAT16: return td_cu_bf16_to_float(td_cu_float_to_bf16((float)v));
    default: return v;
    }
}

/* Element i's value, stored at p in dtype q.dt. */
TD_CU_HD void td_cu_rand_elem(const struct td_cu_rand &q, uint64_t i, char *p)
{
    uint64_t w0, w1;
    td_cu_rand2(q.key, i, 0, &w0, &w1);
    double v;
    switch (q.kind) {
    case TD_CU_R_UNIFORM: {
        /* from + (to - from) u with `bits` bits; drawn again (next draw number) when it
         * rounds up to `to` in the final dtype, as the CPU does */
        v = q.a;
        for (uint32_t d = 0; d < 64; d++) {
            if (d)
                td_cu_rand2(q.key, i, d, &w0, &w1);
            double u = (double)(w0 >> (64 - q.bits)) / (double)((uint64_t)1 << q.bits);
            double x = q.a + (q.b - q.a) * u;
            if (!(q.b > q.a) || td_cu_rounded(q.final_dt, x) < q.b) {
                v = x;
                break;
            }
        }
        break;
    }
    case TD_CU_R_NORMAL:
    case TD_CU_R_LOG_NORMAL: {
        double u1 = 1.0 - td_cu_unit53(w0), u2 = td_cu_unit53(w1); /* u1 in (0, 1] */
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        v = q.a + q.b * z;
        if (q.kind == TD_CU_R_LOG_NORMAL)
            v = exp(v);
        break;
    }
    case TD_CU_R_EXPONENTIAL: v = -log(1.0 - td_cu_unit53(w0)) / q.a; break;
    case TD_CU_R_CAUCHY: v = q.a + q.b * tan(M_PI * (td_cu_unit53(w0) - 0.5)); break;
    case TD_CU_R_GEOMETRIC: {
        double g = ceil(log(1.0 - td_cu_unit53(w0)) / log1p(-q.a));
        v = g > 0 ? g : 1;
        break;
    }
    case TD_CU_R_BERNOULLI: td_cu_store_i(q.dt, p, td_cu_unit53(w0) < q.a); return;
    default: { /* TD_CU_R_INT: uniform in [0, span) without modulo bias */
        if (q.full) {
            td_cu_store_i(q.dt, p, (int64_t)w0);
            return;
        }
        uint64_t limit = UINT64_MAX - UINT64_MAX % q.span, x = w0;
        for (uint32_t d = 0; x >= limit; d++) {
            if (d & 1)
                x = w1;
            else
                td_cu_rand2(q.key, i, d / 2 + 1, &w0, &w1), x = w0;
        }
        int64_t r = (int64_t)((uint64_t)q.from + x % q.span);
        if (td_cu_wide_is_f(q.dt))
            td_cu_store_f64(q.dt, p, (double)r);
        else
            td_cu_store_i(q.dt, p, r);
        return;
    }
    }
    td_cu_store_f64(q.dt, p, v);
}

#endif
