/* dtype.c — dtype tables, promotion lattice and the scalar conversions. */
#include "dtype.h"

#include <math.h>

const char *const td_dtype_names[TD_DTYPE_COUNT] = {
#define X(E, n, c, s, k, t) #n,
    TD_DTYPE_MAP(X)
#undef X
};
const uint8_t td_dtype_sizes[TD_DTYPE_COUNT] = {
#define X(E, n, c, s, k, t) s,
    TD_DTYPE_MAP(X)
#undef X
};
const uint8_t td_dtype_kinds[TD_DTYPE_COUNT] = {
#define X(E, n, c, s, k, t) k,
    TD_DTYPE_MAP(X)
#undef X
};

const char *td_dtype_torch_name(enum td_dtype d)
{
    static const char *const names[TD_DTYPE_COUNT] = {
#define X(E, n, c, s, k, t) #t,
        TD_DTYPE_MAP(X)
#undef X
    };
    return td_dtype_valid(d) ? names[d] : "?";
}

/* Rank within a kind: wider types rank higher. */
static int int_rank(enum td_dtype d)
{
    switch (d) {
    case TD_DTYPE_UINT8: return 0;
    case TD_DTYPE_INT8: return 0;
    case TD_DTYPE_INT16: return 1;
    case TD_DTYPE_INT32: return 2;
    default: return 3; /* INT64 */
    }
}

enum td_dtype td_dtype_to_real(enum td_dtype d)
{
    return d == TD_DTYPE_COMPLEX64 ? TD_DTYPE_FLOAT32 : d == TD_DTYPE_COMPLEX128 ? TD_DTYPE_FLOAT64 : d;
}

enum td_dtype td_dtype_to_complex(enum td_dtype d)
{
    if (d == TD_DTYPE_FLOAT64 || d == TD_DTYPE_COMPLEX128)
        return TD_DTYPE_COMPLEX128;
    return TD_DTYPE_COMPLEX64; /* torch has complex32 for half; tensord widens to complex64 */
}

enum td_dtype td_promote_types(enum td_dtype a, enum td_dtype b)
{
    if (a == b)
        return a;
    int ka = td_dtype_kinds[a], kb = td_dtype_kinds[b];
    if (ka == TD_KIND_COMPLEX || kb == TD_KIND_COMPLEX) {
        /* the complex type whose real part holds both: complex64 + float64 -> complex128 */
        enum td_dtype r = td_promote_types(td_dtype_to_real(a), td_dtype_to_real(b));
        return r == TD_DTYPE_FLOAT64 ? TD_DTYPE_COMPLEX128 : TD_DTYPE_COMPLEX64;
    }
    if (ka != kb)
        return ka > kb ? a : b;
    if (ka == TD_KIND_FLOAT) {
        /* half with bfloat16 has no common 16-bit type */
        if (td_dtype_sizes[a] == 2 && td_dtype_sizes[b] == 2)
            return TD_DTYPE_FLOAT32;
        return td_dtype_sizes[a] >= td_dtype_sizes[b] ? a : b;
    }
    /* integers: uint8 with int8 needs int16 */
    if ((a == TD_DTYPE_UINT8 && b == TD_DTYPE_INT8) || (a == TD_DTYPE_INT8 && b == TD_DTYPE_UINT8))
        return TD_DTYPE_INT16;
    return int_rank(a) >= int_rank(b) ? a : b;
}

bool td_can_cast(enum td_dtype from, enum td_dtype to)
{
    return td_dtype_kinds[from] <= td_dtype_kinds[to];
}

void td_result_type_init(struct td_result_type *r)
{
    r->tier[0] = r->tier[1] = r->tier[2] = -1;
}

void td_result_type_add(struct td_result_type *r, enum td_dtype d, enum td_tier t)
{
    r->tier[t] = (int8_t)(r->tier[t] < 0 ? d : td_promote_types((enum td_dtype)r->tier[t], d));
}

enum td_dtype td_result_type_get(const struct td_result_type *r, enum td_dtype default_float)
{
    int res = -1;
    for (int t = 0; t < 3; t++) {
        enum td_dtype d = (enum td_dtype)r->tier[t];
        if (r->tier[t] < 0)
            continue;
        if (res < 0)
            res = d;
        else if (td_dtype_is_complex(d) && td_dtype_is_float((enum td_dtype)res))
            res = td_dtype_to_complex((enum td_dtype)res); /* float32 tensor + 0-d complex128 -> complex64 */
        else if (td_dtype_kinds[d] > td_dtype_kinds[res])
            res = td_promote_types((enum td_dtype)res, d);
    }
    return res < 0 ? default_float : (enum td_dtype)res;
}

float td_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ffu, u;
    if (exp == 0) {
        /* zero or subnormal: value = man * 2^-24 */
        float f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    if (exp == 31)
        u = sign | 0x7f800000u | (man << 13);
    else
        u = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t td_float_to_half(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00u; /* NaN */
    if (a >= 0x477ff000u)     /* rounds to >= 65520: infinity */
        return sign | 0x7c00u;
    if (a < 0x38800000u) {    /* below the smallest normal half: subnormal or zero */
        float af;
        memcpy(&af, &a, 4);
        return sign | (uint16_t)lrintf(af * 16777216.0f); /* 2^24, round to even */
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - (112u << 23);
    return sign | (uint16_t)(r >> 13);
}

double td_load_f64(enum td_dtype d, const void *p)
{
    switch (d) {
    case TD_DTYPE_FLOAT32: return *(const float *)p;
    case TD_DTYPE_FLOAT64: return *(const double *)p;
    case TD_DTYPE_FLOAT16: return td_half_to_float(*(const uint16_t *)p);
    case TD_DTYPE_BFLOAT16: return td_bf16_to_float(*(const uint16_t *)p);
    case TD_DTYPE_INT64: return (double)*(const int64_t *)p;
    case TD_DTYPE_INT32: return *(const int32_t *)p;
    case TD_DTYPE_INT16: return *(const int16_t *)p;
    case TD_DTYPE_INT8: return *(const int8_t *)p;
    case TD_DTYPE_UINT8: return *(const uint8_t *)p;
    case TD_DTYPE_BOOL: return *(const bool *)p;
    case TD_DTYPE_COMPLEX64: return *(const float *)p;   /* real part */
    case TD_DTYPE_COMPLEX128: return *(const double *)p;
    default: return 0;
    }
}

/* float -> int conversion the way C on x86 does it for in-range values; out of range
 * values are undefined in C, so saturate them instead (PyTorch leaves them unspecified). */
static int64_t f2i(double v)
{
    if (v != v)
        return INT64_MIN;
    if (v >= 9.2233720368547758e18)
        return INT64_MAX;
    if (v <= -9.2233720368547758e18)
        return INT64_MIN;
    return (int64_t)v;
}

int64_t td_load_i64(enum td_dtype d, const void *p)
{
    switch (d) {
    case TD_DTYPE_INT64: return *(const int64_t *)p;
    case TD_DTYPE_INT32: return *(const int32_t *)p;
    case TD_DTYPE_INT16: return *(const int16_t *)p;
    case TD_DTYPE_INT8: return *(const int8_t *)p;
    case TD_DTYPE_UINT8: return *(const uint8_t *)p;
    case TD_DTYPE_BOOL: return *(const bool *)p;
    default: return f2i(td_load_f64(d, p));
    }
}

void td_store_f64(enum td_dtype d, void *p, double v)
{
    switch (d) {
    case TD_DTYPE_FLOAT32: *(float *)p = (float)v; break;
    case TD_DTYPE_FLOAT64: *(double *)p = v; break;
    case TD_DTYPE_FLOAT16: *(uint16_t *)p = td_float_to_half((float)v); break;
    case TD_DTYPE_BFLOAT16: *(uint16_t *)p = td_float_to_bf16((float)v); break;
    case TD_DTYPE_BOOL: *(bool *)p = v != 0; break;
    case TD_DTYPE_COMPLEX64: ((float *)p)[0] = (float)v, ((float *)p)[1] = 0; break;
    case TD_DTYPE_COMPLEX128: ((double *)p)[0] = v, ((double *)p)[1] = 0; break;
    default: td_store_i64(d, p, f2i(v)); break;
    }
}

void td_store_i64(enum td_dtype d, void *p, int64_t v)
{
    switch (d) {
    case TD_DTYPE_INT64: *(int64_t *)p = v; break;
    case TD_DTYPE_INT32: *(int32_t *)p = (int32_t)v; break;
    case TD_DTYPE_INT16: *(int16_t *)p = (int16_t)v; break;
    case TD_DTYPE_INT8: *(int8_t *)p = (int8_t)v; break;
    case TD_DTYPE_UINT8: *(uint8_t *)p = (uint8_t)v; break;
    case TD_DTYPE_BOOL: *(bool *)p = v != 0; break;
    default: td_store_f64(d, p, (double)v); break; /* floating and complex */
    }
}
