/*
 * check_cuda_ops.cu — the CUDA plugin's elementwise operations (kernels/cuda/
 * elementwise_ops.cuh) run on the HOST against the CPU kernels, so their semantics are
 * checked on machines without a GPU: every dtype conversion pair of COPY_, every
 * binary row (tensor and scalar operands, alpha, in-place comparisons) and unary row
 * at every dtype it accepts, and in float16/bfloat16 (the native path) against the
 * CPU's float32 kernel between casts, and CLAMP with its bounds' conversion, on special values (signed zeros, infinities, NaN, extremes,
 * halves for rounding) and random ones; and the N-d iteration (td_cu_iter_init,
 * td_cu_addr, 32- and 64-bit index math) on random broadcast/transposed/sliced views.
 * The functors and the address math are the very code the GPU runs; what this cannot
 * check (the device math library, launches, reductions, matmul) is left to the GPU
 * case of check_cuda_plugin.c.
 *
 * Built by nvcc as a host program linked with the CPU kernels (make check-cuda).
 * Results must match bit for bit (any NaN matches any NaN), except transcendental
 * unary ops, where host libm and the CPU's vector math may differ in the last ulp.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

/* the shared headers have no C++ guards: the functions this calls are C's */
extern "C" {
#include "../kernels/dtype.h"
}
#include "../kernels/cuda/elementwise_ops.cuh"
#include "../kernels/cuda/create_ops.cuh"
#include "../kernels/cuda/index_ops.cuh"
#include "../kernels/cuda/math_ops.cuh"
#include "../kernels/cuda/optim_ops.cuh"
#include "../kernels/cuda/pool_ops.cuh"
#include "../kernels/cuda/random_ops.cuh"
#include "../kernels/cuda/sort_ops.cuh"
extern "C" {
#include "../kernels/rng.h"
}

extern "C" const td_kernel_fn td_cpu_kernels[TD_OP_COUNT];
extern "C" td_kernel_fn td__cpu_complex_kernel(unsigned op); /* the executor's kernel for complex compute dtypes */

static int n_cases, n_fail;

#define N 24 /* values per operand; binary ops take all N * N pairs */

static const double special_f[N] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.5, 2.0, -7.0, 7.0, 3.0,
                                    100.25, -1e-30, 1e30, -1e300, INFINITY, -INFINITY, NAN, 65504.0, 1e-8, 255.5, -128.5, 3e9};
static const int64_t special_i[N] = {0, 1, -1, 2, -2, 3, -7, 7, 5, 100, -100, 127, -128, 255, 256, 32767, -32768, 65535,
                                     INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 63, 33};

static const int compute_dts[] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_INT64, TD_DTYPE_INT32,
                                  TD_DTYPE_INT16,   TD_DTYPE_INT8,    TD_DTYPE_UINT8, TD_DTYPE_BOOL};

static bool is_float(int dt) { return dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64; }

/* value i of the test set in dtype dt, written at p */
static void value(int dt, int i, char *p)
{
    if (td_cu_dtype_is_float(dt) || td_cu_dtype_is_complex(dt))
        td_store_f64((enum td_dtype)dt, p, special_f[i]);
    else
        td_store_i64((enum td_dtype)dt, p, special_i[i]);
}

static struct td_kt kt1(int dt, int64_t n, char *data)
{
    struct td_kt t;
    memset(&t, 0, sizeof t);
    t.m.dtype = (uint8_t)dt;
    t.m.ndim = 1;
    t.m.sizes[0] = n;
    t.m.strides[0] = 1;
    t.m.storage_nbytes = n * td_cu_dtype_size(dt);
    t.data = data;
    return t;
}

/* Elements equal: same bytes, or both NaN of a floating (or complex) dtype. */
static bool same(int dt, const char *a, const char *b, double tol)
{
    int sz = td_cu_dtype_size(dt);
    if (memcmp(a, b, sz) == 0)
        return true;
    if (!td_cu_dtype_is_float(dt) && !td_cu_dtype_is_complex(dt))
        return false;
    double x = td_load_f64((enum td_dtype)dt, a), y = td_load_f64((enum td_dtype)dt, b);
    if (x != x && y != y)
        return !td_cu_dtype_is_complex(dt) || memcmp(a + sz / 2, b + sz / 2, sz / 2) == 0;
    if (tol > 0 && x == x && y == y) {
        if (isinf(x) || isinf(y))
            return x == y;
        return fabs(x - y) <= tol * fmax(fabs(y), 1e-300) || fabs(x - y) < 1e-300;
    }
    return false;
}

static void compare(const char *what, int dt, const char *got, const char *want, int64_t n, double tol,
                    const char *in0, int in_dt)
{
    n_cases++;
    int sz = td_cu_dtype_size(dt), isz = in0 ? td_cu_dtype_size(in_dt) : 0;
    for (int64_t i = 0; i < n; i++) {
        if (!same(dt, got + i * sz, want + i * sz, tol)) {
            n_fail++;
            printf("FAIL %s dtype %d element %lld: got %.17g want %.17g (input %.17g)\n", what, dt, (long long)i,
                   td_load_f64((enum td_dtype)dt, got + i * sz), td_load_f64((enum td_dtype)dt, want + i * sz),
                   in0 ? td_load_f64((enum td_dtype)in_dt, in0 + i * isz) : 0.0);
            return;
        }
    }
}

/* Runs f over n contiguous elements of nop operands on the host. */
template <typename F> static void host_run(F f, int nop, char **base, const int *dts, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        char *p[TD_CU_MAXOP];
        for (int o = 0; o < nop; o++)
            p[o] = base[o] + i * td_cu_dtype_size(dts[o]);
        f(p);
    }
}

static enum td_code cpu(unsigned op, int dt, int n_in, struct td_kt **in, int n_out, struct td_kt **out,
                        const int64_t *attrs, uint32_t n_attr, uint8_t flags)
{
    struct td_kctx k;
    memset(&k, 0, sizeof k);
    k.op = (uint16_t)op;
    k.flags = flags;
    k.compute_dtype = (uint8_t)dt;
    k.n_in = n_in;
    k.n_out = n_out;
    for (int i = 0; i < n_in; i++)
        k.in[i] = in[i];
    for (int i = 0; i < n_out; i++)
        k.out[i] = out[i];
    k.attrs = attrs;
    k.n_attr = n_attr;
    return td_cpu_kernels[op](&k);
}

/* ---- COPY_: every dtype pair */

static void check_copy(void)
{
    for (int sd = 0; sd < TD_DTYPE_COUNT; sd++)
        for (int dd = 0; dd < TD_DTYPE_COUNT; dd++) {
            char src[N * 16], want[N * 16], got[N * 16];
            for (int i = 0; i < N; i++)
                value(sd, i, src + i * td_cu_dtype_size(sd));
            memset(want, 0x5a, sizeof want);
            memset(got, 0x5a, sizeof got);
            struct td_kt ts = kt1(sd, N, src), td = kt1(dd, N, want);
            struct td_kt *in[] = {&td, &ts};
            if (cpu(TD_OP_COPY_, dd, 2, in, 0, NULL, NULL, 0, 0) != TD_CODE_OK) {
                n_fail++;
                printf("FAIL cpu copy %d -> %d\n", sd, dd);
                continue;
            }
            char *base[] = {got, src};
            int dts[] = {dd, sd};
            if (sd == dd) {
                switch (td_cu_dtype_size(dd)) {
                case 1: host_run(move_f<uint8_t>(), 2, base, dts, N); break;
                case 2: host_run(move_f<uint16_t>(), 2, base, dts, N); break;
                case 4: host_run(move_f<uint32_t>(), 2, base, dts, N); break;
                case 8: host_run(move_f<uint64_t>(), 2, base, dts, N); break;
                default: host_run(move16_f(), 2, base, dts, N); break;
                }
            } else {
                switch (sd) {
#define CONV(DT) \
    case TD_DTYPE_##DT: host_run(conv_f<TD_DTYPE_##DT>{dd}, 2, base, dts, N); break;
                    CONV(FLOAT32) CONV(FLOAT64) CONV(FLOAT16) CONV(BFLOAT16) CONV(INT64) CONV(INT32)
                    CONV(INT16) CONV(INT8) CONV(UINT8) CONV(BOOL) CONV(COMPLEX64) CONV(COMPLEX128)
#undef CONV
                }
            }
            char what[64];
            snprintf(what, sizeof what, "copy %d->%d", sd, dd);
            compare(what, dd, got, want, N, 0, src, sd);
        }
}

/* ---- binary rows */

template <int OP, typename T> static void bin_case(unsigned op, int dt, const int64_t *attrs, uint32_t n_attr, uint8_t flags,
                                                   int odt, int scalar)
{
    typedef typename alpha_type<T>::type AL;
    static char a[N * N * 8], b[N * N * 8], want[N * N * 8], got[N * N * 8];
    int sz = td_cu_dtype_size(dt), n = scalar ? N : N * N;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            value(dt, i, a + (i * N + j) * sz);
            value(dt, j, b + (i * N + j) * sz);
        }
    if (scalar)
        for (int i = 0; i < N; i++)
            value(dt, i, a + i * sz);
    memset(want, 0, sizeof want);
    memset(got, 0, sizeof got);
    struct td_kt ta = kt1(dt, n, a), tb = kt1(dt, n, b), to = kt1(odt, n, want);
    struct td_kt *in[] = {&ta, &tb}, *out[] = {&to};
    if (cpu(op, dt, scalar ? 1 : 2, in, 1, out, attrs, n_attr, flags) != TD_CODE_OK) {
        n_cases++;
        return; /* integer division by zero: the device lookup names no kernel for it */
    }
    T s = T(0);
    int mode = 0;
    if (scalar) {
        s = td_cu_scalar<T>(attrs[0], attrs[1]);
        mode = (flags & TD_RF_SCALAR_LHS) ? 1 : 2;
    }
    AL al = AL(1);
    if ((OP == B_ADD || OP == B_SUB) && n_attr >= 4) {
        double af;
        memcpy(&af, &attrs[3], 8);
        if (attrs[2] != TD_SCALAR_FLOAT)
            af = (double)attrs[3];
        if constexpr (std::is_floating_point<T>::value)
            al = (AL)af;
        else
            al = (AL)(attrs[2] == TD_SCALAR_FLOAT ? (int64_t)af : attrs[3]);
    }
    char *base[] = {got, a, scalar ? a : b};
    int dts[] = {odt, dt, dt};
    if (odt == TD_DTYPE_BOOL && OP >= C_EQ)
        host_run(bin_f<OP, T, bool, AL>{s, al, mode}, 3, base, dts, n);
    else
        host_run(bin_f<OP, T, T, AL>{s, al, mode}, 3, base, dts, n);
    char what[64];
    snprintf(what, sizeof what, "binary op %u%s", op, scalar ? " (scalar)" : "");
    compare(what, odt, got, want, n, 0, a, dt);
}

template <int OP> static void bin_row(unsigned op, unsigned kinds)
{
    for (int dt : compute_dts) {
        unsigned kb = is_float(dt) ? KF : dt == TD_DTYPE_BOOL ? KB : KI;
        if (OP < C_EQ && !(kinds & kb))
            continue;
        int64_t plain[] = {TD_SCALAR_INT, 0, TD_SCALAR_INT, 1};
        int64_t alpha[] = {TD_SCALAR_INT, 3, TD_SCALAR_FLOAT, 0};
        double a2 = -2.5;
        memcpy(&alpha[3], &a2, 8);
        int64_t sc[] = {TD_SCALAR_FLOAT, 0, TD_SCALAR_INT, 1};
        double sv = 2.5;
        memcpy(&sc[1], &sv, 8);
        int odt = OP >= C_EQ ? TD_DTYPE_BOOL : dt;
        switch (dt) {
#define DT_CASE(DT, CT)                                                                       \
    case TD_DTYPE_##DT:                                                                       \
        if constexpr (!(OP < C_EQ && std::is_same<CT, bool>::value &&                         \
                        !(OP == B_ADD || OP == B_MUL || OP == B_MAX || OP == B_MIN ||          \
                          OP == B_BAND || OP == B_BOR || OP == B_BXOR)) &&                     \
                      !(OP < C_EQ && std::is_floating_point<CT>::value &&                     \
                        (OP == B_BAND || OP == B_BOR || OP == B_BXOR || OP == B_SHL || OP == B_SHR))) { \
            bin_case<OP, CT>(op, dt, plain, 4, 0, odt, 0);                                     \
            if (OP == B_ADD || OP == B_SUB)                                                    \
                bin_case<OP, CT>(op, dt, alpha, 4, 0, odt, 0);                                 \
            bin_case<OP, CT>(op, dt, sc, 4, 0, odt, 1);                                        \
            bin_case<OP, CT>(op, dt, sc, 4, TD_RF_SCALAR_LHS, odt, 1);                         \
            if (OP >= C_EQ) /* in place: the compute dtype out */                              \
                bin_case<OP, CT>(op, dt, plain, 4, 0, dt, 0);                                  \
        }                                                                                      \
        break;
            DT_CASE(FLOAT32, float) DT_CASE(FLOAT64, double) DT_CASE(INT64, int64_t) DT_CASE(INT32, int32_t)
            DT_CASE(INT16, int16_t) DT_CASE(INT8, int8_t) DT_CASE(UINT8, uint8_t) DT_CASE(BOOL, bool)
#undef DT_CASE
        }
    }
}

/* DIV's rounding modes ride in attrs[2]; the device picks the row on the host side */
template <int OP> static void div_row(int64_t mode)
{
    for (int dt : {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64}) {
        int64_t attrs[] = {TD_SCALAR_INT, 0, mode};
        if (dt == TD_DTYPE_FLOAT32)
            bin_case<OP, float>(TD_OP_DIV, dt, attrs, 3, 0, dt, 0);
        else
            bin_case<OP, double>(TD_OP_DIV, dt, attrs, 3, 0, dt, 0);
    }
}

static void check_binary(void)
{
    bin_row<B_ADD>(TD_OP_ADD, KF | KI | KB);
    bin_row<B_SUB>(TD_OP_SUB, KF | KI);
    bin_row<B_MUL>(TD_OP_MUL, KF | KI | KB);
    bin_row<B_POW>(TD_OP_POW, KF | KI);
    bin_row<B_REM>(TD_OP_REMAINDER, KF);
    bin_row<B_MAX>(TD_OP_MAXIMUM, KF | KI | KB);
    bin_row<B_MIN>(TD_OP_MINIMUM, KF | KI | KB);
    bin_row<B_BAND>(TD_OP_BITWISE_AND, KI | KB);
    bin_row<B_BOR>(TD_OP_BITWISE_OR, KI | KB);
    bin_row<B_BXOR>(TD_OP_BITWISE_XOR, KI | KB);
    bin_row<B_SHL>(TD_OP_LSHIFT, KI);
    bin_row<B_SHR>(TD_OP_RSHIFT, KI);
    bin_row<C_EQ>(TD_OP_EQ, 7);
    bin_row<C_NE>(TD_OP_NE, 7);
    bin_row<C_LT>(TD_OP_LT, 7);
    bin_row<C_LE>(TD_OP_LE, 7);
    bin_row<C_GT>(TD_OP_GT, 7);
    bin_row<C_GE>(TD_OP_GE, 7);
    bin_row<C_LAND>(TD_OP_LOGICAL_AND, 7);
    bin_row<C_LOR>(TD_OP_LOGICAL_OR, 7);
    bin_row<C_LXOR>(TD_OP_LOGICAL_XOR, 7);
    div_row<B_DIV>(TD_ROUND_NONE);
    div_row<B_DIVT>(TD_ROUND_TRUNC);
    div_row<B_DIVF>(TD_ROUND_FLOOR);
}

/* ---- unary rows */

template <int OP, typename T> static void un_case(unsigned op, int dt, int odt)
{
    char a[N * 8], want[N * 8], got[N * 8];
    for (int i = 0; i < N; i++)
        value(dt, i, a + i * td_cu_dtype_size(dt));
    memset(want, 0, sizeof want);
    memset(got, 0, sizeof got);
    struct td_kt ta = kt1(dt, N, a), to = kt1(odt, N, want);
    struct td_kt *in[] = {&ta}, *out[] = {&to};
    if (cpu(op, dt, 1, in, 1, out, NULL, 0, 0) != TD_CODE_OK) {
        n_fail++;
        printf("FAIL cpu unary op %u dtype %d\n", op, dt);
        return;
    }
    char *base[] = {got, a};
    int dts[] = {odt, dt};
    if (odt == TD_DTYPE_BOOL && dt != TD_DTYPE_BOOL)
        host_run(un_f<OP, T, bool>(), 2, base, dts, N);
    else
        host_run(un_f<OP, T, T>(), 2, base, dts, N);
    bool transcendental = OP == U_EXP || OP == U_LOG || OP == U_LOG1P || OP == U_SIN || OP == U_COS ||
                          OP == U_TANH || OP == U_SIGMOID || OP == U_RSQRT;
    double tol = !transcendental ? 0 : dt == TD_DTYPE_FLOAT32 ? 3e-7 : 1e-15;
    char what[64];
    snprintf(what, sizeof what, "unary op %u", op);
    compare(what, odt, got, want, N, tol, a, dt);
}

template <int OP, unsigned K> static void un_row(unsigned op)
{
    if constexpr ((K & KF) != 0) {
        un_case<OP, float>(op, TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT32);
        un_case<OP, double>(op, TD_DTYPE_FLOAT64, TD_DTYPE_FLOAT64);
    }
    if constexpr ((K & KI) != 0) {
        un_case<OP, int64_t>(op, TD_DTYPE_INT64, TD_DTYPE_INT64);
        un_case<OP, int32_t>(op, TD_DTYPE_INT32, TD_DTYPE_INT32);
        un_case<OP, int16_t>(op, TD_DTYPE_INT16, TD_DTYPE_INT16);
        un_case<OP, int8_t>(op, TD_DTYPE_INT8, TD_DTYPE_INT8);
        un_case<OP, uint8_t>(op, TD_DTYPE_UINT8, TD_DTYPE_UINT8);
    }
    if constexpr ((K & KB) != 0)
        un_case<OP, bool>(op, TD_DTYPE_BOOL, TD_DTYPE_BOOL);
    if constexpr (OP == U_LOGICAL_NOT) {
        un_case<OP, float>(op, TD_DTYPE_FLOAT32, TD_DTYPE_BOOL);
        un_case<OP, int32_t>(op, TD_DTYPE_INT32, TD_DTYPE_BOOL);
    }
}

static void check_unary(void)
{
#define UN_CHECK(R, NAME, K) un_row<R, (K)>(TD_OP_##NAME);
    UN_OPS(UN_CHECK)
#undef UN_CHECK
}

/* ---- float16/bfloat16 on the native path: the functors read and write the 16-bit
 * storage and compute in float; the CPU casts to float32, runs its float32 kernel and
 * casts back.  Same bits (transcendental ops: within one 16-bit ulp). */

/* n elements of half dtype hdt at h widened to float32 at f (exact) */
static void widen(int hdt, const char *h, float *f, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        f[i] = (float)td_load_f64((enum td_dtype)hdt, h + i * 2);
}

/* the CPU's cast back: float32 results at f (or bool bytes, odt) to the output dtype */
static void narrow(int odt, const float *f, char *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        td_store_f64((enum td_dtype)odt, out + i * 2, (double)f[i]);
}

template <int OP, typename S> static void half_bin_case(unsigned op, int hdt, const int64_t *attrs, uint32_t n_attr,
                                                        uint8_t flags, bool to_bool, int scalar)
{
    static char a[N * N * 2], b[N * N * 2], got[N * N * 2], want[N * N * 2];
    static float fa[N * N], fb[N * N], fw[N * N];
    int n = scalar ? N : N * N;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            value(hdt, scalar ? j : i, a + (i * N + j) * 2);
            value(hdt, j, b + (i * N + j) * 2);
        }
    widen(hdt, a, fa, n);
    widen(hdt, b, fb, n);
    int odt = to_bool ? TD_DTYPE_BOOL : hdt;
    struct td_kt ta = kt1(TD_DTYPE_FLOAT32, n, (char *)fa), tb = kt1(TD_DTYPE_FLOAT32, n, (char *)fb);
    struct td_kt to = to_bool ? kt1(TD_DTYPE_BOOL, n, want) : kt1(TD_DTYPE_FLOAT32, n, (char *)fw);
    struct td_kt *in[] = {&ta, &tb}, *out[] = {&to};
    n_cases++;
    if (cpu(op, TD_DTYPE_FLOAT32, scalar ? 1 : 2, in, 1, out, attrs, n_attr, flags) != TD_CODE_OK) {
        n_fail++;
        printf("FAIL cpu binary op %u in float32\n", op);
        return;
    }
    if (!to_bool)
        narrow(hdt, fw, want, n);
    float s = 0, al = 1;
    int mode = 0;
    if (scalar) {
        s = td_cu_scalar<float>(attrs[0], attrs[1]);
        mode = (flags & TD_RF_SCALAR_LHS) ? 1 : 2;
    }
    if ((OP == B_ADD || OP == B_SUB) && n_attr >= 4) {
        double af;
        memcpy(&af, &attrs[3], 8);
        al = attrs[2] == TD_SCALAR_FLOAT ? (float)af : (float)attrs[3];
    }
    char *base[] = {got, a, scalar ? a : b};
    int dts[] = {odt, hdt, hdt};
    if (to_bool)
        host_run(bin_f<OP, S, bool, float>{s, al, mode}, 3, base, dts, n);
    else
        host_run(bin_f<OP, S, S, float>{s, al, mode}, 3, base, dts, n);
    char what[80];
    snprintf(what, sizeof what, "binary op %u on %s%s", op, hdt == TD_DTYPE_FLOAT16 ? "float16" : "bfloat16",
             scalar ? " (scalar)" : "");
    n_cases--; /* compare counts it */
    compare(what, odt, got, want, n, 0, a, hdt);
}

template <int OP> static void half_bin_row(unsigned op)
{
    int64_t plain[] = {TD_SCALAR_INT, 0, TD_SCALAR_INT, 1};
    int64_t alpha[] = {TD_SCALAR_INT, 3, TD_SCALAR_FLOAT, 0};
    double a2 = -2.5, sv = 2.5;
    memcpy(&alpha[3], &a2, 8);
    int64_t sc[] = {TD_SCALAR_FLOAT, 0, TD_SCALAR_INT, 1};
    memcpy(&sc[1], &sv, 8);
    for (int hdt : {TD_DTYPE_FLOAT16, TD_DTYPE_BFLOAT16}) {
        bool cmp = OP >= C_EQ;
#define HALF_CASES(S)                                                       \
        half_bin_case<OP, S>(op, hdt, plain, 4, 0, cmp, 0);                  \
        if (OP == B_ADD || OP == B_SUB)                                     \
            half_bin_case<OP, S>(op, hdt, alpha, 4, 0, cmp, 0);             \
        half_bin_case<OP, S>(op, hdt, sc, 4, 0, cmp, 1);                     \
        half_bin_case<OP, S>(op, hdt, sc, 4, TD_RF_SCALAR_LHS, cmp, 1);
        if (hdt == TD_DTYPE_FLOAT16) {
            HALF_CASES(td_cu_f16)
        } else {
            HALF_CASES(td_cu_bf16)
        }
#undef HALF_CASES
    }
}

static void check_binary_half(void)
{
    half_bin_row<B_ADD>(TD_OP_ADD);
    half_bin_row<B_SUB>(TD_OP_SUB);
    half_bin_row<B_MUL>(TD_OP_MUL);
    half_bin_row<B_POW>(TD_OP_POW);
    half_bin_row<B_REM>(TD_OP_REMAINDER);
    half_bin_row<B_MAX>(TD_OP_MAXIMUM);
    half_bin_row<B_MIN>(TD_OP_MINIMUM);
    for (int64_t mode : {TD_ROUND_NONE, TD_ROUND_TRUNC, TD_ROUND_FLOOR}) {
        int64_t attrs[] = {TD_SCALAR_INT, 0, mode};
        for (int hdt : {TD_DTYPE_FLOAT16, TD_DTYPE_BFLOAT16}) {
#define DIV_CASE(R)                                                                       \
            if (hdt == TD_DTYPE_FLOAT16)                                                  \
                half_bin_case<R, td_cu_f16>(TD_OP_DIV, hdt, attrs, 3, 0, false, 0);       \
            else                                                                          \
                half_bin_case<R, td_cu_bf16>(TD_OP_DIV, hdt, attrs, 3, 0, false, 0);
            if (mode == TD_ROUND_NONE) {
                DIV_CASE(B_DIV)
            } else if (mode == TD_ROUND_TRUNC) {
                DIV_CASE(B_DIVT)
            } else {
                DIV_CASE(B_DIVF)
            }
#undef DIV_CASE
        }
    }
    half_bin_row<C_EQ>(TD_OP_EQ);
    half_bin_row<C_NE>(TD_OP_NE);
    half_bin_row<C_LT>(TD_OP_LT);
    half_bin_row<C_LE>(TD_OP_LE);
    half_bin_row<C_GT>(TD_OP_GT);
    half_bin_row<C_GE>(TD_OP_GE);
    half_bin_row<C_LAND>(TD_OP_LOGICAL_AND);
    half_bin_row<C_LOR>(TD_OP_LOGICAL_OR);
    half_bin_row<C_LXOR>(TD_OP_LOGICAL_XOR);
}

template <int OP, typename S> static void half_un_case(unsigned op, int hdt, bool to_bool)
{
    char a[N * 2], got[N * 2], want[N * 2];
    float fa[N], fw[N];
    for (int i = 0; i < N; i++)
        value(hdt, i, a + i * 2);
    widen(hdt, a, fa, N);
    int odt = to_bool ? TD_DTYPE_BOOL : hdt;
    struct td_kt ta = kt1(TD_DTYPE_FLOAT32, N, (char *)fa);
    struct td_kt to = to_bool ? kt1(TD_DTYPE_BOOL, N, want) : kt1(TD_DTYPE_FLOAT32, N, (char *)fw);
    struct td_kt *in[] = {&ta}, *out[] = {&to};
    if (cpu(op, TD_DTYPE_FLOAT32, 1, in, 1, out, NULL, 0, 0) != TD_CODE_OK) {
        n_cases++, n_fail++;
        printf("FAIL cpu unary op %u in float32\n", op);
        return;
    }
    if (!to_bool)
        narrow(hdt, fw, want, N);
    char *base[] = {got, a};
    int dts[] = {odt, hdt};
    if (to_bool)
        host_run(un_f<OP, S, bool>(), 2, base, dts, N);
    else
        host_run(un_f<OP, S, S>(), 2, base, dts, N);
    bool transcendental = OP == U_EXP || OP == U_LOG || OP == U_LOG1P || OP == U_SIN || OP == U_COS ||
                          OP == U_TANH || OP == U_SIGMOID || OP == U_RSQRT;
    /* a float32 result a few ulp apart may round to the neighbouring 16-bit value */
    double tol = !transcendental ? 0 : hdt == TD_DTYPE_FLOAT16 ? 1e-3 : 8e-3;
    char what[80];
    snprintf(what, sizeof what, "unary op %u on %s", op, hdt == TD_DTYPE_FLOAT16 ? "float16" : "bfloat16");
    compare(what, odt, got, want, N, tol, a, hdt);
}

template <int OP, unsigned K> static void half_un_row(unsigned op)
{
    if constexpr ((K & KF) != 0) {
        half_un_case<OP, td_cu_f16>(op, TD_DTYPE_FLOAT16, false);
        half_un_case<OP, td_cu_bf16>(op, TD_DTYPE_BFLOAT16, false);
    }
    if constexpr (OP == U_LOGICAL_NOT) {
        half_un_case<OP, td_cu_f16>(op, TD_DTYPE_FLOAT16, true);
        half_un_case<OP, td_cu_bf16>(op, TD_DTYPE_BFLOAT16, true);
    }
}

static void check_unary_half(void)
{
#define UN_CHECK(R, NAME, K) half_un_row<R, (K)>(TD_OP_##NAME);
    UN_OPS(UN_CHECK)
#undef UN_CHECK
}

/* ---- math_ops.cuh (kernels/cpu/math_elem.c's rows): every row at float32/64 and,
 * natively, float16/bfloat16 (against the CPU's float32 kernel between casts), the
 * predicates and NAN_TO_NUM at every compute dtype, ADDCMUL on integers; tensor and scalar
 * operands; transcendental rows within a few ulp (host libm against the CPU's) */

/* Runs f over all (x, y, w) = (value i, value j, value (i + j) % N) on the host (N values
 * with one operand) and the CPU kernel of op over the same inputs; n_in: the record's
 * tensor inputs (the scalar, if any, is in attrs); half dtypes through float32. */
template <typename F> static void math_case(const char *name, unsigned op, int dt, int n_in, int nop, const int64_t *attrs,
                                            uint32_t n_attr, uint8_t flags, bool to_bool, F f, double tol)
{
    static char in[3][N * N * 8], got[N * N * 8], want[N * N * 8];
    static float fin[3][N * N], fw[N * N];
    int n = nop == 2 ? N : N * N, sz = td_cu_dtype_size(dt);
    bool half = td_cu_is_half(dt);
    for (int e = 0; e < n; e++) {
        int i = nop == 2 ? e : e / N, j = nop == 2 ? e : e % N;
        value(dt, i, in[0] + e * sz);
        value(dt, j, in[1] + e * sz);
        value(dt, (i + j) % N, in[2] + e * sz);
    }
    int odt = to_bool ? TD_DTYPE_BOOL : dt, cdt = half ? TD_DTYPE_FLOAT32 : dt;
    struct td_kt ti[3], to;
    struct td_kt *pin[3] = {&ti[0], &ti[1], &ti[2]}, *pout[1] = {&to};
    for (int k = 0; k < 3; k++) {
        if (half)
            widen(dt, in[k], fin[k], n);
        ti[k] = kt1(cdt, n, half ? (char *)fin[k] : in[k]);
    }
    to = kt1(to_bool ? TD_DTYPE_BOOL : cdt, n, half && !to_bool ? (char *)fw : want);
    memset(want, 0, sizeof want);
    memset(got, 0, sizeof got);
    n_cases++;
    if (cpu(op, cdt, n_in, pin, 1, pout, attrs, n_attr, flags) != TD_CODE_OK) {
        n_fail++;
        printf("FAIL cpu %s dtype %d\n", name, dt);
        return;
    }
    n_cases--; /* compare counts it */
    if (half && !to_bool)
        narrow(dt, fw, want, n);
    /* the device operands: out, then the tensors in the functor's order */
    char *base[4] = {got, in[0], in[1], in[2]};
    int dts[4] = {odt, dt, dt, dt};
    host_run(f, nop, base, dts, n);
    char what[96];
    snprintf(what, sizeof what, "%s (dtype %d, %d inputs, flags %u)", name, dt, n_in, flags);
    compare(what, odt, got, want, n, tol, in[0], dt);
}

/* a few ulp of the float type for transcendental rows; 16-bit types: one rounding step */
static double math_tol(int dt, bool transcendental)
{
    if (!transcendental)
        return 0;
    return dt == TD_DTYPE_FLOAT32 ? 1e-6 : dt == TD_DTYPE_FLOAT64 ? 1e-14 : dt == TD_DTYPE_FLOAT16 ? 1e-3 : 8e-3;
}

template <int OP, typename S> static void math1_row(unsigned op, const char *name, int dt)
{
    math1_f<OP, S> f;
    f.f[0] = -1, f.f[1] = f.f[2] = 0;
    int64_t attrs[3] = {0, 0, 0};
    uint32_t na = 0;
    if (OP == M_LOGIT) { /* eps 0.25 (the CPU reads it when present) */
        double eps = 0.25;
        attrs[0] = 1, memcpy(&attrs[1], &eps, 8), na = 2, f.f[0] = eps;
    }
    if (OP == M_NAN_TO_NUM) {
        double v[3] = {7.5, 1e30, -2.5};
        for (int i = 0; i < 3; i++)
            memcpy(&attrs[i], &v[i], 8), f.f[i] = v[i];
        na = 3;
    }
    bool tr = OP != M_FRAC && OP != M_NAN_TO_NUM;
    math_case(name, op, dt, 1, 2, attrs, na, 0, false, f, math_tol(dt, tr));
    if (OP == M_LOGIT) { /* and without eps */
        attrs[0] = 0, f.f[0] = -1;
        math_case(name, op, dt, 1, 2, attrs, na, 0, false, f, math_tol(dt, tr));
    }
}

template <int OP, typename S> static void math2_row(unsigned op, const char *name, int dt)
{
    typedef typename td_cu_elem<S>::T T;
    bool tr = OP != M2_COPYSIGN && OP != M2_FMOD;
    int64_t none[2] = {TD_SCALAR_INT, 0}, sc[2] = {TD_SCALAR_FLOAT, 0};
    double sv = -2.5;
    memcpy(&sc[1], &sv, 8);
    math_case(name, op, dt, 2, 3, none, 2, 0, false, math2_f<OP, S>{T(0), 0}, math_tol(dt, tr));
    /* with a scalar, both iterated operands are the tensor (math_elem.cu's run2) */
    struct dup {
        math2_f<OP, S> g;
        TD_CU_HD void operator()(char **p) const
        {
            char *q[3] = {p[0], p[1], p[1]};
            g(q);
        }
    };
    T s = td_cu_scalar<T>(sc[0], sc[1]);
    math_case(name, op, dt, 1, 2, sc, 2, 0, false, dup{math2_f<OP, S>{s, 2}}, math_tol(dt, tr));
    math_case(name, op, dt, 1, 2, sc, 2, TD_RF_SCALAR_LHS, false, dup{math2_f<OP, S>{s, 1}}, math_tol(dt, tr));
}

template <int OP, typename S> static void math3_row(unsigned op, const char *name, int dt)
{
    typedef typename td_cu_elem<S>::T T;
    math3_f<OP, S> f;
    f.ws = f.v = T(0), f.vi = 0, f.has_ws = false;
    int64_t attrs[2] = {TD_SCALAR_FLOAT, 0};
    double v = 0.75;
    memcpy(&attrs[1], &v, 8);
    if (OP == M3_LERP) {
        math_case(name, op, dt, 3, 4, attrs, 2, 0, false, f, 0); /* weight tensor */
        f.ws = td_cu_scalar<T>(attrs[0], attrs[1]), f.has_ws = true;
        math_case(name, op, dt, 2, 3, attrs, 2, 0, false, f, 0); /* scalar weight */
        return;
    }
    /* ADDCMUL/ADDCDIV read (tensor1, tensor2, input) = the record's inputs 1, 2, 0 */
    struct rot {
        math3_f<OP, S> g;
        TD_CU_HD void operator()(char **p) const
        {
            char *q[4] = {p[0], p[2], p[3], p[1]};
            g(q);
        }
    };
    f.v = td_cu_scalar<T>(attrs[0], attrs[1]), f.vi = 0;
    math_case(name, op, dt, 3, 4, attrs, 2, 0, false, rot{f}, 0);
    if constexpr (!std::is_floating_point<T>::value) {
        int64_t ia[2] = {TD_SCALAR_INT, -3};
        f.v = T(-3), f.vi = -3;
        math_case(name, op, dt, 3, 4, ia, 2, 0, false, rot{f}, 0);
    }
}

template <int OP, typename S> static void pred_row(unsigned op, const char *name, int dt)
{
    math_case(name, op, dt, 1, 2, NULL, 0, 0, true, pred_f<OP, S>(), 0);
}

static void check_math(void)
{
    const int floats[] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_FLOAT16, TD_DTYPE_BFLOAT16};
    for (int dt : floats) {
#define FLOAT_DISPATCH(...)                                                       \
        switch (dt) {                                                              \
        case TD_DTYPE_FLOAT32: { typedef float S; __VA_ARGS__; } break;                   \
        case TD_DTYPE_FLOAT64: { typedef double S; __VA_ARGS__; } break;                  \
        case TD_DTYPE_FLOAT16: { typedef td_cu_f16 S; __VA_ARGS__; } break;               \
        default: { typedef td_cu_bf16 S; __VA_ARGS__; } break;                            \
        }
#define ROW1(R, NAME) FLOAT_DISPATCH(math1_row<R, S>(TD_OP_##NAME, #NAME, dt))
        MATH1_OPS(ROW1)
#undef ROW1
#define ROW2(R, NAME) FLOAT_DISPATCH(math2_row<R, S>(TD_OP_##NAME, #NAME, dt))
        MATH2_OPS(ROW2)
#undef ROW2
#define ROW3(R, NAME) FLOAT_DISPATCH(math3_row<R, S>(TD_OP_##NAME, #NAME, dt))
        MATH3_OPS(ROW3)
#undef ROW3
#define ROWP(R, NAME) FLOAT_DISPATCH(pred_row<R, S>(TD_OP_##NAME, #NAME, dt))
        MATH_PRED_OPS(ROWP)
#undef ROWP
#undef FLOAT_DISPATCH
    }
    for (int dt : compute_dts) {
        if (is_float(dt))
            continue;
#define INT_DISPATCH(...)                                                         \
        switch (dt) {                                                              \
        case TD_DTYPE_INT64: { typedef int64_t S; __VA_ARGS__; } break;                   \
        case TD_DTYPE_INT32: { typedef int32_t S; __VA_ARGS__; } break;                   \
        case TD_DTYPE_INT16: { typedef int16_t S; __VA_ARGS__; } break;                   \
        case TD_DTYPE_INT8: { typedef int8_t S; __VA_ARGS__; } break;                     \
        case TD_DTYPE_UINT8: { typedef uint8_t S; __VA_ARGS__; } break;                   \
        default: { typedef bool S; __VA_ARGS__; } break;                                  \
        }
#define ROWP(R, NAME) INT_DISPATCH(pred_row<R, S>(TD_OP_##NAME, #NAME, dt))
        MATH_PRED_OPS(ROWP)
#undef ROWP
        if (dt != TD_DTYPE_BOOL) {
            INT_DISPATCH(if constexpr (!std::is_same<S, bool>::value) math3_row<M3_ADDCMUL, S>(TD_OP_ADDCMUL, "ADDCMUL", dt))
        }
#undef INT_DISPATCH
    }
}

/* ---- ARANGE and LINSPACE (create_ops.cuh) against kernels/cpu/create.c, bit for bit */

static void create_case(unsigned op, int dt, int64_t n, const int64_t *tail, uint32_t ntail)
{
    static char want[4096 * 8], got[4096 * 8];
    int64_t attrs[16] = {dt, 1, n};
    memcpy(attrs + 3, tail, ntail * sizeof(int64_t));
    struct td_kt o = kt1(dt, n, want);
    struct td_kt *out[] = {&o};
    memset(want, 0, sizeof want), memset(got, 0, sizeof got);
    if (cpu(op, dt, 0, NULL, 1, out, attrs, 3 + ntail, 0) != TD_CODE_OK) {
        n_cases++, n_fail++;
        printf("FAIL cpu create op %u dtype %d\n", op, dt);
        return;
    }
    int sz = td_cu_dtype_size(dt);
    if (op == TD_OP_ARANGE) {
        td_cu_arange a;
        a.dt = dt;
        double f0, f1;
        memcpy(&f0, &tail[1], 8), memcpy(&f1, &tail[3], 8);
        a.fstart = tail[0] == TD_SCALAR_FLOAT ? f0 : (double)tail[1];
        a.fstep = tail[2] == TD_SCALAR_FLOAT ? f1 : (double)tail[3];
        a.istart = tail[0] == TD_SCALAR_FLOAT ? (int64_t)a.fstart : tail[1];
        a.istep = tail[2] == TD_SCALAR_FLOAT ? (int64_t)a.fstep : tail[3];
        for (int64_t i = 0; i < n; i++)
            td_cu_arange_elem(a, got + i * sz, i);
    } else {
        td_cu_linspace l;
        l.dt = dt, l.n = n;
        memcpy(&l.start, &tail[0], 8), memcpy(&l.end, &tail[1], 8);
        for (int64_t i = 0; i < n; i++)
            td_cu_linspace_elem(l, got + i * sz, i);
    }
    char what[64];
    snprintf(what, sizeof what, "%s n %lld", op == TD_OP_ARANGE ? "arange" : "linspace", (long long)n);
    compare(what, dt, got, want, n, 0, NULL, 0);
}

static void check_create(void)
{
    const double fs[][2] = {{0, 1}, {-3.7, 0.1}, {1e10, -3.3e-3}, {2.5, 7}, {-1, 1}, {0.1, 0.3}};
    for (int dt : compute_dts) {
        if (dt == TD_DTYPE_BOOL)
            continue;
        for (const double *p : fs)
            for (int64_t n : {1, 2, 3, 7, 100, 4001}) {
                int64_t tail[4] = {TD_SCALAR_FLOAT, 0, TD_SCALAR_FLOAT, 0};
                memcpy(&tail[1], &p[0], 8), memcpy(&tail[3], &p[1], 8);
                create_case(TD_OP_ARANGE, dt, n, tail, 4);
                int64_t itail[4] = {TD_SCALAR_INT, (int64_t)p[0] - 5, TD_SCALAR_INT, 3};
                create_case(TD_OP_ARANGE, dt, n, itail, 4);
                double end = p[0] + 1000 * p[1];
                int64_t ltail[2];
                memcpy(&ltail[0], &p[0], 8), memcpy(&ltail[1], &end, 8);
                create_case(TD_OP_LINSPACE, dt, n, ltail, 2);
            }
    }
}

/* ---- CLAMP (the device converts the bounds with td_cu_scalar), FILL_'s scalar */

template <typename T> static void clamp_case(int dt, int64_t lk, double lo, int64_t hk, double hi, bool hl, bool hh)
{
    char a[N * 8], want[N * 8], got[N * 8];
    for (int i = 0; i < N; i++)
        value(dt, i, a + i * td_cu_dtype_size(dt));
    int64_t attrs[6] = {hl, lk, 0, hh, hk, 0};
    if (lk == TD_SCALAR_FLOAT)
        memcpy(&attrs[2], &lo, 8);
    else
        attrs[2] = (int64_t)lo;
    if (hk == TD_SCALAR_FLOAT)
        memcpy(&attrs[5], &hi, 8);
    else
        attrs[5] = (int64_t)hi;
    struct td_kt ta = kt1(dt, N, a), to = kt1(dt, N, want);
    struct td_kt *in[] = {&ta}, *out[] = {&to};
    memset(want, 0, sizeof want);
    memset(got, 0, sizeof got);
    if (cpu(TD_OP_CLAMP, dt, 1, in, 1, out, attrs, 6, 0) != TD_CODE_OK) {
        n_fail++;
        printf("FAIL cpu clamp dtype %d\n", dt);
        return;
    }
    clamp_f<T> f;
    f.has_lo = hl, f.has_hi = hh;
    f.lo = hl ? td_cu_scalar<T>(attrs[1], attrs[2]) : T(0);
    f.hi = hh ? td_cu_scalar<T>(attrs[4], attrs[5]) : T(0);
    char *base[] = {got, a};
    int dts[] = {dt, dt};
    host_run(f, 2, base, dts, N);
    compare("clamp", dt, got, want, N, 0, a, dt);
}

static void check_clamp(void)
{
    clamp_case<float>(TD_DTYPE_FLOAT32, TD_SCALAR_FLOAT, -1.5, TD_SCALAR_INT, 7, true, true);
    clamp_case<double>(TD_DTYPE_FLOAT64, TD_SCALAR_FLOAT, 0.25, TD_SCALAR_FLOAT, 0, true, false);
    clamp_case<int32_t>(TD_DTYPE_INT32, TD_SCALAR_INT, -100, TD_SCALAR_FLOAT, 2.9, true, true);
    clamp_case<int8_t>(TD_DTYPE_INT8, TD_SCALAR_INT, 0, TD_SCALAR_INT, 300, false, true);
    clamp_case<uint8_t>(TD_DTYPE_UINT8, TD_SCALAR_FLOAT, 3.5, TD_SCALAR_INT, 0, true, false);
    clamp_case<int64_t>(TD_DTYPE_INT64, TD_SCALAR_FLOAT, NAN, TD_SCALAR_FLOAT, 1e30, true, true);
}

/* ---- the N-d iteration: td_cu_iter_init + td_cu_addr (both index widths) against the
 * CPU's COPY_ on transposed, broadcast, sliced and offset views */

template <typename IDX> static void emu_copy(struct td_kt *dst, struct td_kt *src)
{
    struct td_kt *ops[2] = {dst, src};
    struct td_cu_iter it;
    if (!td_cu_iter_init(&it, 2, ops)) {
        n_fail++;
        printf("FAIL iter_init\n");
        return;
    }
    td_cu_args<2, IDX> a = td_cu_pack<2, IDX>(&it);
    for (int64_t i = 0; i < it.numel; i++) {
        char *p[2];
        td_cu_addr<2, IDX>(a, (IDX)i, p);
        move_f<uint32_t>()(p);
    }
}

static void check_iteration(void)
{
    unsigned seed = 11;
    static uint32_t src[4096], want[1024], got[1024];
    for (int i = 0; i < 4096; i++)
        src[i] = (uint32_t)i * 2654435761u;
    for (int c = 0; c < 300; c++) {
        /* destination: contiguous, 0-5 dims of size 1-4 */
        int nd = rand_r(&seed) % 6;
        int64_t sizes[TD_MAX_DIMS];
        for (int d = 0; d < nd; d++)
            sizes[d] = 1 + rand_r(&seed) % 4;
        struct td_kt td;
        memset(&td, 0, sizeof td);
        td.m.dtype = TD_DTYPE_INT32;
        td.m.ndim = (uint8_t)nd;
        int64_t n = 1;
        for (int d = nd - 1; d >= 0; d--)
            td.m.sizes[d] = sizes[d], td.m.strides[d] = n, n *= sizes[d];
        /* source: fewer or equal dims (broadcast from the left), some dims size 1
         * (broadcast), strides permuted (transpose), stepped (slices), an offset */
        struct td_kt ts;
        memset(&ts, 0, sizeof ts);
        ts.m.dtype = TD_DTYPE_INT32;
        int snd = nd ? nd - rand_r(&seed) % (nd + 1) : 0;
        ts.m.ndim = (uint8_t)snd;
        int perm[TD_MAX_DIMS];
        for (int d = 0; d < snd; d++)
            perm[d] = d;
        for (int d = snd - 1; d > 0; d--) {
            int j = rand_r(&seed) % (d + 1), t = perm[d];
            perm[d] = perm[j], perm[j] = t;
        }
        int64_t st = 1 + rand_r(&seed) % 2, step[TD_MAX_DIMS];
        for (int d = 0; d < snd; d++) {
            int64_t sz = rand_r(&seed) % 4 == 0 ? 1 : sizes[nd - snd + d];
            ts.m.sizes[d] = sz;
        }
        for (int k = snd - 1; k >= 0; k--) { /* lay dims out in perm order */
            int d = perm[k];
            step[d] = st;
            st *= ts.m.sizes[d] * (1 + rand_r(&seed) % 2);
        }
        for (int d = 0; d < snd; d++)
            ts.m.strides[d] = step[d];
        ts.m.offset = rand_r(&seed) % 7;
        ts.m.storage_nbytes = sizeof src;
        ts.data = (char *)src;
        if (ts.m.offset + st > 4096)
            continue;
        td.data = (char *)want;
        struct td_kt *in[] = {&td, &ts};
        memset(want, 0, sizeof want);
        if (cpu(TD_OP_COPY_, TD_DTYPE_INT32, 2, in, 0, NULL, NULL, 0, 0) != TD_CODE_OK) {
            n_fail++;
            printf("FAIL cpu copy, iteration case %d\n", c);
            continue;
        }
        for (int w = 0; w < 2; w++) {
            memset(got, 0, sizeof got);
            td.data = (char *)got;
            if (w == 0)
                emu_copy<int32_t>(&td, &ts);
            else
                emu_copy<int64_t>(&td, &ts);
            char what[64];
            snprintf(what, sizeof what, "iteration case %d (%d-bit)", c, w ? 64 : 32);
            compare(what, TD_DTYPE_INT32, (char *)got, (char *)want, n, 0, NULL, 0);
        }
    }
    /* when 32 bits do not cover the offsets */
    struct td_cu_iter it;
    memset(&it, 0, sizeof it);
    it.nop = 2, it.ndim = 1, it.numel = 1000, it.size[0] = 1000, it.stride[0][0] = 4, it.stride[0][1] = 4;
    n_cases++;
    if (!td_cu_iter_fits32(&it))
        n_fail++, printf("FAIL fits32 small\n");
    it.stride[0][1] = INT64_C(1) << 21; /* 999 * 2^21 > 2^30 */
    n_cases++;
    if (td_cu_iter_fits32(&it))
        n_fail++, printf("FAIL fits32 span\n");
    it.stride[0][1] = -4, it.numel = INT64_C(1) << 30, it.size[0] = it.numel;
    n_cases++;
    if (td_cu_iter_fits32(&it))
        n_fail++, printf("FAIL fits32 numel\n");
}

/* ---- scalar attributes: td_cu_scalar<T> against td__scalar_store's rule (float kind:
 * td_store_f64, else td_store_i64) */

template <typename T> static void scalar_case(int dt, int64_t kind, int64_t bits)
{
    char want[8] = {0}, got[8] = {0};
    double f;
    memcpy(&f, &bits, 8);
    if (kind == TD_SCALAR_FLOAT)
        td_store_f64((enum td_dtype)dt, want, f);
    else
        td_store_i64((enum td_dtype)dt, want, bits);
    T v = td_cu_scalar<T>(kind, bits);
    memcpy(got, &v, sizeof v);
    char what[64];
    snprintf(what, sizeof what, "scalar kind %lld bits %llx", (long long)kind, (unsigned long long)bits);
    compare(what, dt, got, want, 1, 0, NULL, 0);
}

static void check_scalars(void)
{
    const double fv[] = {0.0, -0.0, 2.5, -2.5, 1e300, -1e300, NAN, INFINITY, 255.9, -129.5, 3e9, 9.3e18};
    const int64_t iv[] = {0, 1, -1, 300, -129, INT64_C(1) << 60 | 1, INT64_MIN, INT64_MAX, (INT64_C(1) << 53) + 1,
                          (INT64_C(1) << 60) + (INT64_C(1) << 36) + 1 /* rounds differently through double */};
    for (double d : fv) {
        int64_t b;
        memcpy(&b, &d, 8);
        scalar_case<float>(TD_DTYPE_FLOAT32, TD_SCALAR_FLOAT, b);
        scalar_case<double>(TD_DTYPE_FLOAT64, TD_SCALAR_FLOAT, b);
        scalar_case<int64_t>(TD_DTYPE_INT64, TD_SCALAR_FLOAT, b);
        scalar_case<int32_t>(TD_DTYPE_INT32, TD_SCALAR_FLOAT, b);
        scalar_case<int16_t>(TD_DTYPE_INT16, TD_SCALAR_FLOAT, b);
        scalar_case<int8_t>(TD_DTYPE_INT8, TD_SCALAR_FLOAT, b);
        scalar_case<uint8_t>(TD_DTYPE_UINT8, TD_SCALAR_FLOAT, b);
        scalar_case<bool>(TD_DTYPE_BOOL, TD_SCALAR_FLOAT, b);
    }
    for (int64_t b : iv)
        for (int64_t kind : {TD_SCALAR_INT, TD_SCALAR_BOOL}) {
            scalar_case<float>(TD_DTYPE_FLOAT32, kind, b);
            scalar_case<double>(TD_DTYPE_FLOAT64, kind, b);
            scalar_case<int64_t>(TD_DTYPE_INT64, kind, b);
            scalar_case<int32_t>(TD_DTYPE_INT32, kind, b);
            scalar_case<int16_t>(TD_DTYPE_INT16, kind, b);
            scalar_case<int8_t>(TD_DTYPE_INT8, kind, b);
            scalar_case<uint8_t>(TD_DTYPE_UINT8, kind, b);
            scalar_case<bool>(TD_DTYPE_BOOL, kind, b);
        }
}


/* ---- indexing (index_ops.cuh): the element bodies run serially on the host, in the
 * CPU's row-major order, so even duplicate indices must give the CPU's bits */

static unsigned rs = 12345;
static int64_t rnd(int64_t n) { return (int64_t)(rand_r(&rs) % (unsigned)n); }
static double urand01(void) { return (double)rand_r(&rs) / RAND_MAX; }

/* a tensor of sizes over fresh storage, contiguous, or with its dims stored in reverse
 * order (a transposed view) when tr */
static struct td_kt ktn(int dt, int nd, const int64_t *sizes, bool tr, std::vector<char> &buf)
{
    struct td_kt t;
    memset(&t, 0, sizeof t);
    t.m.dtype = (uint8_t)dt;
    t.m.ndim = (uint8_t)nd;
    int64_t n = 1;
    for (int d = 0; d < nd; d++)
        t.m.sizes[d] = sizes[d], n *= sizes[d];
    int64_t st = 1;
    for (int i = 0; i < nd; i++) {
        int d = tr ? i : nd - 1 - i;
        t.m.strides[d] = st;
        st *= sizes[d];
    }
    buf.assign((size_t)(n > 0 ? n : 1) * td_cu_dtype_size(dt) + 16, 0);
    t.m.storage_nbytes = n * td_cu_dtype_size(dt);
    t.data = buf.data();
    return t;
}

static void fill_vals(struct td_kt &t, int64_t n)
{
    int dt = t.m.dtype, es = td_cu_dtype_size(dt);
    for (int64_t i = 0; i < n; i++)
        value(dt, (int)rnd(N), t.data + i * es);
}

static void fill_idx(struct td_kt &t, int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t i = 0; i < n; i++)
        ((int64_t *)t.data)[i] = lo + rnd(hi - lo);
}

static int64_t numel(const struct td_kt &t)
{
    int64_t n = 1;
    for (int d = 0; d < t.m.ndim; d++)
        n *= t.m.sizes[d];
    return n;
}

static enum td_code cpu_msg(unsigned op, int dt, int n_in, struct td_kt **in, struct td_kt *out, const int64_t *attrs,
                            uint32_t n_attr, char *msg)
{
    struct td_kctx k;
    memset(&k, 0, sizeof k);
    k.op = (uint16_t)op;
    k.compute_dtype = (uint8_t)dt;
    k.n_in = n_in;
    k.n_out = 1;
    for (int i = 0; i < n_in; i++)
        k.in[i] = in[i];
    k.out[0] = out;
    k.attrs = attrs;
    k.n_attr = n_attr;
    k.msg = msg;
    msg[0] = 0;
    td_kernel_fn fn = td_cu_dtype_is_complex(dt) && td__cpu_complex_kernel(op) ? td__cpu_complex_kernel(op) : td_cpu_kernels[op];
    return fn(&k);
}

static struct td_kctx kctx(unsigned op, int dt, int n_in, struct td_kt **in, struct td_kt *out, const int64_t *attrs,
                           uint32_t n_attr)
{
    struct td_kctx k;
    memset(&k, 0, sizeof k);
    k.op = (uint16_t)op;
    k.compute_dtype = (uint8_t)dt;
    k.n_in = n_in;
    k.n_out = 1;
    for (int i = 0; i < n_in; i++)
        k.in[i] = in[i];
    k.out[0] = out;
    k.attrs = attrs;
    k.n_attr = n_attr;
    return k;
}

/* body<E> over every element of a plan, E by element size or the compute type */
template <template <typename> class B, typename P>
static void run_elems(const P &p, int dt, bool typed, const td_cu_ierr_slot &err)
{
    if (typed) {
        switch (dt) {
        case TD_DTYPE_FLOAT32: B<float>::run(p, err); break;
        case TD_DTYPE_FLOAT64: B<double>::run(p, err); break;
        case TD_DTYPE_INT64: B<int64_t>::run(p, err); break;
        case TD_DTYPE_INT32: B<int32_t>::run(p, err); break;
        case TD_DTYPE_INT16: B<int16_t>::run(p, err); break;
        case TD_DTYPE_INT8: B<int8_t>::run(p, err); break;
        case TD_DTYPE_UINT8: B<uint8_t>::run(p, err); break;
        case TD_DTYPE_BOOL: B<bool>::run(p, err); break;
        case TD_DTYPE_COMPLEX64: B<td_cu_c64>::run(p, err); break;
        default: B<td_cu_c128>::run(p, err); break;
        }
        return;
    }
    switch (td_cu_dtype_size(dt)) {
    case 1: B<uint8_t>::run(p, err); break;
    case 2: B<uint16_t>::run(p, err); break;
    case 4: B<uint32_t>::run(p, err); break;
    case 8: B<uint64_t>::run(p, err); break;
    default: B<td_cu_b16>::run(p, err); break;
    }
}
template <typename E> struct gs_body {
    static void run(const td_cu_gs_plan &p, const td_cu_ierr_slot &e)
    {
        for (int64_t i = 0; i < p.n; i++)
            td_cu_gs_elem<E>(p, i, e);
    }
};
template <typename E> struct ix_body {
    static void run(const td_cu_ix_plan &p, const td_cu_ierr_slot &e)
    {
        for (int64_t i = 0; i < p.n; i++)
            td_cu_ix_elem<E>(p, i, e);
    }
};

static const int index_dts[] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_INT64, TD_DTYPE_INT32, TD_DTYPE_INT16,
                                TD_DTYPE_INT8, TD_DTYPE_UINT8, TD_DTYPE_BOOL, TD_DTYPE_COMPLEX64, TD_DTYPE_COMPLEX128};

static void check_msg(const char *what, const char *cpu_msg_, const td_cu_ierr &rec)
{
    char mine[TD_KMSG_LEN];
    n_cases++;
    td_cu_ierr_format(&rec, mine, sizeof mine);
    if (strcmp(mine, cpu_msg_)) {
        n_fail++;
        printf("FAIL %s message: got '%s' want '%s'\n", what, mine, cpu_msg_);
    }
}

static void check_gather_scatter(void)
{
    for (int it = 0; it < 400; it++) {
        int dt = index_dts[it % 10];
        bool scatter = it % 3 != 0, cx = td_cu_dtype_is_complex(dt);
        int reduce = scatter && !cx ? (int)rnd(3) : 0, nd = 1 + (int)rnd(3), dim = (int)rnd(nd);
        bool bad = it % 17 == 5;
        int64_t ss[3], is[3];
        for (int d = 0; d < nd; d++) {
            ss[d] = 1 + rnd(5);
            is[d] = d == dim ? 1 + rnd(6) : 1 + rnd(ss[d]);
        }
        std::vector<char> bs, bi, bb, bo1, bo2;
        struct td_kt self = ktn(dt, nd, ss, it & 1, bs), ix = ktn(TD_DTYPE_INT64, nd, is, it & 2, bi);
        fill_vals(self, numel(self));
        fill_idx(ix, numel(ix), 0, ss[dim]);
        if (bad) /* one bad index: both sides must name it */
            ((int64_t *)ix.data)[rnd(numel(ix))] = it & 4 ? ss[dim] + rnd(3) : -1 - rnd(3);
        int64_t attrs[2] = {it % 5 == 0 ? dim - nd : dim, reduce};
        char msg[TD_KMSG_LEN];
        td_cu_ierr rec;
        memset(&rec, 0, sizeof rec);
        int flag = 0;
        td_cu_ierr_slot err = {&rec, &flag};
        if (!scatter) {
            struct td_kt o1 = ktn(dt, nd, is, false, bo1), o2 = ktn(dt, nd, is, false, bo2);
            struct td_kt *in[] = {&self, &ix};
            enum td_code c = cpu_msg(TD_OP_GATHER, dt, 2, in, &o1, attrs, 1, msg);
            struct td_kctx k = kctx(TD_OP_GATHER, dt, 2, in, &o2, attrs, 1);
            td_cu_gs_plan p;
            if (td_cu_gs_plan_make(&k, &p) != TD_CODE_OK) {
                n_fail++, printf("FAIL gather plan, case %d\n", it);
                continue;
            }
            run_elems<gs_body>(p, dt, false, err);
            if (bad) {
                n_cases++;
                if (c == TD_CODE_OK || !flag)
                    n_fail++, printf("FAIL gather bad index not reported, case %d\n", it);
                else
                    check_msg("gather", msg, rec);
            } else {
                compare("gather", dt, o2.data, o1.data, numel(o1), 0, NULL, 0);
            }
        } else {
            std::vector<char> bsrc;
            struct td_kt src = ktn(dt, nd, is, it & 8, bsrc);
            fill_vals(src, numel(src));
            struct td_kt o1 = ktn(dt, nd, ss, false, bo1), o2 = ktn(dt, nd, ss, false, bo2);
            struct td_kt *in[] = {&self, &ix, &src};
            enum td_code c = cpu_msg(TD_OP_SCATTER, dt, 3, in, &o1, attrs, 2, msg);
            /* the device kernel copies self first with COPY_ (index.cu): here the CPU's */
            struct td_kt *cp[] = {&o2, &self};
            cpu(TD_OP_COPY_, dt, 2, cp, 0, NULL, NULL, 0, 0);
            struct td_kctx k = kctx(TD_OP_SCATTER, dt, 3, in, &o2, attrs, 2);
            td_cu_gs_plan p;
            if (td_cu_gs_plan_make(&k, &p) != TD_CODE_OK) {
                n_fail++, printf("FAIL scatter plan, case %d\n", it);
                continue;
            }
            run_elems<gs_body>(p, dt, reduce != 0, err);
            if (bad) {
                n_cases++;
                if (c == TD_CODE_OK || !flag)
                    n_fail++, printf("FAIL scatter bad index not reported, case %d\n", it);
                else
                    check_msg("scatter", msg, rec);
            } else {
                char what[64];
                snprintf(what, sizeof what, "scatter reduce %d dim %d/%d", reduce, dim, nd);
                compare(what, dt, o2.data, o1.data, numel(o1), 0, NULL, 0);
            }
        }
    }
}

static void check_index(void)
{
    for (int it = 0; it < 600; it++) {
        int dt = index_dts[it % 10];
        bool put = it % 2 == 1, acc = put && it % 4 == 1;
        int mode = (int)rnd(5), nd = 1 + (int)rnd(3), dim = (int)rnd(nd), kk = 1 + (int)rnd(nd - dim), ni = (int)rnd(3);
        bool bad = it % 13 == 7;
        int64_t ss[3], is[2], os[TD_MAX_DIMS];
        for (int d = 0; d < nd; d++)
            ss[d] = 1 + rnd(4);
        for (int d = 0; d < ni; d++)
            is[d] = 1 + rnd(3);
        int ond = 0;
        for (int d = 0; d < dim; d++)
            os[ond++] = ss[d];
        for (int d = 0; d < ni; d++)
            os[ond++] = is[d];
        for (int d = dim + kk; d < nd; d++)
            os[ond++] = ss[d];
        bool wrap = mode == TD_CU_M_ADV || mode == TD_CU_M_TAKE || mode == TD_CU_M_FILL;
        std::vector<char> bs, bv, bo1, bo2, bix[3];
        struct td_kt self = ktn(dt, nd, ss, it & 4, bs), ixs[3];
        fill_vals(self, numel(self));
        int64_t nix = 1;
        for (int d = 0; d < ni; d++)
            nix *= is[d];
        for (int j = 0; j < kk; j++) {
            ixs[j] = ktn(TD_DTYPE_INT64, ni, is, (it >> 3) & 1, bix[j]);
            fill_idx(ixs[j], nix, wrap ? -ss[dim + j] : 0, ss[dim + j]);
        }
        if (bad && nix > 0) {
            int j = (int)rnd(kk);
            ((int64_t *)ixs[j].data)[rnd(nix)] = it & 16 ? ss[dim + j] + rnd(2) : -ss[dim + j] - 1 - rnd(2);
        }
        int64_t attrs[3] = {dim, mode, acc};
        char msg[TD_KMSG_LEN];
        td_cu_ierr rec;
        memset(&rec, 0, sizeof rec);
        int flag = 0;
        td_cu_ierr_slot err = {&rec, &flag};
        struct td_kt *in[2 + 3];
        enum td_code c;
        struct td_kt o1, o2, vals;
        int64_t nout;
        if (!put) {
            o1 = ktn(dt, ond, os, false, bo1), o2 = ktn(dt, ond, os, false, bo2);
            in[0] = &self;
            for (int j = 0; j < kk; j++)
                in[1 + j] = &ixs[j];
            c = cpu_msg(TD_OP_INDEX, dt, 1 + kk, in, &o1, attrs, 2, msg);
            nout = numel(o1);
        } else {
            vals = ktn(dt, ond, os, it & 32, bv);
            fill_vals(vals, numel(vals));
            o1 = ktn(dt, nd, ss, false, bo1), o2 = ktn(dt, nd, ss, false, bo2);
            in[0] = &self, in[1] = &vals;
            for (int j = 0; j < kk; j++)
                in[2 + j] = &ixs[j];
            c = cpu_msg(TD_OP_INDEX_PUT, dt, 2 + kk, in, &o1, attrs, 3, msg);
            struct td_kt *cp[] = {&o2, &self};
            cpu(TD_OP_COPY_, dt, 2, cp, 0, NULL, NULL, 0, 0);
            nout = numel(o1);
        }
        struct td_kctx k = kctx(put ? TD_OP_INDEX_PUT : TD_OP_INDEX, dt, (put ? 2 : 1) + kk, in, &o2, attrs, put ? 3 : 2);
        td_cu_ix_plan p;
        if (td_cu_ix_plan_make(&k, &p) != TD_CODE_OK) {
            n_fail++, printf("FAIL index plan, case %d\n", it);
            continue;
        }
        run_elems<ix_body>(p, dt, acc, err);
        char what[96];
        snprintf(what, sizeof what, "%s mode %d acc %d dim %d k %d ni %d", put ? "index_put" : "index", mode, acc, dim, kk, ni);
        if (bad && nix > 0 && nout > 0) {
            n_cases++;
            if (c == TD_CODE_OK || !flag)
                n_fail++, printf("FAIL %s: bad index not reported, case %d\n", what, it);
            else
                check_msg(what, msg, rec);
        } else if (!bad) {
            if (c != TD_CODE_OK)
                n_fail++, printf("FAIL %s: cpu failed (%s), case %d\n", what, msg, it);
            compare(what, dt, o2.data, o1.data, nout, 0, NULL, 0);
        }
    }
}

/* INDEX's mask mode: the device's row numbering (a prefix count) done serially */
static void check_index_mask(void)
{
    for (int it = 0; it < 200; it++) {
        int dt = index_dts[it % 10], nd = 1 + (int)rnd(3), dim = (int)rnd(nd), km = 1 + (int)rnd(nd - dim);
        int64_t xs[3], ms[3], os[3];
        for (int d = 0; d < nd; d++)
            xs[d] = 1 + rnd(5);
        for (int d = 0; d < km; d++)
            ms[d] = xs[dim + d];
        std::vector<char> bx, bm, bo1, bo2;
        struct td_kt x = ktn(dt, nd, xs, it & 1, bx), m = ktn(it & 2 ? TD_DTYPE_UINT8 : TD_DTYPE_BOOL, km, ms, it & 4, bm);
        fill_vals(x, numel(x));
        int64_t count = 0;
        for (int64_t i = 0; i < numel(m); i++) {
            uint8_t v = rnd(3) == 0 ? 0 : (m.m.dtype == TD_DTYPE_BOOL ? 1 : (uint8_t)(1 + rnd(255)));
            m.data[i] = (char)v;
            count += v != 0;
        }
        int ond = 0;
        for (int d = 0; d < dim; d++)
            os[ond++] = xs[d];
        os[ond++] = count;
        for (int d = dim + km; d < nd; d++)
            os[ond++] = xs[d];
        struct td_kt o1 = ktn(dt, ond, os, false, bo1), o2 = ktn(dt, ond, os, false, bo2);
        int64_t attrs[3] = {dim, TD_CU_M_MASK, count};
        struct td_kt *in[] = {&x, &m};
        char msg[TD_KMSG_LEN];
        enum td_code c = cpu_msg(TD_OP_INDEX, dt, 2, in, &o1, attrs, 3, msg);
        struct td_kctx k = kctx(TD_OP_INDEX, dt, 2, in, &o2, attrs, 3);
        td_cu_mask_plan p;
        if (c != TD_CODE_OK || td_cu_mask_plan_make(&k, &p) != TD_CODE_OK) {
            n_fail++, printf("FAIL index mask plan, case %d (%s)\n", it, msg);
            continue;
        }
        int64_t row = 0;
        for (int64_t i = 0; i < p.m; i++)
            if (td_cu_mask_at(p, i)) {
                switch (td_cu_dtype_size(dt)) {
                case 1: td_cu_mask_write<uint8_t>(p, i, row); break;
                case 2: td_cu_mask_write<uint16_t>(p, i, row); break;
                case 4: td_cu_mask_write<uint32_t>(p, i, row); break;
                case 8: td_cu_mask_write<uint64_t>(p, i, row); break;
                default: td_cu_mask_write<td_cu_b16>(p, i, row); break;
                }
                row++;
            }
        compare("index mask", dt, o2.data, o1.data, numel(o1), 0, NULL, 0);
    }
}

/* ---- the fused optimizer steps (optim_ops.cuh) against kernels/cpu/optim.c, bit for bit */

template <typename T> static void optim_case(int it)
{
    int dt = sizeof(T) == 4 ? TD_DTYPE_FLOAT32 : TD_DTYPE_FLOAT64;
    const int64_t n = 257;
    bool sgd = it % 2 == 0;
    double lr = 0.001 * (1 + rnd(100)), mom = it % 3 ? 0.9 : 0, damp = it % 5 == 0 ? 0.1 : 0, wd = it % 7 < 3 ? 0.01 : 0;
    bool nest = mom != 0 && damp == 0 && it % 4 == 0, maxi = it % 11 == 3, first = it % 6 == 2, ams = it % 3 == 1,
         dec = it % 5 < 2;
    int per = sgd ? (mom != 0 ? 3 : 2) : (ams ? 5 : 4);
    std::vector<T> a[5], b[5];
    for (int j = 0; j < per; j++) {
        a[j].resize(n);
        for (int64_t i = 0; i < n; i++)
            a[j][i] = (T)(j >= 2 && !sgd && j != 2 ? fabs(urand01() * 3) : (urand01() * 2 - 1) * (j == 1 ? 5 : 1));
        b[j] = a[j];
    }
    struct td_kt t[5];
    struct td_kt *in[5];
    for (int j = 0; j < per; j++)
        t[j] = kt1(dt, n, (char *)a[j].data()), in[j] = &t[j];
    int64_t attrs[9];
    auto f = [](double v) { int64_t r; memcpy(&r, &v, 8); return r; };
    int64_t step = 1 + rnd(50);
    if (sgd) {
        int64_t at[] = {f(lr), f(mom), f(damp), f(wd), nest, maxi, first};
        memcpy(attrs, at, sizeof at);
    } else {
        int64_t at[] = {f(lr), f(0.9), f(0.999), f(1e-8), f(wd), step, ams, maxi, dec};
        memcpy(attrs, at, sizeof at);
    }
    struct td_kctx k;
    memset(&k, 0, sizeof k);
    k.op = sgd ? TD_OP_SGD_STEP : TD_OP_ADAM_STEP;
    k.compute_dtype = (uint8_t)dt;
    k.n_in = per;
    for (int j = 0; j < per; j++)
        k.in[j] = in[j];
    k.attrs = attrs;
    k.n_attr = sgd ? 7 : 9;
    td_cpu_kernels[k.op](&k);
    if (sgd) {
        td_cu_sgd s = {lr, mom, damp, wd, nest, maxi, first, per == 3};
        for (int64_t i = 0; i < n; i++)
            td_cu_sgd_elem<T>(s, b[0].data(), b[1].data(), per == 3 ? b[2].data() : NULL, i);
    } else {
        td_cu_adam s;
        memset(&s, 0, sizeof s);
        s.lr = lr, s.beta1 = 0.9, s.beta2 = 0.999, s.eps = 1e-8, s.wd = wd, s.amsgrad = ams, s.maximize = maxi,
        s.decoupled = dec;
        td_cu_adam_consts(&s, (double)step);
        for (int64_t i = 0; i < n; i++)
            td_cu_adam_elem<T>(s, b[0].data(), b[1].data(), b[2].data(), b[3].data(), ams ? b[4].data() : NULL, i);
    }
    for (int j = 0; j < per; j++) {
        char what[64];
        snprintf(what, sizeof what, "%s tensor %d case %d", sgd ? "sgd" : "adam", j, it);
        compare(what, dt, (const char *)b[j].data(), (const char *)a[j].data(), n, 0, NULL, 0);
    }
}

static void check_optim(void)
{
    for (int it = 0; it < 120; it++) {
        optim_case<float>(it);
        optim_case<double>(it);
    }
}

/* ---- pooling (pool_ops.cuh) against kernels/cpu/pool.c: forward values and indices,
 * average backward bit for bit; max backward in the CPU's order (serial here) */

static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode)
{
    int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
    if (ceil_mode && o > 0 && (o - 1) * s >= in + p)
        o--;
    return o;
}

static void fill_pool_vals(int dt, char *p, int64_t n)
{
    /* few distinct values: ties; a NaN now and then */
    for (int64_t i = 0; i < n; i++) {
        double v = rnd(40) == 0 ? NAN : (double)(rnd(7) - 3) * 0.37;
        if (dt == TD_DTYPE_FLOAT32)
            ((float *)p)[i] = (float)v;
        else
            ((double *)p)[i] = v;
    }
}

template <typename T> static void pool_case(int it)
{
    int dt = sizeof(T) == 4 ? TD_DTYPE_FLOAT32 : TD_DTYPE_FLOAT64;
    int nsp = 1 + it % 3, kind = (it / 3) % 4; /* 0 max, 1 avg, 2 adaptive avg, 3 adaptive max */
    int64_t xs[5], os[5], kk[3], ss[3], pp[3], dd[3];
    bool ceil_mode = rnd(2), cip = rnd(2);
    int64_t divisor = rnd(4) == 0 ? 1 + rnd(5) : 0;
    xs[0] = 1 + rnd(2), xs[1] = 1 + rnd(3), os[0] = xs[0], os[1] = xs[1];
    for (int i = 0; i < nsp; i++) {
        xs[2 + i] = 1 + rnd(nsp == 3 ? 5 : 9);
        if (kind >= 2) {
            os[2 + i] = 1 + rnd(xs[2 + i] + 2); /* may exceed the input */
            continue;
        }
        for (;;) {
            kk[i] = 1 + rnd(4), ss[i] = 1 + rnd(3), pp[i] = rnd(kk[i] / 2 + 1), dd[i] = kind == 0 ? 1 + rnd(2) : 1;
            os[2 + i] = pool_out(xs[2 + i], kk[i], ss[i], pp[i], dd[i], ceil_mode);
            if (os[2 + i] >= 1)
                break;
        }
    }
    int nd = nsp + 2;
    std::vector<char> bx, by1, by2, bi1, bi2, bg, bgx1, bgx2;
    struct td_kt x = ktn(dt, nd, xs, false, bx);
    fill_pool_vals(dt, x.data, numel(x));
    struct td_kt y1 = ktn(dt, nd, os, false, by1), y2 = ktn(dt, nd, os, false, by2);
    struct td_kt i1 = ktn(TD_DTYPE_INT64, nd, os, false, bi1), i2 = ktn(TD_DTYPE_INT64, nd, os, false, bi2);
    int64_t at[32];
    uint32_t na = 0;
    unsigned op = kind == 0 ? TD_OP_MAX_POOL : kind == 1 ? TD_OP_AVG_POOL : kind == 2 ? TD_OP_ADAPTIVE_AVG_POOL
                                                                                    : TD_OP_ADAPTIVE_MAX_POOL;
    if (kind == 0) {
        at[na++] = ceil_mode;
        for (int j = 0; j < 4; j++)
            at[na++] = nsp;
        for (const int64_t *l : {kk, ss, pp, dd})
            for (int i = 0; i < nsp; i++)
                at[na++] = l[i];
    } else if (kind == 1) {
        at[na++] = ceil_mode, at[na++] = cip, at[na++] = divisor;
        for (int j = 0; j < 3; j++)
            at[na++] = nsp;
        for (const int64_t *l : {kk, ss, pp})
            for (int i = 0; i < nsp; i++)
                at[na++] = l[i];
    } else {
        at[na++] = nsp;
        for (int i = 0; i < nsp; i++)
            at[na++] = os[2 + i];
    }
    bool max = kind == 0 || kind == 3;
    char what[96];
    snprintf(what, sizeof what, "pool kind %d nsp %d case %d", kind, nsp, it);
    /* forward */
    {
        struct td_kt *in[] = {&x}, *o1[] = {&y1, &i1}, *o2[] = {&y2, &i2};
        enum td_code c = cpu(op, dt, 1, in, max ? 2 : 1, o1, at, na, 0);
        struct td_kctx k;
        memset(&k, 0, sizeof k);
        k.op = (uint16_t)op, k.compute_dtype = (uint8_t)dt, k.n_in = 1, k.n_out = max ? 2 : 1;
        k.in[0] = &x, k.out[0] = o2[0], k.out[1] = o2[1], k.attrs = at, k.n_attr = na;
        td_cu_pool q;
        if (c != TD_CODE_OK || td_cu_pool_plan_make(&k, &q) != TD_CODE_OK) {
            n_fail++, printf("FAIL %s: cpu %d or plan\n", what, c);
            return;
        }
        for (int64_t e = 0; e < q.planes * q.P; e++)
            td_cu_pool_fwd<T>(q, e);
        compare(what, dt, y2.data, y1.data, numel(y1), 0, NULL, 0);
        if (max)
            compare(what, TD_DTYPE_INT64, i2.data, i1.data, numel(i1), 0, NULL, 0);
        /* float16/bfloat16 natively: the same geometry on 16-bit x, against the CPU's
         * float32 pooling of the same (rounded) values, rounded once */
        if constexpr (std::is_same<T, float>::value)
            for (int hdt : {TD_DTYPE_FLOAT16, TD_DTYPE_BFLOAT16}) {
                int64_t nx = numel(x), ny = numel(y1);
                std::vector<char> xh(nx * 2), yh(ny * 2), want(ny * 2), byw, biw, bih;
                std::vector<float> xw(nx);
                for (int64_t i = 0; i < nx; i++)
                    td_store_f64((enum td_dtype)hdt, xh.data() + i * 2, ((const float *)x.data)[i]);
                widen(hdt, xh.data(), xw.data(), nx);
                struct td_kt xwt = x, yw = ktn(dt, nd, os, false, byw), iw = ktn(TD_DTYPE_INT64, nd, os, false, biw);
                struct td_kt ih = ktn(TD_DTYPE_INT64, nd, os, false, bih);
                xwt.data = (char *)xw.data();
                struct td_kt *hin[] = {&xwt}, *hout[] = {&yw, &iw};
                if (cpu(op, dt, 1, hin, max ? 2 : 1, hout, at, na, 0) != TD_CODE_OK) {
                    n_cases++, n_fail++, printf("FAIL %s: cpu on the rounded input\n", what);
                    return;
                }
                narrow(hdt, (const float *)yw.data, want.data(), ny);
                td_cu_pool qh = q;
                qh.x = xh.data(), qh.y = yh.data(), qh.iy = max ? (int64_t *)ih.data : NULL;
                for (int64_t e = 0; e < q.planes * q.P; e++)
                    if (hdt == TD_DTYPE_FLOAT16)
                        td_cu_pool_fwd<td_cu_f16>(qh, e);
                    else
                        td_cu_pool_fwd<td_cu_bf16>(qh, e);
                char hw[112];
                snprintf(hw, sizeof hw, "%s in dtype %d", what, hdt);
                compare(hw, hdt, yh.data(), want.data(), ny, 0, NULL, 0);
                if (max)
                    compare(hw, TD_DTYPE_INT64, ih.data, iw.data, ny, 0, NULL, 0);
            }
    }
    /* backward */
    struct td_kt g = ktn(dt, nd, os, false, bg), gx1 = ktn(dt, nd, xs, false, bgx1), gx2 = ktn(dt, nd, xs, false, bgx2);
    fill_vals(g, numel(g));
    for (int64_t i = 0; i < numel(g); i++) /* finite gradients */
        if (dt == TD_DTYPE_FLOAT32)
            ((float *)g.data)[i] = (float)(rnd(1000) - 500) / 64.0f + (float)urand01();
        else
            ((double *)g.data)[i] = (double)(rnd(1000) - 500) / 64.0 + urand01();
    unsigned bop = max ? TD_OP_MAX_POOL_BACKWARD : kind == 1 ? TD_OP_AVG_POOL_BACKWARD : TD_OP_ADAPTIVE_AVG_POOL_BACKWARD;
    struct td_kt *bin[] = {&g, &x, &i1}, *b1[] = {&gx1};
    enum td_code c = cpu(bop, dt, max ? 3 : 2, bin, 1, b1, max ? NULL : at, max ? 0 : na, 0);
    struct td_kctx k;
    memset(&k, 0, sizeof k);
    k.op = (uint16_t)bop, k.compute_dtype = (uint8_t)dt, k.n_in = max ? 3 : 2, k.n_out = 1;
    k.in[0] = &g, k.in[1] = &x, k.in[2] = &i1, k.out[0] = &gx2, k.attrs = max ? NULL : at, k.n_attr = max ? 0 : na;
    td_cu_pool q;
    if (c != TD_CODE_OK && max && td_cu_pool_plan_make(&k, &q) == TD_CODE_OK) {
        /* the CPU's forward gives an empty dilated window an index past its plane (kept
         * bit for bit); its backward then rejects it, and so must the device's */
        char m2[TD_KMSG_LEN];
        cpu_msg(bop, dt, 3, bin, &gx1, NULL, 0, m2);
        td_cu_ierr rec;
        memset(&rec, 0, sizeof rec);
        int flag = 0;
        td_cu_ierr_slot err = {&rec, &flag};
        for (int64_t e = 0; e < q.planes * q.P; e++)
            td_cu_max_back<T>(q, e, err);
        n_cases++;
        if (!flag)
            n_fail++, printf("FAIL %s: bad forward index not flagged\n", what);
        else
            check_msg(what, m2, rec);
        return;
    }
    if (c != TD_CODE_OK || td_cu_pool_plan_make(&k, &q) != TD_CODE_OK) {
        char m2[TD_KMSG_LEN];
        cpu_msg(bop, dt, max ? 3 : 2, bin, &gx1, max ? NULL : at, max ? 0 : na, m2);
        n_fail++, printf("FAIL %s backward: cpu %d or plan (%s)\n", what, c, m2);
        return;
    }
    if (max) {
        td_cu_ierr rec;
        memset(&rec, 0, sizeof rec);
        int flag = 0;
        td_cu_ierr_slot err = {&rec, &flag};
        memset(gx2.data, 0, (size_t)numel(gx2) * sizeof(T));
        for (int64_t e = 0; e < q.planes * q.P; e++)
            td_cu_max_back<T>(q, e, err);
        n_cases++;
        if (flag)
            n_fail++, printf("FAIL %s: max backward flagged a good index\n", what);
        snprintf(what, sizeof what, "pool backward kind %d nsp %d case %d", kind, nsp, it);
        compare(what, dt, gx2.data, gx1.data, numel(gx1), 0, NULL, 0);
        /* a bad index: the CPU's message */
        ((int64_t *)i1.data)[rnd(numel(i1))] = q.X + rnd(3);
        char msg[TD_KMSG_LEN];
        std::vector<char> bgx3;
        struct td_kt gx3 = ktn(dt, nd, xs, false, bgx3);
        if (cpu_msg(bop, dt, 3, bin, &gx3, NULL, 0, msg) == TD_CODE_OK)
            n_fail++, printf("FAIL %s: the CPU took a bad index\n", what);
        for (int64_t e = 0; e < q.planes * q.P; e++)
            td_cu_max_back<T>(q, e, err);
        if (!flag)
            n_fail++, printf("FAIL %s: bad index not flagged\n", what);
        else
            check_msg(what, msg, rec);
    } else {
        for (int64_t e = 0; e < q.planes * q.X; e++)
            td_cu_avg_back<T>(q, e);
        snprintf(what, sizeof what, "pool backward kind %d nsp %d case %d", kind, nsp, it);
        compare(what, dt, gx2.data, gx1.data, numel(gx1), 0, NULL, 0);
        if constexpr (std::is_same<T, float>::value) /* the gradient in float16/bfloat16, natively */
            for (int hdt : {TD_DTYPE_FLOAT16, TD_DTYPE_BFLOAT16}) {
                int64_t ng = numel(g), nx = numel(gx1);
                std::vector<char> gh(ng * 2), gxh(nx * 2), want(nx * 2), bw;
                std::vector<float> gw(ng);
                for (int64_t i = 0; i < ng; i++)
                    td_store_f64((enum td_dtype)hdt, gh.data() + i * 2, ((const float *)g.data)[i]);
                widen(hdt, gh.data(), gw.data(), ng);
                struct td_kt gwt = g, xw = ktn(dt, nd, xs, false, bw);
                gwt.data = (char *)gw.data();
                struct td_kt *hin[] = {&gwt, &x}, *hout[] = {&xw};
                if (cpu(bop, dt, 2, hin, 1, hout, at, na, 0) != TD_CODE_OK) {
                    n_cases++, n_fail++, printf("FAIL %s: cpu on the rounded gradient\n", what);
                    return;
                }
                narrow(hdt, (const float *)xw.data, want.data(), nx);
                td_cu_pool qh = q;
                qh.go = gh.data(), qh.gx = gxh.data();
                for (int64_t e = 0; e < q.planes * q.X; e++)
                    if (hdt == TD_DTYPE_FLOAT16)
                        td_cu_avg_back<td_cu_f16>(qh, e);
                    else
                        td_cu_avg_back<td_cu_bf16>(qh, e);
                char hw[112];
                snprintf(hw, sizeof hw, "%s in dtype %d", what, hdt);
                compare(hw, hdt, gxh.data(), want.data(), nx, 0, NULL, 0);
            }
    }
}

static void check_pool(void)
{
    /* the adaptive windows' exact a b / c, with products past 64 bits */
    for (int i = 0; i < 20000; i++) {
        uint64_t a = ((uint64_t)rand_r(&rs) << 20 ^ (uint64_t)rand_r(&rs)) >> (rnd(2) ? 0 : rnd(40));
        uint64_t b = ((uint64_t)rand_r(&rs) << 20 ^ (uint64_t)rand_r(&rs)) >> rnd(40);
        uint64_t c = 1 + (((uint64_t)rand_r(&rs) << 12 ^ (uint64_t)rand_r(&rs)) >> rnd(40));
        if (a > c) /* a < c as for window bounds (o < out, x < in): the quotient fits */
            a %= c + 1;
        uint64_t r, q = td_cu_muldiv(a << 8 >> 8, b << 10, c, &r);
        unsigned __int128 p = (unsigned __int128)(a << 8 >> 8) * (b << 10);
        n_cases++;
        if (q != (uint64_t)(p / c) || r != (uint64_t)(p % c)) {
            n_fail++;
            printf("FAIL muldiv %llu * %llu / %llu\n", (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
            break;
        }
    }
    for (int it = 0; it < 240; it++) {
        pool_case<float>(it);
        pool_case<double>(it);
    }
}

/* ---- the device generator (random_ops.cuh): Philox against its published
 * known-answer vectors, the key step against the session generator, and each
 * sampler's distribution (moments, Kolmogorov-Smirnov, frequencies) */

static void expect(bool ok, const char *what)
{
    n_cases++;
    if (!ok)
        n_fail++, printf("FAIL %s\n", what);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* KS distance of sorted v from the cdf F */
template <typename F> static double ks(std::vector<double> &v, F cdf)
{
    qsort(v.data(), v.size(), sizeof(double), cmp_double);
    double d = 0, n = (double)v.size();
    for (size_t i = 0; i < v.size(); i++) {
        double f = cdf(v[i]);
        d = fmax(d, fmax(f - i / n, (i + 1) / n - f));
    }
    return d;
}

static std::vector<double> sample(struct td_cu_rand q, int64_t n, uint64_t first = 0)
{
    std::vector<double> v((size_t)n);
    char buf[16];
    for (int64_t i = 0; i < n; i++) {
        td_cu_rand_elem(q, first + (uint64_t)i, buf);
        v[(size_t)i] = td_cu_wide_is_f(q.dt) ? td_cu_load_f(q.dt, buf) : (double)td_cu_load_i(q.dt, buf);
    }
    return v;
}

static void moments(const std::vector<double> &v, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (double x : v)
        s += x;
    *mean = s / (double)v.size();
    for (double x : v)
        s2 += (x - *mean) * (x - *mean);
    *var = s2 / (double)(v.size() - 1);
}

static void check_random(void)
{
    /* Random123's philox4x32-10 known-answer vectors */
    struct {
        uint32_t c[4], k[2], r[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (auto &t : kat) {
        td_cu_u32x4 c = {{t.c[0], t.c[1], t.c[2], t.c[3]}}, r = td_cu_philox(c, t.k[0], t.k[1]);
        expect(!memcmp(r.v, t.r, sizeof r.v), "philox4x32-10 known-answer vector");
    }
    /* the key is the session generator's next word, and advances it the same way */
    static struct td_rng a, b;
    td_rng_seed(&a, 1234);
    b = a;
    for (int i = 0; i < 10; i++) {
        uint64_t hi = td_rng_u32(&a);
        expect(td_rng_u64(&b) == (hi << 32 | td_rng_u32(&a)), "a device key = two 32-bit draws, high first");
    }
    expect(!memcmp(&a, &b, sizeof a), "rng state advanced alike");

    const int64_t n = 200000;
    const double ksmax = 1.95 / sqrt((double)n); /* the 0.1% critical value */
    struct td_cu_rand q;
    char what[96];
    /* uniform [0, 1) float64 and float32 (24 bits), and uniform_(-2, 3) */
    for (int dt : {TD_DTYPE_FLOAT64, TD_DTYPE_FLOAT32}) {
        memset(&q, 0, sizeof q);
        q.kind = TD_CU_R_UNIFORM, q.dt = dt, q.final_dt = dt, q.bits = dt == TD_DTYPE_FLOAT32 ? 24 : 53;
        q.key = 0x1234567890abcdefULL, q.a = -2, q.b = 3;
        std::vector<double> v = sample(q, n);
        double lo = 1e9, hi = -1e9, m, var;
        for (double x : v)
            lo = fmin(lo, x), hi = fmax(hi, x);
        moments(v, &m, &var);
        snprintf(what, sizeof what, "uniform dtype %d: range [%g, %g], mean %g, var %g", dt, lo, hi, m, var);
        expect(lo >= -2 && hi < 3 && fabs(m - 0.5) < 5 * sqrt(25.0 / 12 / n) && fabs(var - 25.0 / 12) < 0.05, what);
        double d = ks(v, [](double x) { return (x + 2) / 5; });
        snprintf(what, sizeof what, "uniform dtype %d KS %g", dt, d);
        expect(d < ksmax, what);
    }
    /* uniform_ into float16: never `to` after rounding */
    memset(&q, 0, sizeof q);
    q.kind = TD_CU_R_UNIFORM, q.dt = TD_DTYPE_FLOAT32, q.final_dt = TD_DTYPE_FLOAT16, q.bits = 11, q.key = 99, q.a = 0,
    q.b = 1000;
    {
        std::vector<double> v = sample(q, 50000);
        bool ok = true;
        for (double x : v)
            ok &= td_cu_rounded(TD_DTYPE_FLOAT16, x) < 1000 && x >= 0;
        expect(ok, "uniform_ float16: below `to` after rounding");
    }
    /* normal(1, 2) and randn: moments, KS against the normal cdf */
    memset(&q, 0, sizeof q);
    q.kind = TD_CU_R_NORMAL, q.dt = TD_DTYPE_FLOAT64, q.key = 42, q.a = 1, q.b = 2;
    {
        std::vector<double> v = sample(q, n);
        double m, var;
        moments(v, &m, &var);
        snprintf(what, sizeof what, "normal(1, 2): mean %g var %g", m, var);
        expect(fabs(m - 1) < 5 * 2 / sqrt((double)n) && fabs(var - 4) < 0.1, what);
        double d = ks(v, [](double x) { return 0.5 * erfc(-(x - 1) / 2 / sqrt(2.0)); });
        snprintf(what, sizeof what, "normal KS %g", d);
        expect(d < ksmax, what);
    }
    /* exponential(lambda 3): mean 1/3, KS */
    memset(&q, 0, sizeof q);
    q.kind = TD_CU_R_EXPONENTIAL, q.dt = TD_DTYPE_FLOAT64, q.key = 7, q.a = 3;
    {
        std::vector<double> v = sample(q, n);
        double d = ks(v, [](double x) { return x <= 0 ? 0 : 1 - exp(-3 * x); });
        snprintf(what, sizeof what, "exponential KS %g", d);
        expect(d < ksmax, what);
    }
    /* bernoulli(0.3) into uint8 and float32: frequency */
    for (int dt : {TD_DTYPE_UINT8, TD_DTYPE_FLOAT32, TD_DTYPE_BOOL}) {
        memset(&q, 0, sizeof q);
        q.kind = TD_CU_R_BERNOULLI, q.dt = dt, q.key = 3, q.a = 0.3;
        std::vector<double> v = sample(q, n);
        double ones = 0;
        bool binary = true;
        for (double x : v)
            ones += x, binary &= x == 0 || x == 1;
        snprintf(what, sizeof what, "bernoulli(0.3) dtype %d: %g", dt, ones / n);
        expect(binary && fabs(ones / n - 0.3) < 5 * sqrt(0.21 / n), what);
    }
    /* integers: randint(-3, 4) into int64 and int8 (chi-square over 7 cells), a span of
     * 2^63 + 1 (rejection taken often), and random_ into float32 */
    for (int dt : {TD_DTYPE_INT64, TD_DTYPE_INT8, TD_DTYPE_FLOAT32}) {
        memset(&q, 0, sizeof q);
        q.kind = TD_CU_R_INT, q.dt = dt, q.key = 11, q.from = -3, q.span = 7;
        std::vector<double> v = sample(q, n);
        double cnt[7] = {0}, chi = 0;
        bool in = true;
        for (double x : v) {
            in &= x >= -3 && x <= 3 && x == floor(x);
            if (x >= -3 && x <= 3)
                cnt[(int)x + 3]++;
        }
        for (double c : cnt)
            chi += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
        snprintf(what, sizeof what, "randint(-3, 4) dtype %d: chi2 %g", dt, chi);
        expect(in && chi < 22.5, what); /* 6 degrees of freedom, 0.1% */
    }
    memset(&q, 0, sizeof q);
    q.kind = TD_CU_R_INT, q.dt = TD_DTYPE_INT64, q.key = 5, q.from = INT64_MIN, q.span = (UINT64_C(1) << 63) + 1;
    {
        std::vector<double> v = sample(q, 20000);
        double m, var;
        moments(v, &m, &var);
        bool in = true;
        for (double x : v)
            in &= x >= -9.3e18 && x <= 1.0;
        snprintf(what, sizeof what, "randint over 2^63 + 1 values: mean %g", m);
        expect(in && fabs(m / 9.223372036854775808e18 + 0.5) < 0.02, what);
    }
    /* geometric(0.25): mean 4; cauchy: median 0 */
    memset(&q, 0, sizeof q);
    q.kind = TD_CU_R_GEOMETRIC, q.dt = TD_DTYPE_FLOAT64, q.key = 9, q.a = 0.25;
    {
        std::vector<double> v = sample(q, n);
        double m, var;
        moments(v, &m, &var);
        snprintf(what, sizeof what, "geometric(0.25): mean %g var %g", m, var);
        expect(fabs(m - 4) < 5 * sqrt(12.0 / n) && fabs(var - 12) < 0.6, what);
    }
    /* reproducible and independent of where an element is computed: element i is the
     * same when drawn alone; different keys and neighbouring elements are uncorrelated */
    memset(&q, 0, sizeof q);
    q.kind = TD_CU_R_UNIFORM, q.dt = TD_DTYPE_FLOAT64, q.final_dt = TD_DTYPE_FLOAT64, q.bits = 53, q.key = 77, q.a = 0, q.b = 1;
    {
        std::vector<double> v = sample(q, 1000), w = sample(q, 10, 500);
        expect(!memcmp(&v[500], w.data(), 10 * sizeof(double)), "element values depend on (key, index) only");
        struct td_cu_rand q2 = q;
        q2.key = 78;
        std::vector<double> u = sample(q2, n), x = sample(q, n);
        double c1 = 0, c2 = 0;
        for (int64_t i = 0; i < n; i++)
            c1 += (u[i] - 0.5) * (x[i] - 0.5), c2 += i + 1 < n ? (x[i] - 0.5) * (x[i + 1] - 0.5) : 0;
        c1 = c1 / n * 12, c2 = c2 / n * 12; /* correlations */
        snprintf(what, sizeof what, "correlations: keys %g, neighbours %g", c1, c2);
        expect(fabs(c1) < 5 / sqrt((double)n) && fabs(c2) < 5 / sqrt((double)n), what);
    }
}

/* ---- sort keys (sort_ops.cuh): key order = the CPU's sort order, checked through the
 * CPU's own SORT: sorting by key (stably) gives its indices; and the serial cumulative
 * lane against CUMSUM/CUMPROD */

template <typename T> static void key_case(int dt)
{
    const int n = 600;
    std::vector<char> bx, bv, bi;
    int64_t sz[] = {n};
    struct td_kt x = ktn(dt, 1, sz, false, bx), v = ktn(dt, 1, sz, false, bv), ix = ktn(TD_DTYPE_INT64, 1, sz, false, bi);
    for (int i = 0; i < n; i++) /* few distinct values: ties; specials */
        value(dt, (int)rnd(N), x.data + i * sizeof(T));
    for (int desc = 0; desc < 2; desc++) {
        struct td_kt *in[] = {&x}, *out[] = {&v, &ix};
        int64_t at[] = {0, desc, 1, -1};
        cpu(TD_OP_SORT, dt, 1, in, 2, out, at, 4, 0);
        /* a stable sort by key, as the radix sort does it */
        std::vector<std::pair<typename td_cu_key_type<T>::type, int64_t>> kv;
        for (int i = 0; i < n; i++)
            kv.push_back({td_cu_sort_key<T>(((T *)x.data)[i]), i});
        std::stable_sort(kv.begin(), kv.end(), [desc](const auto &a, const auto &b) { return desc ? a.first > b.first : a.first < b.first; });
        std::vector<int64_t> got;
        for (auto &e : kv)
            got.push_back(e.second);
        char what[64];
        snprintf(what, sizeof what, "sort keys dtype %d descending %d", dt, desc);
        compare(what, TD_DTYPE_INT64, (const char *)got.data(), ix.data, n, 0, NULL, 0);
    }
}

template <typename T> static void cum_case(int dt, int it)
{
    const int64_t L = 1 + rnd(40), M = 1 + rnd(4);
    std::vector<char> bx, by1, by2;
    int64_t sz[] = {M, L};
    struct td_kt x = ktn(dt, 2, sz, it & 1, bx);
    for (int64_t i = 0; i < L * M; i++) /* small values so products stay interesting */
        if (dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64)
            td_store_f64((enum td_dtype)dt, x.data + i * sizeof(T), rnd(30) == 0 ? special_f[rnd(N)] : (double)(rnd(9) - 4) * 0.7);
        else
            td_store_i64((enum td_dtype)dt, x.data + i * sizeof(T), rnd(20) == 0 ? special_i[rnd(N)] : rnd(9) - 4);
    int odts[] = {dt, TD_DTYPE_FLOAT64, TD_DTYPE_INT64, TD_DTYPE_FLOAT32};
    int odt = odts[it % 4];
    for (int prod = 0; prod < 2; prod++) {
        struct td_kt y1 = ktn(odt, 2, sz, false, by1), y2 = ktn(odt, 2, sz, false, by2);
        struct td_kt *in[] = {&x}, *out[] = {&y1};
        int64_t at[] = {1, odt};
        cpu(prod ? TD_OP_CUMPROD : TD_OP_CUMSUM, dt, 1, in, 1, out, at, 2, 0);
        int es = td_cu_dtype_size(dt), eo = td_cu_dtype_size(odt);
        for (int64_t m = 0; m < M; m++)
            td_cu_cum_lane<T>(prod, x.data + m * x.m.strides[0] * es, x.m.strides[1] * es, y2.data + m * L * eo, eo, odt, L);
        char what[64];
        snprintf(what, sizeof what, "%s dtype %d -> %d", prod ? "cumprod" : "cumsum", dt, odt);
        compare(what, odt, y2.data, y1.data, L * M, 0, NULL, 0);
    }
}

/* SEARCHSORTED's bound against sort.c's, on sorted rows with ties and (floats) NaN tails */
template <typename T> static void bound_case(int dt, int it)
{
    const int64_t L = rnd(30), V = 40;
    std::vector<char> bs, bv, bo;
    int64_t sl[] = {L}, sv[] = {V};
    struct td_kt s = ktn(dt, 1, sl, false, bs), v = ktn(dt, 1, sv, false, bv), o = ktn(TD_DTYPE_INT64, 1, sv, false, bo);
    bool fl = dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64;
    int64_t nan_from = fl && rnd(2) ? L - rnd(3) : L;
    for (int64_t i = 0; i < L; i++) /* ascending with ties */
        td_store_f64((enum td_dtype)dt, s.data + i * sizeof(T), i >= nan_from ? NAN : (double)(i / 2 - 5));
    for (int64_t i = 0; i < V; i++)
        td_store_f64((enum td_dtype)dt, v.data + i * sizeof(T), fl && rnd(10) == 0 ? NAN : (double)(rnd(30) - 14) * (fl ? 0.5 : 1));
    for (int right = 0; right < 2; right++) {
        struct td_kt *in[] = {&s, &v}, *out[] = {&o};
        int64_t at[] = {right, 0};
        cpu(TD_OP_SEARCHSORTED, dt, 2, in, 1, out, at, 2, 0);
        n_cases++;
        for (int64_t i = 0; i < V; i++) {
            int64_t got = td_cu_bound<T>(s.data, L, sizeof(T), *(const T *)(v.data + i * sizeof(T)), right);
            if (got != ((int64_t *)o.data)[i]) {
                n_fail++;
                printf("FAIL searchsorted dtype %d case %d right %d value %d: %lld, cpu %lld\n", dt, it, right, (int)i,
                       (long long)got, (long long)((int64_t *)o.data)[i]);
                break;
            }
        }
    }
}

/* CUMMAX / CUMMIN / LOGCUMSUMEXP lanes against math_dim.c: values and indices */
template <typename T> static void ext_case(int dt, int it)
{
    const int64_t L = 1 + rnd(40), M = 1 + rnd(4);
    std::vector<char> bx, by1, by2, bi1, bi2;
    int64_t sz[] = {M, L};
    struct td_kt x = ktn(dt, 2, sz, it & 1, bx);
    bool fl = dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64;
    for (int64_t i = 0; i < L * M; i++) /* few values: ties; NaN and infinities now and then */
        if (fl)
            td_store_f64((enum td_dtype)dt, x.data + i * sizeof(T), rnd(12) == 0 ? special_f[rnd(N)] : (double)(rnd(7) - 3) * 0.5);
        else
            td_store_i64((enum td_dtype)dt, x.data + i * sizeof(T), rnd(12) == 0 ? special_i[rnd(N)] : rnd(7) - 3);
    for (unsigned op : {(unsigned)TD_OP_CUMMAX, (unsigned)TD_OP_CUMMIN, (unsigned)TD_OP_LOGCUMSUMEXP}) {
        if (op == TD_OP_LOGCUMSUMEXP && !fl)
            continue;
        struct td_kt y1 = ktn(dt, 2, sz, false, by1), y2 = ktn(dt, 2, sz, false, by2);
        struct td_kt i1 = ktn(TD_DTYPE_INT64, 2, sz, false, bi1), i2 = ktn(TD_DTYPE_INT64, 2, sz, false, bi2);
        struct td_kt *in[] = {&x}, *out[] = {&y1, &i1};
        int64_t at[] = {1, -1};
        int two = op != TD_OP_LOGCUMSUMEXP;
        if (cpu(op, dt, 1, in, 1 + two, out, at, 2, 0) != TD_CODE_OK) {
            n_cases++, n_fail++;
            printf("FAIL cpu op %u dtype %d\n", op, dt);
            return;
        }
        int es = td_cu_dtype_size(dt);
        for (int64_t m = 0; m < M; m++)
            td_cu_cumext_lane<T>((int)op, x.data + m * x.m.strides[0] * es, x.m.strides[1] * es, y2.data + m * L * es, es,
                                 dt, two ? i2.data + m * L * 8 : NULL, 8, L);
        char what[64];
        snprintf(what, sizeof what, "op %u dtype %d", op, dt);
        compare(what, dt, y2.data, y1.data, L * M, op == TD_OP_LOGCUMSUMEXP ? 1e-15 : 0, NULL, 0);
        if (two)
            compare(what, TD_DTYPE_INT64, i2.data, i1.data, L * M, 0, NULL, 0);
    }
}

static void check_sort_scan(void)
{
    key_case<float>(TD_DTYPE_FLOAT32);
    key_case<double>(TD_DTYPE_FLOAT64);
    key_case<int64_t>(TD_DTYPE_INT64);
    key_case<int32_t>(TD_DTYPE_INT32);
    key_case<int16_t>(TD_DTYPE_INT16);
    key_case<int8_t>(TD_DTYPE_INT8);
    key_case<uint8_t>(TD_DTYPE_UINT8);
    key_case<bool>(TD_DTYPE_BOOL);
    for (int it = 0; it < 40; it++) {
        cum_case<float>(TD_DTYPE_FLOAT32, it);
        cum_case<double>(TD_DTYPE_FLOAT64, it);
        cum_case<int64_t>(TD_DTYPE_INT64, it);
        cum_case<int32_t>(TD_DTYPE_INT32, it);
        cum_case<int16_t>(TD_DTYPE_INT16, it);
        cum_case<int8_t>(TD_DTYPE_INT8, it);
        cum_case<uint8_t>(TD_DTYPE_UINT8, it);
        cum_case<bool>(TD_DTYPE_BOOL, it);
        bound_case<float>(TD_DTYPE_FLOAT32, it);
        bound_case<double>(TD_DTYPE_FLOAT64, it);
        bound_case<int64_t>(TD_DTYPE_INT64, it);
        bound_case<int16_t>(TD_DTYPE_INT16, it);
        bound_case<uint8_t>(TD_DTYPE_UINT8, it);
        ext_case<float>(TD_DTYPE_FLOAT32, it);
        ext_case<double>(TD_DTYPE_FLOAT64, it);
        ext_case<int64_t>(TD_DTYPE_INT64, it);
        ext_case<int32_t>(TD_DTYPE_INT32, it);
        ext_case<uint8_t>(TD_DTYPE_UINT8, it);
        ext_case<bool>(TD_DTYPE_BOOL, it);
    }
}

int main(void)
{
    check_copy();
    check_binary();
    check_unary();
    check_binary_half();
    check_unary_half();
    check_math();
    check_create();
    check_clamp();
    check_iteration();
    check_scalars();
    check_gather_scatter();
    check_index();
    check_index_mask();
    check_optim();
    check_pool();
    check_random();
    check_sort_scan();
    printf("check_cuda_ops: %d cases, %d failures\n", n_cases, n_fail);
    return n_fail ? EXIT_FAILURE : EXIT_SUCCESS;
}
