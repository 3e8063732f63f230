/*
 * binary.c — elementwise binary ops (ADD ... BITWISE_XOR, LSHIFT, RSHIFT) on the CPU.
 *
 * Every op is one row of BIN_ARITH or BIN_CMP below: an expression per dtype kind
 * (float, integer, bool) in terms of x, y (the operands, type T), al (alpha, ADD/SUB)
 * and c (the context, for error reporting).  The rows are stamped into one typed loop
 * per (op, dtype), each with contiguous fast paths (both operands contiguous, or one a
 * broadcast scalar) that the compiler vectorizes, built for several ISAs.
 *
 * Semantics follow PyTorch: integer arithmetic wraps (done in unsigned types, so no
 * UB), DIV has true/trunc/floor modes, REMAINDER takes the divisor's sign, integer
 * division or remainder by zero and integer pow with a negative exponent are
 * INVALID_ARGUMENT, MAXIMUM/MINIMUM propagate NaN.  Comparisons and LOGICAL_* write
 * bool, or the compute dtype when in place (a.eq_(b) keeps a's dtype).
 * Not here: type promotion and broadcasting shapes (kernels/shape.c, the executor).
 */
#pragma GCC optimize("O3")
#pragma GCC diagnostic ignored "-Wtype-limits" /* x < 0 on unsigned T in shared rows */

#include <stdio.h>
#include <tgmath.h>

#include "iter.h"

struct bin_ctx {
    double alpha_f;
    int64_t alpha_i;
    int err; /* set (racily, to 1) by a loop that met an invalid value */
};

static void flag_err(int *err) { __atomic_store_n(err, 1, __ATOMIC_RELAXED); }

/* Integer division and Python-style remainder; b == -1 avoids INT_MIN / -1. */
static inline int64_t idiv(int64_t a, int64_t b, bool floor_mode, int *err)
{
    if (b == 0) {
        flag_err(err);
        return 0;
    }
    if (b == -1)
        return (int64_t)(0 - (uint64_t)a);
    int64_t q = a / b;
    if (floor_mode && a % b != 0 && (a < 0) != (b < 0))
        q--;
    return q;
}

static inline int64_t irem(int64_t a, int64_t b, int *err)
{
    if (b == 0) {
        flag_err(err);
        return 0;
    }
    if (b == -1)
        return 0;
    int64_t r = a % b;
    if (r != 0 && (r < 0) != (b < 0))
        r += b;
    return r;
}

static inline int64_t ipow(int64_t a, int64_t b, int *err)
{
    uint64_t r = 1, base = (uint64_t)a;
    (void)err;
    if (b < 0) /* PyTorch: 1 and -1 keep a magnitude of 1, everything else truncates to 0 */
        return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
    while (b) {
        if (b & 1)
            r *= base;
        base *= base;
        b >>= 1;
    }
    return (int64_t)r;
}

/* Shifts as PyTorch 1.13 computes them on x86: in C's promoted type (int32 for the
 * narrow types, int64 for int64) with the count masked to its width, then truncated. */
static inline int64_t ishl(int64_t a, int64_t b, bool wide)
{
    if (wide)
        return (int64_t)((uint64_t)a << (b & 63));
    return (int32_t)((uint32_t)(int32_t)a << (b & 31));
}

static inline int64_t ishr(int64_t a, int64_t b, bool wide)
{
    if (wide)
        return a >> (b & 63);
    return (int32_t)a >> (b & 31);
}

/* PyTorch's div_floor_floating and remainder for float and double. */
#define FLOAT_HELPERS(T, sfx)                                          \
    static inline T floordiv_##sfx(T a, T b)                           \
    {                                                                  \
        if (b == 0)                                                    \
            return a / b;                                              \
        T mod = fmod(a, b), div = (a - mod) / b, fl;                   \
        if (mod != 0 && (b < 0) != (mod < 0))                          \
            div -= 1;                                                  \
        if (div == 0)                                                  \
            return copysign((T)0, a / b);                              \
        fl = floor(div);                                               \
        return div - fl > (T)0.5 ? fl + 1 : fl;                        \
    }                                                                  \
    static inline T pymod_##sfx(T a, T b)                              \
    {                                                                  \
        T m = fmod(a, b);                                              \
        return (m != 0 && (b < 0) != (m < 0)) ? m + b : m;             \
    }
FLOAT_HELPERS(float, f)
FLOAT_HELPERS(double, d)
#define FLOORDIV(x, y) _Generic((x), float: floordiv_f, default: floordiv_d)(x, y)
#define PYMOD(x, y) _Generic((x), float: pymod_f, default: pymod_d)(x, y)

/* X(name, kinds, float expr, int expr, bool expr); output dtype = compute dtype. */
#define KF 1
#define KI 2
#define KB 4
#define BIN_ARITH(X)                                                                   \
    X(add, KF | KI | KB, x + al * y, (T)((UT)x + al * (UT)y), x || y)                   \
    X(sub, KF | KI, x - al * y, (T)((UT)x - al * (UT)y), 0)                             \
    X(mul, KF | KI | KB, x * y, (T)((UT)x * (UT)y), x && y)                             \
    X(div, KF, x / y, 0, 0)                                                            \
    X(divt, KF | KI, trunc(x / y), (T)idiv(x, y, false, &c->err), 0)                    \
    X(divf, KF | KI, FLOORDIV(x, y), (T)idiv(x, y, true, &c->err), 0)                   \
    X(pow, KF | KI, pow(x, y), (T)ipow(x, y, &c->err), 0)                               \
    X(rem, KF | KI, PYMOD(x, y), (T)irem(x, y, &c->err), 0)                             \
    X(max, KF | KI | KB, (x > y || x != x) ? x : y, x > y ? x : y, x || y)              \
    X(min, KF | KI | KB, (x < y || x != x) ? x : y, x < y ? x : y, x && y)              \
    X(band, KI | KB, 0, (T)(x & y), x && y)                                             \
    X(bor, KI | KB, 0, (T)(x | y), x || y)                                              \
    X(bxor, KI | KB, 0, (T)(x ^ y), x != y)                                             \
    X(shl, KI, 0, (T)ishl(x, y, sizeof(T) == 8), 0)                                      \
    X(shr, KI, 0, (T)ishr(x, y, sizeof(T) == 8), 0)

/* X(name, expr): same expression for every dtype, output bool (or T in place). */
#define BIN_CMP(X)                            \
    X(eq, x == y)                             \
    X(ne, x != y)                             \
    X(lt, x < y)                              \
    X(le, x <= y)                             \
    X(gt, x > y)                              \
    X(ge, x >= y)                             \
    X(land, x != 0 && y != 0)                 \
    X(lor, x != 0 || y != 0)                  \
    X(lxor, (x != 0) != (y != 0))

#define PRE_F const T al = (T)c->alpha_f
#define PRE_I const UT al = (UT)c->alpha_i
#define PRE_B const bool al = c->alpha_i != 0

#define TYPEDEFS(T_, UT_)                  \
    typedef T_ T __attribute__((unused));  \
    typedef UT_ UT __attribute__((unused))

/* One contiguous loop; XA / YA read operand i (a[i], or the hoisted scalar). */
#define BIN_CONTIG(fname, TO_, T_, UT_, CL, PRE, EXPR, XA, YA)                             \
    CL static void fname(TO_ *o, const T_ *a, const T_ *b, int64_t n, struct bin_ctx *c) \
    {                                                                                       \
        TYPEDEFS(T_, UT_);                                                                  \
        PRE;                                                                                \
        const T as = a[0], bs = b[0];                                                       \
        (void)al, (void)as, (void)bs;                                                       \
        for (int64_t i = 0; i < n; i++) {                                                   \
            T x = XA, y = YA;                                                               \
            o[i] = (TO_)(EXPR);                                                             \
        }                                                                                   \
    }

#define BIN_LOOP(name, TO_, T_, UT_, CL, PRE, EXPR)                                        \
    BIN_CONTIG(name##_cc, TO_, T_, UT_, CL, PRE, EXPR, a[i], b[i])                         \
    BIN_CONTIG(name##_cs, TO_, T_, UT_, CL, PRE, EXPR, a[i], bs)                           \
    BIN_CONTIG(name##_sc, TO_, T_, UT_, CL, PRE, EXPR, as, b[i])                           \
    static void name(void *ctx, char **p, const int64_t *s, int64_t n)                     \
    {                                                                                       \
        struct bin_ctx *c = ctx;                                                            \
        TO_ *o = (TO_ *)p[0];                                                               \
        const T_ *a = (const T_ *)p[1], *b = (const T_ *)p[2];                              \
        if (s[0] == sizeof(TO_) && s[1] == sizeof(T_) && s[2] == sizeof(T_))                \
            name##_cc(o, a, b, n, c);                                                       \
        else if (s[0] == sizeof(TO_) && s[1] == sizeof(T_) && s[2] == 0)                    \
            name##_cs(o, a, b, n, c);                                                       \
        else if (s[0] == sizeof(TO_) && s[1] == 0 && s[2] == sizeof(T_))                    \
            name##_sc(o, a, b, n, c);                                                       \
        else {                                                                              \
            TYPEDEFS(T_, UT_);                                                              \
            PRE;                                                                            \
            (void)al;                                                                       \
            for (int64_t i = 0; i < n; i++) {                                               \
                T x = *(const T *)(p[1] + i * s[1]), y = *(const T *)(p[2] + i * s[2]);     \
                *(TO_ *)(p[0] + i * s[0]) = (TO_)(EXPR);                                    \
            }                                                                               \
        }                                                                                   \
    }

#define GEN_ARITH(nm, K, EF, EI, EB)                                          \
    BIN_LOOP(nm##_f32, float, float, uint32_t, TD_CLONES, PRE_F, EF)          \
    BIN_LOOP(nm##_f64, double, double, uint64_t, TD_CLONES, PRE_F, EF)        \
    BIN_LOOP(nm##_i64, int64_t, int64_t, uint64_t, , PRE_I, EI)               \
    BIN_LOOP(nm##_i32, int32_t, int32_t, uint32_t, , PRE_I, EI)               \
    BIN_LOOP(nm##_i16, int16_t, int16_t, uint32_t, , PRE_I, EI)               \
    BIN_LOOP(nm##_i8, int8_t, int8_t, uint32_t, , PRE_I, EI)                  \
    BIN_LOOP(nm##_u8, uint8_t, uint8_t, uint32_t, , PRE_I, EI)                \
    BIN_LOOP(nm##_b, bool, bool, uint32_t, , PRE_B, EB)
BIN_ARITH(GEN_ARITH)

/* comparisons: name##_X writes bool, name##_sX writes T (in place) */
#define GEN_CMP1(nm, T_, UT_, CL, PRE, E)                        \
    BIN_LOOP(nm, bool, T_, UT_, CL, PRE, E)                      \
    BIN_LOOP(nm##s, T_, T_, UT_, , PRE, E)
#define GEN_CMP(nm, E)                                           \
    GEN_CMP1(nm##_f32, float, uint32_t, TD_CLONES, PRE_F, E)     \
    GEN_CMP1(nm##_f64, double, uint64_t, , PRE_F, E)             \
    GEN_CMP1(nm##_i64, int64_t, uint64_t, , PRE_I, E)            \
    GEN_CMP1(nm##_i32, int32_t, uint32_t, , PRE_I, E)            \
    GEN_CMP1(nm##_i16, int16_t, uint32_t, , PRE_I, E)            \
    GEN_CMP1(nm##_i8, int8_t, uint32_t, , PRE_I, E)              \
    GEN_CMP1(nm##_u8, uint8_t, uint32_t, , PRE_I, E)             \
    GEN_CMP1(nm##_b, bool, uint32_t, , PRE_B, E)
BIN_CMP(GEN_CMP)

/* pow by these scalar exponents as torch's CPU kernel computes it (products, sqrt and
 * quotients, not pow()): faster, and torch's values bit for bit */
#define POW_SPECIAL(X)                  \
    X(pow2, 2.0, x * x)                 \
    X(pow3, 3.0, x * x * x)             \
    X(powm2, -2.0, 1 / (x * x))         \
    X(powh, 0.5, sqrt(x))               \
    X(powmh, -0.5, 1 / sqrt(x))         \
    X(powm1, -1.0, 1 / x)
#define GEN_POW(nm, e, E)                                             \
    BIN_LOOP(nm##_f32, float, float, uint32_t, TD_CLONES, PRE_F, E)  \
    BIN_LOOP(nm##_f64, double, double, uint64_t, TD_CLONES, PRE_F, E)
POW_SPECIAL(GEN_POW)

static td_loop_fn pow_special(double e, enum td_dtype dt)
{
#define POW_CASE(nm, ev, E) \
    if (e == ev)            \
        return dt == TD_DTYPE_FLOAT32 ? nm##_f32 : nm##_f64;
    if (dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64) {
        POW_SPECIAL(POW_CASE)
    }
#undef POW_CASE
    return NULL;
}

#define ARITH_ROW(nm, ...) TD_DTYPE_TAB_ROW(nm, )
#define CMP_ROW(nm, E) TD_DTYPE_TAB_ROW(nm, )
#define CMPS_ROW(nm, E) TD_DTYPE_TAB_ROW(nm, s)
#define ARITH_ENUM(nm, ...) B_##nm,
#define CMP_ENUM(nm, E) C_##nm,
#define ARITH_KINDS(nm, K, ...) K,

enum { BIN_ARITH(ARITH_ENUM) B_COUNT };
enum { BIN_CMP(CMP_ENUM) C_COUNT };
static const td_loop_fn arith_tab[B_COUNT][TD_DTYPE_COUNT] = {BIN_ARITH(ARITH_ROW)};
static const uint8_t arith_kinds[B_COUNT] = {BIN_ARITH(ARITH_KINDS)};
static const td_loop_fn cmp_tab[C_COUNT][TD_DTYPE_COUNT] = {BIN_CMP(CMP_ROW)};
static const td_loop_fn cmps_tab[C_COUNT][TD_DTYPE_COUNT] = {BIN_CMP(CMPS_ROW)};

static bool kind_ok(unsigned kinds, enum td_dtype dt)
{
    unsigned bit = td_dtype_is_float(dt) ? KF : dt == TD_DTYPE_BOOL ? KB : KI;
    return kinds & bit;
}

/* Runs one binary op; row indexes arith_tab (cmp false) or cmp_tab (cmp true). */
static enum td_code binary(struct td_kctx *k, int row, bool cmp)
{
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    union {
        double f;
        int64_t i;
        char b[8];
    } sbuf = {0};
    struct td_kt scalar = {.data = sbuf.b}, *ops[3];
    struct bin_ctx c = {.alpha_f = 1, .alpha_i = 1};
    td_loop_fn special = NULL;

    if (!td_dtype_valid(dt) || dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16 || k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    ops[0] = k->out[0];
    if (k->n_in == 2) {
        ops[1] = k->in[0];
        ops[2] = k->in[1];
    } else if (k->n_in == 1 && k->n_attr >= TD_N_BINARY && td__scalar_kind_ok(k->attrs[TD_A_BINARY_OPERAND])) {
        scalar.m.dtype = (uint8_t)dt;
        td__scalar_store(dt, sbuf.b, k->attrs[TD_A_BINARY_OPERAND], k->attrs[TD_A_BINARY_OPERAND + 1]);
        bool lhs = k->flags & TD_RF_SCALAR_LHS;
        ops[1] = lhs ? &scalar : k->in[0];
        ops[2] = lhs ? k->in[0] : &scalar;
        if (row == B_pow && !lhs && !cmp)
            special = pow_special(td__scalar_f64(k->attrs[TD_A_BINARY_OPERAND], k->attrs[TD_A_BINARY_OPERAND + 1]),
                                  dt);
    } else {
        return TD_CODE_INVALID_ARGUMENT;
    }
    if (ops[1]->m.dtype != dt || ops[2]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;

    td_loop_fn fn;
    enum td_dtype odt = (enum td_dtype)ops[0]->m.dtype;
    if (cmp) {
        fn = odt == TD_DTYPE_BOOL ? cmp_tab[row][dt] : odt == dt ? cmps_tab[row][dt] : NULL;
    } else {
        fn = odt == dt && kind_ok(arith_kinds[row], dt) ? arith_tab[row][dt] : NULL;
        if ((row == B_add || row == B_sub) && k->n_attr >= TD_N_ADD) { /* SUB's alpha alike (op.c) */
            const int64_t *alpha = k->attrs + TD_A_ADD_ALPHA;
            if (!td__scalar_kind_ok(alpha[0]))
                return TD_CODE_INVALID_ARGUMENT;
            c.alpha_f = td__scalar_f64(alpha[0], alpha[1]);
            c.alpha_i = alpha[0] == TD_SCALAR_FLOAT ? (int64_t)c.alpha_f : alpha[1];
        }
    }
    if (!fn)
        return TD_CODE_INVALID_ARGUMENT;
    if (special)
        fn = special;

    struct td_iter it;
    if (!td_iter_init_elementwise(&it, 3, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, fn, &c);
    if (c.err) /* only integer division / remainder by zero flag it */
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "ZeroDivisionError");
    return TD_CODE_OK;
}

enum td_code td_cpu_add(struct td_kctx *k) { return binary(k, B_add, false); }
enum td_code td_cpu_sub(struct td_kctx *k) { return binary(k, B_sub, false); }
enum td_code td_cpu_mul(struct td_kctx *k) { return binary(k, B_mul, false); }
enum td_code td_cpu_pow(struct td_kctx *k) { return binary(k, B_pow, false); }
enum td_code td_cpu_remainder(struct td_kctx *k) { return binary(k, B_rem, false); }
enum td_code td_cpu_maximum(struct td_kctx *k) { return binary(k, B_max, false); }
enum td_code td_cpu_minimum(struct td_kctx *k) { return binary(k, B_min, false); }
enum td_code td_cpu_bitwise_and(struct td_kctx *k) { return binary(k, B_band, false); }
enum td_code td_cpu_lshift(struct td_kctx *k) { return binary(k, B_shl, false); }
enum td_code td_cpu_rshift(struct td_kctx *k) { return binary(k, B_shr, false); }
enum td_code td_cpu_bitwise_or(struct td_kctx *k) { return binary(k, B_bor, false); }
enum td_code td_cpu_bitwise_xor(struct td_kctx *k) { return binary(k, B_bxor, false); }

enum td_code td_cpu_div(struct td_kctx *k)
{
    int64_t mode = k->n_attr >= TD_N_DIV ? k->attrs[TD_A_DIV_ROUNDING_MODE] : TD_ROUND_NONE;
    switch (mode) {
    case TD_ROUND_NONE: return binary(k, B_div, false);
    case TD_ROUND_TRUNC: return binary(k, B_divt, false);
    case TD_ROUND_FLOOR: return binary(k, B_divf, false);
    default: return TD_CODE_INVALID_ARGUMENT;
    }
}

enum td_code td_cpu_eq(struct td_kctx *k) { return binary(k, C_eq, true); }
enum td_code td_cpu_ne(struct td_kctx *k) { return binary(k, C_ne, true); }
enum td_code td_cpu_lt(struct td_kctx *k) { return binary(k, C_lt, true); }
enum td_code td_cpu_le(struct td_kctx *k) { return binary(k, C_le, true); }
enum td_code td_cpu_gt(struct td_kctx *k) { return binary(k, C_gt, true); }
enum td_code td_cpu_ge(struct td_kctx *k) { return binary(k, C_ge, true); }
enum td_code td_cpu_logical_and(struct td_kctx *k) { return binary(k, C_land, true); }
enum td_code td_cpu_logical_or(struct td_kctx *k) { return binary(k, C_lor, true); }
enum td_code td_cpu_logical_xor(struct td_kctx *k) { return binary(k, C_lxor, true); }
