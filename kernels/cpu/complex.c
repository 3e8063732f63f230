/*
 * complex.c — the CPU kernels of the ops that compute on complex64/complex128.
 *
 * The executor asks td__cpu_complex_kernel(op) first whenever an op's compute dtype is
 * complex, so the real kernels stay as they are: the meta layer's gate (shape_complex.c)
 * lets only TD_F_COMPLEX rows reach here, and rows that merely move bytes (copies, casts,
 * views, cat, flip, tril/triu, where, fill) are handled by their own kernels by element
 * size and have no entry.  What lives here:
 *   - elementwise binary ADD SUB MUL DIV POW EQ NE (a real scalar attribute is (v, 0));
 *   - elementwise unary functions from C99 <complex.h>, ABS (real output) and the
 *     ISNAN/ISINF/ISFINITE predicates;
 *   - SUM PROD MEAN over a dim mask, accumulated in double complex;
 *   - GATHER SCATTER INDEX INDEX_PUT, run by the real kernels on (re, im) pairs: every
 *     complex operand is viewed as its real dtype with a trailing dim of 2 (index
 *     tensors of gather/scatter get that dim with stride 0), which is exact for moves
 *     and for additive accumulation (scatter add, index_put accumulate).
 * Complex matmul is cgemm/zgemm in matmul.c.  Division and pow follow C99 Annex G,
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

/* ---- elementwise binary */

struct bin {
    unsigned op;
    enum td_dtype in, out; /* compute dtype, output dtype (bool or in for EQ/NE) */
    dcx alpha;
};

static inline dcx bin_apply(const struct bin *b, dcx x, dcx y)
{
    switch (b->op) {
    case TD_OP_ADD: return x + b->alpha * y;
    case TD_OP_SUB: return x - b->alpha * y;
    case TD_OP_MUL: return x * y;
    case TD_OP_DIV: return x / y;
    case TD_OP_POW: return (y == 0) ? 1 : (y == 2) ? x * x : cpow(x, y);
    case TD_OP_EQ: return x == y;
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
    if (k->n_out < 1 || (k->op == TD_OP_DIV && k->n_attr >= 3 && k->attrs[2] != TD_ROUND_NONE))
        return TD_CODE_INVALID_ARGUMENT;
    ops[0] = k->out[0];
    b.out = (enum td_dtype)ops[0]->m.dtype;
    if (k->n_in == 2) {
        ops[1] = k->in[0], ops[2] = k->in[1];
    } else if (k->n_in == 1 && k->n_attr >= 2 && td__scalar_kind_ok(k->attrs[0])) {
        scalar.m.dtype = (uint8_t)b.in;
        store_cx(b.in, sbuf, td__scalar_f64(k->attrs[0], k->attrs[1]));
        bool lhs = k->flags & TD_RF_SCALAR_LHS;
        ops[1] = lhs ? &scalar : k->in[0];
        ops[2] = lhs ? k->in[0] : &scalar;
    } else {
        return TD_CODE_INVALID_ARGUMENT;
    }
    if (ops[1]->m.dtype != b.in || ops[2]->m.dtype != b.in)
        return TD_CODE_INVALID_ARGUMENT;
    bool cmp = k->op == TD_OP_EQ || k->op == TD_OP_NE;
    if (cmp ? (b.out != TD_DTYPE_BOOL && b.out != b.in) : b.out != b.in)
        return TD_CODE_INVALID_ARGUMENT;
    if ((k->op == TD_OP_ADD || k->op == TD_OP_SUB) && k->n_attr >= 4) {
        if (!td__scalar_kind_ok(k->attrs[2]))
            return TD_CODE_INVALID_ARGUMENT;
        b.alpha = td__scalar_f64(k->attrs[2], k->attrs[3]);
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

static inline dcx un_apply(unsigned op, dcx z)
{
    switch (op) {
    case TD_OP_NEG: return -z;
    case TD_OP_ABS: return cabs(z);
    case TD_OP_EXP: return cexp(z);
    case TD_OP_LOG: return clog(z);
    case TD_OP_LOG2: return clog(z) / M_LN2;
    case TD_OP_LOG10: return clog(z) / M_LN10;
    case TD_OP_SQRT: return csqrt(z);
    case TD_OP_RSQRT: return 1.0 / csqrt(z);
    case TD_OP_RECIPROCAL: return 1.0 / z;
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
        store_cx(u->out, p[0] + i * s[0], un_apply(u->op, load_cx(u->in, p[1] + i * s[1])));
}

static enum td_code cx_unary(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    struct un u = {k->op, (enum td_dtype)k->compute_dtype, (enum td_dtype)k->out[0]->m.dtype};
    bool pred = k->op == TD_OP_ISNAN || k->op == TD_OP_ISINF || k->op == TD_OP_ISFINITE;
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

/* ---- SUM PROD MEAN: attrs 0 dim mask, 1 keepdim (the output meta already says it) */

static enum td_code cx_reduce(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < 2)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0];
    struct td_kt *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)k->compute_dtype;
    const struct td_meta *xm = &x->m;
    uint64_t mask = (uint64_t)k->attrs[0];
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
        acc[ooff] = k->op == TD_OP_PROD ? acc[ooff] * v : acc[ooff] + v;
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
    if (k->op == TD_OP_SCATTER && k->n_attr >= 2 && k->attrs[1] == 2)
        return TD_CODE_INVALID_ARGUMENT; /* a product is not componentwise (the gate refuses it) */
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
    case TD_OP_ISFINITE: return cx_unary;
    case TD_OP_SUM:
    case TD_OP_PROD:
    case TD_OP_MEAN: return cx_reduce;
    case TD_OP_GATHER:
    case TD_OP_SCATTER:
    case TD_OP_INDEX:
    case TD_OP_INDEX_PUT: return cx_pairs;
    default: return NULL; /* byte movers, matmul: their own kernels handle complex */
    }
}
