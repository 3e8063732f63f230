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
 *
 * Float32 EXP LOG SIN COS TANH SIGMOID go through the vector functions of vmath.h
 * (evaluated in double, rounded once: at least as accurate as libm's float versions).
 */
#pragma GCC optimize("O3")
#pragma GCC diagnostic ignored "-Wtype-limits" /* x < 0 on unsigned T in shared rows */
#pragma GCC diagnostic ignored "-Wsign-compare" /* ~x stamped into the unused bool-out variants */

#include <tgmath.h>

#include "iter.h"
#include "vmath.h"

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

#define SAME_ROW(nm, ...) TD_DTYPE_TAB_ROW(nm, )
#define BOOL_ROW(nm, ...) TD_DTYPE_TAB_ROW(nm, b)
/* ---- float32 vector paths: X(name, vector expression, lanes the vector handles), each a
 * macro of (W, v) for W = 4 or 8 lanes */
#define ALL_OK(W, v) ((vm_i##W)(v) == (vm_i##W)(v))
#define EXP_V(W, v) vm##W##_expf(v)
#define LOG_V(W, v) vm##W##_logf(v)
#define SIN_V(W, v) vm##W##_sincos(v, false)
#define COS_V(W, v) vm##W##_sincos(v, true)
#define TANH_V(W, v) vm##W##_tanhf(v)
#define SIGMOID_V(W, v) vm##W##_sigmoidf(v)
#define TRIG_OK(W, v) vm##W##_trig_ok(v)
#define VEC_F32_OPS(X)         \
    X(exp, EXP_V, ALL_OK)      \
    X(log, LOG_V, ALL_OK)      \
    X(sin, SIN_V, TRIG_OK)     \
    X(cos, COS_V, TRIG_OK)     \
    X(tanh, TANH_V, ALL_OK)    \
    X(sigmoid, SIGMOID_V, ALL_OK)

/* Eight floats of a at i (m of them valid) into buf-backed vectors: whole blocks load
 * straight from the array (a fixed-size copy, no library call), the tail through buf. */
#define VEC_LOAD(a, i, m, buf, dst)                     \
    do {                                                \
        const float *src_ = (a) + (i);                  \
        if ((m) < 8) {                                  \
            memcpy(buf, src_, sizeof(float) * (m));     \
            src_ = buf;                                 \
        }                                               \
        memcpy(dst, src_, 8 * sizeof(float));           \
    } while (0)
#define VEC_STORE(o, i, m, buf, srcv)                   \
    do {                                                \
        if ((m) == 8) {                                 \
            memcpy((o) + (i), srcv, 8 * sizeof(float)); \
        } else {                                        \
            memcpy(buf, srcv, 8 * sizeof(float));       \
            memcpy((o) + (i), buf, sizeof(float) * (m)); \
        }                                               \
    } while (0)

/* AVX-512 code paths beside the target clones: eight doubles per vector (GCC 12 cannot
 * compile 64-byte vectors for the baseline ISA, so they cannot be a clone); picked per
 * call by the CPU's features.  Not in TD_NO_CLONES builds. */
#if defined(TD_NO_CLONES)
#define VEC_HAVE_512 0
#else
#define VEC_HAVE_512 1
#endif

/* o[0..n) = f(a[0..n)) eight at a time (o == a allowed); a block with a lane the vector
 * does not handle goes through the scalar expression. */
#define GEN_VEC(nm, VF, OKF)                                                                \
    static inline __attribute__((always_inline)) vm_d4 nm##_vf4(vm_d4 v) { return VF(4, v); } \
    static inline __attribute__((always_inline)) vm_i4 nm##_ok4(vm_d4 v) { return OKF(4, v); } \
    static void nm##_f32_scalars(float *o, const float *a, int64_t m)                       \
    {                                                                                       \
        for (int64_t j = 0; j < m; j++) {                                                   \
            float x = a[j];                                                                 \
            o[j] = nm##_f32_scalar(x);                                                      \
        }                                                                                   \
    }                                                                                       \
    TD_CLONES static void nm##_f32v_c(float *o, const float *a, int64_t n)                  \
    {                                                                                       \
        for (int64_t i = 0; i < n; i += 8) {                                                \
            int64_t m = n - i < 8 ? n - i : 8;                                              \
            float buf[8] = {0};                                                             \
            vm_f4 h[2];                                                                     \
            const float *src = a + i;                                                       \
            if (m < 8) {                                                                    \
                memcpy(buf, src, sizeof(float) * m);                                        \
                src = buf;                                                                  \
            }                                                                               \
            memcpy(&h[0], src, sizeof h[0]); /* two copies: one 32-byte copy into h crashes GCC 12 */ \
            memcpy(&h[1], src + 4, sizeof h[1]);                                            \
            vm_d4 v0 = __builtin_convertvector(h[0], vm_d4), v1 = __builtin_convertvector(h[1], vm_d4); \
            vm_i4 ok = nm##_ok4(v0) & nm##_ok4(v1);                                         \
            if (!(ok[0] & ok[1] & ok[2] & ok[3])) {                                         \
                nm##_f32_scalars(o + i, a + i, m);                                          \
                continue;                                                                   \
            }                                                                               \
            h[0] = __builtin_convertvector(nm##_vf4(v0), vm_f4);                            \
            h[1] = __builtin_convertvector(nm##_vf4(v1), vm_f4);                            \
            VEC_STORE(o, i, m, buf, h);                                                     \
        }                                                                                   \
    }                                                                                       \
    VEC_512_FN(nm, VF, OKF)                                                                 \
    static void nm##_f32v_any(float *o, const float *a, int64_t n)                          \
    {                                                                                       \
        if (VEC_HAVE_512 && __builtin_cpu_supports("avx512f"))                              \
            VEC_512_CALL(nm, o, a, n);                                                      \
        else                                                                                \
            nm##_f32v_c(o, a, n);                                                           \
    }                                                                                       \
    static void nm##_f32v(void *ctx, char **p, const int64_t *s, int64_t n)                 \
    {                                                                                       \
        if (s[0] == sizeof(float) && s[1] == sizeof(float)) {                               \
            nm##_f32v_any((float *)p[0], (const float *)p[1], n);                           \
            return;                                                                         \
        }                                                                                   \
        float tmp[256];                                                                     \
        for (int64_t i = 0; i < n; i += 256) {                                              \
            int64_t m = n - i < 256 ? n - i : 256;                                          \
            for (int64_t j = 0; j < m; j++)                                                 \
                tmp[j] = *(const float *)(p[1] + (i + j) * s[1]);                           \
            nm##_f32v_any(tmp, tmp, m);                                                     \
            for (int64_t j = 0; j < m; j++)                                                 \
                *(float *)(p[0] + (i + j) * s[0]) = tmp[j];                                 \
        }                                                                                   \
    }

#if VEC_HAVE_512
#define VEC_512_FN(nm, VF, OKF)                                                             \
    static inline __attribute__((always_inline)) vm_d8 nm##_vf8(vm_d8 v) { return VF(8, v); } \
    static inline __attribute__((always_inline)) vm_i8 nm##_ok8(vm_d8 v) { return OKF(8, v); } \
    __attribute__((target("avx512f"))) static void nm##_f32v_c8(float *o, const float *a, int64_t n) \
    {                                                                                       \
        for (int64_t i = 0; i < n; i += 8) {                                                \
            int64_t m = n - i < 8 ? n - i : 8;                                              \
            float buf[8] = {0};                                                             \
            vm_f8 h;                                                                        \
            VEC_LOAD(a, i, m, buf, &h);                                                     \
            vm_d8 v = __builtin_convertvector(h, vm_d8);                                    \
            vm_i8 ok = nm##_ok8(v);                                                         \
            if (!(ok[0] & ok[1] & ok[2] & ok[3] & ok[4] & ok[5] & ok[6] & ok[7])) {         \
                nm##_f32_scalars(o + i, a + i, m);                                          \
                continue;                                                                   \
            }                                                                               \
            h = __builtin_convertvector(nm##_vf8(v), vm_f8);                                \
            VEC_STORE(o, i, m, buf, &h);                                                    \
        }                                                                                   \
    }
#define VEC_512_CALL(nm, o, a, n) nm##_f32v_c8(o, a, n)
#else
#define VEC_512_FN(nm, VF, OKF)
#define VEC_512_CALL(nm, o, a, n) nm##_f32v_c(o, a, n)
#endif
static inline float exp_f32_scalar(float x) { return expf(x); }
static inline float log_f32_scalar(float x) { return logf(x); }
static inline float sin_f32_scalar(float x) { return sinf(x); }
static inline float cos_f32_scalar(float x) { return cosf(x); }
static inline float tanh_f32_scalar(float x) { return tanhf(x); }
static inline float sigmoid_f32_scalar(float x) { return 1 / (1 + expf(-x)); }
VEC_F32_OPS(GEN_VEC)

#define UN_ENUM(nm, ...) U_##nm,
#define UN_KINDS(nm, K, ...) K,

enum { UN_OPS(UN_ENUM) U_COUNT };
static const td_loop_fn same_tab[U_COUNT][TD_DTYPE_COUNT] = {UN_OPS(SAME_ROW)};
static const td_loop_fn bool_tab[U_COUNT][TD_DTYPE_COUNT] = {UN_OPS(BOOL_ROW)};
static const uint8_t un_kinds[U_COUNT] = {UN_OPS(UN_KINDS)};
#define VEC_ROW(nm, ...) [U_##nm] = nm##_f32v,
static const td_loop_fn vec_f32_tab[U_COUNT] = {VEC_F32_OPS(VEC_ROW)};

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
    if (fn && dt == TD_DTYPE_FLOAT32 && vec_f32_tab[row])
        fn = vec_f32_tab[row];
    if (row == U_logical_not && odt == TD_DTYPE_BOOL)
        fn = bool_tab[row][dt];
    if (!fn)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    struct td_iter it;
    if (!td_iter_init_elementwise(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, fn, NULL);
    return TD_CODE_OK;
}

#define UN_KERNEL(nm, ...) \
    enum td_code td_cpu_##nm(struct td_kctx *k) { return unary(k, U_##nm); }
UN_OPS(UN_KERNEL)
