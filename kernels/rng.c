/* rng.c — seeding, the twist and the shared samplers of rng.h (torch's CPU generator). */
/* The float normals below reproduce fused multiply-adds exactly where torch's build
 * makes them and nowhere else: no contraction of our own. */
#pragma GCC optimize("fp-contract=off")
#include "rng.h"

#include <math.h>
#include <string.h>

void td_rng_seed(struct td_rng *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->initial_seed = seed;
    r->seeded = 1;
    uint32_t w = (uint32_t)seed;
    r->mt[0] = w;
    for (uint32_t j = 1; j < TD_RNG_N; j++) {
        w = 1812433253u * (w ^ (w >> 30)) + j;
        r->mt[j] = w;
    }
    r->left = 1; /* the first draw twists */
    r->next = 0;
}

bool td_rng_check(struct td_rng *r)
{
    /* torch's own test (seeded, 0 < left <= 624, next <= 624) plus left + next <= 625, so
     * no draw reads past the words (torch reads past them on such a state) */
    if (r->seeded == 0 || r->left <= 0 || r->left > TD_RNG_N || r->next > TD_RNG_N ||
        (uint64_t)r->left + r->next > TD_RNG_N + 1)
        return false;
    for (int i = 0; i < TD_RNG_N; i++)
        r->mt[i] = (uint32_t)r->mt[i];
    r->seeded = 1;
    r->normal_is_valid = r->normal_is_valid != 0;
    r->float_normal_valid = r->float_normal_valid != 0;
    r->pad_ = 0;
    memset(r->pad2_, 0, sizeof r->pad2_);
    return true;
}

float td_rng_unit_f(struct td_rng *r) { return (float)(td_rng_u32(r) & 0xffffffu) * 0x1.0p-24f; }

double td_rng_unit(struct td_rng *r) { return (double)(td_rng_u64(r) & ((UINT64_C(1) << 53) - 1)) * 0x1.0p-53; }

double td_rng_normal(struct td_rng *r)
{
    if (r->normal_is_valid) {
        r->normal_is_valid = 0;
        return r->normal_y;
    }
    double u1 = td_rng_unit(r), u2 = td_rng_unit(r);
    double rad = sqrt(-2.0 * log(1.0 - u2)), theta = 2.0 * M_PI * u1;
    r->normal_y = rad * sin(theta);
    r->normal_is_valid = 1;
    return rad * cos(theta);
}

void td_rng_normal16(double *d, double mean, double std)
{
    for (int j = 0; j < 8; j++) {
        double rad = sqrt(-2.0 * log(1.0 - d[j])), theta = 2.0 * M_PI * d[j + 8];
        d[j] = fma(rad * cos(theta), std, mean);
        d[j + 8] = fma(rad * sin(theta), std, mean);
    }
}

/* ---- single-precision log and sincos: the cephes algorithms (S. Moshier), evaluated
 * step by step in the order and with the fused steps of torch's AVX2 build, so the
 * roundings match it exactly */

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* log(x) for x in (0, 1] (Box-Muller's 1 - u): the exponent, then a degree-9
 * polynomial of the mantissa around 1 */
static float cephes_logf(float x)
{
    static const float p[9] = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f,
                               -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    if (!(x > 0))
        return NAN;
    if (x < 0x1.0p-126f)
        x = 0x1.0p-126f;
    uint32_t u = f_bits(x);
    float e = (float)((int32_t)(u >> 23) - 0x7f) + 1.0f;
    x = bits_f((u & ~0x7f800000u) | f_bits(0.5f)); /* mantissa in [0.5, 1) */
    if (x < 0.707106781186547524f) {
        float t = x;
        x = x - 1.0f;
        e = e - 1.0f;
        x = x + t;
    } else {
        x = x - 1.0f;
    }
    float z = x * x, y = p[0];
    for (int i = 1; i < 9; i++)
        y = fmaf(y, x, p[i]);
    y = y * x;
    y = fmaf(y, z, e * -2.12194440e-4f);
    y = fmaf(-z, 0.5f, y);
    x = x + y;
    return fmaf(e, 0.693359375f, x);
}

/* sin and cos of x >= 0 (Box-Muller's angle, below 2 pi) */
static void cephes_sincosf(float x, float *s, float *c)
{
    int j = (int)(x * 1.27323954473516f); /* 4 / pi */
    j = (j + 1) & ~1;
    float y = (float)j;
    bool neg_sin = j & 4, neg_cos = !((j - 2) & 4), sin_poly = (j & 2) != 0;
    x = fmaf(y, -0.78515625f, x); /* x - j pi/4 in three parts */
    x = fmaf(y, -2.4187564849853515625e-4f, x);
    x = fmaf(y, -3.77489497744594108e-8f, x);
    float z = x * x;
    float yc = fmaf(fmaf(2.443315711809948E-005f, z, -1.388731625493765E-003f), z, 4.166664568298827E-002f);
    yc = yc * z;
    yc = fmaf(yc, z, -(z * 0.5f));
    yc = yc + 1.0f;
    float ys = fmaf(fmaf(-1.9515295891E-4f, z, 8.3321608736E-3f), z, -1.6666654611E-1f);
    ys = ys * z;
    ys = fmaf(ys, x, x);
    float sv = sin_poly ? yc : ys, cv = sin_poly ? ys : yc;
    *s = neg_sin ? -sv : sv;
    *c = neg_cos ? -cv : cv;
}

void td_rng_normal16_f(float *d, float mean, float std)
{
    for (int j = 0; j < 8; j++) {
        float rad = sqrtf(-2.0f * cephes_logf(1.0f - d[j])), theta = (float)(2.0 * M_PI) * d[j + 8], s, c;
        cephes_sincosf(theta, &s, &c);
        d[j] = fmaf(rad * c, std, mean);
        d[j + 8] = fmaf(rad * s, std, mean);
    }
}
