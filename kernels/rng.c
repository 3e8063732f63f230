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

#if defined(__x86_64__)
#include <immintrin.h>

/* The same steps eight lanes at a time (AVX2 with FMA): each fmaf above is one fused
 * multiply-add here too, so the lanes give the scalar code's bits. */
#define V8 __attribute__((target("avx2,fma")))

V8 static __m256 log8(__m256 x)
{
    static const float p[9] = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f,
                               -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    const __m256 one = _mm256_set1_ps(1.0f);
    x = _mm256_max_ps(x, _mm256_set1_ps(0x1.0p-126f));
    __m256i u = _mm256_castps_si256(x);
    __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(0x7f))),
                             one);
    x = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(~0x7f800000)),
                                            _mm256_set1_epi32(0x3f000000))); /* mantissa in [0.5, 1) */
    __m256 small = _mm256_cmp_ps(x, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OS);
    __m256 t = _mm256_and_ps(x, small);
    x = _mm256_sub_ps(x, one);
    e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
    x = _mm256_add_ps(x, t);
    __m256 z = _mm256_mul_ps(x, x), y = _mm256_set1_ps(p[0]);
    for (int i = 1; i < 9; i++)
        y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(p[i]));
    y = _mm256_mul_ps(y, x);
    y = _mm256_fmadd_ps(y, z, _mm256_mul_ps(e, _mm256_set1_ps(-2.12194440e-4f)));
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    x = _mm256_add_ps(x, y);
    return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), x);
}

V8 static void sincos8(__m256 x, __m256 *s, __m256 *c)
{
    __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, _mm256_set1_ps(1.27323954473516f)));
    j = _mm256_and_si256(_mm256_add_epi32(j, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
    __m256 y = _mm256_cvtepi32_ps(j);
    const __m256i four = _mm256_set1_epi32(4), zero = _mm256_setzero_si256();
    __m256 sin_sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(j, four), 29));
    __m256 cos_sign = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_andnot_si256(_mm256_sub_epi32(j, _mm256_set1_epi32(2)), four), 29));
    __m256 sin_poly = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, _mm256_set1_epi32(2)), zero));
    x = _mm256_fmadd_ps(y, _mm256_set1_ps(-0.78515625f), x);
    x = _mm256_fmadd_ps(y, _mm256_set1_ps(-2.4187564849853515625e-4f), x);
    x = _mm256_fmadd_ps(y, _mm256_set1_ps(-3.77489497744594108e-8f), x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 yc = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(2.443315711809948E-005f), z,
                                                _mm256_set1_ps(-1.388731625493765E-003f)),
                                z, _mm256_set1_ps(4.166664568298827E-002f));
    yc = _mm256_mul_ps(yc, z);
    yc = _mm256_fmsub_ps(yc, z, _mm256_mul_ps(z, _mm256_set1_ps(0.5f)));
    yc = _mm256_add_ps(yc, _mm256_set1_ps(1.0f));
    __m256 ys = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(-1.9515295891E-4f), z, _mm256_set1_ps(8.3321608736E-3f)),
                                z, _mm256_set1_ps(-1.6666654611E-1f));
    ys = _mm256_mul_ps(ys, z);
    ys = _mm256_fmadd_ps(ys, x, x);
    *s = _mm256_xor_ps(_mm256_blendv_ps(yc, ys, sin_poly), sin_sign);
    *c = _mm256_xor_ps(_mm256_blendv_ps(ys, yc, sin_poly), cos_sign);
}

V8 static void normal16_avx2(float *d, float mean, float std)
{
    __m256 u1 = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_loadu_ps(d)), u2 = _mm256_loadu_ps(d + 8), s, c;
    __m256 rad = _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), log8(u1)));
    sincos8(_mm256_mul_ps(_mm256_set1_ps((float)(2.0 * M_PI)), u2), &s, &c);
    __m256 sd = _mm256_set1_ps(std), m = _mm256_set1_ps(mean);
    _mm256_storeu_ps(d, _mm256_fmadd_ps(_mm256_mul_ps(rad, c), sd, m));
    _mm256_storeu_ps(d + 8, _mm256_fmadd_ps(_mm256_mul_ps(rad, s), sd, m));
}
#endif

/* td_rng_normal16_f without the AVX2 path: check_ops_cpu compares the two bit for bit */
void td__rng_normal16_scalar(float *d, float mean, float std)
{
    for (int j = 0; j < 8; j++) {
        float rad = sqrtf(-2.0f * cephes_logf(1.0f - d[j])), theta = (float)(2.0 * M_PI) * d[j + 8], s, c;
        cephes_sincosf(theta, &s, &c);
        d[j] = fmaf(rad * c, std, mean);
        d[j + 8] = fmaf(rad * s, std, mean);
    }
}

void td_rng_normal16_f(float *d, float mean, float std)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        normal16_avx2(d, mean, std);
        return;
    }
#endif
    td__rng_normal16_scalar(d, mean, std);
}
