/*
 * rng.h — the per-session random generator: PyTorch's CPU generator, bit for bit.
 *
 * A Mersenne Twister (MT19937, Matsumoto and Nishimura 1998) seeded the way torch seeds
 * it (the low 32 bits of the seed through the reference initialisation), plus the cached
 * second value of a Box-Muller pair.  The struct *is* torch's serialised generator state
 * (CPUGeneratorImplState, 5056 bytes on x86-64 and aarch64), so torch.get_rng_state()
 * bytes load into a session and back.  With the samplers of kernels/cpu/random.c
 * drawing in torch's order, `manual_seed(s)` gives the values torch gives on the CPU.
 *
 * Not thread-safe: a session owns one and runs its ops in order.  The draw step is
 * inline so the device plugins (which do not link rng.c) take their per-op keys from
 * the same stream.
 */
#ifndef TD_RNG_H
#define TD_RNG_H

#include <stdbool.h>
#include <stdint.h>

#define TD_RNG_N 624 /* words of state */
#define TD_RNG_STATE_BYTES 5056

struct td_rng {
    uint64_t initial_seed;
    int32_t left;            /* draws left before the next twist (1..624) */
    int32_t seeded;          /* 1 once seeded */
    uint64_t next;           /* index of the next state word */
    uint64_t mt[TD_RNG_N];   /* 32-bit words, stored 64-bit wide as torch stores them */
    double normal_x;         /* unused (torch keeps the field) */
    double normal_y;         /* the cached second normal of a double Box-Muller pair */
    double normal_rho;       /* unused */
    int32_t normal_is_valid;
    int32_t pad_;
    float next_float_normal; /* the float pair's cache (torch's; no CPU sampler fills it) */
    uint8_t float_normal_valid;
    uint8_t pad2_[3];
};

#ifdef __cplusplus
static_assert(sizeof(struct td_rng) == TD_RNG_STATE_BYTES, "torch's CPU generator state is 5056 bytes");
#else
_Static_assert(sizeof(struct td_rng) == TD_RNG_STATE_BYTES, "torch's CPU generator state is 5056 bytes");
#endif

void td_rng_seed(struct td_rng *r, uint64_t seed);
/* Whether r is a state torch would accept and td_rng_u32 can draw from safely; masks the
 * words to 32 bits and clears padding (so equal states compare equal byte for byte). */
bool td_rng_check(struct td_rng *r);

/* Regenerates the 624 words (the twist) when the draws have used them up. */
static inline uint32_t td_rng_mix_(uint64_t a, uint64_t b, uint64_t c)
{
    uint32_t y = ((uint32_t)a & 0x80000000u) | ((uint32_t)b & 0x7fffffffu);
    return (uint32_t)c ^ (y >> 1) ^ ((uint32_t)b & 1u ? 0x9908b0dfu : 0u);
}

/* The next 624 words of state, in three runs so that no index wraps (vectorizable). */
static inline void td_rng_twist(struct td_rng *r)
{
    uint64_t *s = r->mt;
    int i = 0;
    for (; i < TD_RNG_N - 397; i++)
        s[i] = td_rng_mix_(s[i], s[i + 1], s[i + 397]);
    for (; i < TD_RNG_N - 1; i++)
        s[i] = td_rng_mix_(s[i], s[i + 1], s[i + 397 - TD_RNG_N]);
    s[TD_RNG_N - 1] = td_rng_mix_(s[TD_RNG_N - 1], s[0], s[396]);
    r->left = TD_RNG_N;
    r->next = 0;
}

static inline uint32_t td_rng_temper_(uint32_t y)
{
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

static inline uint32_t td_rng_u32(struct td_rng *r)
{
    if (--r->left <= 0)
        td_rng_twist(r);
    return td_rng_temper_((uint32_t)r->mt[r->next++]);
}

/* out[0..n) = n calls of td_rng_u32, tempered a run of state words at a time. */
static inline void td_rng_u32_n(struct td_rng *r, uint32_t *out, int64_t n)
{
    for (int64_t i = 0; i < n;) {
        int64_t k = r->left - 1; /* draws before one twists */
        if (k <= 0) {
            out[i++] = td_rng_u32(r);
            continue;
        }
        if (k > n - i)
            k = n - i;
        const uint64_t *s = r->mt + r->next;
        for (int64_t j = 0; j < k; j++)
            out[i + j] = td_rng_temper_((uint32_t)s[j]);
        r->left -= (int32_t)k;
        r->next += (uint64_t)k;
        i += k;
    }
}

/* torch's random64(): the first draw is the high half */
static inline uint64_t td_rng_u64(struct td_rng *r)
{
    uint64_t hi = td_rng_u32(r);
    return hi << 32 | td_rng_u32(r);
}

/* uniform in [0, 1): 24 random bits (float) or 53 (double), as torch's uniform_real */
static inline float td_rng_unit_f(struct td_rng *r) { return (float)(td_rng_u32(r) & 0xffffffu) * 0x1.0p-24f; }

static inline double td_rng_unit(struct td_rng *r)
{
    return (double)(td_rng_u64(r) & ((UINT64_C(1) << 53) - 1)) * 0x1.0p-53;
}
/* torch's normal_distribution<double>: Box-Muller on two draws, the second value cached */
double td_rng_normal(struct td_rng *r);

/* torch's normal_fill for 16 uniforms in d[0..16) -> 16 normals * std + mean.  The float
 * form reproduces torch's AVX2 kernel (cephes log and sincos in single precision, with
 * the fused multiply-adds its build makes); the double form uses libm. */
void td_rng_normal16_f(float *d, float mean, float std);
void td__rng_normal16_scalar(float *d, float mean, float std); /* the portable form (tests) */
void td_rng_normal16(double *d, double mean, double std);

/* The span of integers random_ draws from [from, to): to == TD_RNG_TO_NONE means
 * "the int64 maximum + 1" (torch's to=None on int64).  0 stands for 2^64 (the full
 * range); false when the range is empty. */
#define TD_RNG_TO_NONE INT64_MIN
static inline bool td_rng_span(int64_t from, int64_t to, uint64_t *span)
{
    if (to == TD_RNG_TO_NONE) {
        *span = (UINT64_C(1) << 63) - (uint64_t)from; /* wraps to 0 for from = INT64_MIN */
        return true;
    }
    *span = (uint64_t)to - (uint64_t)from;
    return from < to;
}

#endif
