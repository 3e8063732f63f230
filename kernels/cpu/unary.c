/*
 * unary.c — elementwise unary ops (NEG ... BITWISE_NOT) on the CPU.
 *
 * Each op is a row of UN_OPS: the dtype kinds it accepts and one expression per kind
 * (float, integer, bool) of x (type T).  Rows are stamped into a typed loop per
 * (op, dtype) with a contiguous fast path built for several ISAs.  Output dtype is the
 * compute dtype (the executor already gave transcendental ops float inputs), except
 * LOGICAL_NOT, which writes bool (or the input dtype when in place).
 *
 * PyTorch details kept: ROUND is half-to-even (nearbyint), SIGN(NaN) is 0, RELU keeps
 * NaN and -0.0, integer NEG/ABS wrap (abs(INT8_MIN) stays INT8_MIN), rounding ops are
 * identities on integers.
 */
#pragma GCC optimize("O3")
#pragma GCC diagnostic ignored "-Wtype-limits" /* x < 0 on unsigned T in shared rows */
#pragma GCC diagnostic ignored "-Wsign-compare" /* ~x stamped into the unused bool-out variants */

#include <tgmath.h>

#include "iter.h"

#define KF 1
#define KI 2
#define KB 4
/* X(name, kinds, float expr, int expr, bool expr) */
#define UN_OPS(X)                                                                  \
    X(neg, KF | KI, -x, (T)(0 - (UT)x), x)                                         \
    X(abs, KF | KI | KB, fabs(x), x < 0 ? (T)(0 - (UT)x) : x, x)                   \
    X(exp, KF, exp(x), 0, 0)                                                       \
    X(log, KF, log(x), 0, 0)                                                       \
    X(log1p, KF, log1p(x), 0, 0)                                                   \
    X(sqrt, KF, sqrt(x), 0, 0)                                                     \
    X(rsqrt, KF, 1 / sqrt(x), 0, 0)                                                \
    X(sin, KF, sin(x), 0, 0)                                                       \
    X(cos, KF, cos(x), 0, 0)                                                       \
    X(tanh, KF, tanh(x), 0, 0)                                                     \
    X(sigmoid, KF, 1 / (1 + exp(-x)), 0, 0)                                        \
    X(relu, KF | KI | KB, x < 0 ? 0 : x, x < 0 ? 0 : x, x)                         \
    X(floor, KF | KI | KB, floor(x), x, x)                                         \
    X(ceil, KF | KI | KB, ceil(x), x, x)                                           \
    X(round, KF | KI | KB, nearbyint(x), x, x)                                     \
    X(trunc, KF | KI | KB, trunc(x), x, x)                                         \
    X(sign, KF | KI | KB, (T)((x > 0) - (x < 0)), (T)((x > 0) - (x < 0)), x)       \
    X(reciprocal, KF, 1 / x, 0, 0)                                                 \
    X(bitwise_not, KI | KB, 0, (T)(~(UT)x), !x)                                          \
    X(logical_not, KF | KI | KB, x == 0, x == 0, !x)

#define TYPEDEFS(T_, UT_)                  \
    typedef T_ T __attribute__((unused));  \
    typedef UT_ UT __attribute__((unused))

#define UN_LOOP(name, TO_, T_, UT_, CL, EXPR)                                    \
    CL static void name##_c(TO_ *o, const T_ *a, int64_t n)                      \
    {                                                                             \
        TYPEDEFS(T_, UT_);                                                        \
        for (int64_t i = 0; i < n; i++) {                                         \
            T x = a[i];                                                           \
            o[i] = (TO_)(EXPR);                                                   \
        }                                                                         \
    }                                                                             \
    static void name(void *ctx, char **p, const int64_t *s, int64_t n)           \
    {                                                                             \
        TYPEDEFS(T_, UT_);                                                        \
        if (s[0] == sizeof(TO_) && s[1] == sizeof(T_)) {                          \
            name##_c((TO_ *)p[0], (const T_ *)p[1], n);                           \
            return;                                                               \
        }                                                                         \
        for (int64_t i = 0; i < n; i++) {                                         \
            T x = *(const T *)(p[1] + i * s[1]);                                  \
            *(TO_ *)(p[0] + i * s[0]) = (TO_)(EXPR);                              \
        }                                                                         \
    }

/* name##_X writes T, name##_bX writes bool (LOGICAL_NOT) */
#define UN_LOOP2(name, T_, UT_, CL, EXPR)        \
    UN_LOOP(name, T_, T_, UT_, CL, EXPR)         \
    UN_LOOP(name##b, bool, T_, UT_, , EXPR)

#define GEN_UN(nm, K, EF, EI, EB)                                \
    UN_LOOP2(nm##_f32, float, uint32_t, TD_CLONES, EF)           \
    UN_LOOP2(nm##_f64, double, uint64_t, TD_CLONES, EF)          \
    UN_LOOP2(nm##_i64, int64_t, uint64_t, , EI)                  \
    UN_LOOP2(nm##_i32, int32_t, uint32_t, , EI)                  \
    UN_LOOP2(nm##_i16, int16_t, uint32_t, , EI)                  \
    UN_LOOP2(nm##_i8, int8_t, uint32_t, , EI)                    \
    UN_LOOP2(nm##_u8, uint8_t, uint32_t, , EI)                   \
    UN_LOOP2(nm##_b, bool, uint32_t, , EB)
UN_OPS(GEN_UN)

#define TAB_ROW(nm, S)                                                                    \
    {                                                                                     \
        [TD_DTYPE_FLOAT32] = nm##_f32##S, [TD_DTYPE_FLOAT64] = nm##_f64##S,               \
        [TD_DTYPE_INT64] = nm##_i64##S, [TD_DTYPE_INT32] = nm##_i32##S,                   \
        [TD_DTYPE_INT16] = nm##_i16##S, [TD_DTYPE_INT8] = nm##_i8##S,                     \
        [TD_DTYPE_UINT8] = nm##_u8##S, [TD_DTYPE_BOOL] = nm##_b##S,                       \
    },
#define SAME_ROW(nm, ...) TAB_ROW(nm, )
#define BOOL_ROW(nm, ...) TAB_ROW(nm, b)
#define UN_ENUM(nm, ...) U_##nm,
#define UN_KINDS(nm, K, ...) K,

enum { UN_OPS(UN_ENUM) U_COUNT };
static const td_loop_fn same_tab[U_COUNT][TD_DTYPE_COUNT] = {UN_OPS(SAME_ROW)};
static const td_loop_fn bool_tab[U_COUNT][TD_DTYPE_COUNT] = {UN_OPS(BOOL_ROW)};
static const uint8_t un_kinds[U_COUNT] = {UN_OPS(UN_KINDS)};

static enum td_code unary(struct td_kctx *k, int row)
{
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    if (!td_dtype_valid(dt) || dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16)
        return TD_CODE_INVALID_ARGUMENT;
    if (k->n_in != 1 || k->n_out < 1 || k->in[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    unsigned bit = td_dtype_is_float(dt) ? KF : dt == TD_DTYPE_BOOL ? KB : KI;
    if (!(un_kinds[row] & bit))
        return TD_CODE_INVALID_ARGUMENT;
    enum td_dtype odt = (enum td_dtype)k->out[0]->m.dtype;
    td_loop_fn fn = odt == dt ? same_tab[row][dt] : NULL;
    if (row == U_logical_not && odt == TD_DTYPE_BOOL)
        fn = bool_tab[row][dt];
    if (!fn)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    struct td_iter it;
    if (!td_iter_init(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, fn, NULL);
    return TD_CODE_OK;
}

#define UN_KERNEL(nm, ...) \
    enum td_code td_cpu_##nm(struct td_kctx *k) { return unary(k, U_##nm); }
UN_OPS(UN_KERNEL)
