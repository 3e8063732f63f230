/*
 * check_ops_cpu.c — the CPU kernels (kernels/cpu/) against tiny naive references.
 *
 * Each family gets a TCase; op families loop over their rows with
 * tcase_add_loop_test.  Tensors are built by hand (contiguous, transposed and
 * stride-0 broadcast views) so this file depends only on the kernels, dtype, op, rng
 * and status modules, not on shape inference.  References compute in double (int64
 * for integer semantics) and compare with a relative tolerance; NaN equals NaN.
 * Every test frees what it allocates (free_all), so LeakSanitizer stays quiet.
 */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu/iter.h"
#include "../kernels/kernel.h"
#include "../kernels/rng.h"

/* Check records every passing ck_assert (a write per call), so per-element checks
 * only call it on failure. */
#define EXPECT(cond, ...)                  \
    do {                                   \
        if (!(cond))                       \
            ck_abort_msg(__VA_ARGS__);     \
    } while (0)

/* ---- tensors built by hand */

#define MAX_ALLOCS 4096
static void *allocs[MAX_ALLOCS];
static int nallocs;

static void *track(void *p)
{
    EXPECT(p != NULL && nallocs < MAX_ALLOCS, "out of test allocations");
    allocs[nallocs++] = p;
    return p;
}

static void free_all(void)
{
    while (nallocs > 0)
        free(allocs[--nallocs]);
}

/* Contiguous tensor of dtype dt and the given sizes, zero-filled. */
static struct td_kt *mk(enum td_dtype dt, int nd, const int64_t *sizes)
{
    struct td_kt *t = track(calloc(1, sizeof *t));
    int64_t n = 1;
    t->m.dtype = (uint8_t)dt;
    t->m.ndim = (uint8_t)nd;
    for (int d = nd - 1; d >= 0; d--) {
        t->m.sizes[d] = sizes[d];
        t->m.strides[d] = n;
        n *= sizes[d];
    }
    t->m.storage_nbytes = n * (int64_t)td_dtype_size(dt);
    t->data = track(calloc((size_t)(n > 0 ? n : 1), td_dtype_size(dt)));
    return t;
}

static struct td_kt *view_of(const struct td_kt *src)
{
    struct td_kt *t = track(malloc(sizeof *t));
    *t = *src;
    return t;
}

/* Swap the last two dims (a transposed view on the same data). */
static struct td_kt *transposed(const struct td_kt *src)
{
    struct td_kt *t = view_of(src);
    int a = t->m.ndim - 2, b = t->m.ndim - 1;
    int64_t s = t->m.sizes[a], st = t->m.strides[a];
    t->m.sizes[a] = t->m.sizes[b], t->m.strides[a] = t->m.strides[b];
    t->m.sizes[b] = s, t->m.strides[b] = st;
    return t;
}

/* View of src expanded to sizes (size-1 and missing leading dims get stride 0). */
static struct td_kt *expanded(const struct td_kt *src, int nd, const int64_t *sizes)
{
    struct td_kt *t = view_of(src);
    int off = nd - src->m.ndim;
    t->m.ndim = (uint8_t)nd;
    for (int d = nd - 1; d >= 0; d--) {
        int sd = d - off;
        t->m.sizes[d] = sizes[d];
        t->m.strides[d] = sd >= 0 && src->m.sizes[sd] == sizes[d] ? src->m.strides[sd] : 0;
    }
    return t;
}

static int64_t numel(const struct td_kt *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->m.ndim; d++)
        n *= t->m.sizes[d];
    return n;
}

/* Address of row-major element i of t, through its strides. */
static char *at(const struct td_kt *t, int64_t i)
{
    int64_t off = t->m.offset;
    for (int d = t->m.ndim - 1; d >= 0; d--) {
        off += (i % t->m.sizes[d]) * t->m.strides[d];
        i /= t->m.sizes[d];
    }
    return t->data + off * (int64_t)td_dtype_size((enum td_dtype)t->m.dtype);
}

static double get(const struct td_kt *t, int64_t i)
{
    return td_load_f64((enum td_dtype)t->m.dtype, at(t, i));
}

static void set(struct td_kt *t, int64_t i, double v) { td_store_f64((enum td_dtype)t->m.dtype, at(t, i), v); }

static uint64_t lcg = 12345;
static double rnd(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) * 0x1.0p-53;
}

/* Fills t with small values suited to its dtype; nonzero avoids 0 (divisors). */
static void fill_rand(struct td_kt *t, bool nonzero)
{
    enum td_dtype dt = (enum td_dtype)t->m.dtype;
    for (int64_t i = 0, n = numel(t); i < n; i++) {
        double v;
        if (dt == TD_DTYPE_BOOL)
            v = nonzero ? 1 : rnd() < 0.5;
        else if (td_dtype_is_float(dt))
            v = round((rnd() * 8 - 4) * 4) / 4;
        else if (dt == TD_DTYPE_UINT8)
            v = floor(rnd() * 10);
        else
            v = floor(rnd() * 19) - 9;
        if (nonzero && v == 0)
            v = 2;
        set(t, i, v);
    }
}

static bool close_to(double got, double want, double tol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= tol * fmax(1, fabs(want));
}

static void expect_close(const struct td_kt *got, const struct td_kt *want, double tol)
{
    int64_t n = numel(want);
    ck_assert_int_eq(numel(got), n);
    for (int64_t i = 0; i < n; i++)
        EXPECT(close_to(get(got, i), get(want, i), tol), "element %lld: got %.9g want %.9g",
                      (long long)i, get(got, i), get(want, i));
}

static double tol_of(enum td_dtype dt) { return dt == TD_DTYPE_FLOAT32 ? 2e-6 : 1e-12; }

static struct td_kctx ctx(enum td_op op, enum td_dtype cdt)
{
    struct td_kctx k = {.op = (uint16_t)op, .compute_dtype = (uint8_t)cdt};
    return k;
}

static int64_t fbits(double v)
{
    int64_t b;
    memcpy(&b, &v, 8);
    return b;
}

/* ---- binary */

static const enum td_dtype all_compute[] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_INT64,
                                            TD_DTYPE_INT32,   TD_DTYPE_INT16,   TD_DTYPE_INT8,
                                            TD_DTYPE_UINT8,   TD_DTYPE_BOOL};
#define N_COMPUTE (int)(sizeof all_compute / sizeof all_compute[0])

static bool is_cmp(enum td_op op) { return op >= TD_OP_EQ && op <= TD_OP_LOGICAL_XOR; }

static bool bin_valid(enum td_op op, int mode, enum td_dtype dt)
{
    bool f = td_dtype_is_float(dt), b = dt == TD_DTYPE_BOOL;
    switch (op) {
    case TD_OP_SUB: case TD_OP_POW: case TD_OP_REMAINDER: return !b;
    case TD_OP_DIV: return mode == TD_ROUND_NONE ? f : !b;
    case TD_OP_BITWISE_AND: case TD_OP_BITWISE_OR: case TD_OP_BITWISE_XOR: return !f;
    default: return true;
    }
}

static double pymod(double x, double y)
{
    double r = fmod(x, y);
    return r != 0 && (r < 0) != (y < 0) ? r + y : r;
}

static double ref_bin(enum td_op op, int mode, enum td_dtype dt, double x, double y, double al)
{
    bool f = td_dtype_is_float(dt), b = dt == TD_DTYPE_BOOL;
    int64_t a = (int64_t)x, c = (int64_t)y;
    switch (op) {
    case TD_OP_ADD: return b ? (x != 0 || y != 0) : x + al * y;
    case TD_OP_SUB: return x - al * y;
    case TD_OP_MUL: return b ? (x != 0 && y != 0) : x * y;
    case TD_OP_DIV: return mode == TD_ROUND_NONE ? x / y : mode == TD_ROUND_TRUNC ? trunc(x / y) : floor(x / y);
    case TD_OP_POW: return pow(x, y);
    case TD_OP_REMAINDER: return f ? pymod(x, y) : (double)((a % c + c) % c);
    case TD_OP_MAXIMUM: return isnan(x) || isnan(y) ? NAN : fmax(x, y);
    case TD_OP_MINIMUM: return isnan(x) || isnan(y) ? NAN : fmin(x, y);
    case TD_OP_EQ: return x == y;
    case TD_OP_NE: return x != y;
    case TD_OP_LT: return x < y;
    case TD_OP_LE: return x <= y;
    case TD_OP_GT: return x > y;
    case TD_OP_GE: return x >= y;
    case TD_OP_LOGICAL_AND: return x != 0 && y != 0;
    case TD_OP_LOGICAL_OR: return x != 0 || y != 0;
    case TD_OP_LOGICAL_XOR: return (x != 0) != (y != 0);
    case TD_OP_BITWISE_AND: return (double)(a & c);
    case TD_OP_BITWISE_OR: return (double)(a | c);
    case TD_OP_BITWISE_XOR: return (double)(b ? (a != c) : (a ^ c));
    default: return NAN;
    }
}

/* Random operands for op: divisors nonzero, integer exponents in [0, 3]. */
static void fill_operand(struct td_kt *t, enum td_op op, bool rhs)
{
    bool nz = rhs && (op == TD_OP_DIV || op == TD_OP_REMAINDER);
    fill_rand(t, nz);
    if (rhs && op == TD_OP_POW && !td_dtype_is_float((enum td_dtype)t->m.dtype))
        for (int64_t i = 0; i < numel(t); i++)
            set(t, i, fmod(fabs(get(t, i)), 4));
}

/* Runs op on (a, b) into out (a or b NULL: that side is scalar sv) and checks it. */
static void check_bin(enum td_op op, int mode, enum td_dtype dt, struct td_kt *a, struct td_kt *b,
                      double sv, struct td_kt *out, bool inplace, double alpha)
{
    int64_t attrs[4] = {td_dtype_is_float(dt) ? TD_SCALAR_FLOAT : TD_SCALAR_INT, 0, 0, 0};
    attrs[1] = td_dtype_is_float(dt) ? fbits(sv) : (int64_t)sv;
    struct td_kctx k = ctx(op, dt);
    k.attrs = attrs;
    k.n_attr = 2;
    if (alpha != 1) {
        attrs[2] = attrs[0];
        attrs[3] = td_dtype_is_float(dt) ? fbits(alpha) : (int64_t)alpha;
        k.n_attr = 4;
    }
    if (op == TD_OP_DIV) {
        attrs[2] = mode;
        k.n_attr = 3;
    }
    k.n_in = a && b ? 2 : 1;
    k.in[0] = a ? a : b;
    k.in[1] = b;
    k.flags = (a ? 0 : TD_RF_SCALAR_LHS) | (inplace ? TD_RF_INPLACE : 0);
    k.n_out = 1;
    k.out[0] = out;
    /* reference from the operands before the op (out may alias a) */
    int nd = out->m.ndim;
    struct td_kt *ea = a ? expanded(a, nd, out->m.sizes) : NULL, *eb = b ? expanded(b, nd, out->m.sizes) : NULL;
    int64_t n = numel(out);
    double *want = track(malloc(sizeof(double) * (size_t)(n + 1)));
    for (int64_t i = 0; i < n; i++) {
        double r = ref_bin(op, mode, dt, ea ? get(ea, i) : sv, eb ? get(eb, i) : sv, alpha);
        struct td_kt tmp = {.m = {.dtype = out->m.dtype}, .data = (char *)&(int64_t){0}};
        set(&tmp, 0, r); /* round the reference through the output dtype */
        want[i] = get(&tmp, 0);
    }
    ck_assert_int_eq(td_cpu_kernels[op](&k), TD_CODE_OK);
    for (int64_t i = 0; i < n; i++)
        EXPECT(close_to(get(out, i), want[i], tol_of(dt)), "%s %s mode %d [%lld]: got %.9g want %.9g",
                      td_op_name(op), td_dtype_names[dt], mode, (long long)i, get(out, i), want[i]);
}

START_TEST(test_binary)
{
    enum td_op op = (enum td_op)(TD_OP_ADD + _i);
    for (int mode = 0; mode < (op == TD_OP_DIV ? 3 : 1); mode++)
        for (int di = 0; di < N_COMPUTE; di++) {
            enum td_dtype dt = all_compute[di];
            if (!bin_valid(op, mode, dt))
                continue;
            enum td_dtype odt = is_cmp(op) ? TD_DTYPE_BOOL : dt;
            int64_t s35[] = {3, 5}, s53[] = {5, 3}, s31[] = {3, 1}, s5[] = {5}, s05[] = {0, 5}, big[] = {200003};
            struct td_kt *a = mk(dt, 2, s35), *b = mk(dt, 2, s35);
            fill_operand(a, op, false);
            fill_operand(b, op, true);
            double alpha = (op == TD_OP_ADD || op == TD_OP_SUB) && dt != TD_DTYPE_BOOL ? 2 : 1;
            check_bin(op, mode, dt, a, b, 0, mk(odt, 2, s35), false, 1);
            check_bin(op, mode, dt, a, b, 0, mk(odt, 2, s35), false, alpha);
            struct td_kt *at_ = transposed(mk(dt, 2, s53));
            fill_operand(at_, op, false);
            check_bin(op, mode, dt, at_, b, 0, mk(odt, 2, s35), false, 1);
            struct td_kt *c31 = mk(dt, 2, s31), *c5 = mk(dt, 1, s5);
            fill_operand(c31, op, false);
            fill_operand(c5, op, true);
            check_bin(op, mode, dt, c31, c5, 0, mk(odt, 2, s35), false, 1);
            check_bin(op, mode, dt, expanded(c31, 2, s35), expanded(c5, 2, s35), 0, mk(odt, 2, s35), false, 1);
            check_bin(op, mode, dt, a, NULL, dt == TD_DTYPE_BOOL ? 1 : 3, mk(odt, 2, s35), false, 1);
            double lhs = dt == TD_DTYPE_BOOL ? 1 : op == TD_OP_POW ? 2 : 3;
            check_bin(op, mode, dt, NULL, b, lhs, mk(odt, 2, s35), false, 1);
            struct td_kt *z0 = mk(dt, 0, NULL), *z1 = mk(dt, 0, NULL);
            fill_operand(z0, op, false);
            fill_operand(z1, op, true);
            check_bin(op, mode, dt, z0, z1, 0, mk(odt, 0, NULL), false, 1);
            check_bin(op, mode, dt, mk(dt, 2, s05), mk(dt, 1, s5), 0, mk(odt, 2, s05), false, 1);
            /* in place through a transposed view: out keeps the compute dtype */
            struct td_kt *ip = transposed(mk(dt, 2, s53));
            fill_operand(ip, op, false);
            check_bin(op, mode, dt, ip, b, 0, ip, true, alpha);
            if (dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_INT32) {
                struct td_kt *ba = mk(dt, 1, big), *bb = mk(dt, 1, big);
                fill_operand(ba, op, false);
                fill_operand(bb, op, true);
                check_bin(op, mode, dt, ba, bb, 0, mk(odt, 1, big), false, alpha);
            }
            free_all();
        }
}
END_TEST

START_TEST(test_binary_errors)
{
    int64_t s2[] = {2};
    struct td_kt *a = mk(TD_DTYPE_INT32, 1, s2), *b = mk(TD_DTYPE_INT32, 1, s2), *o = mk(TD_DTYPE_INT32, 1, s2);
    set(a, 0, 7), set(a, 1, 1), set(b, 0, 2), set(b, 1, 0);
    int64_t attrs[3] = {0, 0, TD_ROUND_FLOOR};
    struct td_kctx k = ctx(TD_OP_DIV, TD_DTYPE_INT32);
    k.n_in = 2, k.in[0] = a, k.in[1] = b, k.n_out = 1, k.out[0] = o, k.attrs = attrs, k.n_attr = 3;
    ck_assert_int_eq(td_cpu_div(&k), TD_CODE_INVALID_ARGUMENT);
    ck_assert_int_eq(td_cpu_remainder(&k), TD_CODE_INVALID_ARGUMENT);
    /* integer pow with a negative exponent follows PyTorch: 7^2 = 49, 1^-1 = 1, 7^-1 = 0 */
    set(b, 1, -1);
    ck_assert_int_eq(td_cpu_pow(&k), TD_CODE_OK);
    ck_assert_int_eq(((int32_t *)o->data)[0], 49);
    ck_assert_int_eq(((int32_t *)o->data)[1], 1);
    set(a, 1, 7);
    ck_assert_int_eq(td_cpu_pow(&k), TD_CODE_OK);
    ck_assert_int_eq(((int32_t *)o->data)[1], 0);
    /* INT_MIN floor-divided by -1 wraps instead of trapping */
    struct td_kt *m = mk(TD_DTYPE_INT64, 1, s2), *d = mk(TD_DTYPE_INT64, 1, s2), *r = mk(TD_DTYPE_INT64, 1, s2);
    *(int64_t *)m->data = INT64_MIN, ((int64_t *)m->data)[1] = -7;
    ((int64_t *)d->data)[0] = -1, ((int64_t *)d->data)[1] = 2;
    k = ctx(TD_OP_DIV, TD_DTYPE_INT64);
    k.n_in = 2, k.in[0] = m, k.in[1] = d, k.n_out = 1, k.out[0] = r, k.attrs = attrs, k.n_attr = 3;
    ck_assert_int_eq(td_cpu_div(&k), TD_CODE_OK);
    ck_assert(((int64_t *)r->data)[0] == INT64_MIN && ((int64_t *)r->data)[1] == -4);
    ck_assert_int_eq(td_cpu_remainder(&k), TD_CODE_OK);
    ck_assert(((int64_t *)r->data)[0] == 0 && ((int64_t *)r->data)[1] == 1);
    /* NaN propagation in maximum, float floor division by zero */
    struct td_kt *f = mk(TD_DTYPE_FLOAT32, 1, s2), *g = mk(TD_DTYPE_FLOAT32, 1, s2), *h = mk(TD_DTYPE_FLOAT32, 1, s2);
    set(f, 0, NAN), set(f, 1, 1), set(g, 0, 1), set(g, 1, NAN);
    k = ctx(TD_OP_MAXIMUM, TD_DTYPE_FLOAT32);
    k.n_in = 2, k.in[0] = f, k.in[1] = g, k.n_out = 1, k.out[0] = h;
    ck_assert_int_eq(td_cpu_maximum(&k), TD_CODE_OK);
    ck_assert(isnan(get(h, 0)) && isnan(get(h, 1)));
    set(f, 0, -3), set(f, 1, 7), set(g, 0, 0), set(g, 1, -2);
    k.attrs = attrs, k.n_attr = 3;
    ck_assert_int_eq(td_cpu_div(&k), TD_CODE_OK);
    ck_assert(isinf(get(h, 0)) && get(h, 0) < 0 && get(h, 1) == -4);
    free_all();
}
END_TEST

/* ---- unary */

static bool un_valid(enum td_op op, enum td_dtype dt)
{
    bool f = td_dtype_is_float(dt);
    if (op == TD_OP_NEG)
        return dt != TD_DTYPE_BOOL;
    if (op == TD_OP_BITWISE_NOT)
        return !f;
    if (td_op_table[op].flags & TD_F_FLOAT_OUT)
        return f;
    return true;
}

static double ref_un(enum td_op op, enum td_dtype dt, double x)
{
    bool b = dt == TD_DTYPE_BOOL;
    switch (op) {
    case TD_OP_NEG: return -x;
    case TD_OP_ABS: return fabs(x);
    case TD_OP_EXP: return exp(x);
    case TD_OP_LOG: return log(x);
    case TD_OP_LOG1P: return log1p(x);
    case TD_OP_SQRT: return sqrt(x);
    case TD_OP_RSQRT: return 1 / sqrt(x);
    case TD_OP_SIN: return sin(x);
    case TD_OP_COS: return cos(x);
    case TD_OP_TANH: return tanh(x);
    case TD_OP_SIGMOID: return 1 / (1 + exp(-x));
    case TD_OP_RELU: return x < 0 ? 0 : x;
    case TD_OP_FLOOR: return floor(x);
    case TD_OP_CEIL: return ceil(x);
    case TD_OP_ROUND: return nearbyint(x);
    case TD_OP_TRUNC: return trunc(x);
    case TD_OP_SIGN: return (x > 0) - (x < 0);
    case TD_OP_RECIPROCAL: return 1 / x;
    case TD_OP_LOGICAL_NOT: return x == 0;
    case TD_OP_BITWISE_NOT: return b ? x == 0 : (double)~(int64_t)x;
    default: return NAN;
    }
}

static void check_un(enum td_op op, enum td_dtype dt, struct td_kt *in, struct td_kt *out, bool inplace)
{
    struct td_kctx k = ctx(op, dt);
    k.n_in = 1, k.in[0] = in, k.n_out = 1, k.out[0] = out, k.flags = inplace ? TD_RF_INPLACE : 0;
    int64_t n = numel(out);
    double *want = track(malloc(sizeof(double) * (size_t)(n + 1)));
    for (int64_t i = 0; i < n; i++) {
        struct td_kt tmp = {.m = {.dtype = out->m.dtype}, .data = (char *)&(int64_t){0}};
        set(&tmp, 0, ref_un(op, dt, get(in, i)));
        want[i] = get(&tmp, 0);
    }
    ck_assert_int_eq(td_cpu_kernels[op](&k), TD_CODE_OK);
    for (int64_t i = 0; i < n; i++)
        EXPECT(close_to(get(out, i), want[i], tol_of(dt)), "%s %s [%lld]: got %.9g want %.9g",
                      td_op_name(op), td_dtype_names[dt], (long long)i, get(out, i), want[i]);
}

START_TEST(test_unary)
{
    enum td_op op = (enum td_op)(TD_OP_NEG + _i);
    for (int di = 0; di < N_COMPUTE; di++) {
        enum td_dtype dt = all_compute[di];
        if (!un_valid(op, dt))
            continue;
        enum td_dtype odt = op == TD_OP_LOGICAL_NOT ? TD_DTYPE_BOOL : dt;
        int64_t s46[] = {4, 6}, s64[] = {6, 4}, s0[] = {0}, big[] = {100001};
        struct td_kt *a = mk(dt, 2, s46), *t = transposed(mk(dt, 2, s64)), *z = mk(dt, 0, NULL);
        fill_rand(a, false), fill_rand(t, false), fill_rand(z, false);
        check_un(op, dt, a, mk(odt, 2, s46), false);
        check_un(op, dt, t, mk(odt, 2, s46), false);
        check_un(op, dt, z, mk(odt, 0, NULL), false);
        check_un(op, dt, mk(dt, 1, s0), mk(odt, 1, s0), false);
        check_un(op, dt, t, t, true); /* in place, strided; LOGICAL_NOT keeps the dtype */
        if (dt == TD_DTYPE_FLOAT32) {
            struct td_kt *b = mk(dt, 1, big);
            fill_rand(b, false);
            check_un(op, dt, b, mk(odt, 1, big), false);
        }
        free_all();
    }
}
END_TEST

/* ---- reductions */

static bool is_arg(enum td_op op)
{
    return op == TD_OP_ARGMAX || op == TD_OP_ARGMIN || op == TD_OP_MAX_DIM || op == TD_OP_MIN_DIM;
}

/* Naive reduction of in over mask into want (value) and wanti (flat index). */
static void ref_reduce(enum td_op op, const struct td_kt *in, uint64_t mask, double *want, int64_t *wanti,
                       int64_t nout)
{
    int nd = in->m.ndim;
    bool mx = op == TD_OP_AMAX || op == TD_OP_ARGMAX || op == TD_OP_MAX_DIM;
    for (int64_t o = 0; o < nout; o++) {
        want[o] = op == TD_OP_PROD || op == TD_OP_ALL ? 1 : op == TD_OP_SUM || op == TD_OP_MEAN || op == TD_OP_ANY ? 0 : NAN;
        wanti[o] = -1;
    }
    int64_t *cnt = track(calloc((size_t)nout + 1, sizeof(int64_t)));
    for (int64_t e = 0, n = numel(in); e < n; e++) {
        int64_t rem = e, oi = 0, ri = 0, om = 1, rm = 1;
        for (int d = nd - 1; d >= 0; d--) {
            int64_t c = rem % in->m.sizes[d];
            rem /= in->m.sizes[d];
            if (mask >> d & 1)
                ri += c * rm, rm *= in->m.sizes[d];
            else
                oi += c * om, om *= in->m.sizes[d];
        }
        double x = get(in, e), *w = &want[oi];
        switch (op) {
        case TD_OP_SUM: case TD_OP_MEAN: *w += x; break;
        case TD_OP_PROD: *w *= x; break;
        case TD_OP_ALL: *w = *w && x != 0; break;
        case TD_OP_ANY: *w = *w || x != 0; break;
        default: {
            bool take = cnt[oi] == 0 || (!isnan(*w) && (isnan(x) || (mx ? x > *w : x < *w)));
            if (take && (cnt[oi] == 0 || !isnan(*w)))
                *w = x, wanti[oi] = ri;
        }
        }
        cnt[oi]++;
    }
    if (op == TD_OP_MEAN)
        for (int64_t o = 0; o < nout; o++)
            want[o] /= (double)cnt[o];
}

/* Reduces in over mask (keepdim) with op and checks value/index outputs. */
static void check_reduce(enum td_op op, struct td_kt *in, uint64_t mask, bool keep, enum td_dtype odt)
{
    int nd = in->m.ndim, ond = 0;
    int64_t osz[TD_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        if (!(mask >> d & 1))
            osz[ond++] = in->m.sizes[d];
        else if (keep)
            osz[ond++] = 1;
    bool argflat = (op == TD_OP_ARGMAX || op == TD_OP_ARGMIN) && mask == (1u << nd) - 1 && !keep;
    struct td_kt *o0 = mk(is_arg(op) && op != TD_OP_MAX_DIM && op != TD_OP_MIN_DIM ? TD_DTYPE_INT64 : odt, ond, osz);
    struct td_kt *o1 = mk(TD_DTYPE_INT64, ond, osz);
    int64_t attrs[4] = {(int64_t)mask, keep, -1, argflat};
    struct td_kctx k = ctx(op, (enum td_dtype)in->m.dtype);
    k.n_in = 1, k.in[0] = in, k.attrs = attrs, k.n_attr = 4;
    k.n_out = td_op_table[op].n_out, k.out[0] = o0, k.out[1] = o1;
    int64_t n = numel(o0);
    double *want = track(malloc(sizeof(double) * (size_t)(n + 1)));
    int64_t *wanti = track(malloc(sizeof(int64_t) * (size_t)(n + 1)));
    ref_reduce(op, in, mask, want, wanti, n);
    ck_assert_int_eq(td_cpu_kernels[op](&k), TD_CODE_OK);
    double tol = in->m.dtype == TD_DTYPE_FLOAT32 ? 1e-5 : 1e-12;
    for (int64_t i = 0; i < n; i++) {
        if (op == TD_OP_ARGMAX || op == TD_OP_ARGMIN)
            EXPECT(*(int64_t *)at(o0, i) == wanti[i], "%s index [%lld]", td_op_name(op), (long long)i);
        else
            EXPECT(close_to(get(o0, i), want[i], tol), "%s mask %llu [%lld]: got %.9g want %.9g",
                          td_op_name(op), (unsigned long long)mask, (long long)i, get(o0, i), want[i]);
        if (op == TD_OP_MAX_DIM || op == TD_OP_MIN_DIM)
            EXPECT(*(int64_t *)at(o1, i) == wanti[i], "%s index [%lld]", td_op_name(op), (long long)i);
    }
}

START_TEST(test_reduce)
{
    enum td_op op = (enum td_op)(TD_OP_SUM + _i);
    static const enum td_dtype dts[] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_INT32, TD_DTYPE_BOOL};
    for (int di = 0; di < 4; di++) {
        enum td_dtype dt = dts[di];
        if ((op == TD_OP_MEAN && !td_dtype_is_float(dt)) || (dt == TD_DTYPE_BOOL && op != TD_OP_ALL && op != TD_OP_ANY))
            continue;
        enum td_dtype odt = op == TD_OP_ALL || op == TD_OP_ANY ? TD_DTYPE_BOOL
                            : (op == TD_OP_SUM || op == TD_OP_PROD) && !td_dtype_is_float(dt) ? TD_DTYPE_INT64 : dt;
        int64_t s345[] = {3, 4, 5}, s354[] = {3, 5, 4};
        struct td_kt *a = mk(dt, 3, s345), *t = transposed(mk(dt, 3, s354));
        fill_rand(a, false), fill_rand(t, false);
        if (op == TD_OP_PROD) /* keep products small and exact */
            for (int64_t i = 0; i < 60; i++)
                set(a, i, fmod(fabs(get(a, i)), 2) + 0.5 * td_dtype_is_float(dt)), set(t, i, get(a, i));
        static const uint64_t masks[] = {1, 2, 4, 5, 6, 7, 0};
        for (int mi = 0; mi < 7; mi++)
            for (int keep = 0; keep < 2; keep++) {
                if ((op == TD_OP_MAX_DIM || op == TD_OP_MIN_DIM) && __builtin_popcountll(masks[mi]) != 1)
                    continue;
                check_reduce(op, a, masks[mi], keep, odt);
                check_reduce(op, t, masks[mi], keep, odt);
            }
        /* 0-d input, stride-0 input, empty reductions */
        struct td_kt *z = mk(dt, 0, NULL);
        fill_rand(z, false);
        if (!(op == TD_OP_MAX_DIM || op == TD_OP_MIN_DIM))
            check_reduce(op, z, 0, false, odt);
        check_reduce(op, expanded(a, 4, (int64_t[]){2, 3, 4, 5}), 1, false, odt);
        int64_t s04[] = {0, 4};
        struct td_kt *e = mk(dt, 2, s04);
        check_reduce(op, e, 2, false, odt); /* output (0,) */
        if (!is_arg(op) && op != TD_OP_AMAX && op != TD_OP_AMIN) {
            check_reduce(op, e, 1, false, odt); /* identity */
        } else {
            int64_t s4[] = {4}, attrs[4] = {1, 0, -1, 0};
            struct td_kctx k = ctx(op, dt);
            k.n_in = 1, k.in[0] = e, k.attrs = attrs, k.n_attr = 4, k.n_out = td_op_table[op].n_out;
            k.out[0] = mk(op == TD_OP_ARGMAX || op == TD_OP_ARGMIN ? TD_DTYPE_INT64 : dt, 1, s4);
            k.out[1] = mk(TD_DTYPE_INT64, 1, s4);
            ck_assert_int_eq(td_cpu_kernels[op](&k), TD_CODE_INVALID_ARGUMENT);
        }
        /* large: a full reduction split into partials, and inner/outer schedules */
        if (dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_BOOL) {
            int64_t big[] = {300007}, mat[] = {257, 515};
            struct td_kt *b = mk(dt, 1, big), *m = mk(dt, 2, mat);
            fill_rand(b, false), fill_rand(m, false);
            if (op == TD_OP_PROD)
                for (int64_t i = 0; i < big[0]; i++)
                    set(b, i, 1);
            if (op == TD_OP_ARGMAX)
                set(b, 290000, 100);
            if (op != TD_OP_MAX_DIM && op != TD_OP_MIN_DIM)
                check_reduce(op, b, 1, false, odt);
            if (op != TD_OP_PROD) {
                check_reduce(op, m, 1, false, odt);
                check_reduce(op, m, 2, true, odt);
            }
        }
        free_all();
    }
}
END_TEST

START_TEST(test_reduce_nan)
{
    int64_t s[] = {2, 3};
    struct td_kt *a = mk(TD_DTYPE_FLOAT64, 2, s);
    double v[] = {1, NAN, 3, 5, 2, NAN};
    for (int i = 0; i < 6; i++)
        set(a, i, v[i]);
    check_reduce(TD_OP_AMAX, a, 2, false, TD_DTYPE_FLOAT64);
    check_reduce(TD_OP_ARGMAX, a, 2, false, TD_DTYPE_INT64);
    check_reduce(TD_OP_MIN_DIM, a, 1, true, TD_DTYPE_FLOAT64);
    check_reduce(TD_OP_ARGMIN, a, 3, false, TD_DTYPE_INT64);
    check_reduce(TD_OP_MEAN, mk(TD_DTYPE_FLOAT32, 1, (int64_t[]){0}), 1, false, TD_DTYPE_FLOAT32);
    /* sum of int32 into uint8 output wraps, ALL into uint8 */
    struct td_kt *i = mk(TD_DTYPE_INT32, 1, (int64_t[]){300});
    for (int64_t j = 0; j < 300; j++)
        set(i, j, 1);
    check_reduce(TD_OP_SUM, i, 1, false, TD_DTYPE_INT64);
    check_reduce(TD_OP_ALL, i, 1, false, TD_DTYPE_UINT8);
    free_all();
}
END_TEST

/* float32 sum accuracy: 2^24 + many ones must not stall */
START_TEST(test_reduce_accuracy)
{
    int64_t n[] = {1 << 22};
    struct td_kt *a = mk(TD_DTYPE_FLOAT32, 1, n), *o = mk(TD_DTYPE_FLOAT32, 0, NULL);
    for (int64_t i = 0; i < n[0]; i++)
        ((float *)a->data)[i] = 0.1f;
    int64_t attrs[4] = {1, 0, -1, 0};
    struct td_kctx k = ctx(TD_OP_SUM, TD_DTYPE_FLOAT32);
    k.n_in = 1, k.in[0] = a, k.n_out = 1, k.out[0] = o, k.attrs = attrs, k.n_attr = 4;
    ck_assert_int_eq(td_cpu_sum(&k), TD_CODE_OK);
    ck_assert_double_eq_tol(get(o, 0), 0.1f * (double)n[0], 1e-6 * 0.1 * (double)n[0]);
    free_all();
}
END_TEST

/* ---- matmul */

/* Element (i, j) of the last two dims at batch position bi (row-major, broadcast). */
static double mat_at(const struct td_kt *t, const int64_t *bidx, int nbo, int64_t i, int64_t j, bool left)
{
    int nd = t->m.ndim;
    int64_t off = t->m.offset;
    if (nd == 1)
        off += (left ? j : i) * t->m.strides[0];
    else {
        off += i * t->m.strides[nd - 2] + j * t->m.strides[nd - 1];
        for (int d = 0; d < nd - 2; d++) {
            int bd = nbo - (nd - 2) + d;
            if (t->m.sizes[d] != 1)
                off += bidx[bd] * t->m.strides[d];
        }
    }
    return td_load_f64((enum td_dtype)t->m.dtype, t->data + off * (int64_t)td_dtype_size((enum td_dtype)t->m.dtype));
}

static void check_matmul(enum td_op op, struct td_kt *a, struct td_kt *b, int ond, const int64_t *osz)
{
    enum td_dtype dt = (enum td_dtype)a->m.dtype;
    struct td_kt *o = mk(dt, ond, osz);
    fill_rand(o, true); /* must be overwritten */
    struct td_kctx k = ctx(op, dt);
    k.n_in = 2, k.in[0] = a, k.in[1] = b, k.n_out = 1, k.out[0] = o;
    ck_assert_int_eq(td_cpu_kernels[op](&k), TD_CODE_OK);
    bool a1 = a->m.ndim == 1, b1 = b->m.ndim == 1;
    int nbo = ond - !a1 - !b1;
    int64_t kk = a->m.sizes[a->m.ndim - 1], n = a1 ? 1 : a->m.sizes[a->m.ndim - 2], m = b1 ? 1 : b->m.sizes[b->m.ndim - 1];
    int64_t nb = 1, bidx[TD_MAX_DIMS];
    for (int d = 0; d < nbo; d++)
        nb *= osz[d];
    for (int64_t t = 0; t < nb; t++) {
        int64_t r = t;
        for (int d = nbo - 1; d >= 0; d--)
            bidx[d] = r % osz[d], r /= osz[d];
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < m; j++) {
                double s = 0;
                for (int64_t q = 0; q < kk; q++)
                    s += mat_at(a, bidx, nbo, i, q, true) * mat_at(b, bidx, nbo, q, j, false);
                int64_t flat = (t * n + i) * m + j;
                struct td_kt tmp = {.m = {.dtype = (uint8_t)dt}, .data = (char *)&(int64_t){0}};
                set(&tmp, 0, s);
                EXPECT(close_to(get(o, flat), get(&tmp, 0), dt == TD_DTYPE_FLOAT32 ? 1e-5 : 1e-12),
                              "%s [%lld]: got %g want %g", td_op_name(op), (long long)flat, get(o, flat), s);
            }
    }
}

static struct td_kt *rmk(enum td_dtype dt, int nd, const int64_t *s)
{
    struct td_kt *t = mk(dt, nd, s);
    fill_rand(t, false);
    return t;
}

START_TEST(test_matmul)
{
    static const enum td_dtype dts[] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_INT32, TD_DTYPE_INT64};
    enum td_dtype dt = dts[_i];
#define S(...) (int64_t[]){__VA_ARGS__}
    check_matmul(TD_OP_MM, rmk(dt, 2, S(3, 4)), rmk(dt, 2, S(4, 5)), 2, S(3, 5));
    check_matmul(TD_OP_MM, transposed(rmk(dt, 2, S(4, 3))), transposed(rmk(dt, 2, S(5, 4))), 2, S(3, 5));
    check_matmul(TD_OP_MM, expanded(rmk(dt, 2, S(1, 4)), 2, S(3, 4)), rmk(dt, 2, S(4, 5)), 2, S(3, 5));
    check_matmul(TD_OP_MATMUL, rmk(dt, 1, S(4)), rmk(dt, 1, S(4)), 0, NULL);
    check_matmul(TD_OP_MATMUL, rmk(dt, 2, S(3, 4)), rmk(dt, 1, S(4)), 1, S(3));
    check_matmul(TD_OP_MATMUL, rmk(dt, 1, S(4)), rmk(dt, 2, S(4, 5)), 1, S(5));
    check_matmul(TD_OP_MATMUL, rmk(dt, 4, S(2, 1, 3, 4)), rmk(dt, 3, S(5, 4, 2)), 4, S(2, 5, 3, 2));
    check_matmul(TD_OP_MATMUL, rmk(dt, 1, S(4)), rmk(dt, 3, S(2, 4, 3)), 2, S(2, 3));
    check_matmul(TD_OP_MATMUL, rmk(dt, 3, S(2, 3, 4)), rmk(dt, 1, S(4)), 2, S(2, 3));
    check_matmul(TD_OP_BMM, rmk(dt, 3, S(2, 3, 4)), transposed(rmk(dt, 3, S(2, 5, 4))), 3, S(2, 3, 5));
    check_matmul(TD_OP_MM, rmk(dt, 2, S(3, 0)), rmk(dt, 2, S(0, 4)), 2, S(3, 4));
    check_matmul(TD_OP_MM, rmk(dt, 2, S(0, 3)), rmk(dt, 2, S(3, 4)), 2, S(0, 4));
    if (td_dtype_is_float(dt))
        check_matmul(TD_OP_MM, rmk(dt, 2, S(70, 90)), transposed(rmk(dt, 2, S(60, 90))), 2, S(70, 60));
    free_all();
}
END_TEST

/* ---- creation */

static struct td_kctx create_ctx(enum td_op op, struct td_kt *o, int64_t *attrs, int nextra, const int64_t *extra)
{
    struct td_kctx k = ctx(op, (enum td_dtype)o->m.dtype);
    attrs[0] = o->m.dtype, attrs[1] = o->m.ndim;
    for (int d = 0; d < o->m.ndim; d++)
        attrs[2 + d] = o->m.sizes[d];
    for (int i = 0; i < nextra; i++)
        attrs[2 + o->m.ndim + i] = extra[i];
    k.attrs = attrs, k.n_attr = (uint32_t)(2 + o->m.ndim + nextra), k.n_out = 1, k.out[0] = o;
    return k;
}

/* The generator is MT19937 seeded as torch seeds it: the reference check value (the
 * 10000th output from seed 5489, the C++ standard's), torch.manual_seed(0)'s first
 * torch.rand value, and a state that would read past the words refused. */
START_TEST(test_rng_known_answers)
{
    static struct td_rng r;
    td_rng_seed(&r, 5489);
    uint32_t v = 0;
    for (int i = 0; i < 10000; i++)
        v = td_rng_u32(&r);
    ck_assert_uint_eq(v, 4123659995u);
    td_rng_seed(&r, 0);
    ck_assert_uint_eq(td_rng_u32(&r), 2357136044u);
    td_rng_seed(&r, 0);
    ck_assert_float_eq(td_rng_unit_f(&r), 0.49625658988952637f);
    ck_assert(td_rng_check(&r));
    r.next = 624; /* with left = 623 the next draw would read word 624 */
    ck_assert(!td_rng_check(&r));
    td_rng_seed(&r, 0);
    r.seeded = 0;
    ck_assert(!td_rng_check(&r));
    td_rng_seed(&r, (uint64_t)1 << 32); /* torch seeds with the low 32 bits and keeps the rest */
    ck_assert_uint_eq(td_rng_u32(&r), 2357136044u);
    ck_assert_uint_eq(r.initial_seed, (uint64_t)1 << 32);
}
END_TEST

/* The float normals' AVX2 path gives the portable path's bits (both reproduce torch's
 * AVX2 normal_fill; test_random_stream.py checks that against torch). */
START_TEST(test_rng_normal_paths_agree)
{
    static struct td_rng r;
    td_rng_seed(&r, 7);
    for (int round = 0; round < 20000; round++) {
        float a[16], b[16];
        for (int i = 0; i < 16; i++)
            a[i] = b[i] = round == 0 && i < 2 ? (float)i * 0.99999994f : td_rng_unit_f(&r); /* 0 and ~1 too */
        float mean = round % 3 ? 0.0f : 0.5f, sd = round % 5 ? 1.0f : 0.02f;
        td_rng_normal16_f(a, mean, sd);
        td__rng_normal16_scalar(b, mean, sd);
        ck_assert_msg(!memcmp(a, b, sizeof a), "round %d: the AVX2 and portable normals differ", round);
    }
}
END_TEST

START_TEST(test_create)
{
    int64_t attrs[32];
    struct td_rng rng;
    td_rng_seed(&rng, 42);
    struct td_kt *o = mk(TD_DTYPE_FLOAT32, 2, S(2, 3));
    struct td_kctx k = create_ctx(TD_OP_FULL, o, attrs, 2, S(TD_SCALAR_FLOAT, fbits(2.5)));
    ck_assert_int_eq(td_cpu_full(&k), TD_CODE_OK);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq(get(o, i), 2.5);
    k = create_ctx(TD_OP_ARANGE, o, attrs, 4, S(TD_SCALAR_INT, 1, TD_SCALAR_FLOAT, fbits(0.1)));
    ck_assert_int_eq(td_cpu_arange(&k), TD_CODE_OK);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq(get(o, i), (float)(1 + i * 0.1));
    struct td_kt *l = mk(TD_DTYPE_INT64, 1, S(5));
    k = create_ctx(TD_OP_ARANGE, l, attrs, 4, S(TD_SCALAR_INT, -3, TD_SCALAR_INT, 2));
    ck_assert_int_eq(td_cpu_arange(&k), TD_CODE_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(*(int64_t *)at(l, i), -3 + 2 * i);
    /* torch.linspace(0, 1, 7) and torch.linspace(-3, 10, 6, dtype=torch.int64) */
    static const double lf[] = {0.0, 0.1666666716337204, 0.3333333432674408, 0.5, 0.6666666269302368,
                                0.8333333134651184, 1.0};
    struct td_kt *f7 = mk(TD_DTYPE_FLOAT32, 1, S(7)), *i6 = mk(TD_DTYPE_INT64, 1, S(6));
    k = create_ctx(TD_OP_LINSPACE, f7, attrs, 2, S(fbits(0), fbits(1)));
    ck_assert_int_eq(td_cpu_linspace(&k), TD_CODE_OK);
    for (int i = 0; i < 7; i++)
        ck_assert_double_eq(get(f7, i), lf[i]);
    k = create_ctx(TD_OP_LINSPACE, i6, attrs, 2, S(fbits(-3), fbits(10)));
    ck_assert_int_eq(td_cpu_linspace(&k), TD_CODE_OK);
    static const int64_t li[] = {-3, 0, 2, 4, 7, 10};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(*(int64_t *)at(i6, i), li[i]);
    struct td_kt *e = mk(TD_DTYPE_INT32, 2, S(3, 4));
    fill_rand(e, true);
    k = create_ctx(TD_OP_EYE, e, attrs, 0, NULL);
    ck_assert_int_eq(td_cpu_eye(&k), TD_CODE_OK);
    for (int i = 0; i < 12; i++)
        ck_assert_double_eq(get(e, i), i / 4 == i % 4);
    struct td_kt *r = mk(TD_DTYPE_FLOAT32, 1, S(20000)), *rn = mk(TD_DTYPE_FLOAT64, 1, S(20000));
    k = create_ctx(TD_OP_RAND, r, attrs, 0, NULL);
    k.rng = &rng;
    ck_assert_int_eq(td_cpu_rand(&k), TD_CODE_OK);
    double mean = 0, var = 0;
    for (int i = 0; i < 20000; i++) {
        EXPECT(get(r, i) >= 0 && get(r, i) < 1, "rand out of range");
        mean += get(r, i) / 20000;
    }
    ck_assert_double_eq_tol(mean, 0.5, 0.02);
    k = create_ctx(TD_OP_RANDN, rn, attrs, 0, NULL);
    k.rng = &rng;
    ck_assert_int_eq(td_cpu_randn(&k), TD_CODE_OK);
    mean = 0;
    for (int i = 0; i < 20000; i++)
        mean += get(rn, i) / 20000, var += get(rn, i) * get(rn, i) / 20000;
    ck_assert_double_eq_tol(mean, 0, 0.05);
    ck_assert_double_eq_tol(var, 1, 0.05);
    struct td_kt *ri = mk(TD_DTYPE_INT16, 1, S(2000));
    k = create_ctx(TD_OP_RANDINT, ri, attrs, 2, S(-3, 5));
    k.rng = &rng;
    ck_assert_int_eq(td_cpu_randint(&k), TD_CODE_OK);
    int seen[8] = {0};
    for (int i = 0; i < 2000; i++) {
        double v = get(ri, i);
        EXPECT(v >= -3 && v < 5, "randint out of range");
        seen[(int)v + 3] = 1;
    }
    for (int i = 0; i < 8; i++)
        ck_assert(seen[i]);
    k = create_ctx(TD_OP_RANDINT, ri, attrs, 2, S(5, 5));
    k.rng = &rng;
    ck_assert_int_eq(td_cpu_randint(&k), TD_CODE_INVALID_ARGUMENT);
    k = create_ctx(TD_OP_EMPTY, ri, attrs, 0, NULL);
    ck_assert_int_eq(td_cpu_empty(&k), TD_CODE_OK);
    free_all();
}
END_TEST

/* ---- copies, where, clamp */

START_TEST(test_cast)
{
    /* every pair of the ten dtypes, strided source */
    enum td_dtype src = (enum td_dtype)_i;
    static const double vals[] = {0, 1, 2, 3, 100, 7};
    for (int d = 0; d < TD_DTYPE_COUNT; d++) {
        enum td_dtype dst = (enum td_dtype)d;
        struct td_kt *s = transposed(mk(src, 2, S(3, 2))), *o = mk(dst, 2, S(2, 3));
        for (int i = 0; i < 6; i++)
            set(s, i, vals[i]);
        int64_t attrs[1] = {dst};
        struct td_kctx k = ctx(TD_OP_CAST, src);
        k.n_in = 1, k.in[0] = s, k.n_out = 1, k.out[0] = o, k.attrs = attrs, k.n_attr = 1;
        ck_assert_int_eq(td_cpu_cast(&k), TD_CODE_OK);
        for (int i = 0; i < 6; i++) {
            double want = src == TD_DTYPE_BOOL ? vals[i] != 0 : vals[i];
            ck_assert_double_eq(get(o, i), dst == TD_DTYPE_BOOL ? want != 0 : want);
        }
        free_all();
    }
    /* float -> int truncates toward zero, uint8 wraps, float16 rounds */
    struct td_kt *f = mk(TD_DTYPE_FLOAT64, 1, S(3)), *i8 = mk(TD_DTYPE_UINT8, 1, S(3)), *h = mk(TD_DTYPE_FLOAT16, 1, S(3));
    set(f, 0, -2.7), set(f, 1, 3.9), set(f, 2, 1.0 / 3);
    ck_assert_int_eq(td__copy(i8, f), TD_CODE_OK);
    ck_assert(get(i8, 0) == 254 && get(i8, 1) == 3);
    ck_assert_int_eq(td__copy(h, f), TD_CODE_OK);
    ck_assert_double_eq(get(h, 2), td_half_to_float(td_float_to_half(1.0f / 3)));
    free_all();
}
END_TEST

/* float32 <-> float16 and float32 -> bfloat16 over contiguous runs (copy.c's vector paths
 * where the CPU has them) give the scalar conversions' bits: every float16 value to float32 and back, and float32
 * values around every rounding boundary, subnormal, infinity and NaN payload. */
START_TEST(test_half_conversions_bitwise)
{
    enum { NH = 65536, NF = 65536 * 4 + 37 }; /* odd lengths leave a scalar tail */
    struct td_kt *h = mk(TD_DTYPE_FLOAT16, 1, S(NH)), *f = mk(TD_DTYPE_FLOAT32, 1, S(NH));
    uint16_t *hv = (uint16_t *)h->data;
    for (int i = 0; i < NH; i++)
        hv[i] = (uint16_t)i;
    ck_assert_int_eq(td__copy(f, h), TD_CODE_OK);
    for (int i = 0; i < NH; i++) {
        float want = td_half_to_float((uint16_t)i), got = ((const float *)f->data)[i];
        ck_assert_msg(memcmp(&want, &got, 4) == 0, "half 0x%04x -> float", i);
    }
    struct td_kt *g = mk(TD_DTYPE_FLOAT32, 1, S(NF)), *o = mk(TD_DTYPE_FLOAT16, 1, S(NF));
    uint32_t *gv = (uint32_t *)g->data, x = 12345;
    for (int i = 0; i < NF; i++) {
        uint32_t u;
        if (i < NH) { /* each half value as a float, nudged by -1, 0 or +1 ulp: the ties */
            float fv = td_half_to_float((uint16_t)i);
            memcpy(&u, &fv, 4);
            u += (uint32_t)(i % 3) - 1u + ((i & 1) ? 0x1000u : 0);
        } else { /* random bit patterns: NaN payloads, subnormals, huge values */
            x = x * 1103515245u + 12345u;
            u = x ^ (x >> 7) << 3;
        }
        gv[i] = u;
    }
    ck_assert_int_eq(td__copy(o, g), TD_CODE_OK);
    for (int i = 0; i < NF; i++) {
        float fv;
        memcpy(&fv, &gv[i], 4);
        ck_assert_msg(((const uint16_t *)o->data)[i] == td_float_to_half(fv), "float 0x%08x -> half", gv[i]);
    }
    struct td_kt *b = mk(TD_DTYPE_BFLOAT16, 1, S(NF));
    ck_assert_int_eq(td__copy(b, g), TD_CODE_OK);
    for (int i = 0; i < NF; i++) {
        float fv;
        memcpy(&fv, &gv[i], 4);
        ck_assert_msg(((const uint16_t *)b->data)[i] == td_float_to_bf16(fv), "float 0x%08x -> bfloat16", gv[i]);
    }
    free_all();
}
END_TEST

START_TEST(test_copy_fill_where_clamp)
{
    /* clone of a strided tensor */
    struct td_kt *a = transposed(rmk(TD_DTYPE_FLOAT32, 2, S(4, 3))), *c = mk(TD_DTYPE_FLOAT32, 2, S(3, 4));
    struct td_kctx k = ctx(TD_OP_CLONE, TD_DTYPE_FLOAT32);
    k.n_in = 1, k.in[0] = a, k.n_out = 1, k.out[0] = c;
    ck_assert_int_eq(td_cpu_clone(&k), TD_CODE_OK);
    expect_close(c, a, 0);
    /* copy_ broadcasts and converts into a strided destination */
    struct td_kt *dst = transposed(mk(TD_DTYPE_INT32, 2, S(4, 3))), *src = rmk(TD_DTYPE_FLOAT64, 2, S(1, 4));
    for (int i = 0; i < 4; i++)
        set(src, i, floor(get(src, i)));
    k = ctx(TD_OP_COPY_, TD_DTYPE_INT32);
    k.n_in = 2, k.in[0] = dst, k.in[1] = src;
    ck_assert_int_eq(td_cpu_copy_(&k), TD_CODE_OK);
    expect_close(dst, expanded(src, 2, S(3, 4)), 0);
    /* fill_ through a strided view */
    int64_t fa[2] = {TD_SCALAR_FLOAT, fbits(1.5)};
    k = ctx(TD_OP_FILL_, TD_DTYPE_FLOAT32);
    k.n_in = 1, k.in[0] = a, k.attrs = fa, k.n_attr = 2;
    ck_assert_int_eq(td_cpu_fill_(&k), TD_CODE_OK);
    for (int i = 0; i < 12; i++)
        ck_assert_double_eq(get(a, i), 1.5);
    /* where with broadcast condition and a 0-d operand */
    struct td_kt *cond = mk(TD_DTYPE_BOOL, 2, S(3, 1)), *x = rmk(TD_DTYPE_INT16, 1, S(4)), *y = rmk(TD_DTYPE_INT16, 0, NULL);
    struct td_kt *w = mk(TD_DTYPE_INT16, 2, S(3, 4));
    set(cond, 0, 1), set(cond, 2, 1);
    k = ctx(TD_OP_WHERE, TD_DTYPE_INT16);
    k.n_in = 3, k.in[0] = cond, k.in[1] = x, k.in[2] = y, k.n_out = 1, k.out[0] = w;
    ck_assert_int_eq(td_cpu_where(&k), TD_CODE_OK);
    for (int i = 0; i < 12; i++)
        ck_assert_double_eq(get(w, i), i / 4 != 1 ? get(x, i % 4) : get(y, 0));
    /* clamp: NaN kept, min > max gives max, one-sided bounds */
    struct td_kt *v = mk(TD_DTYPE_FLOAT32, 1, S(4)), *r = mk(TD_DTYPE_FLOAT32, 1, S(4));
    set(v, 0, 1), set(v, 1, 5), set(v, 2, NAN), set(v, 3, -7);
    int64_t ca[6] = {1, TD_SCALAR_INT, 4, 1, TD_SCALAR_FLOAT, fbits(2)};
    k = ctx(TD_OP_CLAMP, TD_DTYPE_FLOAT32);
    k.n_in = 1, k.in[0] = v, k.n_out = 1, k.out[0] = r, k.attrs = ca, k.n_attr = 6;
    ck_assert_int_eq(td_cpu_clamp(&k), TD_CODE_OK);
    ck_assert(get(r, 0) == 2 && get(r, 1) == 2 && isnan(get(r, 2)) && get(r, 3) == 2);
    ca[3] = 0;
    ck_assert_int_eq(td_cpu_clamp(&k), TD_CODE_OK);
    ck_assert(get(r, 0) == 4 && get(r, 1) == 5 && isnan(get(r, 2)) && get(r, 3) == 4);
    struct td_kt *iv = transposed(rmk(TD_DTYPE_INT64, 2, S(5, 4))), *ir = mk(TD_DTYPE_INT64, 2, S(4, 5));
    int64_t ia[6] = {0, 0, 0, 1, TD_SCALAR_INT, 2};
    k = ctx(TD_OP_CLAMP, TD_DTYPE_INT64);
    k.n_in = 1, k.in[0] = iv, k.n_out = 1, k.out[0] = ir, k.attrs = ia, k.n_attr = 6;
    ck_assert_int_eq(td_cpu_clamp(&k), TD_CODE_OK);
    for (int i = 0; i < 20; i++)
        ck_assert_double_eq(get(ir, i), fmin(get(iv, i), 2));
    free_all();
}
END_TEST

START_TEST(test_cat)
{
    struct td_kt *a = rmk(TD_DTYPE_FLOAT64, 2, S(2, 3)), *e = mk(TD_DTYPE_FLOAT64, 1, S(0));
    struct td_kt *b = transposed(rmk(TD_DTYPE_FLOAT64, 2, S(2, 2))), *o = mk(TD_DTYPE_FLOAT64, 2, S(2, 5));
    int64_t dim = 1;
    struct td_kctx k = ctx(TD_OP_CAT, TD_DTYPE_FLOAT64);
    k.n_in = 3, k.in[0] = a, k.in[1] = e, k.in[2] = b, k.n_out = 1, k.out[0] = o, k.attrs = &dim, k.n_attr = 1;
    ck_assert_int_eq(td_cpu_cat(&k), TD_CODE_OK);
    for (int i = 0; i < 10; i++) {
        int r = i / 5, c = i % 5;
        ck_assert_double_eq(get(o, i), c < 3 ? get(a, r * 3 + c) : get(b, r * 2 + c - 3));
    }
    struct td_kt *o0 = mk(TD_DTYPE_FLOAT64, 2, S(4, 3));
    dim = 0;
    k.in[1] = a, k.in[2] = e, k.out[0] = o0;
    ck_assert_int_eq(td_cpu_cat(&k), TD_CODE_OK);
    for (int i = 0; i < 12; i++)
        ck_assert_double_eq(get(o0, i), get(a, i % 6));
    free_all();
}
END_TEST

/* ---- table, views, pool */

START_TEST(test_table)
{
    for (int op = 0; op < TD_OP_COUNT; op++)
        ck_assert_ptr_nonnull(td_cpu_kernels[op]);
    struct td_kctx k = ctx(TD_OP_VIEW, TD_DTYPE_FLOAT32);
    for (int op = 0; op < TD_OP_COUNT; op++) {
        if (td_op_table[op].family == TD_FAM_VIEW)
            ck_assert_int_eq(td_cpu_kernels[op](&k), TD_CODE_OK);
        if (td_op_table[op].family == TD_FAM_CTRL)
            ck_assert_int_eq(td_cpu_kernels[op](&k), TD_CODE_INTERNAL);
    }
}
END_TEST

static void count_range(void *ctx_, int64_t b, int64_t e)
{
    int64_t s = 0;
    for (int64_t i = b; i < e; i++)
        s += i;
    __atomic_fetch_add((int64_t *)ctx_, s, __ATOMIC_RELAXED);
}

static void *hammer(void *arg)
{
    int64_t n = 1000000;
    for (int r = 0; r < 20; r++) {
        int64_t s = 0;
        td_parallel_for(n, 1000, count_range, &s);
        if (s != n * (n - 1) / 2)
            *(int *)arg = 1;
    }
    return NULL;
}

START_TEST(test_parallel)
{
    int bad = 0;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, &bad);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(bad, 0);
    int64_t s = 0;
    td_parallel_for(10, 100, count_range, &s); /* below grain: serial */
    ck_assert_int_eq(s, 45);
}
END_TEST

/* Distinct threads that ran chunks of one td_parallel_for (each chunk sleeps a little so
 * idle workers get a chance to join when they are allowed to). */
struct seen_threads {
    pthread_mutex_t lock;
    pthread_t ids[8];
    int n;
};

static void note_thread(void *ctx_, int64_t b, int64_t e)
{
    struct seen_threads *s = ctx_;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&s->lock);
    int i = 0;
    while (i < s->n && !pthread_equal(s->ids[i], pthread_self()))
        i++;
    if (i == s->n && s->n < 8)
        s->ids[s->n++] = pthread_self();
    pthread_mutex_unlock(&s->lock);
}

static int threads_used(void)
{
    struct seen_threads s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    td_parallel_for(64, 1, note_thread, &s);
    return s.n;
}

static void *limit_elsewhere(void *arg)
{
    *(int *)arg = td_parallel_get_limit() * 100 + td_parallel_threads();
    return NULL;
}

/* torch.set_num_threads: the calling thread's limit caps td_parallel_for (and so the
 * GEMM panels: OpenBLAS itself is single-threaded), and only on that thread. */
START_TEST(test_thread_limit)
{
    td_parallel_init(4);
    ck_assert_int_eq(openblas_get_num_threads(), 1);
    ck_assert_int_eq(td_parallel_threads(), 4);
    td_parallel_set_limit(1);
    ck_assert_int_eq(td_parallel_get_limit(), 1);
    ck_assert_int_eq(td_parallel_threads(), 1);
    for (int r = 0; r < 5; r++)
        ck_assert_int_eq(threads_used(), 1);
    td_parallel_set_limit(2);
    for (int r = 0; r < 5; r++)
        ck_assert_int_le(threads_used(), 2);
    td_parallel_set_limit(64);
    ck_assert_int_eq(td_parallel_threads(), 4); /* capped by the pool */
    td_parallel_set_limit(1);
    pthread_t th;
    int other = -1;
    pthread_create(&th, NULL, limit_elsewhere, &other);
    pthread_join(th, NULL);
    ck_assert_int_eq(other, 4); /* no limit there: the whole pool */
    /* GEMM panels: rows split (200 > 150), then columns (400 > 40); serial under limit 1 */
    for (int lim = 1; lim <= 4; lim += 3) {
        td_parallel_set_limit(lim);
        check_matmul(TD_OP_MM, rmk(TD_DTYPE_FLOAT64, 2, S(200, 160)), rmk(TD_DTYPE_FLOAT64, 2, S(160, 150)), 2,
                     S(200, 150));
        check_matmul(TD_OP_MM, rmk(TD_DTYPE_FLOAT64, 2, S(40, 300)), transposed(rmk(TD_DTYPE_FLOAT64, 2, S(400, 300))),
                     2, S(40, 400));
    }
    td_parallel_set_limit(0);
    free_all();
}
END_TEST

static void pool_up(void) { td_parallel_init(2); }
static void pool_down(void) { td_parallel_fini(); }

static Suite *ops_cpu_suite(void)
{
    Suite *s = suite_create("ops_cpu");
    struct {
        const char *name;
        const TTest *fn;
        int n;
        int timeout;
    } cases[] = {
        {"binary", test_binary, TD_OP_BITWISE_XOR - TD_OP_ADD + 1, 120},
        {"binary_errors", test_binary_errors, 1, 10},
        {"unary", test_unary, TD_OP_BITWISE_NOT - TD_OP_NEG + 1, 60},
        {"reduce", test_reduce, TD_OP_MIN_DIM - TD_OP_SUM + 1, 120},
        {"reduce_nan", test_reduce_nan, 1, 10},
        {"reduce_accuracy", test_reduce_accuracy, 1, 30},
        {"matmul", test_matmul, 4, 60},
        {"create", test_create, 1, 10},
        {"rng_known_answers", test_rng_known_answers, 1, 10},
        {"rng_normal_paths", test_rng_normal_paths_agree, 1, 30},
        {"cast", test_cast, TD_DTYPE_COUNT, 10},
        {"copy", test_copy_fill_where_clamp, 1, 10},
        {"half_bits", test_half_conversions_bitwise, 1, 60},
        {"cat", test_cat, 1, 10},
        {"table", test_table, 1, 10},
        {"parallel", test_parallel, 1, 60},
        {"thread_limit", test_thread_limit, 1, 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, cases[i].timeout);
        /* checked fixtures run in the forked child, where the pool threads must live */
        tcase_add_checked_fixture(tc, pool_up, pool_down);
        tcase_add_loop_test(tc, cases[i].fn, 0, cases[i].n);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ops_cpu_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
