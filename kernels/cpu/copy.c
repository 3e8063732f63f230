/*
 * copy.c — moving and converting elements: CAST, CLONE, COPY_, FILL_, plus WHERE and
 * CLAMP, and the internal td__copy / td__fill that CAT and CREATE reuse.
 *
 * Conversions handle all ten dtypes (float16/bfloat16 included) through a small
 * typed buffer: each source dtype loads a chunk into its natural wide type (double
 * for floating, int64 for integers and bool) and each destination dtype stores from
 * either.  That is 30 small loops instead of 100 pairwise ones, and the only
 * double-rounding is int64 -> float, which never passes through double.
 * Float -> integer conversion of NaN and out-of-range values follows PyTorch on x86.
 * Complex sources load their real part (the client warns, as torch does, that the
 * imaginary part is discarded) and real sources store (v, 0); complex64 <-> complex128
 * converts both parts.  Same-dtype copies only move bytes (memcpy on contiguous runs),
 * by element size 1, 2, 4, 8 or 16 (complex128), as do FILL_ and WHERE.
 */
#pragma GCC optimize("O3")

#include <math.h>

#include "iter.h"

#define CHUNK 256

/* Float -> integer as PyTorch gets it on x86 (cvttsd2si): NaN and out-of-range values
 * become the "integer indefinite" INT64_MIN / INT32_MIN; the narrower types truncate
 * the 32-bit result (so NaN -> 0 in int16, int8 and uint8), as static_cast does there. */
static inline int64_t cvt_i64(double v)
{
    return v >= -9.2233720368547758e18 && v < 9.2233720368547758e18 ? (int64_t)v : INT64_MIN;
}

static inline int32_t cvt_i32(double v)
{
    return v > -2147483649.0 && v < 2147483648.0 ? (int32_t)v : INT32_MIN;
}

/* X(sfx, DT, CT, TMP, load expr of s, store expr of double v, store expr of int64 v) */
#define CONV_TYPES(X)                                                                          \
    X(f32, FLOAT32, float, double, (double)s, (float)v, (float)v)                              \
    X(f64, FLOAT64, double, double, s, v, (double)v)                                           \
    X(f16, FLOAT16, uint16_t, double, (double)td_half_to_float(s), td_float_to_half((float)v), \
      td_float_to_half((float)v))                                                              \
    X(bf16, BFLOAT16, uint16_t, double, (double)td_bf16_to_float(s),                           \
      td_float_to_bf16((float)v), td_float_to_bf16((float)v))                                  \
    X(i64, INT64, int64_t, int64_t, (int64_t)s, cvt_i64(v), v)                                 \
    X(i32, INT32, int32_t, int64_t, (int64_t)s, cvt_i32(v), (int32_t)v)                        \
    X(i16, INT16, int16_t, int64_t, (int64_t)s, (int16_t)cvt_i32(v), (int16_t)v)               \
    X(i8, INT8, int8_t, int64_t, (int64_t)s, (int8_t)cvt_i32(v), (int8_t)v)                    \
    X(u8, UINT8, uint8_t, int64_t, (int64_t)s, (uint8_t)cvt_i32(v), (uint8_t)v)                \
    X(b, BOOL, bool, int64_t, (int64_t)s, v != 0, v != 0)

/* A strided loop with a contiguous twin the compiler can vectorize. */
#define STRIDED(CT, stride, BODY)                                   \
    do {                                                            \
        if ((stride) == (int64_t)sizeof(CT)) {                      \
            for (int64_t i = 0; i < n; i++) {                       \
                const int64_t off = i * (int64_t)sizeof(CT);        \
                BODY;                                               \
            }                                                       \
        } else {                                                    \
            for (int64_t i = 0; i < n; i++) {                       \
                const int64_t off = i * (stride);                   \
                BODY;                                               \
            }                                                       \
        }                                                           \
    } while (0)

#define GEN_CONV(sfx, DT, CT, TMP, LD, SD, SI)                                           \
    static void load_##sfx(void *tmp_, const char *p, int64_t ps, int64_t n)             \
    {                                                                                    \
        TMP *tmp = tmp_;                                                                 \
        STRIDED(CT, ps, CT s = *(const CT *)(p + off); tmp[i] = LD);                     \
    }                                                                                    \
    static void stored_##sfx(char *p, int64_t ps, const double *tmp, int64_t n)          \
    {                                                                                    \
        STRIDED(CT, ps, double v = tmp[i]; *(CT *)(p + off) = SD);                       \
    }                                                                                    \
    static void storei_##sfx(char *p, int64_t ps, const int64_t *tmp, int64_t n)         \
    {                                                                                    \
        STRIDED(CT, ps, int64_t v = tmp[i]; *(CT *)(p + off) = SI);                      \
    }
CONV_TYPES(GEN_CONV)

/* complex elements: (re, im) of RT; loads give the real part, stores write (v, 0) */
#define GEN_CONV_COMPLEX(sfx, RT)                                                        \
    static void load_##sfx(void *tmp_, const char *p, int64_t ps, int64_t n)             \
    {                                                                                    \
        double *tmp = tmp_;                                                              \
        for (int64_t i = 0; i < n; i++)                                                  \
            tmp[i] = (double)*(const RT *)(p + i * ps);                                  \
    }                                                                                    \
    static void stored_##sfx(char *p, int64_t ps, const double *tmp, int64_t n)          \
    {                                                                                    \
        for (int64_t i = 0; i < n; i++) {                                                \
            RT *o = (RT *)(p + i * ps);                                                  \
            o[0] = (RT)tmp[i], o[1] = 0;                                                 \
        }                                                                                \
    }                                                                                    \
    static void storei_##sfx(char *p, int64_t ps, const int64_t *tmp, int64_t n)         \
    {                                                                                    \
        for (int64_t i = 0; i < n; i++) {                                                \
            RT *o = (RT *)(p + i * ps);                                                  \
            o[0] = (RT)tmp[i], o[1] = 0;                                                 \
        }                                                                                \
    }
GEN_CONV_COMPLEX(c64, float)
GEN_CONV_COMPLEX(c128, double)

typedef void (*load_fn)(void *tmp, const char *p, int64_t ps, int64_t n);
typedef void (*stored_fn)(char *p, int64_t ps, const double *tmp, int64_t n);
typedef void (*storei_fn)(char *p, int64_t ps, const int64_t *tmp, int64_t n);
#define LOAD_ENTRY(sfx, DT, ...) [TD_DTYPE_##DT] = load_##sfx,
#define STORED_ENTRY(sfx, DT, ...) [TD_DTYPE_##DT] = stored_##sfx,
#define STOREI_ENTRY(sfx, DT, ...) [TD_DTYPE_##DT] = storei_##sfx,
#define COMPLEX_ENTRIES(kind) [TD_DTYPE_COMPLEX64] = kind##_c64, [TD_DTYPE_COMPLEX128] = kind##_c128,
static const load_fn load_tab[TD_DTYPE_COUNT] = {CONV_TYPES(LOAD_ENTRY) COMPLEX_ENTRIES(load)};
static const stored_fn stored_tab[TD_DTYPE_COUNT] = {CONV_TYPES(STORED_ENTRY) COMPLEX_ENTRIES(stored)};
static const storei_fn storei_tab[TD_DTYPE_COUNT] = {CONV_TYPES(STOREI_ENTRY) COMPLEX_ENTRIES(storei)};

/* complex64 <-> complex128: both parts converted */
static void conv_complex(void *ctx, char **p, const int64_t *s, int64_t n)
{
    const bool widen = *(const enum td_dtype *)ctx == TD_DTYPE_COMPLEX128;
    for (int64_t i = 0; i < n; i++) {
        char *o = p[0] + i * s[0];
        const char *x = p[1] + i * s[1];
        if (widen)
            ((double *)o)[0] = ((const float *)x)[0], ((double *)o)[1] = ((const float *)x)[1];
        else
            ((float *)o)[0] = (float)((const double *)x)[0], ((float *)o)[1] = (float)((const double *)x)[1];
    }
}

struct conv_ctx {
    enum td_dtype dst, src;
};

/* float32 <-> float16 over contiguous runs with the F16C instructions, eight at a time
 * (and float32 -> bfloat16 with AVX2 integer ops)
 * (every float16 op on the CPU pays these two casts around its float32 kernel).  The
 * bits are the scalar conversions' (kernels/dtype.c): vcvtps2ph rounds to nearest even
 * as td_float_to_half does, vcvtph2ps is exact; only NaN lanes differ, so they are
 * rewritten: float32 -> float16 gives the canonical sign | 0x7e00, float16 -> float32
 * keeps the payload unquieted (sign | 0x7f800000 | mantissa << 13). */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(TD_NO_CLONES)
#include <immintrin.h>
#define HAVE_F16C_PATH 1

__attribute__((target("avx2,f16c"))) static void f32_to_f16_run(uint16_t *o, const float *a, int64_t n)
{
    int64_t i = 0;
    const __m128i sign = _mm_set1_epi16((short)0x8000), qnan = _mm_set1_epi16(0x7e00);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(a + i);
        __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
        __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
        __m128i nan16 = _mm_packs_epi32(_mm256_castsi256_si128(nan), _mm256_extracti128_si256(nan, 1));
        h = _mm_blendv_epi8(h, _mm_or_si128(_mm_and_si128(h, sign), qnan), nan16);
        _mm_storeu_si128((__m128i *)(o + i), h);
    }
    for (; i < n; i++)
        o[i] = td_float_to_half(a[i]);
}

__attribute__((target("avx2,f16c"))) static void f16_to_f32_run(float *o, const uint16_t *a, int64_t n)
{
    int64_t i = 0;
    const __m256i expo = _mm256_set1_epi32(0x7c00), man = _mm256_set1_epi32(0x3ff);
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(a + i));
        __m256 f = _mm256_cvtph_ps(h);
        __m256i w = _mm256_cvtepu16_epi32(h);
        __m256i nan = _mm256_andnot_si256(_mm256_cmpeq_epi32(_mm256_and_si256(w, man), _mm256_setzero_si256()),
                                          _mm256_cmpeq_epi32(_mm256_and_si256(w, expo), expo));
        __m256i raw = _mm256_or_si256(_mm256_or_si256(_mm256_slli_epi32(_mm256_srli_epi32(w, 15), 31),
                                                      _mm256_set1_epi32(0x7f800000)),
                                      _mm256_slli_epi32(_mm256_and_si256(w, man), 13));
        f = _mm256_blendv_ps(f, _mm256_castsi256_ps(raw), _mm256_castsi256_ps(nan));
        _mm256_storeu_ps(o + i, f);
    }
    for (; i < n; i++)
        o[i] = td_half_to_float(a[i]);
}

/* float32 -> bfloat16: td_float_to_bf16's integer rounding (to nearest even; a NaN keeps
 * its top bits, quieted), eight lanes at a time */
__attribute__((target("avx2"))) static void f32_to_bf16_run(uint16_t *o, const float *a, int64_t n)
{
    int64_t i = 0;
    const __m256i abs = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i half = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x40);
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
        __m256i r = _mm256_srli_epi32(
            _mm256_add_epi32(_mm256_add_epi32(u, half), _mm256_and_si256(_mm256_srli_epi32(u, 16), one)), 16);
        r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(u, 16), quiet), nan);
        /* the low halves of the eight lanes, in order */
        __m128i lo = _mm256_castsi256_si128(r), hi = _mm256_extracti128_si256(r, 1);
        _mm_storeu_si128((__m128i *)(o + i), _mm_packus_epi32(lo, hi));
    }
    for (; i < n; i++)
        o[i] = td_float_to_bf16(a[i]);
}

static bool have_f16c(void)
{
    static int v = -1; /* the answer does not change: a race only repeats the query */
    if (v < 0)
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    return v;
}
#endif

static void conv_loop(void *ctx, char **p, const int64_t *s, int64_t n)
{
    const struct conv_ctx *c = ctx;
#ifdef HAVE_F16C_PATH
    if (c->src == TD_DTYPE_FLOAT32 && c->dst == TD_DTYPE_FLOAT16 && s[1] == 4 && s[0] == 2 && have_f16c()) {
        f32_to_f16_run((uint16_t *)p[0], (const float *)p[1], n);
        return;
    }
    if (c->src == TD_DTYPE_FLOAT16 && c->dst == TD_DTYPE_FLOAT32 && s[1] == 2 && s[0] == 4 && have_f16c()) {
        f16_to_f32_run((float *)p[0], (const uint16_t *)p[1], n);
        return;
    }
    if (c->src == TD_DTYPE_FLOAT32 && c->dst == TD_DTYPE_BFLOAT16 && s[1] == 4 && s[0] == 2 && have_f16c()) {
        f32_to_bf16_run((uint16_t *)p[0], (const float *)p[1], n);
        return;
    }
#endif
    union {
        double d[CHUNK];
        int64_t i[CHUNK];
    } tmp;
    bool via_double = td_dtype_is_inexact(c->src);
    for (int64_t done = 0; done < n; done += CHUNK) {
        int64_t m = n - done < CHUNK ? n - done : CHUNK;
        load_tab[c->src](&tmp, p[1] + done * s[1], s[1], m);
        if (via_double)
            stored_tab[c->dst](p[0] + done * s[0], s[0], tmp.d, m);
        else
            storei_tab[c->dst](p[0] + done * s[0], s[0], tmp.i, m);
    }
}

/* Same-dtype copies by element size: only bytes move. */
#define GEN_MOVE(W)                                                                     \
    static void move_##W(void *ctx, char **p, const int64_t *s, int64_t n)             \
    {                                                                                   \
        if (s[0] == W / 8 && s[1] == W / 8) {                                           \
            memcpy(p[0], p[1], (size_t)n * (W / 8));                                    \
            return;                                                                     \
        }                                                                               \
        for (int64_t i = 0; i < n; i++)                                                 \
            *(uint##W##_t *)(p[0] + i * s[0]) = *(const uint##W##_t *)(p[1] + i * s[1]); \
    }                                                                                   \
    static void fill_##W(void *ctx, char **p, const int64_t *s, int64_t n)             \
    {                                                                                   \
        const uint##W##_t v = *(const uint##W##_t *)ctx;                                \
        STRIDED(uint##W##_t, s[0], *(uint##W##_t *)(p[0] + off) = v);                   \
    }
GEN_MOVE(8)
GEN_MOVE(16)
GEN_MOVE(32)
GEN_MOVE(64)

/* 16-byte elements (complex128): memcpy, which never assumes 16-byte alignment */
static void move_128(void *ctx, char **p, const int64_t *s, int64_t n)
{
    (void)ctx;
    if (s[0] == 16 && s[1] == 16) {
        memcpy(p[0], p[1], (size_t)n * 16);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        memcpy(p[0] + i * s[0], p[1] + i * s[1], 16);
}

static void fill_128(void *ctx, char **p, const int64_t *s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        memcpy(p[0] + i * s[0], ctx, 16);
}

static td_loop_fn by_size(size_t size, td_loop_fn f8, td_loop_fn f16, td_loop_fn f32,
                          td_loop_fn f64, td_loop_fn f128)
{
    switch (size) {
    case 1: return f8;
    case 2: return f16;
    case 4: return f32;
    case 16: return f128;
    default: return f64;
    }
}

enum td_code td__copy(struct td_kt *dst, struct td_kt *src)
{
    struct td_kt *ops[2] = {dst, src};
    struct conv_ctx c = {(enum td_dtype)dst->m.dtype, (enum td_dtype)src->m.dtype};
    struct td_iter it;
    if (!td_dtype_valid(c.dst) || !td_dtype_valid(c.src) || !td_iter_init_elementwise(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    if (c.dst == c.src)
        td_iter_run(&it, by_size(td_dtype_size(c.dst), move_8, move_16, move_32, move_64, move_128), NULL);
    else if (td_dtype_is_complex(c.dst) && td_dtype_is_complex(c.src))
        td_iter_run(&it, conv_complex, &c.dst);
    else
        td_iter_run(&it, conv_loop, &c);
    return TD_CODE_OK;
}

void td__fill(struct td_kt *t, const void *elem)
{
    struct td_iter it;
    union {
        uint64_t u[2];
        char b[16];
    } v = {{0}};
    size_t size = td_dtype_size((enum td_dtype)t->m.dtype);
    memcpy(v.b, elem, size);
    if (!td_iter_init_elementwise(&it, 1, &t))
        return;
    td_iter_run(&it, by_size(size, fill_8, fill_16, fill_32, fill_64, fill_128), v.b);
}

enum td_code td_cpu_cast(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_N_CAST || k->attrs[TD_A_CAST_DTYPE] != k->out[0]->m.dtype)
        return TD_CODE_INVALID_ARGUMENT;
    return td__copy(k->out[0], k->in[0]);
}

enum td_code td_cpu_clone(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    return td__copy(k->out[0], k->in[0]);
}

/* copy_(dst, src): writes through input 0, whatever its strides. */
enum td_code td_cpu_copy_(struct td_kctx *k)
{
    if (k->n_in != 2)
        return TD_CODE_INVALID_ARGUMENT;
    return td__copy(k->in[0], k->in[1]);
}

enum td_code td_cpu_fill_(struct td_kctx *k)
{
    char elem[16];
    const int64_t *v = k->attrs + TD_A_FILL__VALUE;
    if (k->n_in != 1 || k->n_attr < TD_N_FILL_ || !td__scalar_kind_ok(v[0]) || !td_dtype_valid(k->in[0]->m.dtype))
        return TD_CODE_INVALID_ARGUMENT;
    td__scalar_store((enum td_dtype)k->in[0]->m.dtype, elem, v[0], v[1]);
    td__fill(k->in[0], elem);
    return TD_CODE_OK;
}

/* ---- WHERE: only element sizes matter to a select.  Contiguous runs, with either
 * choice a broadcast scalar or not, select by masks so the loop vectorizes (GCC does
 * not vectorize a ?: on a bool). */
#define WHERE_RUN(n, o, c, A, B)                  \
    for (int64_t i = 0; i < n; i++) {             \
        T m_ = (T)0 - (T)(c[i] != 0);             \
        o[i] = (T)((A & m_) | (B & (T)~m_));      \
    }
#define GEN_WHERE(W)                                                                   \
    TD_CLONES static void where_##W(void *ctx, char **p, const int64_t *s, int64_t n) \
    {                                                                                  \
        typedef uint##W##_t T;                                                         \
        if (s[0] == W / 8 && s[1] == 1 && (s[2] == W / 8 || s[2] == 0) &&              \
            (s[3] == W / 8 || s[3] == 0)) {                                            \
            T *o = (T *)p[0];                                                          \
            const uint8_t *c = (const uint8_t *)p[1]; /* any nonzero byte is true */ \
            const T *a = (const T *)p[2], *b = (const T *)p[3];                        \
            if (s[2] && s[3])                                                          \
                WHERE_RUN(n, o, c, a[i], b[i])                                         \
            else if (s[2])                                                             \
                WHERE_RUN(n, o, c, a[i], *b)                                           \
            else if (s[3])                                                             \
                WHERE_RUN(n, o, c, *a, b[i])                                           \
            else                                                                       \
                WHERE_RUN(n, o, c, *a, *b)                                             \
            return;                                                                    \
        }                                                                              \
        for (int64_t i = 0; i < n; i++)                                                \
            *(T *)(p[0] + i * s[0]) = *(const uint8_t *)(p[1] + i * s[1])              \
                                          ? *(const T *)(p[2] + i * s[2])              \
                                          : *(const T *)(p[3] + i * s[3]);             \
    }
GEN_WHERE(8)
GEN_WHERE(16)
GEN_WHERE(32)
GEN_WHERE(64)

static void where_128(void *ctx, char **p, const int64_t *s, int64_t n)
{
    (void)ctx;
    for (int64_t i = 0; i < n; i++)
        memcpy(p[0] + i * s[0], *(const bool *)(p[1] + i * s[1]) ? p[2] + i * s[2] : p[3] + i * s[3], 16);
}

enum td_code td_cpu_where(struct td_kctx *k)
{
    if (k->n_in != 3 || k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[4] = {k->out[0], k->in[0], k->in[1], k->in[2]};
    uint8_t dt = k->out[0]->m.dtype;
    if (!td_dtype_valid(dt) || ops[1]->m.dtype != TD_DTYPE_BOOL || ops[2]->m.dtype != dt ||
        ops[3]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_iter it;
    if (!td_iter_init_elementwise(&it, 4, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, by_size(td_dtype_size(dt), where_8, where_16, where_32, where_64, where_128), NULL);
    return TD_CODE_OK;
}

/* ---- CLAMP: min(max(x, lo), hi) with NaN kept; either bound may be absent */
struct clamp_ctx {
    bool has_lo, has_hi;
    union {
        double f64;
        float f32;
        int64_t i64;
        int32_t i32;
        int16_t i16;
        int8_t i8;
        uint8_t u8;
        bool b;
    } lo, hi;
};

#define GEN_CLAMP(sfx, DT, T, UT, CL)                                                 \
    CL static void clamp_##sfx##_c(T *o, const T *a, int64_t n, T lo, T hi, bool hl,  \
                                   bool hh)                                           \
    {                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                             \
            T y = a[i];                                                               \
            y = hl && y < lo ? lo : y;                                                \
            o[i] = hh && y > hi ? hi : y;                                             \
        }                                                                             \
    }                                                                                 \
    static void clamp_##sfx(void *ctx, char **p, const int64_t *s, int64_t n)        \
    {                                                                                 \
        const struct clamp_ctx *c = ctx;                                              \
        T lo = c->lo.sfx, hi = c->hi.sfx;                                             \
        if (s[0] == sizeof(T) && s[1] == sizeof(T)) {                                 \
            clamp_##sfx##_c((T *)p[0], (const T *)p[1], n, lo, hi, c->has_lo,         \
                            c->has_hi);                                               \
            return;                                                                   \
        }                                                                             \
        for (int64_t i = 0; i < n; i++) {                                             \
            T y = *(const T *)(p[1] + i * s[1]);                                      \
            y = c->has_lo && y < lo ? lo : y;                                         \
            *(T *)(p[0] + i * s[0]) = c->has_hi && y > hi ? hi : y;                   \
        }                                                                             \
    }
TD_COMPUTE_TYPES(GEN_CLAMP)
#define CLAMP_ENTRY(sfx, DT, ...) [TD_DTYPE_##DT] = clamp_##sfx,
static const td_loop_fn clamp_tab[TD_DTYPE_COUNT] = {TD_COMPUTE_TYPES(CLAMP_ENTRY)};

enum td_code td_cpu_clamp(struct td_kctx *k)
{
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    struct clamp_ctx c = {0};
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_N_CLAMP || !td_dtype_valid(dt) || !clamp_tab[dt] ||
        k->in[0]->m.dtype != dt || k->out[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    const int64_t *lo = k->attrs + TD_A_CLAMP_MIN, *hi = k->attrs + TD_A_CLAMP_MAX;
    c.has_lo = k->attrs[TD_A_CLAMP_HAS_MIN] != 0;
    c.has_hi = k->attrs[TD_A_CLAMP_HAS_MAX] != 0;
    if ((c.has_lo && !td__scalar_kind_ok(lo[0])) || (c.has_hi && !td__scalar_kind_ok(hi[0])))
        return TD_CODE_INVALID_ARGUMENT;
    if (c.has_lo)
        td__scalar_store(dt, &c.lo, lo[0], lo[1]);
    if (c.has_hi)
        td__scalar_store(dt, &c.hi, hi[0], hi[1]);
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    struct td_iter it;
    if (!td_iter_init_elementwise(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, clamp_tab[dt], &c);
    return TD_CODE_OK;
}
