/*
 * math_elem.c — the elementwise math functions on the CPU:
 *   UNARY rows  TAN ... DIGAMMA (float compute dtypes only: the meta rule gave integer
 *               inputs the default float dtype)
 *   MATH_UNARY  FRAC, LOGIT (eps), NAN_TO_NUM, the bool predicates ISNAN ... SIGNBIT
 *   MATH_BINARY ATAN2 HYPOT COPYSIGN XLOGY LOGADDEXP LOGADDEXP2 FMOD (scalar operand
 *               in attrs 0-1 when there is one input, TD_RF_SCALAR_LHS puts it first)
 *   MATH_TERNARY LERP (weight tensor or scalar), ADDCMUL, ADDCDIV (value scalar)
 * Each op is a row of a table of expressions stamped into typed loops over the shared
 * strided iterator (iter.h).  PyTorch's formulas are kept where they differ from the
 * naive one: lerp's two-sided form, logaddexp's infinity case, xlogy(0, y) = 0,
 * digamma/erfinv as in ATen's Math.h (kernels/special_fns.h, shared with the CUDA
 * plugin), integer fmod by zero is INVALID_ARGUMENT.
 * Not here: dtype promotion and shapes (kernels/shape_math.c).
 */
#pragma GCC optimize("O3")
#pragma GCC diagnostic ignored "-Wtype-limits"

#include <math.h>
#include <stdio.h>
#include <tgmath.h>

#include "../special_fns.h"
#include "iter.h"

struct mctx {
    double f[3];  /* LOGIT eps; NAN_TO_NUM nan, posinf, neginf; ADDCMUL/ADDCDIV value */
    int64_t vi;   /* integer value (ADDCMUL) */
    int err;
};

/* lgamma without the global signgam write (a data race across pool threads) */
static inline float lgam_f(float x) { int s; return lgammaf_r(x, &s); }
static inline double lgam_d(double x) { int s; return lgamma_r(x, &s); }
#define LGAM(x) _Generic((x), float: lgam_f, default: lgam_d)(x)

/* ---- stamping: loops over (out, in...) with byte strides s[] */

#define LOAD(T, o) (*(const T *)(p[o] + i * s[o]))

#define LOOP1(fname, TO, T_, EXPR)                                         \
    static void fname(void *ctx, char **p, const int64_t *s, int64_t n)    \
    {                                                                       \
        typedef T_ T;                                                       \
        const struct mctx *c = ctx;                                         \
        (void)c;                                                            \
        for (int64_t i = 0; i < n; i++) {                                   \
            T x = LOAD(T, 1);                                               \
            *(TO *)(p[0] + i * s[0]) = (TO)(EXPR);                          \
        }                                                                   \
    }
#define LOOP2(fname, T_, EXPR)                                             \
    static void fname(void *ctx, char **p, const int64_t *s, int64_t n)    \
    {                                                                       \
        typedef T_ T;                                                       \
        struct mctx *c = ctx;                                               \
        (void)c;                                                            \
        for (int64_t i = 0; i < n; i++) {                                   \
            T x = LOAD(T, 1), y = LOAD(T, 2);                               \
            *(T *)(p[0] + i * s[0]) = (T)(EXPR);                            \
        }                                                                   \
    }
#define LOOP3(fname, T_, EXPR)                                             \
    static void fname(void *ctx, char **p, const int64_t *s, int64_t n)    \
    {                                                                       \
        typedef T_ T;                                                       \
        const struct mctx *c = ctx;                                         \
        (void)c;                                                            \
        for (int64_t i = 0; i < n; i++) {                                   \
            T x = LOAD(T, 1), y = LOAD(T, 2), w = LOAD(T, 3);               \
            *(T *)(p[0] + i * s[0]) = (T)(EXPR);                            \
        }                                                                   \
    }

/* float-only rows: X(name, expr of x) */
#define FUN1(X)                                                        \
    X(tan, tan(x)) X(asin, asin(x)) X(acos, acos(x)) X(atan, atan(x))  \
    X(sinh, sinh(x)) X(cosh, cosh(x)) X(asinh, asinh(x))               \
    X(acosh, acosh(x)) X(atanh, atanh(x)) X(exp2, exp2(x))             \
    X(expm1, expm1(x)) X(log2, log2(x)) X(log10, log10(x))             \
    X(erf, erf(x)) X(erfc, erfc(x)) X(erfinv, td_erfinv(x))             \
    X(lgamma, LGAM(x)) X(digamma, td_digamma(x)) X(frac, x - trunc(x))  \
    X(logit, td_logit(x, c->f[0]))                                     \
    X(nan_to_num, x != x ? c->f[0] : x == INFINITY ? c->f[1] : x == -INFINITY ? c->f[2] : x)

#define GEN_F1(nm, E) LOOP1(nm##_f32, float, float, E) LOOP1(nm##_f64, double, double, E)
FUN1(GEN_F1)

#define F_ENUM(nm, E) F_##nm,
enum { FUN1(F_ENUM) F_COUNT };
#define F_TAB(nm, E) {nm##_f32, nm##_f64},
static const td_loop_fn f1_tab[F_COUNT][2] = {FUN1(F_TAB)};

/* predicates on every compute dtype, evaluated on the value as a double */
#define V ((double)x)
#define PRED(X) X(isnan, isnan(V)) X(isinf, isinf(V)) X(isposinf, V == INFINITY) \
    X(isneginf, V == -INFINITY) X(isfinite, isfinite(V)) X(signbit, signbit(V))

#define ALL_TYPES_COL(nm) {[TD_DTYPE_FLOAT32] = nm##_f32, [TD_DTYPE_FLOAT64] = nm##_f64, \
    [TD_DTYPE_INT64] = nm##_i64, [TD_DTYPE_INT32] = nm##_i32, [TD_DTYPE_INT16] = nm##_i16, \
    [TD_DTYPE_INT8] = nm##_i8, [TD_DTYPE_UINT8] = nm##_u8, [TD_DTYPE_BOOL] = nm##_b}

#define GEN_PRED_T(nm, E)                                                         \
    LOOP1(nm##_f32, bool, float, E) LOOP1(nm##_f64, bool, double, E)              \
    LOOP1(nm##_i64, bool, int64_t, E) LOOP1(nm##_i32, bool, int32_t, E)           \
    LOOP1(nm##_i16, bool, int16_t, E) LOOP1(nm##_i8, bool, int8_t, E)             \
    LOOP1(nm##_u8, bool, uint8_t, E) LOOP1(nm##_b, bool, bool, E)
PRED(GEN_PRED_T)
#define P_ENUM(nm, E) P_##nm,
enum { PRED(P_ENUM) P_COUNT };
#define P_TAB(nm, E) ALL_TYPES_COL(nm),
static const td_loop_fn pred_tab[P_COUNT][TD_DTYPE_COUNT] = {PRED(P_TAB)};

/* identity copies for NAN_TO_NUM on integer/bool inputs */
#define GEN_ID(sfx, DT, T, UT, CL) LOOP1(id_##sfx, T, T, x)
TD_COMPUTE_TYPES(GEN_ID)
static const td_loop_fn id_tab[TD_DTYPE_COUNT] = {
    [TD_DTYPE_FLOAT32] = id_f32, [TD_DTYPE_FLOAT64] = id_f64, [TD_DTYPE_INT64] = id_i64,
    [TD_DTYPE_INT32] = id_i32,   [TD_DTYPE_INT16] = id_i16,   [TD_DTYPE_INT8] = id_i8,
    [TD_DTYPE_UINT8] = id_u8,    [TD_DTYPE_BOOL] = id_b,
};

/* binary float rows: X(name, expr of x, y) */
#define FUN2(X) X(atan2, atan2(x, y)) X(hypot, hypot(x, y)) X(copysign, copysign(x, y))   \
    X(xlogy, (y != y) ? y : x == 0 ? 0 : x * log(y))                                      \
    X(logaddexp, td_logaddexp(x, y, false)) X(logaddexp2, td_logaddexp(x, y, true))          \
    X(fmodr, fmod(x, y))
/* ternary float rows: X(name, expr of x, y, w) */
#define FUN3(X) X(lerp, fabs(w) < 0.5 ? x + w * (y - x) : y - (y - x) * (1 - w))              \
    X(addcmul, w + (T)c->f[0] * x * y) X(addcdiv, w + (T)c->f[0] * (x / y))
#define GEN_F2(nm, E) LOOP2(nm##_f32, float, E) LOOP2(nm##_f64, double, E)
#define GEN_F3(nm, E) LOOP3(nm##_f32, float, E) LOOP3(nm##_f64, double, E)
FUN2(GEN_F2)
FUN3(GEN_F3)
#define F2_ENUM(nm, E) G_##nm,
enum { FUN2(F2_ENUM) FUN3(F2_ENUM) G_COUNT };
#define F2_TAB(nm, E) {nm##_f32, nm##_f64},
static const td_loop_fn f2_tab[G_COUNT][2] = {FUN2(F2_TAB) FUN3(F2_TAB)};

/* integer fmod (C truncation: the dividend's sign) and addcmul (wrapping) */
static inline int64_t ifmod(int64_t a, int64_t b, int *err)
{
    if (b == 0) {
        __atomic_store_n(err, 1, __ATOMIC_RELAXED);
        return 0;
    }
    return b == -1 ? 0 : a % b;
}
#define GEN_I(sfx, T_, UT)                                                              \
    LOOP2(fmodi_##sfx, T_, (T)ifmod(x, y, &c->err))                                     \
    LOOP3(addcmuli_##sfx, T_, (T)((UT)w + (UT)c->vi * (UT)x * (UT)y))
GEN_I(i64, int64_t, uint64_t)
GEN_I(i32, int32_t, uint32_t)
GEN_I(i16, int16_t, uint32_t)
GEN_I(i8, int8_t, uint32_t)
GEN_I(u8, uint8_t, uint32_t)
static const td_loop_fn fmodi_tab[TD_DTYPE_COUNT] = {
    [TD_DTYPE_INT64] = fmodi_i64, [TD_DTYPE_INT32] = fmodi_i32, [TD_DTYPE_INT16] = fmodi_i16,
    [TD_DTYPE_INT8] = fmodi_i8,   [TD_DTYPE_UINT8] = fmodi_u8,
};
static const td_loop_fn addcmuli_tab[TD_DTYPE_COUNT] = {
    [TD_DTYPE_INT64] = addcmuli_i64, [TD_DTYPE_INT32] = addcmuli_i32, [TD_DTYPE_INT16] = addcmuli_i16,
    [TD_DTYPE_INT8] = addcmuli_i8,   [TD_DTYPE_UINT8] = addcmuli_u8,
};

/* ---- drivers */

static int fidx(enum td_dtype dt) { return dt == TD_DTYPE_FLOAT32 ? 0 : dt == TD_DTYPE_FLOAT64 ? 1 : -1; }

static bool valid_compute(struct td_kctx *k)
{
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    if (!td_dtype_valid(dt) || dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16 || k->n_out < 1)
        return false;
    for (int i = 0; i < k->n_in; i++)
        if (k->in[i]->m.dtype != dt)
            return false;
    return true;
}

static enum td_code run(struct td_kt **ops, int nop, td_loop_fn fn, struct mctx *c)
{
    struct td_iter it;
    if (!fn || !td_iter_init_elementwise(&it, nop, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, fn, c);
    return c->err ? TD_CODE_INVALID_ARGUMENT : TD_CODE_OK;
}

static double attr_f64(const int64_t *w)
{
    double v;
    memcpy(&v, w, sizeof v);
    return v;
}

static enum td_code unary_f(struct td_kctx *k, int row)
{
    struct mctx c = {.f = {-1, 0, 0}};
    if (!valid_compute(k) || k->n_in != 1)
        return TD_CODE_INVALID_ARGUMENT;
    int fi = fidx((enum td_dtype)k->compute_dtype);
    if (k->out[0]->m.dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    if (row == F_logit && k->n_attr >= TD_N_LOGIT)
        c.f[0] = k->attrs[TD_A_LOGIT_HAS_EPS] ? attr_f64(&k->attrs[TD_A_LOGIT_EPS]) : -1;
    if (row == F_nan_to_num) {
        static const uint8_t at[3] = {TD_A_NAN_TO_NUM_NAN, TD_A_NAN_TO_NUM_POSINF, TD_A_NAN_TO_NUM_NEGINF};
        if (k->n_attr < TD_N_NAN_TO_NUM)
            return TD_CODE_INVALID_ARGUMENT;
        for (int i = 0; i < 3; i++)
            c.f[i] = attr_f64(&k->attrs[at[i]]);
    }
    td_loop_fn fn = fi >= 0 ? f1_tab[row][fi] : row == F_nan_to_num ? id_tab[k->compute_dtype] : NULL;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    return run(ops, 2, fn, &c);
}

#define UN_KERNEL(nm, E) \
    enum td_code td_cpu_##nm(struct td_kctx *k) { return unary_f(k, F_##nm); }
FUN1(UN_KERNEL)

static enum td_code pred(struct td_kctx *k, int row)
{
    struct mctx c = {.err = 0};
    if (!valid_compute(k) || k->n_in != 1 || k->out[0]->m.dtype != TD_DTYPE_BOOL)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    return run(ops, 2, pred_tab[row][k->compute_dtype], &c);
}

#define PRED_KERNEL(nm, E) \
    enum td_code td_cpu_##nm(struct td_kctx *k) { return pred(k, P_##nm); }
PRED(PRED_KERNEL)

/* The operand slot's scalar (MATH_BINARY's; LERP's alike, op.c) as a 0-d operand of the
 * compute dtype. */
static bool scalar_operand(struct td_kctx *k, struct td_kt *sc, char *buf)
{
    const int64_t *s = k->attrs + TD_A_MATH_BINARY_OPERAND;
    if (k->n_attr < TD_N_MATH_BINARY || !td__scalar_kind_ok(s[0]))
        return false;
    memset(sc, 0, sizeof *sc);
    sc->m.dtype = k->compute_dtype;
    sc->data = buf;
    td__scalar_store((enum td_dtype)k->compute_dtype, buf, s[0], s[1]);
    return true;
}

/* MATH_BINARY: out = f(x, y) */
static enum td_code binary_m(struct td_kctx *k, int row)
{
    struct mctx c = {.err = 0};
    union { double f; int64_t i; char b[8]; } sbuf = {0};
    struct td_kt sc, *ops[4];
    if (!valid_compute(k) || k->out[0]->m.dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    ops[0] = k->out[0];
    if (k->n_in == 2) {
        ops[1] = k->in[0];
        ops[2] = k->in[1];
    } else if (k->n_in == 1 && scalar_operand(k, &sc, sbuf.b)) {
        bool lhs = k->flags & TD_RF_SCALAR_LHS;
        ops[1] = lhs ? &sc : k->in[0];
        ops[2] = lhs ? k->in[0] : &sc;
    } else {
        return TD_CODE_INVALID_ARGUMENT;
    }
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    int fi = fidx(dt);
    td_loop_fn fn = fi >= 0 ? f2_tab[row][fi] : row == G_fmodr ? fmodi_tab[dt] : NULL;
    enum td_code rc = run(ops, 3, fn, &c);
    if (rc && c.err) /* integer fmod by zero */
        return td__kernel_fail(k, rc, "ZeroDivisionError");
    return rc;
}

enum td_code td_cpu_atan2(struct td_kctx *k) { return binary_m(k, G_atan2); }
enum td_code td_cpu_hypot(struct td_kctx *k) { return binary_m(k, G_hypot); }
enum td_code td_cpu_copysign(struct td_kctx *k) { return binary_m(k, G_copysign); }
enum td_code td_cpu_xlogy(struct td_kctx *k) { return binary_m(k, G_xlogy); }
enum td_code td_cpu_logaddexp(struct td_kctx *k) { return binary_m(k, G_logaddexp); }
enum td_code td_cpu_logaddexp2(struct td_kctx *k) { return binary_m(k, G_logaddexp2); }
enum td_code td_cpu_fmod(struct td_kctx *k) { return binary_m(k, G_fmodr); }

enum td_code td_cpu_lerp(struct td_kctx *k)
{
    struct mctx c = {.err = 0};
    union { double f; int64_t i; char b[8]; } sbuf = {0};
    struct td_kt sc;
    if (!valid_compute(k) || k->out[0]->m.dtype != k->compute_dtype || k->n_in < 2)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[4] = {k->out[0], k->in[0], k->in[1], NULL};
    if (k->n_in == 3)
        ops[3] = k->in[2];
    else if (k->n_in == 2 && scalar_operand(k, &sc, sbuf.b))
        ops[3] = &sc;
    else
        return TD_CODE_INVALID_ARGUMENT;
    int fi = fidx((enum td_dtype)k->compute_dtype);
    return run(ops, 4, fi >= 0 ? f2_tab[G_lerp][fi] : NULL, &c);
}

/* ADDCMUL / ADDCDIV: out = input + value * t1 (op) t2; rows read (x, y, w) = (t1, t2, input) */
static enum td_code addc(struct td_kctx *k, int row)
{
    struct mctx c = {.err = 0};
    const int64_t *v = k->attrs + TD_A_ADDCMUL_VALUE; /* ADDCDIV's alike (op.c) */
    if (!valid_compute(k) || k->n_in != 3 || k->n_attr < TD_N_ADDCMUL || !td__scalar_kind_ok(v[0]) ||
        k->out[0]->m.dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    c.f[0] = td__scalar_f64(v[0], v[1]);
    c.vi = v[0] == TD_SCALAR_FLOAT ? (int64_t)c.f[0] : v[1];
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    int fi = fidx(dt);
    td_loop_fn fn = fi >= 0 ? f2_tab[row][fi] : row == G_addcmul ? addcmuli_tab[dt] : NULL;
    struct td_kt *ops[4] = {k->out[0], k->in[1], k->in[2], k->in[0]};
    return run(ops, 4, fn, &c);
}

enum td_code td_cpu_addcmul(struct td_kctx *k) { return addc(k, G_addcmul); }
enum td_code td_cpu_addcdiv(struct td_kctx *k) { return addc(k, G_addcdiv); }
