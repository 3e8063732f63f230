/*
 * dtype.h — the element types, their sizes and PyTorch's promotion rules.
 *
 * The enum values go over the wire (record attributes, proto): append only.
 * float16 and bfloat16 are stored as raw 16-bit patterns; kernels compute them in
 * float32 (the executor casts), so only the conversions below know their layout.
 * complex64/complex128 are (real, imag) pairs of float/double (C99 _Complex layout);
 * only the ops whose rows carry TD_F_COMPLEX ever see them (the meta layer's gate).
 */
#ifndef TD_DTYPE_H
#define TD_DTYPE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* X(ENUM, name, ctype, size, kind, torch's name) — kind: 0 bool, 1 integer, 2 floating,
 * 3 complex.  proto/gen_ops.py reads this table for the Python package's dtypes. */
#define TD_DTYPE_MAP(X)                                             \
    X(FLOAT32, float32, float, 4, 2, Float)                         \
    X(FLOAT64, float64, double, 8, 2, Double)                       \
    X(FLOAT16, float16, uint16_t, 2, 2, Half)                       \
    X(BFLOAT16, bfloat16, uint16_t, 2, 2, BFloat16)                 \
    X(INT64, int64, int64_t, 8, 1, Long)                            \
    X(INT32, int32, int32_t, 4, 1, Int)                             \
    X(INT16, int16, int16_t, 2, 1, Short)                           \
    X(INT8, int8, int8_t, 1, 1, Char)                               \
    X(UINT8, uint8, uint8_t, 1, 1, Byte)                            \
    X(BOOL, bool, bool, 1, 0, Bool)                                 \
    X(COMPLEX64, complex64, float _Complex, 8, 3, ComplexFloat)     \
    X(COMPLEX128, complex128, double _Complex, 16, 3, ComplexDouble)

enum td_dtype {
#define X(E, n, c, s, k, t) TD_DTYPE_##E,
    TD_DTYPE_MAP(X)
#undef X
    TD_DTYPE_COUNT
};

enum td_dtype_kind { TD_KIND_BOOL = 0, TD_KIND_INT = 1, TD_KIND_FLOAT = 2, TD_KIND_COMPLEX = 3 };

extern const char *const td_dtype_names[TD_DTYPE_COUNT];
extern const uint8_t td_dtype_sizes[TD_DTYPE_COUNT];
extern const uint8_t td_dtype_kinds[TD_DTYPE_COUNT];

static inline bool td_dtype_valid(int64_t d) { return d >= 0 && d < TD_DTYPE_COUNT; }
static inline size_t td_dtype_size(enum td_dtype d) { return td_dtype_sizes[d]; }
static inline bool td_dtype_is_float(enum td_dtype d) { return td_dtype_kinds[d] == TD_KIND_FLOAT; }
static inline bool td_dtype_is_int(enum td_dtype d) { return td_dtype_kinds[d] == TD_KIND_INT; }
static inline bool td_dtype_is_complex(enum td_dtype d) { return td_dtype_kinds[d] == TD_KIND_COMPLEX; }
/* floating or complex: what torch calls "floating point or complex" (true division, mean) */
static inline bool td_dtype_is_inexact(enum td_dtype d) { return td_dtype_kinds[d] >= TD_KIND_FLOAT; }
/* complex64 <-> float32, complex128 <-> float64; other dtypes map to themselves */
enum td_dtype td_dtype_to_real(enum td_dtype d);
/* float32/float16/bfloat16 and integers -> complex64, float64 -> complex128 */
enum td_dtype td_dtype_to_complex(enum td_dtype d);

/* PyTorch's display names for errors: "Float", "Long", "Bool", "ComplexFloat", ... */
const char *td_dtype_torch_name(enum td_dtype d);

/* torch.promote_types. */
enum td_dtype td_promote_types(enum td_dtype a, enum td_dtype b);

/* torch.can_cast(from, to): no casting to a lower kind (float -> int, int -> bool). */
bool td_can_cast(enum td_dtype from, enum td_dtype to);

/*
 * PyTorch's result_type, operand by operand (torch's ResultTypeState): dimensioned
 * tensors outrank 0-d tensors, which outrank Python numbers; a lower tier only counts
 * when its kind (bool < int < float < complex) is higher, and a complex lower tier keeps
 * a float higher tier's precision (float32 tensor + 1j -> complex64).  A number's dtype is
 * what td_scalar_dtype (meta.h) gives it; a Python complex is td_dtype_to_complex of the
 * default float.  Init, add every operand, then get; pure, no allocation.
 */
enum td_tier { TD_TIER_DIM = 0, TD_TIER_ZERO_DIM = 1, TD_TIER_NUMBER = 2 };
struct td_result_type {
    int8_t tier[3]; /* promoted dtype of each tier's operands, -1 while it has none */
};
void td_result_type_init(struct td_result_type *r);
void td_result_type_add(struct td_result_type *r, enum td_dtype d, enum td_tier t);
/* default_float when no operand was added */
enum td_dtype td_result_type_get(const struct td_result_type *r, enum td_dtype default_float);

/* IEEE half and bfloat16 <-> float32 (round to nearest even). */
float td_half_to_float(uint16_t h);
uint16_t td_float_to_half(float f);

static inline float td_bf16_to_float(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t td_float_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN stays a quiet NaN */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Read element i of a contiguous-or-not buffer as double / int64 (slow path helpers).
 * Complex elements load their real part and store (v, 0). */
double td_load_f64(enum td_dtype d, const void *p);
int64_t td_load_i64(enum td_dtype d, const void *p);
void td_store_f64(enum td_dtype d, void *p, double v);
void td_store_i64(enum td_dtype d, void *p, int64_t v);

#endif
