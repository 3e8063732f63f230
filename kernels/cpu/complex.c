/*
 * complex.c — the CPU kernels of the ops that compute on complex64/complex128.
 *
 * The executor asks td__cpu_complex_kernel(op) first whenever an op's compute dtype is
 * complex, so the real kernels stay as they are: the meta layer's gate (shape_complex.c)
 * lets only TD_F_COMPLEX rows reach here, and rows that merely move bytes (copies, casts,
 * views, cat, flip, tril/triu, where, fill) are handled by their own kernels by element
 * size and have no entry.  What lives here:
 *   - elementwise binary ADD SUB MUL DIV POW EQ NE LOGICAL_AND/OR/XOR (a real scalar
 *     attribute is (v, 0)) and ternary LERP ADDCMUL ADDCDIV;
 *   - elementwise unary functions from C99 <complex.h>, ABS (real output), LOGICAL_NOT and
 *     the ISNAN/ISINF/ISFINITE predicates;
 *   - SUM PROD MEAN over a dim mask, accumulated in double complex; VAR STD VAR_MEAN
 *     STD_MEAN (two passes, |x - mean|^2, real results); CUMPROD along a dim;
 *   - ops that only need |z| or z != 0 (NORM, COUNT_NONZERO, NONZERO): the complex input
 *     is mapped to a real (or bool) scratch tensor and the real kernel runs on that;
 *   - GATHER SCATTER INDEX INDEX_PUT CUMSUM, run by the real kernels on (re, im) pairs:
 *     every complex operand is viewed as its real dtype with a trailing dim of 2 (index
 *     tensors of gather/scatter get that dim with stride 0), which is exact for moves
 *     and for additive accumulation (scatter add, index_put accumulate, cumsum); scatter
 *     with reduce='multiply' runs the real kernel as is (index.c's acc knows complex).
 * Complex matmul is cgemm/zgemm in matmul.c.  Multiplication, division and reciprocal
 * use the textbook formulas in the operand precision ((ac - bd) + (ad + bc)i, and
 * ((ac + bd) + (bc - ad)i) / (c^2 + d^2)) as torch 1.13 does, so infinities, zeros and
 * complex64 overflow give torch's NaNs; the <complex.h> functions follow C99 Annex G,
 * which can differ from torch in the last bits and for infinities.
 */
#pragma GCC optimize("O2")

#include <complex.h>
#include <math.h>
#include <stdlib.h>

#include "iter.h"

typedef double complex dcx;

static inline dcx load_cx(enum td_dtype dt, const char *p)
{
    if (dt == TD_DTYPE_COMPLEX64)
        return CMPLX(((const float *)p)[0], ((const float *)p)[1]);
    return CMPLX(((const double *)p)[0], ((const double *)p)[1]);
}

static inline void store_cx(enum td_dtype dt, char *p, dcx v)
{
    if (dt == TD_DTYPE_COMPLEX64) {
        ((float *)p)[0] = (float)creal(v), ((float *)p)[1] = (float)cimag(v);
    } else if (dt == TD_DTYPE_COMPLEX128) {
        ((double *)p)[0] = creal(v), ((double *)p)[1] = cimag(v);
    } else {
        td_store_f64(dt, p, creal(v)); /* bool (comparisons) and abs's real output */
    }
}

/* torch 1.13's complex product and quotient: the textbook formulas, evaluated in float
 * for complex64 (so |z|^2 overflows where torch's does) and in double for complex128. */
static inline dcx cx_mul(enum td_dtype dt, dcx x, dcx y)
{
    if (dt == TD_DTYPE_COMPLEX64) {
        float a = (float)creal(x), b = (float)cimag(x), c = (float)creal(y), d = (float)cimag(y);
        return CMPLX(a * c - b * d, a * d + b * c);
    }
    double a = creal(x), b = cimag(x), c = creal(y), d = cimag(y);
    return CMPLX(a * c - b * d, a * d + b * c);
}

static inline dcx cx_div(enum td_dtype dt, dcx x, dcx y)
{
    if (dt == TD_DTYPE_COMPLEX64) {
        float a = (float)creal(x), b = (float)cimag(x), c = (float)creal(y), d = (float)cimag(y);
        float n = c * c + d * d;
        return CMPLX((a * c + b * d) / n, (b * c - a * d) / n);
    }
    double a = creal(x), b = cimag(x), c = creal(y), d = cimag(y), n = c * c + d * d;
    return CMPLX((a * c + b * d) / n, (b * c - a * d) / n);
}

static inline bool nz(dcx z) { return creal(z) != 0 || cimag(z) != 0; }

/* ---- elementwise binary */

struct bin {
    unsigned op;
    enum td_dtype in, out; /* compute dtype, output dtype (bool or in for EQ/NE) */
    dcx alpha;
};

static inline dcx bin_apply(const struct bin *b, dcx x, dcx y)
{
    switch (b->op) {
    case TD_OP_ADD: return x + cx_mul(b->in, b->alpha, y);
    case TD_OP_SUB: return x - cx_mul(b->in, b->alpha, y);
    case TD_OP_MUL: return cx_mul(b->in, x, y);
    case TD_OP_DIV: return cx_div(b->in, x, y);
    case TD_OP_POW: return (y == 0) ? 1 : (y == 2) ? cx_mul(b->in, x, x) : cpow(x, y);
    case TD_OP_EQ: return x == y;
    case TD_OP_LOGICAL_AND: return nz(x) && nz(y);
    case TD_OP_LOGICAL_OR: return nz(x) || nz(y);
    case TD_OP_LOGICAL_XOR: return nz(x) != nz(y);
    default: return x != y; /* NE */
    }
}

static void bin_loop(void *ctx, char **p, const int64_t *s, int64_t n)
{
    const struct bin *b = ctx;
    for (int64_t i = 0; i < n; i++)
        store_cx(b->out, p[0] + i * s[0],
                 bin_apply(b, load_cx(b->in, p[1] + i * s[1]), load_cx(b->in, p[2] + i * s[2])));
}

static enum td_code cx_binary(struct td_kctx *k)
{
    struct bin b = {.op = k->op, .in = (enum td_dtype)k->compute_dtype, .alpha = 1};
    char sbuf[16] = {0};
    struct td_kt scalar = {.data = sbuf}, *ops[3];
    if (k->n_out < 1 ||
        (k->op == TD_OP_DIV && k->n_attr >= TD_N_DIV && k->attrs[TD_A_DIV_ROUNDING_MODE] != TD_ROUND_NONE))
        return TD_CODE_INVALID_ARGUMENT;
    ops[0] = k->out[0];
    b.out = (enum td_dtype)ops[0]->m.dtype;
    if (k->n_in == 2) {
        ops[1] = k->in[0], ops[2] = k->in[1];
    } else if (k->n_in == 1 && k->n_attr >= TD_N_BINARY && td__scalar_kind_ok(k->attrs[TD_A_BINARY_OPERAND])) {
        scalar.m.dtype = (uint8_t)b.in;
        store_cx(b.in, sbuf, td__scalar_f64(k->attrs[TD_A_BINARY_OPERAND], k->attrs[TD_A_BINARY_OPERAND + 1]));
        bool lhs = k->flags & TD_RF_SCALAR_LHS;
        ops[1] = lhs ? &scalar : k->in[0];
        ops[2] = lhs ? k->in[0] : &scalar;
    } else {
        return TD_CODE_INVALID_ARGUMENT;
    }
    if (ops[1]->m.dtype != b.in || ops[2]->m.dtype != b.in)
        return TD_CODE_INVALID_ARGUMENT;
    bool cmp = k->op == TD_OP_EQ || k->op == TD_OP_NE || k->op == TD_OP_LOGICAL_AND || k->op == TD_OP_LOGICAL_OR ||
               k->op == TD_OP_LOGICAL_XOR;
    if (cmp ? (b.out != TD_DTYPE_BOOL && b.out != b.in) : b.out != b.in)
        return TD_CODE_INVALID_ARGUMENT;
    if ((k->op == TD_OP_ADD || k->op == TD_OP_SUB) && k->n_attr >= TD_N_ADD) { /* SUB's alpha alike (op.c) */
        if (!td__scalar_kind_ok(k->attrs[TD_A_ADD_ALPHA]))
            return TD_CODE_INVALID_ARGUMENT;
        b.alpha = td__scalar_f64(k->attrs[TD_A_ADD_ALPHA], k->attrs[TD_A_ADD_ALPHA + 1]);
    }
    struct td_iter it;
    if (!td_iter_init(&it, 3, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, bin_loop, &b);
    return TD_CODE_OK;
}

/* ---- elementwise unary */

struct un {
    unsigned op;
    enum td_dtype in, out;
};

static inline dcx un_apply(unsigned op, enum td_dtype dt, dcx z)
{
    switch (op) {
    case TD_OP_NEG: return -z;
    case TD_OP_ABS: return cabs(z);
    case TD_OP_EXP: return cexp(z);
    case TD_OP_LOG: return clog(z);
    case TD_OP_LOG2: return clog(z) / M_LN2;
    case TD_OP_LOG10: return clog(z) / M_LN10;
    case TD_OP_SQRT: return csqrt(z);
    case TD_OP_RSQRT: return cx_div(dt, 1, csqrt(z));
    case TD_OP_RECIPROCAL: return cx_div(dt, 1, z);
    case TD_OP_LOGICAL_NOT: return !nz(z);
    case TD_OP_SIGMOID: return 1.0 / (1.0 + cexp(-z));
    case TD_OP_SIN: return csin(z);
    case TD_OP_COS: return ccos(z);
    case TD_OP_TAN: return ctan(z);
    case TD_OP_ASIN: return casin(z);
    case TD_OP_ACOS: return cacos(z);
    case TD_OP_ATAN: return catan(z);
    case TD_OP_SINH: return csinh(z);
    case TD_OP_COSH: return ccosh(z);
    case TD_OP_TANH: return ctanh(z);
    case TD_OP_ASINH: return casinh(z);
    case TD_OP_ACOSH: return cacosh(z);
    case TD_OP_ATANH: return catanh(z);
    case TD_OP_ISNAN: return isnan(creal(z)) || isnan(cimag(z));
    case TD_OP_ISINF: return isinf(creal(z)) || isinf(cimag(z));
    default: return isfinite(creal(z)) && isfinite(cimag(z)); /* ISFINITE */
    }
}

static void un_loop(void *ctx, char **p, const int64_t *s, int64_t n)
{
    const struct un *u = ctx;
    for (int64_t i = 0; i < n; i++)
        store_cx(u->out, p[0] + i * s[0], un_apply(u->op, u->in, load_cx(u->in, p[1] + i * s[1])));
}

static enum td_code cx_unary(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    struct un u = {k->op, (enum td_dtype)k->compute_dtype, (enum td_dtype)k->out[0]->m.dtype};
    bool pred = k->op == TD_OP_ISNAN || k->op == TD_OP_ISINF || k->op == TD_OP_ISFINITE || k->op == TD_OP_LOGICAL_NOT;
    enum td_dtype want = pred ? TD_DTYPE_BOOL : k->op == TD_OP_ABS ? td_dtype_to_real(u.in) : u.in;
    if (k->in[0]->m.dtype != u.in || u.out != want)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    struct td_iter it;
    if (!td_iter_init(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, un_loop, &u);
    return TD_CODE_OK;
}

/* ---- SUM PROD MEAN: the dim mask and keepdim (the output meta already says it) */

static enum td_code cx_reduce(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr <= TD_A_REDUCE_KEEPDIM)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0];
    struct td_kt *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    const struct td_meta *xm = &x->m;
    uint64_t mask = (uint64_t)k->attrs[TD_A_REDUCE_DIM];
    int nd = xm->ndim;
    if (xm->dtype != dt || o->m.dtype != dt || !td_meta_is_contiguous(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    /* output element strides of each input dim: 0 for reduced dims, row-major otherwise */
    int64_t ostride[TD_MAX_DIMS], on = 1, count = 1, n = td_meta_numel(xm);
    for (int d = nd - 1; d >= 0; d--) {
        bool red = nd == 0 || ((mask >> d) & 1);
        ostride[d] = red ? 0 : on;
        on *= red ? 1 : xm->sizes[d];
        count *= red ? xm->sizes[d] : 1;
    }
    if (on != td_meta_numel(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    dcx *acc = malloc(sizeof(dcx) * (size_t)(on ? on : 1));
    if (!acc)
        return TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t j = 0; j < on; j++)
        acc[j] = k->op == TD_OP_PROD ? 1 : 0;
    int64_t idx[TD_MAX_DIMS] = {0}, xoff = xm->offset, ooff = 0, es = (int64_t)td_dtype_size(dt);
    for (int64_t i = 0; i < n; i++) {
        dcx v = load_cx(dt, x->data + xoff * es);
        acc[ooff] = k->op == TD_OP_PROD ? cx_mul(TD_DTYPE_COMPLEX128, acc[ooff], v) : acc[ooff] + v;
        for (int d = nd - 1; d >= 0; d--) { /* odometer, last dim fastest */
            xoff += xm->strides[d], ooff += ostride[d];
            if (++idx[d] < xm->sizes[d])
                break;
            xoff -= idx[d] * xm->strides[d], ooff -= idx[d] * ostride[d];
            idx[d] = 0;
        }
    }
    for (int64_t j = 0; j < on; j++)
        store_cx(dt, o->data + (o->m.offset + j) * es, k->op == TD_OP_MEAN ? acc[j] / (double)count : acc[j]);
    free(acc);
    return TD_CODE_OK;
}

/* ---- walking every element of x with the offset of its output element ---- */

/* Output element strides of each input dim (0 for reduced dims, row-major otherwise);
 * returns the output element count, *count the reduced elements per output. */
static int64_t out_strides(const struct td_meta *xm, uint64_t mask, int64_t *ostride, int64_t *count)
{
    int64_t on = 1;
    *count = 1;
    for (int d = xm->ndim - 1; d >= 0; d--) {
        bool red = (mask >> d) & 1;
        ostride[d] = red ? 0 : on;
        on *= red ? 1 : xm->sizes[d];
        *count *= red ? xm->sizes[d] : 1;
    }
    return on;
}

/* Calls fn(ctx, output offset, x element) for every element of x, last dim fastest. */
static void walk(const struct td_kt *x, void *ctx, const int64_t *ostride, void (*fn)(void *, int64_t, dcx))
{
    const struct td_meta *xm = &x->m;
    enum td_dtype dt = (enum td_dtype)xm->dtype;
    int64_t idx[TD_MAX_DIMS] = {0}, xoff = xm->offset, ooff = 0, es = (int64_t)td_dtype_size(dt);
    int64_t n = td_meta_numel(xm);
    for (int64_t i = 0; i < n; i++) {
        fn(ctx, ooff, load_cx(dt, x->data + xoff * es));
        for (int d = xm->ndim - 1; d >= 0; d--) { /* odometer */
            xoff += xm->strides[d], ooff += ostride[d];
            if (++idx[d] < xm->sizes[d])
                break;
            xoff -= idx[d] * xm->strides[d], ooff -= idx[d] * ostride[d];
            idx[d] = 0;
        }
    }
}

struct var_acc {
    dcx *mean;  /* sums, then means */
    double *m2; /* sums of |x - mean|^2 */
};

static void step_sum(void *ctx, int64_t o, dcx v) { ((struct var_acc *)ctx)->mean[o] += v; }

static void step_dev(void *ctx, int64_t o, dcx v)
{
    struct var_acc *a = ctx;
    dcx d = v - a->mean[o];
    a->m2[o] += creal(d) * creal(d) + cimag(d) * cimag(d);
}

/* ---- VAR STD VAR_MEAN STD_MEAN: the STAT layout, its extra word the correction */

static enum td_code cx_var(struct td_kctx *k)
{
    bool with_mean = k->op == TD_OP_VAR_MEAN || k->op == TD_OP_STD_MEAN;
    bool sd = k->op == TD_OP_STD || k->op == TD_OP_STD_MEAN;
    if (k->n_in != 1 || k->n_out != 1 + with_mean || k->n_attr < TD_N_STAT)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0];
    enum td_dtype dt = (enum td_dtype)k->compute_dtype, rdt = td_dtype_to_real(dt);
    struct td_kt *o = k->out[0], *om = with_mean ? k->out[1] : NULL;
    if (x->m.dtype != dt || o->m.dtype != rdt || !td_meta_is_contiguous(&o->m) ||
        (om && (om->m.dtype != dt || !td_meta_is_contiguous(&om->m))))
        return TD_CODE_INVALID_ARGUMENT;
    int64_t ostride[TD_MAX_DIMS], count;
    uint64_t mask = x->m.ndim ? (uint64_t)k->attrs[TD_A_STAT_DIM] : 0;
    int64_t on = out_strides(&x->m, mask, ostride, &count);
    if (on != td_meta_numel(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    struct var_acc acc = {calloc((size_t)(on ? on : 1), sizeof(dcx)), calloc((size_t)(on ? on : 1), sizeof(double))};
    if (!acc.mean || !acc.m2) {
        free(acc.mean), free(acc.m2);
        return TD_CODE_RESOURCE_EXHAUSTED;
    }
    walk(x, &acc, ostride, step_sum);
    for (int64_t j = 0; j < on; j++)
        acc.mean[j] /= (double)count;
    walk(x, &acc, ostride, step_dev);
    double c = (double)count - (double)k->attrs[TD_A_STAT_EXTRA];
    int64_t res = (int64_t)td_dtype_size(rdt), ces = (int64_t)td_dtype_size(dt);
    for (int64_t j = 0; j < on; j++) {
        double var = acc.m2[j] / (c > 0 ? c : 0);
        td_store_f64(rdt, o->data + (o->m.offset + j) * res, sd ? sqrt(var) : var);
        if (om)
            store_cx(dt, om->data + (om->m.offset + j) * ces, acc.mean[j]);
    }
    free(acc.mean), free(acc.m2);
    return TD_CODE_OK;
}

/* ---- CUMPROD along its dim (CUMSUM runs on pairs) */

static enum td_code cx_cumprod(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr <= TD_A_CUMULATIVE_DIM)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0];
    struct td_kt *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    int nd = x->m.ndim;
    int64_t d = k->attrs[TD_A_CUMULATIVE_DIM];
    if (d < 0)
        d += nd ? nd : 1;
    if (x->m.dtype != dt || o->m.dtype != dt || o->m.ndim != nd || d < 0 || d >= (nd ? nd : 1))
        return TD_CODE_INVALID_ARGUMENT;
    if (nd == 0) {
        store_cx(dt, o->data + o->m.offset * (int64_t)td_dtype_size(dt), load_cx(dt, x->data + x->m.offset *
                                                                                     (int64_t)td_dtype_size(dt)));
        return TD_CODE_OK;
    }
    int64_t es = (int64_t)td_dtype_size(dt), len = x->m.sizes[d], n = td_meta_numel(&x->m);
    if (n == 0)
        return TD_CODE_OK;
    int64_t idx[TD_MAX_DIMS] = {0}, xoff = x->m.offset, ooff = o->m.offset;
    for (int64_t lane = 0; lane < n / len; lane++) {
        dcx acc = 1;
        for (int64_t j = 0; j < len; j++) {
            acc = cx_mul(dt, acc, load_cx(dt, x->data + (xoff + j * x->m.strides[d]) * es));
            store_cx(dt, o->data + (ooff + j * o->m.strides[d]) * es, acc);
        }
        for (int e = nd - 1; e >= 0; e--) { /* odometer over the other dims */
            if (e == d)
                continue;
            xoff += x->m.strides[e], ooff += o->m.strides[e];
            if (++idx[e] < x->m.sizes[e])
                break;
            xoff -= idx[e] * x->m.strides[e], ooff -= idx[e] * o->m.strides[e];
            idx[e] = 0;
        }
    }
    return TD_CODE_OK;
}

/* ---- LERP ADDCMUL ADDCDIV: (self, end|tensor1, weight|tensor2), a real scalar attr 0-1 */

struct tern {
    unsigned op;
    enum td_dtype dt;
    dcx s; /* the weight (LERP with n_in 2) or value */
    bool scalar_w;
};

static void tern_loop(void *ctx, char **p, const int64_t *st, int64_t n)
{
    const struct tern *t = ctx;
    enum td_dtype dt = t->dt;
    for (int64_t i = 0; i < n; i++) {
        dcx a = load_cx(dt, p[1] + i * st[1]), b = load_cx(dt, p[2] + i * st[2]), r;
        if (t->op == TD_OP_LERP) {
            dcx w = t->scalar_w ? t->s : load_cx(dt, p[3] + i * st[3]), diff = b - a;
            r = cabs(w) < 0.5 ? a + cx_mul(dt, w, diff) : b - cx_mul(dt, diff, 1 - w);
        } else {
            dcx c = load_cx(dt, p[3] + i * st[3]);
            r = a + (t->op == TD_OP_ADDCMUL ? cx_mul(dt, cx_mul(dt, t->s, b), c) : cx_mul(dt, t->s, cx_div(dt, b, c)));
        }
        store_cx(dt, p[0] + i * st[0], r);
    }
}

static enum td_code cx_ternary(struct td_kctx *k)
{
    struct tern t = {.op = k->op, .dt = (enum td_dtype)k->compute_dtype};
    t.scalar_w = k->op == TD_OP_LERP && k->n_in == 2;
    if (k->n_out < 1 || k->n_in != (t.scalar_w ? 2 : 3))
        return TD_CODE_INVALID_ARGUMENT;
    if (t.scalar_w || k->op != TD_OP_LERP) { /* ADDCDIV's value alike (op.c) */
        const int64_t *s = k->attrs + (k->op == TD_OP_LERP ? TD_A_LERP_OPERAND : TD_A_ADDCMUL_VALUE);
        if (k->n_attr < (k->op == TD_OP_LERP ? TD_N_LERP : TD_N_ADDCMUL) || !td__scalar_kind_ok(s[0]))
            return TD_CODE_INVALID_ARGUMENT;
        t.s = td__scalar_f64(s[0], s[1]);
    }
    struct td_kt *ops[4] = {k->out[0], k->in[0], k->in[1], t.scalar_w ? k->in[1] : k->in[2]};
    for (int i = 0; i < 4; i++)
        if (ops[i]->m.dtype != t.dt)
            return TD_CODE_INVALID_ARGUMENT;
    struct td_iter it;
    if (!td_iter_init(&it, 4, ops))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, tern_loop, &t);
    return TD_CODE_OK;
}

/* ---- NORM COUNT_NONZERO NONZERO: the real kernel on |z| (NORM) or z != 0 */

struct mapped { char *p; enum td_dtype dt; };

static void step_abs(void *ctx, int64_t o, dcx v)
{
    struct mapped *m = ctx;
    td_store_f64(m->dt, m->p + o * (int64_t)td_dtype_size(m->dt), cabs(v));
}

static void step_nz(void *ctx, int64_t o, dcx v) { ((struct mapped *)ctx)->p[o] = nz(v); }

static enum td_code cx_mapped(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || !td_dtype_is_complex((enum td_dtype)k->in[0]->m.dtype))
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0];
    bool absval = k->op == TD_OP_NORM;
    struct mapped w = {NULL, absval ? td_dtype_to_real((enum td_dtype)x->m.dtype) : TD_DTYPE_BOOL};
    struct td_kt m = {.m = x->m}; /* the same shape, contiguous */
    int64_t ostride[TD_MAX_DIMS], count, n = out_strides(&x->m, 0, ostride, &count);
    m.m.dtype = (uint8_t)w.dt;
    m.m.offset = 0;
    memcpy(m.m.strides, ostride, sizeof(int64_t) * (size_t)x->m.ndim);
    m.data = w.p = malloc((size_t)(n ? n : 1) * td_dtype_size(w.dt));
    if (!m.data)
        return TD_CODE_RESOURCE_EXHAUSTED;
    walk(x, &w, ostride, absval ? step_abs : step_nz);
    struct td_kctx r = *k;
    r.in[0] = &m;
    r.compute_dtype = (uint8_t)w.dt;
    enum td_code c = td_cpu_kernels[k->op](&r);
    free(m.data);
    return c;
}

/* ---- index ops on (re, im) pairs */

/* m viewed as its real dtype with a trailing pair dim; a broadcast (stride 0) trailing
 * dim of 2 for an index tensor of gather/scatter.  False when no dim is left. */
static bool pair_view(struct td_meta *m, bool index)
{
    if (m->ndim >= TD_MAX_DIMS)
        return false;
    if (!index) {
        for (int d = 0; d < m->ndim; d++)
            m->strides[d] *= 2;
        m->offset *= 2;
        m->dtype = (uint8_t)td_dtype_to_real((enum td_dtype)m->dtype);
    }
    m->sizes[m->ndim] = 2;
    m->strides[m->ndim] = index ? 0 : 1;
    m->ndim++;
    return true;
}

static enum td_code cx_pairs(struct td_kctx *k)
{
    struct td_kt in[TD_MAX_INPUTS], out[TD_MAX_OUTPUTS];
    struct td_kctx r = *k;
    bool gs = k->op == TD_OP_GATHER || k->op == TD_OP_SCATTER;
    if (k->n_in < 1 || k->n_in > TD_MAX_INPUTS || k->n_out > TD_MAX_OUTPUTS)
        return TD_CODE_INVALID_ARGUMENT;
    if (k->op == TD_OP_SCATTER && k->n_attr >= TD_N_SCATTER && k->attrs[TD_A_SCATTER_REDUCE] == 2)
        return td_cpu_scatter(k); /* a product is not componentwise: index.c multiplies complex */
    int64_t attrs[TD_N_CUMULATIVE]; /* GATHER's and SCATTER's fit, their dim the same word (op.c) */
    if (k->op == TD_OP_CUMSUM || gs) { /* the pair dim is last: a negative dim would name it */
        if (k->n_attr <= TD_A_CUMULATIVE_DIM || k->n_attr > TD_N_CUMULATIVE)
            return TD_CODE_INVALID_ARGUMENT;
        memcpy(attrs, k->attrs, sizeof(int64_t) * (size_t)k->n_attr);
        if (attrs[TD_A_CUMULATIVE_DIM] < 0)
            attrs[TD_A_CUMULATIVE_DIM] += k->in[0]->m.ndim ? k->in[0]->m.ndim : 1;
        r.attrs = attrs;
        if (k->op == TD_OP_CUMSUM)
            r.n_attr = TD_A_CUMULATIVE_DTYPE; /* its dtype names the complex dtype: the pairs are real */
    }
    for (int i = 0; i < k->n_in; i++) {
        in[i] = *k->in[i];
        r.in[i] = &in[i];
        bool cx = td_dtype_is_complex((enum td_dtype)in[i].m.dtype);
        bool bcast = gs && i == 1; /* gather/scatter's index follows self's dims */
        if ((cx || bcast) && !pair_view(&in[i].m, !cx))
            return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "%s: complex tensors here have at most %d dims",
                                   td_op_name(k->op), TD_MAX_DIMS - 1);
    }
    for (int j = 0; j < k->n_out; j++) {
        out[j] = *k->out[j];
        r.out[j] = &out[j];
        if (td_dtype_is_complex((enum td_dtype)out[j].m.dtype) && !pair_view(&out[j].m, false))
            return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "%s: complex tensors here have at most %d dims",
                                   td_op_name(k->op), TD_MAX_DIMS - 1);
    }
    r.compute_dtype = (uint8_t)td_dtype_to_real((enum td_dtype)k->compute_dtype);
    return td_cpu_kernels[k->op](&r);
}

td_kernel_fn td__cpu_complex_kernel(unsigned op)
{
    switch (op) {
    case TD_OP_ADD:
    case TD_OP_SUB:
    case TD_OP_MUL:
    case TD_OP_DIV:
    case TD_OP_POW:
    case TD_OP_EQ:
    case TD_OP_NE: return cx_binary;
    case TD_OP_NEG:
    case TD_OP_ABS:
    case TD_OP_EXP:
    case TD_OP_LOG:
    case TD_OP_LOG2:
    case TD_OP_LOG10:
    case TD_OP_SQRT:
    case TD_OP_RSQRT:
    case TD_OP_RECIPROCAL:
    case TD_OP_SIGMOID:
    case TD_OP_SIN:
    case TD_OP_COS:
    case TD_OP_TAN:
    case TD_OP_ASIN:
    case TD_OP_ACOS:
    case TD_OP_ATAN:
    case TD_OP_SINH:
    case TD_OP_COSH:
    case TD_OP_TANH:
    case TD_OP_ASINH:
    case TD_OP_ACOSH:
    case TD_OP_ATANH:
    case TD_OP_ISNAN:
    case TD_OP_ISINF:
    case TD_OP_ISFINITE:
    case TD_OP_LOGICAL_NOT: return cx_unary;
    case TD_OP_LOGICAL_AND:
    case TD_OP_LOGICAL_OR:
    case TD_OP_LOGICAL_XOR: return cx_binary;
    case TD_OP_SUM:
    case TD_OP_PROD:
    case TD_OP_MEAN: return cx_reduce;
    case TD_OP_VAR:
    case TD_OP_STD:
    case TD_OP_VAR_MEAN:
    case TD_OP_STD_MEAN: return cx_var;
    case TD_OP_CUMPROD: return cx_cumprod;
    case TD_OP_LERP:
    case TD_OP_ADDCMUL:
    case TD_OP_ADDCDIV: return cx_ternary;
    case TD_OP_NORM:
    case TD_OP_COUNT_NONZERO:
    case TD_OP_NONZERO: return cx_mapped;
    case TD_OP_CUMSUM:
    case TD_OP_GATHER:
    case TD_OP_SCATTER:
    case TD_OP_INDEX:
    case TD_OP_INDEX_PUT: return cx_pairs;
    default: return NULL; /* byte movers, matmul: their own kernels handle complex */
    }
}
