/*
 * formula.c — runs a backward formula of proto/derivatives.def (compiled by
 * gen_derivatives.py into autograd/formulas.h): a stack machine over tensors and scalars
 * whose instructions record ordinary ops, plus the helpers formulas call where one op
 * is not enough (reductions' and matmul's shapes, views).  Values on the stack are
 * either owned (released when popped) or borrowed from the node and the engine.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formulas.h"
#include "tape.h"

#define STACK 16

struct val {
    struct td_t t;
    struct td_scalar s;
    bool scalar, owned;
    bool own_ag; /* t.ag is a meta made for this value (a saved output under create_graph) */
    bool undefined; /* zeros standing for an output gradient that never reached the node */
};

struct run {
    td_client_t *c;
    struct td_ag_node *n;
    struct td_status *st;
    int input; /* the node's tensor input whose gradient is being formed (variadic slots) */
};

static void drop(struct run *r, struct val *v)
{
    if (v->own_ag) {
        td__ag_meta_unref(v->t.ag);
        v->t.ag = NULL;
        v->own_ag = false;
    }
    if (!v->scalar && v->owned && v->t.handle)
        td_release(r->c, &v->t);
    v->owned = false;
}

static const char *const torch_type[TD_DTYPE_COUNT] = {
#define X(E, n, c, s, k, t) #t,
    TD_DTYPE_MAP(X)
#undef X
};

static double scalar_f64(struct td_scalar s)
{
    if (s.kind == TD_SCALAR_FLOAT) {
        double d;
        memcpy(&d, &s.bits, 8);
        return d;
    }
    return (double)s.bits;
}

static struct val scalar_val(struct td_scalar s) { return (struct val){.s = s, .scalar = true}; }
static struct val owned_val(struct td_t t) { return (struct val){.t = t, .owned = true}; }
static struct val meta_val(const struct td_meta *m) { return (struct val){.t = {.m = *m}}; }

/* ---- ops on values ---- */

/* Scalar arithmetic, for formulas whose operands are both scalars (pow's exponent - 1). */
static enum td_code scalar_op(struct run *r, enum td_op op, const struct val *v, int n, struct val *out)
{
    bool ints = true;
    double x[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        x[i] = scalar_f64(v[i].s);
        ints &= v[i].s.kind != TD_SCALAR_FLOAT;
    }
    double y;
    switch (op) {
    case TD_OP_ADD: y = x[0] + x[1]; break;
    case TD_OP_SUB: y = x[0] - x[1]; break;
    case TD_OP_MUL: y = x[0] * x[1]; break;
    case TD_OP_DIV: y = x[0] / x[1]; ints = false; break;
    case TD_OP_POW: y = pow(x[0], x[1]); break;
    case TD_OP_NEG: y = -x[0]; break;
    case TD_OP_LOG: y = log(x[0]); ints = false; break;
    case TD_OP_EXP: y = exp(x[0]); ints = false; break;
    default:
        return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: %s of scalars in a formula", td_op_name(op));
    }
    *out = scalar_val(ints ? td_scalar_of_i64((int64_t)y) : td_scalar_of_f64(y));
    return TD_CODE_OK;
}

/* A formula uses an op's first output (linalg_inv's inverse, not its info): the others go. */
static struct val first_output(struct run *r, enum td_op op, struct td_t *res)
{
    for (int k = 1; k < td_op_table[op].n_out && k < TD_MAX_OUTPUTS; k++)
        td_release(r->c, &res[k]);
    return owned_val(res[0]);
}

static enum td_code call(struct run *r, enum td_op op, const struct val *v, int n, struct val *out)
{
    const struct td_t *t[3];
    struct td_scalar s[3];
    bool any_tensor = false;
    for (int i = 0; i < n; i++) {
        t[i] = v[i].scalar ? NULL : &v[i].t;
        s[i] = v[i].s;
        any_tensor |= !v[i].scalar;
    }
    if (!any_tensor)
        return scalar_op(r, op, v, n, out);
    struct td_t res[TD_MAX_OUTPUTS];
    if (td_op_apply(r->c, op, 0, n, t, s, res, r->st))
        return r->st->code;
    *out = first_output(r, op, res);
    return TD_CODE_OK;
}

/* op on tensors v with the node's own attribute words (a backward row whose layout is the
 * forward row's: derivatives.def's with_attrs); a backward row may read the forward's
 * inputs and outputs besides the gradient (CTC_LOSS_BACKWARD: five) */
#define ATTRS_ARGS 5
static enum td_code call_attrs(struct run *r, enum td_op op, const struct val *v, int n, struct val *out)
{
    const struct td_t *t[ATTRS_ARGS];
    for (int i = 0; i < n; i++) {
        if (v[i].scalar)
            return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: %s of a scalar in a formula", td_op_name(op));
        t[i] = &v[i].t;
    }
    struct td_t res[TD_MAX_OUTPUTS];
    if (td_op(r->c, op, 0, t, n, r->n->attrs, (int)r->n->n_attr, res, r->st))
        return r->st->code;
    *out = first_output(r, op, res);
    return TD_CODE_OK;
}

static enum td_code op1(struct run *r, enum td_op op, const struct td_t *x, const int64_t *attrs, int n_attr,
                        struct td_t *out)
{
    const struct td_t *in[1] = {x};
    return td_op(r->c, op, 0, in, 1, attrs, n_attr, out, r->st);
}

static enum td_code zeros(struct run *r, const struct td_meta *m, struct td_t *out)
{
    return td_full(r->c, (enum td_dtype)m->dtype, m->ndim, m->sizes, 0, out, r->st);
}

/* x reshaped to sizes (a copy first when x's layout does not allow a view). */
static enum td_code reshape(struct run *r, const struct td_t *x, int ndim, const int64_t *sizes, struct td_t *out)
{
    int64_t w[1 + TD_MAX_DIMS];
    w[TD_A_VIEW_NDIM] = ndim;
    memcpy(w + TD_A_VIEW_SIZE, sizes, sizeof(int64_t) * ndim);
    if (td_meta_is_contiguous(&x->m))
        return op1(r, TD_OP_VIEW, x, w, 1 + ndim, out);
    struct td_t dense;
    if (op1(r, TD_OP_CLONE, x, NULL, 0, &dense))
        return r->st->code;
    enum td_code code = op1(r, TD_OP_VIEW, &dense, w, 1 + ndim, out);
    td_release(r->c, &dense);
    return code;
}

static enum td_code transpose_last(struct run *r, const struct td_t *x, struct td_t *out)
{
    int64_t w[2];
    w[TD_A_TRANSPOSE_DIM0] = x->m.ndim - 2;
    w[TD_A_TRANSPOSE_DIM1] = x->m.ndim - 1;
    return op1(r, TD_OP_TRANSPOSE, x, w, 2, out);
}

static enum td_code unsqueeze(struct run *r, const struct td_t *x, int64_t dim, struct td_t *out)
{
    int64_t w[1];
    w[TD_A_UNSQUEEZE_DIM] = dim < 0 ? dim + x->m.ndim + 1 : dim;
    return op1(r, TD_OP_UNSQUEEZE, x, w, 1, out);
}

static enum td_code matmul(struct run *r, const struct td_t *a, const struct td_t *b, struct td_t *out)
{
    const struct td_t *in[2] = {a, b};
    return td_op(r->c, TD_OP_MATMUL, 0, in, 2, NULL, 0, out, r->st);
}

/* a @ f(b), where f transposes b's last two dims (b is released) */
static enum td_code matmul_t(struct run *r, const struct td_t *a, struct td_t *b, bool t_first, struct td_t *out)
{
    struct td_t bt;
    enum td_code code = transpose_last(r, b, &bt);
    if (!code)
        code = t_first ? matmul(r, &bt, a, out) : matmul(r, a, &bt, out);
    if (!code)
        td_release(r->c, &bt);
    return code;
}

/* The dims a REDUCE or STAT node reduced over an input of ndim dims (both families keep
 * the mask in word 0; only REDUCE rows have the flatten word). */
static uint64_t node_mask(struct run *r, int ndim)
{
    const int64_t *a = r->n->attrs;
    uint64_t mask = r->n->n_attr ? (uint64_t)a[TD_A_REDUCE_DIM] : ~0ull;
    bool flat = td_op_table[r->n->op].family == TD_FAM_REDUCE && r->n->n_attr > TD_A_REDUCE_FLATTEN &&
                a[TD_A_REDUCE_FLATTEN];
    return flat || ndim == 0 ? ~0ull : mask;
}

/* ---- helpers: pop n values (v[0..n)), set *out ---- */

/* SUM/MEAN: grad spread back over the reduced dims of input (v[1], meta only) */
static enum td_code h_reduce_back(struct run *r, struct val *v, struct val *out)
{
    const struct td_meta *in = &v[1].t.m;
    uint64_t mask = node_mask(r, in->ndim);
    int64_t kept[TD_MAX_DIMS];
    for (int d = 0; d < in->ndim; d++)
        kept[d] = (mask >> d) & 1 ? 1 : in->sizes[d];
    struct td_t g, e;
    if (reshape(r, &v[0].t, in->ndim, kept, &g))
        return r->st->code;
    int64_t w[1 + TD_MAX_DIMS];
    w[TD_A_EXPAND_NDIM] = in->ndim;
    memcpy(w + TD_A_EXPAND_SIZE, in->sizes, sizeof(int64_t) * in->ndim);
    enum td_code code = op1(r, TD_OP_EXPAND, &g, w, 1 + in->ndim, &e);
    td_release(r->c, &g);
    if (!code)
        *out = owned_val(e);
    return code;
}

/* MEAN: how many input elements each output element averages */
static enum td_code h_reduce_count(struct run *r, struct val *v, struct val *out)
{
    int64_t ni = td_meta_numel(&v[0].t.m), no = td_meta_numel(&v[1].t.m);
    *out = scalar_val(td_scalar_of_f64(no ? (double)ni / (double)no : 0));
    return TD_CODE_OK;
}

static enum td_code h_zeros_like(struct run *r, struct val *v, struct val *out)
{
    struct td_t z;
    if (zeros(r, &v[0].t.m, &z))
        return r->st->code;
    *out = owned_val(z);
    return TD_CODE_OK;
}

/* matmul's gradient for its first operand: grad @ other^T, with torch's 1-d rules
 * (the engine sums broadcast batch dims back to the input's shape) */
static enum td_code h_mm_input(struct run *r, struct val *v, struct val *out)
{
    const struct td_t *g = &v[0].t, *b = &v[2].t;
    int na = v[1].t.m.ndim, nb = b->m.ndim;
    struct td_t res, tmp, tmp2;
    enum td_code code;
    if (na == 1 && nb == 1)
        return call(r, TD_OP_MUL, (struct val[]){v[0], v[2]}, 2, out);
    if (nb == 1) { /* (..., n) x (k) -> outer products */
        if ((code = unsqueeze(r, g, -1, &tmp)))
            return code;
        code = unsqueeze(r, b, 0, &tmp2);
        if (!code)
            code = matmul(r, &tmp, &tmp2, &res);
        td_release(r->c, &tmp);
        if (tmp2.handle)
            td_release(r->c, &tmp2);
    } else if (na == 1) { /* (k) x (..., k, m): g (..., m) -> (..., 1, m) @ b^T */
        if ((code = unsqueeze(r, g, -2, &tmp)))
            return code;
        struct td_t bb = td_retain(r->c, b);
        code = matmul_t(r, &tmp, &bb, false, &res);
        td_release(r->c, &bb);
        td_release(r->c, &tmp);
    } else {
        struct td_t bb = td_retain(r->c, b);
        code = matmul_t(r, g, &bb, false, &res);
        td_release(r->c, &bb);
    }
    if (!code)
        *out = owned_val(res);
    return code;
}

/* matmul's gradient for its second operand: input^T @ grad, with torch's 1-d rules */
static enum td_code h_mm_other(struct run *r, struct val *v, struct val *out)
{
    const struct td_t *g = &v[0].t, *a = &v[1].t;
    int na = a->m.ndim, nb = v[2].t.m.ndim;
    struct td_t res, tmp, tmp2;
    enum td_code code;
    if (na == 1 && nb == 1)
        return call(r, TD_OP_MUL, (struct val[]){v[0], v[1]}, 2, out);
    if (nb == 1) { /* (..., n, k) x (k): sum over n of a * g[..., None] (the engine sums) */
        if ((code = unsqueeze(r, g, -1, &tmp)))
            return code;
        const struct td_t *in[2] = {a, &tmp};
        code = td_op_apply(r->c, TD_OP_MUL, 0, 2, in, NULL, &res, r->st);
        td_release(r->c, &tmp);
    } else if (na == 1) { /* (k) x (..., k, m): a[:, None] @ g[..., None, :] */
        if ((code = unsqueeze(r, a, -1, &tmp)))
            return code;
        code = unsqueeze(r, g, -2, &tmp2);
        if (!code)
            code = matmul(r, &tmp, &tmp2, &res);
        td_release(r->c, &tmp);
        if (tmp2.handle)
            td_release(r->c, &tmp2);
    } else {
        struct td_t aa = td_retain(r->c, a);
        code = matmul_t(r, g, &aa, true, &res);
        td_release(r->c, &aa);
    }
    if (!code)
        *out = owned_val(res);
    return code;
}

static enum td_code h_view_back(struct run *r, struct val *v, struct val *out)
{
    struct td_t res;
    if (reshape(r, &v[0].t, v[1].t.m.ndim, v[1].t.m.sizes, &res))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* the node's own view op applied to grad (a transpose undoes itself) */
static enum td_code h_same_view(struct run *r, struct val *v, struct val *out)
{
    struct td_t res;
    if (op1(r, (enum td_op)r->n->op, &v[0].t, r->n->attrs, (int)r->n->n_attr, &res))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

static enum td_code h_permute_back(struct run *r, struct val *v, struct val *out)
{
    const int64_t *a = r->n->attrs;
    int64_t nd = a[TD_A_PERMUTE_NDIM], w[1 + TD_MAX_DIMS];
    w[TD_A_PERMUTE_NDIM] = nd;
    for (int64_t i = 0; i < nd && i < TD_MAX_DIMS; i++) {
        int64_t d = a[TD_A_PERMUTE_DIMS + i];
        w[TD_A_PERMUTE_DIMS + (d < 0 ? d + nd : d)] = i;
    }
    struct td_t res;
    if (op1(r, TD_OP_PERMUTE, &v[0].t, w, (int)(1 + nd), &res))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* SLICE/SELECT/AS_STRIDED: zeros of the input's shape with grad written through the same view */
static enum td_code h_into_view(struct run *r, struct val *v, struct val *out)
{
    struct td_t z, view;
    if (zeros(r, &v[1].t.m, &z))
        return r->st->code;
    /* with create_graph, the write into z's view rebases z's history (CopySlices), so the
     * gradient is differentiated again */
    if (td_grad_enabled())
        td__ag_make_base(r->c, &z);
    enum td_code code = op1(r, (enum td_op)r->n->op, &z, r->n->attrs, (int)r->n->n_attr, &view);
    if (!code) {
        const struct td_t *in[2] = {&view, &v[0].t};
        code = td_op(r->c, TD_OP_COPY_, 0, in, 2, NULL, 0, NULL, r->st);
        td_release(r->c, &view);
    }
    if (code) {
        td_release(r->c, &z);
        return code;
    }
    *out = owned_val(z);
    return TD_CODE_OK;
}

/* SOFTMAX/LOG_SOFTMAX: x summed over the node's dim, kept */
static enum td_code h_sum_dim(struct run *r, struct val *v, struct val *out)
{
    int64_t d = r->n->attrs[TD_A_SOFTMAX_DIM];
    int nd = v[0].t.m.ndim;
    if (d < 0)
        d += nd;
    struct td_sum_args a = {.dim = nd ? 1ull << d : 1, .keepdim = 1, .dtype = -1};
    const struct td_t *in[1] = {&v[0].t};
    struct td_t res;
    if (td_rec_sum(r->c, 0, in, 1, &a, &res, r->st))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* CLAMP: where input lies within [min, max] (the bounds the record has) */
static enum td_code h_clamp_mask(struct run *r, struct val *v, struct val *out)
{
    const int64_t *a = r->n->attrs;
    struct val lo = scalar_val((struct td_scalar){a[TD_A_CLAMP_MIN], a[TD_A_CLAMP_MIN + 1]});
    struct val hi = scalar_val((struct td_scalar){a[TD_A_CLAMP_MAX], a[TD_A_CLAMP_MAX + 1]});
    struct val ge = {.scalar = true}, le = {.scalar = true};
    enum td_code code = TD_CODE_OK;
    if (a[TD_A_CLAMP_HAS_MIN])
        code = call(r, TD_OP_GE, (struct val[]){v[0], lo}, 2, &ge);
    if (!code && a[TD_A_CLAMP_HAS_MAX])
        code = call(r, TD_OP_LE, (struct val[]){v[0], hi}, 2, &le);
    if (!code && !ge.scalar && !le.scalar)
        code = call(r, TD_OP_LOGICAL_AND, (struct val[]){ge, le}, 2, out);
    else if (!code && ge.scalar && le.scalar) { /* no bounds: everywhere (a tensor, for where) */
        struct td_t t;
        if (!(code = td_full(r->c, TD_DTYPE_BOOL, v[0].t.m.ndim, v[0].t.m.sizes, 1, &t, r->st)))
            *out = owned_val(t);
    } else if (!code)
        *out = ge.scalar ? le : ge;
    if (!code && !ge.scalar && !le.scalar) {
        drop(r, &ge);
        drop(r, &le);
    }
    return code;
}

/* ---- helpers for indexing, joins and value-selecting reductions ---- */

/* v moved out (the caller's copy no longer owns it) */
static struct val take(struct val *v)
{
    struct val t = *v;
    v->owned = false;
    v->own_ag = false;
    return t;
}

/* v without ownership: a second use of a value that is dropped elsewhere */
static struct val borrow(const struct val *v)
{
    struct val b = *v;
    b.owned = false;
    b.own_ag = false;
    return b;
}

static struct val scalar_f(double x) { return scalar_val(td_scalar_of_f64(x)); }

/* op on values that it consumes; after a failure (r->st holds it, *err set) it only
 * drops them, so a sequence of K calls needs one check at its end */
static struct val K(struct run *r, enum td_code *err, enum td_op op, int n, struct val a, struct val b,
                    struct val c)
{
    struct val args[3] = {a, b, c}, res = {.scalar = true};
    if (!*err)
        *err = call(r, op, args, n, &res);
    for (int i = 0; i < n; i++)
        drop(r, &args[i]);
    return res;
}
#define K1(op, a) K(r, &code, TD_OP_##op, 1, a, (struct val){.scalar = true}, (struct val){.scalar = true})
#define K2(op, a, b) K(r, &code, TD_OP_##op, 2, a, b, (struct val){.scalar = true})
#define K3(op, a, b, c) K(r, &code, TD_OP_##op, 3, a, b, c)

/* td_op on tensors, the result owned in *out */
static enum td_code opv(struct run *r, enum td_op op, const struct td_t *const *in, int n_in, const int64_t *w,
                        int nw, struct val *out)
{
    struct td_t res;
    if (td_op(r->c, op, 0, in, n_in, w, nw, &res, r->st))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* ---- complex numbers and the FFT rows: PyTorch's convention, the gradient of a real
 * loss L with respect to z is dL/dx + i dL/dy (the conjugate Wirtinger derivative, times
 * 2), so a holomorphic f's formula multiplies grad by conj(f'(z)) ---- */

/* conj(x): x itself when it is real; else (re, -im) joined again (composed of view ops,
 * neg and cat, so it differentiates again) */
static enum td_code h_conj(struct run *r, struct val *v, struct val *out)
{
    if (v[0].scalar || !td_dtype_is_complex((enum td_dtype)v[0].t.m.dtype)) {
        *out = take(&v[0]);
        return TD_CODE_OK;
    }
    struct td_t pairs, re = {0}, im = {0}, nim = {0}, joined = {0}, res;
    if (op1(r, TD_OP_VIEW_AS_REAL, &v[0].t, NULL, 0, &pairs))
        return r->st->code;
    int64_t last = pairs.m.ndim - 1;
    int64_t wr[4] = {[TD_A_SLICE_DIM] = last, [TD_A_SLICE_START] = 0, [TD_A_SLICE_END] = 1, [TD_A_SLICE_STEP] = 1};
    int64_t wi[4] = {[TD_A_SLICE_DIM] = last, [TD_A_SLICE_START] = 1, [TD_A_SLICE_END] = 2, [TD_A_SLICE_STEP] = 1};
    int64_t wc[1] = {[TD_A_CAT_DIM] = last};
    const struct td_t *in[2] = {&re, &nim};
    enum td_code code = op1(r, TD_OP_SLICE, &pairs, wr, 4, &re);
    if (!code)
        code = op1(r, TD_OP_SLICE, &pairs, wi, 4, &im);
    if (!code)
        code = op1(r, TD_OP_NEG, &im, NULL, 0, &nim);
    if (!code)
        code = td_op(r->c, TD_OP_CAT, 0, in, 2, wc, 1, &joined, r->st);
    if (!code)
        code = op1(r, TD_OP_VIEW_AS_COMPLEX, &joined, NULL, 0, &res);
    struct td_t *tmp[5] = {&pairs, &re, &im, &nim, &joined};
    for (int i = 0; i < 5; i++)
        if (tmp[i]->handle)
            td_release(r->c, tmp[i]);
    if (!code)
        *out = owned_val(res);
    return code;
}

/* sgn(x): sign for real x; x / |x| (0 where x is 0) for complex x (ABS's derivative) */
static enum td_code h_sgn(struct run *r, struct val *v, struct val *out)
{
    if (!td_dtype_is_complex((enum td_dtype)v[0].t.m.dtype))
        return call(r, TD_OP_SIGN, v, 1, out);
    enum td_code code = TD_CODE_OK;
    struct val a = K1(ABS, borrow(&v[0]));
    struct val zero = K2(EQ, borrow(&a), scalar_f(0));
    struct val q = K2(DIV, borrow(&v[0]), a);
    struct val z = {.scalar = true};
    if (!code)
        code = h_zeros_like(r, &v[0], &z);
    struct val res = K3(WHERE, zero, z, q);
    if (!code)
        *out = res;
    return code;
}

/* VIEW_AS_REAL's gradient: the (re, im) pairs of grad viewed as complex (a dense copy
 * first when grad's layout has no complex view) */
static enum td_code h_as_complex(struct run *r, struct val *v, struct val *out)
{
    const struct td_meta *m = &v[0].t.m;
    bool ok = m->ndim >= 1 && m->strides[m->ndim - 1] == 1 && m->offset % 2 == 0;
    for (int d = 0; ok && d < m->ndim - 1; d++)
        ok = m->strides[d] % 2 == 0;
    struct td_t dense, res;
    const struct td_t *x = &v[0].t;
    if (!ok) {
        if (op1(r, TD_OP_CLONE, x, NULL, 0, &dense))
            return r->st->code;
        x = &dense;
    }
    enum td_code code = op1(r, TD_OP_VIEW_AS_COMPLEX, x, NULL, 0, &res);
    if (!ok)
        td_release(r->c, &dense);
    if (!code)
        *out = owned_val(res);
    return code;
}

/* An FFT row on x with the node's norm mode and dims, op's x word set to xw. */
static enum td_code fft_like_node(struct run *r, enum td_op op, const struct td_t *x, int64_t xw, struct td_t *out)
{
    int64_t w[TD_A_FFT_DIMS + TD_MAX_DIMS];
    int n = (int)r->n->n_attr;
    memcpy(w, r->n->attrs, sizeof(int64_t) * n);
    w[TD_A_FFT_X] = xw;
    return op1(r, op, x, w, n, out);
}

/* The adjoint of a scaled DFT is the DFT the other way with the same scale. */
static enum td_code h_fft_c2c_back(struct run *r, struct val *v, struct val *out)
{
    struct td_t res;
    if (fft_like_node(r, TD_OP_FFT_C2C, &v[0].t, !r->n->attrs[TD_A_FFT_X], &res))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* R2C keeps the first n/2 + 1 bins of the full spectrum: grad zero-padded to n bins along
 * the last transformed dim, then the adjoint C2C (the engine keeps the real part) */
static enum td_code h_fft_r2c_back(struct run *r, struct val *v, struct val *out)
{
    const struct td_t *g = &v[0].t;
    int last = (int)r->n->attrs[r->n->n_attr - 1];
    int64_t n = v[1].t.m.sizes[last], have = g->m.sizes[last];
    struct td_t pad = {0}, full = {0}, res;
    enum td_code code = TD_CODE_OK;
    if (n > have) {
        struct td_meta zm = g->m;
        zm.sizes[last] = n - have;
        if (!(code = zeros(r, &zm, &pad))) {
            const struct td_t *in[2] = {g, &pad};
            int64_t wc[1] = {[TD_A_CAT_DIM] = last};
            code = td_op(r->c, TD_OP_CAT, 0, in, 2, wc, 1, &full, r->st);
            td_release(r->c, &pad);
        }
        g = &full;
    }
    if (!code)
        code = fft_like_node(r, TD_OP_FFT_C2C, g, 0, &res);
    if (full.handle)
        td_release(r->c, &full);
    if (!code)
        *out = owned_val(res);
    return code;
}

/* C2R reads bins 0..n/2 of a Hermitian spectrum whose other bins mirror 1..(n-1)/2: its
 * adjoint is R2C of grad with those mirrored bins counted twice */
static enum td_code h_fft_c2r_back(struct run *r, struct val *v, struct val *out)
{
    int last = (int)r->n->attrs[r->n->n_attr - 1];
    int64_t n = r->n->attrs[TD_A_FFT_X], m = n / 2 + 1, twice = n - m;
    struct td_t spec, w, parts[3] = {{0}}, ws;
    if (fft_like_node(r, TD_OP_FFT_R2C, &v[0].t, 0, &spec))
        return r->st->code;
    enum td_code code = TD_CODE_OK;
    int64_t len[3] = {1, twice, m - 1 - twice};
    double val[3] = {1, 2, 1};
    const struct td_t *in[3];
    int k = 0;
    for (int i = 0; i < 3 && !code; i++)
        if (len[i] > 0) {
            code = td_full(r->c, td_dtype_to_real((enum td_dtype)spec.m.dtype), 1, &len[i], val[i], &parts[k],
                           r->st);
            in[k] = &parts[k];
            k += !code;
        }
    int64_t wc[1] = {[TD_A_CAT_DIM] = 0};
    if (!code)
        code = td_op(r->c, TD_OP_CAT, 0, in, k, wc, 1, &ws, r->st);
    for (int i = 0; i < k; i++)
        td_release(r->c, &parts[i]);
    if (!code) { /* the weights along the last dim, broadcast over the others */
        int64_t sizes[TD_MAX_DIMS];
        for (int d = 0; d < spec.m.ndim; d++)
            sizes[d] = d == last ? m : 1;
        code = reshape(r, &ws, spec.m.ndim, sizes, &w);
        td_release(r->c, &ws);
    }
    if (!code) {
        const struct td_t *mi[2] = {&spec, &w};
        struct td_t res;
        code = td_op_apply(r->c, TD_OP_MUL, 0, 2, mi, NULL, &res, r->st);
        td_release(r->c, &w);
        if (!code)
            *out = owned_val(res);
    }
    td_release(r->c, &spec);
    return code;
}

/* CONV's bias: grad summed over every dim but the channels (dim 1) */
static enum td_code h_channel_sum(struct run *r, struct val *v, struct val *out)
{
    int nd = v[0].t.m.ndim;
    struct td_sum_args a = {.dim = ((nd < 64 ? 1ull << nd : 0) - 1) & ~2ull, .keepdim = 0, .dtype = -1};
    const struct td_t *in[1] = {&v[0].t};
    struct td_t res;
    if (td_rec_sum(r->c, 0, in, 1, &a, &res, r->st))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* x reduced by op (SUM/MEAN) over the node's dims, kept: broadcasts against the input */
static enum td_code reduce_dims(struct run *r, enum td_op op, const struct td_t *x, struct val *out)
{
    int nd = x->m.ndim;
    uint64_t mask = nd ? node_mask(r, nd) & ((nd < 64 ? 1ull << nd : 0) - 1) : 1;
    int64_t w[4] = {(int64_t)mask, 1, -1, 0};
    return opv(r, op, (const struct td_t *[]){x}, 1, w, 4, out);
}

static enum td_code h_sum_dims(struct run *r, struct val *v, struct val *out)
{
    return reduce_dims(r, TD_OP_SUM, &v[0].t, out);
}

static enum td_code h_mean_dims(struct run *r, struct val *v, struct val *out)
{
    return reduce_dims(r, TD_OP_MEAN, &v[0].t, out);
}

/* CAT: the part of grad that input r->input filled (a legacy empty 1-d input, which
 * cat skips, gets zeros) */
static enum td_code h_cat_back(struct run *r, struct val *v, struct val *out)
{
    const struct td_ag_node *n = r->n;
    const struct td_meta *om = &n->out_meta[0], *im = &n->in_meta[r->input];
    if (im->ndim != om->ndim)
        return h_zeros_like(r, &(struct val){.t = {.m = *im}}, out);
    int64_t d = n->n_attr ? n->attrs[TD_A_CAT_DIM] : 0, start = 0;
    if (d < 0)
        d += om->ndim;
    for (int j = 0; j < r->input; j++)
        if (n->in_meta[j].ndim == om->ndim)
            start += n->in_meta[j].sizes[d];
    int64_t w[4];
    w[TD_A_SLICE_DIM] = d;
    w[TD_A_SLICE_START] = start;
    w[TD_A_SLICE_END] = start + im->sizes[d];
    w[TD_A_SLICE_STEP] = 1;
    return opv(r, TD_OP_SLICE, (const struct td_t *[]){&v[0].t}, 1, w, 4, out);
}

/* INDEX/INDEX_PUT: grad (v[0]) through INDEX_PUT into base, with the node's saved index
 * tensors (inputs first.. of the node), dim and mode */
static enum td_code put_indexed(struct run *r, const struct td_t *base, const struct td_t *vals, int first,
                                bool accumulate, struct val *out)
{
    const struct td_ag_node *n = r->n;
    const struct td_t *in[TD_MAX_INPUTS];
    int k = n->n_in - first;
    if (k < 1 || k + 2 > TD_MAX_INPUTS)
        return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: %s has no indices", td_ag_node_name(n));
    in[0] = base;
    in[1] = vals;
    for (int j = 0; j < k; j++)
        in[2 + j] = &n->saved_in[first + j];
    int64_t w[3] = {n->attrs[0], n->attrs[1], accumulate};
    return opv(r, TD_OP_INDEX_PUT, in, 2 + k, w, 3, out);
}

/* INDEX in mask mode (x[mask]): the mask's true positions (NONZERO, one index tensor
 * per mask dim) receive grad's rows, in zeros of the input's shape (v[1]) */
static enum td_code mask_back(struct run *r, struct val *v, struct val *out)
{
    const struct td_ag_node *n = r->n;
    const struct td_t *mask = &n->saved_in[1];
    int km = mask->m.ndim;
    if (km < 1 || km + 2 > TD_MAX_INPUTS || n->n_attr <= TD_A_INDEX_COUNT)
        return td_status_set(r->st, TD_CODE_UNIMPLEMENTED, "the derivative for 'index' with this mask is not "
                             "implemented.");
    int64_t nzw[2] = {n->attrs[TD_A_INDEX_COUNT], 0};
    struct td_t nz, cols[TD_MAX_DIMS], z;
    if (op1(r, TD_OP_NONZERO, mask, nzw, 2, &nz))
        return r->st->code;
    enum td_code code = TD_CODE_OK;
    int made = 0;
    for (; !code && made < km; made++) {
        int64_t w[2] = {1, made};
        code = op1(r, TD_OP_SELECT, &nz, w, 2, &cols[made]);
    }
    if (code)
        made--;
    if (!code && !(code = zeros(r, &v[1].t.m, &z))) {
        const struct td_t *in[TD_MAX_INPUTS] = {&z, &v[0].t};
        for (int j = 0; j < km; j++)
            in[2 + j] = &cols[j];
        int64_t w[3] = {n->attrs[TD_A_INDEX_DIM], 0, 1};
        code = opv(r, TD_OP_INDEX_PUT, in, 2 + km, w, 3, out);
        td_release(r->c, &z);
    }
    for (int j = 0; j < made; j++)
        td_release(r->c, &cols[j]);
    td_release(r->c, &nz);
    return code;
}

/* INDEX: grad summed into zeros of the input's shape (v[1]) at the positions read */
static enum td_code h_index_back(struct run *r, struct val *v, struct val *out)
{
    if (r->n->attrs[TD_A_INDEX_MODE] == 5)
        return mask_back(r, v, out);
    struct td_t z;
    if (zeros(r, &v[1].t.m, &z))
        return r->st->code;
    enum td_code code = put_indexed(r, &z, &v[0].t, 1, true, out);
    td_release(r->c, &z);
    return code;
}

/* INDEX_PUT's input: grad with the written positions zeroed, or all of it when the op
 * accumulated (v[1]: values' meta) */
static enum td_code h_index_put_back(struct run *r, struct val *v, struct val *out)
{
    if (r->n->attrs[TD_A_INDEX_PUT_ACCUMULATE]) {
        *out = take(&v[0]);
        return TD_CODE_OK;
    }
    struct td_t z;
    if (zeros(r, &v[1].t.m, &z))
        return r->st->code;
    enum td_code code = put_indexed(r, &v[0].t, &z, 2, false, out);
    td_release(r->c, &z);
    return code;
}

/* INDEX_PUT's values: grad read at the written positions */
static enum td_code h_index_values(struct run *r, struct val *v, struct val *out)
{
    const struct td_ag_node *n = r->n;
    const struct td_t *in[TD_MAX_INPUTS];
    int k = n->n_in - 2;
    if (k < 1)
        return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: index_put has no indices");
    in[0] = &v[0].t;
    for (int j = 0; j < k; j++)
        in[1 + j] = &n->saved_in[2 + j];
    int64_t w[2] = {n->attrs[0], n->attrs[1]};
    return opv(r, TD_OP_INDEX, in, 1 + k, w, 2, out);
}

/* GATHER: grad added into zeros of the input's shape (v[1]) along the node's dim at
 * index (v[2]) */
static enum td_code h_gather_back(struct run *r, struct val *v, struct val *out)
{
    struct td_t z;
    if (zeros(r, &v[1].t.m, &z))
        return r->st->code;
    int64_t w[2] = {r->n->attrs[TD_A_GATHER_DIM], 1 /* add */};
    enum td_code code = opv(r, TD_OP_SCATTER, (const struct td_t *[]){&z, &v[2].t, &v[0].t}, 3, w, 2, out);
    td_release(r->c, &z);
    return code;
}

/* SCATTER's input: grad where src did not land (reduce add: all of it); v[1] index,
 * v[2] src's meta */
static enum td_code h_scatter_back(struct run *r, struct val *v, struct val *out)
{
    int64_t reduce = r->n->attrs[TD_A_SCATTER_REDUCE];
    if (reduce == 1) {
        *out = take(&v[0]);
        return TD_CODE_OK;
    }
    if (reduce != 0)
        return td_status_set(r->st, TD_CODE_UNIMPLEMENTED, "the derivative for 'scatter' with reduce='multiply' "
                             "is not implemented.");
    struct td_t z;
    if (zeros(r, &v[2].t.m, &z))
        return r->st->code;
    int64_t w[2] = {r->n->attrs[TD_A_SCATTER_DIM], 0};
    enum td_code code = opv(r, TD_OP_SCATTER, (const struct td_t *[]){&v[0].t, &v[1].t, &z}, 3, w, 2, out);
    td_release(r->c, &z);
    return code;
}

/* SCATTER's src, GATHER of grad: grad read along the node's dim at index (v[1]) */
static enum td_code h_gather_grad(struct run *r, struct val *v, struct val *out)
{
    if (r->n->attrs[TD_A_SCATTER_REDUCE] > 1)
        return td_status_set(r->st, TD_CODE_UNIMPLEMENTED, "the derivative for 'scatter' with reduce='multiply' "
                             "is not implemented.");
    int64_t w[1] = {r->n->attrs[TD_A_SCATTER_DIM]};
    return opv(r, TD_OP_GATHER, (const struct td_t *[]){&v[0].t, &v[1].t}, 2, w, 1, out);
}

/* MAX_DIM/MIN_DIM: grad placed at the selected indices (v[2]) in zeros of the input's
 * shape (v[1]) */
static enum td_code h_select_back(struct run *r, struct val *v, struct val *out)
{
    const struct td_meta *im = &v[1].t.m;
    if (im->ndim == 0) {
        *out = take(&v[0]);
        return TD_CODE_OK;
    }
    uint64_t mask = node_mask(r, im->ndim);
    int64_t d = mask ? __builtin_ctzll(mask) : 0;
    bool keep = r->n->attrs[TD_A_MAX_DIM_KEEPDIM];
    struct td_t g = v[0].t, ix = v[2].t, z;
    enum td_code code = TD_CODE_OK;
    if (!keep && (code = unsqueeze(r, &v[0].t, d, &g)))
        return code;
    if (!keep && (code = unsqueeze(r, &v[2].t, d, &ix)))
        goto out_g;
    if ((code = zeros(r, im, &z)))
        goto out_ix;
    int64_t w[2] = {d, 0};
    code = opv(r, TD_OP_SCATTER, (const struct td_t *[]){&z, &ix, &g}, 3, w, 2, out);
    td_release(r->c, &z);
out_ix:
    if (!keep)
        td_release(r->c, &ix);
out_g:
    if (!keep)
        td_release(r->c, &g);
    return code;
}

/* op (a CUMULATIVE row) run back to front along the node's dim: flip, op, flip */
static enum td_code reverse_cumulative(struct run *r, enum td_op op, struct val *v, struct val *out)
{
    int nd = v[0].t.m.ndim;
    if (nd == 0) {
        *out = take(&v[0]);
        return TD_CODE_OK;
    }
    int64_t d = r->n->attrs[TD_A_CUMULATIVE_DIM];
    if (d < 0)
        d += nd;
    int64_t flip[1] = {(int64_t)(1ull << d)}, cum[2] = {d, -1};
    struct td_t a, b;
    if (op1(r, TD_OP_FLIP, &v[0].t, flip, 1, &a))
        return r->st->code;
    enum td_code code = op1(r, op, &a, cum, 2, &b);
    td_release(r->c, &a);
    if (code)
        return code;
    code = op1(r, TD_OP_FLIP, &b, flip, 1, &a);
    td_release(r->c, &b);
    if (!code)
        *out = owned_val(a);
    return code;
}

/* CUMSUM (and CUMPROD): the reversed cumulative sum of grad along the node's dim */
static enum td_code h_cumsum_back(struct run *r, struct val *v, struct val *out)
{
    return reverse_cumulative(r, TD_OP_CUMSUM, v, out);
}

/* LOGCUMSUMEXP: logcumsumexp run back to front along the node's dim, so the backward
 * sums exp(input_j - result_i) over i >= j without forming exp(-result) */
static enum td_code h_rev_logcumsumexp(struct run *r, struct val *v, struct val *out)
{
    return reverse_cumulative(r, TD_OP_LOGCUMSUMEXP, v, out);
}

/* DIGAMMA: trigamma(x), the derivative of digamma, composed of pointwise ops (no kernel
 * row computes it, and composed it is differentiable again).  Below 1/2 the reflection
 * psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x); above, six steps of the recurrence
 * psi1(y) = 1/y^2 + psi1(y + 1) and the asymptotic series at y + 6 >= 6.5, whose first
 * dropped term (691/2730 / z^13) is below 1e-11. */
static enum td_code h_trigamma(struct run *r, struct val *v, struct val *out)
{
    const double pi = 3.14159265358979323846;
    enum td_code code = TD_CODE_OK;
    struct val x = borrow(&v[0]);
    struct val low = K2(LT, borrow(&x), scalar_f(0.5));
    struct val y = K3(WHERE, borrow(&low), K2(SUB, scalar_f(1), borrow(&x)), borrow(&x));
    struct val acc = {.scalar = true}, t, t2, ser;
    for (int k = 0; k < 6; k++) {
        struct val yk = K2(ADD, borrow(&y), scalar_f(k));
        struct val inv2 = K1(RECIPROCAL, K2(MUL, borrow(&yk), borrow(&yk)));
        drop(r, &yk);
        acc = k ? K2(ADD, acc, inv2) : inv2;
    }
    t = K1(RECIPROCAL, K2(ADD, borrow(&y), scalar_f(6)));
    t2 = K2(MUL, borrow(&t), borrow(&t));
    /* Bernoulli numbers B_2k: 1/6, -1/30, 1/42, -1/30, 5/66, -691/2730 */
    static const double b[] = {1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730};
    ser = K2(MUL, borrow(&t2), scalar_f(b[5]));
    for (int k = 4; k >= 0; k--)
        ser = K2(MUL, borrow(&t2), K2(ADD, ser, scalar_f(b[k])));
    /* ser = t2 (b0 + t2 (b1 + ...)); the series is t + t2/2 + t ser */
    ser = K2(ADD, K2(ADD, borrow(&t), K2(MUL, borrow(&t2), scalar_f(0.5))), K2(MUL, borrow(&t), ser));
    drop(r, &t);
    drop(r, &t2);
    struct val psi = K2(ADD, acc, ser);
    struct val sn = K1(SIN, K2(MUL, borrow(&x), scalar_f(pi)));
    struct val refl = K2(SUB, K2(DIV, scalar_f(pi * pi), K2(MUL, borrow(&sn), borrow(&sn))), borrow(&psi));
    drop(r, &sn);
    drop(r, &y);
    *out = K3(WHERE, low, refl, psi);
    return code;
}

/* LOGIT: where the gradient flows (inside [eps, 1 - eps] when eps was given) */
static enum td_code h_logit_mask(struct run *r, struct val *v, struct val *out)
{
    const int64_t *a = r->n->attrs;
    if (r->n->n_attr <= TD_A_LOGIT_EPS || !a[TD_A_LOGIT_HAS_EPS]) {
        struct td_t t;
        if (td_full(r->c, TD_DTYPE_BOOL, v[0].t.m.ndim, v[0].t.m.sizes, 1, &t, r->st))
            return r->st->code;
        *out = owned_val(t);
        return TD_CODE_OK;
    }
    double eps;
    memcpy(&eps, &a[TD_A_LOGIT_EPS], sizeof eps);
    enum td_code code = TD_CODE_OK;
    struct val ge = K2(GE, borrow(&v[0]), scalar_f(eps));
    struct val le = K2(LE, borrow(&v[0]), scalar_f(1 - eps));
    *out = K2(LOGICAL_AND, ge, le);
    return code;
}

/* NORM: d|x|_p / dx times grad, as torch: 0 where the norm is 0 (p > 1), the gradient
 * shared among the maxima for p = inf (v[0] grad, v[1] input, v[2] result) */
static enum td_code h_norm_back(struct run *r, struct val *v, struct val *out)
{
    double p;
    memcpy(&p, &r->n->attrs[TD_A_NORM_P], sizeof p);
    if (p == 0)
        return h_zeros_like(r, &v[1], out);
    struct val g, res = {.scalar = true}, x = borrow(&v[1]);
    enum td_code code = h_reduce_back(r, (struct val[]){v[0], v[1]}, &g);
    if (code)
        return code;
    if (p == 1) {
        *out = K2(MUL, g, K1(SIGN, x));
        return code;
    }
    if ((code = h_reduce_back(r, (struct val[]){v[2], v[1]}, &res))) {
        drop(r, &g);
        return code;
    }
    struct val s;
    if (isinf(p)) {
        struct val mask = K2(EQ, K1(ABS, x), res), cnt = {.scalar = true};
        if (!code)
            code = h_sum_dims(r, &mask, &cnt);
        s = K2(DIV, K2(MUL, K1(SIGN, x), mask), cnt);
        *out = K2(MUL, g, s);
        return code;
    }
    if (p == 2) {
        s = K2(DIV, x, borrow(&res));
    } else {
        struct val num = K2(MUL, x, K2(POW, K1(ABS, x), scalar_f(p - 2)));
        s = K2(DIV, num, K2(POW, borrow(&res), scalar_f(p - 1)));
    }
    struct val z = {.scalar = true};
    if (!code)
        code = h_zeros_like(r, &s, &z);
    s = K3(WHERE, K2(EQ, res, scalar_f(0)), z, s);
    *out = K2(MUL, g, s);
    return code;
}

/* AMAX/AMIN (v[0] grad, v[1] input, v[2] result): the gradient shared evenly among the
 * elements equal to the extreme.  amax multiplies by that mask, as torch's; max()/min()
 * of all elements (recorded with flatten) select it, and share among the NaNs when the
 * extreme is NaN, as torch's evenly_distribute_backward. */
static enum td_code h_extreme_back(struct run *r, struct val *v, struct val *out)
{
    bool all = r->n->n_attr > TD_A_REDUCE_FLATTEN && r->n->attrs[TD_A_REDUCE_FLATTEN];
    struct val g = {.scalar = true}, res = {.scalar = true}, cnt = {.scalar = true}, x = borrow(&v[1]);
    enum td_code code = h_reduce_back(r, (struct val[]){v[0], v[1]}, &g);
    if (code)
        return code;
    if ((code = h_reduce_back(r, (struct val[]){v[2], v[1]}, &res))) {
        drop(r, &g);
        return code;
    }
    struct val mask = K2(EQ, borrow(&x), all ? borrow(&res) : res);
    if (all)
        mask = K2(LOGICAL_OR, mask, K2(LOGICAL_AND, K1(ISNAN, borrow(&x)), K1(ISNAN, res)));
    if (!code)
        code = h_sum_dims(r, &mask, &cnt);
    if (!all) {
        *out = K2(DIV, K2(MUL, g, mask), cnt);
        return code;
    }
    struct val z = {.scalar = true};
    if (!code)
        code = h_zeros_like(r, &x, &z);
    *out = K3(WHERE, mask, K2(DIV, g, cnt), z);
    return code;
}

/* MAX_POOL_BACKWARD's grad_output: x (N, C, *in) read at indices (N, C, *out), each an
 * offset in its (n, c) plane: a gather over the flattened planes */
static enum td_code h_pool_gather(struct run *r, struct val *v, struct val *out)
{
    const struct td_meta *x = &v[0].t.m, *ix = &v[1].t.m;
    if (x->ndim < 2 || ix->ndim != x->ndim)
        return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: pool_gather of mismatched ranks");
    int64_t xs[3] = {x->sizes[0], x->sizes[1], 1}, is[3] = {ix->sizes[0], ix->sizes[1], 1};
    for (int d = 2; d < x->ndim; d++) {
        xs[2] *= x->sizes[d];
        is[2] *= ix->sizes[d];
    }
    struct td_t xf, jf, g;
    if (reshape(r, &v[0].t, 3, xs, &xf))
        return r->st->code;
    enum td_code code = reshape(r, &v[1].t, 3, is, &jf);
    if (!code) {
        const struct td_t *in[2] = {&xf, &jf};
        code = td_rec_gather(r->c, 0, in, 2, &(struct td_gather_args){.dim = 2}, &g, r->st);
        td_release(r->c, &jf);
    }
    td_release(r->c, &xf);
    if (code)
        return code;
    struct td_t res;
    code = reshape(r, &g, ix->ndim, ix->sizes, &res);
    td_release(r->c, &g);
    if (!code)
        *out = owned_val(res);
    return code;
}

/* The storage positions of a geometry's elements, less base: an int64 tensor of its sizes
 * (offset + sum(i * stride), built as a sum of broadcast aranges). */
static enum td_code positions(struct run *r, int nd, const int64_t *sizes, const int64_t *strides, int64_t offset,
                              struct td_t *out)
{
    int64_t one[TD_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        one[d] = 1;
    struct td_full_args fa = {.dtype = TD_DTYPE_INT64, .size = one, .n_size = nd,
                              .fill_value = td_scalar_of_i64(offset)};
    struct td_t pos, step, sum;
    if (td_rec_full(r->c, 0, NULL, 0, &fa, &pos, r->st))
        return r->st->code;
    enum td_code code = TD_CODE_OK;
    for (int d = 0; !code && d < nd; d++) { /* pos += arange(size_d) * stride_d along dim d */
        if (sizes[d] == 1)
            continue;
        one[d] = sizes[d];
        struct td_arange_args ar = {.dtype = TD_DTYPE_INT64, .size = &sizes[d], .n_size = 1,
                                    .start = td_scalar_of_i64(0), .step = td_scalar_of_i64(strides[d])};
        struct td_t line;
        if (!(code = td_rec_arange(r->c, 0, NULL, 0, &ar, &line, r->st))) {
            code = reshape(r, &line, nd, one, &step);
            td_release(r->c, &line);
        }
        if (!code) {
            const struct td_t *in2[2] = {&pos, &step};
            code = td_op_apply(r->c, TD_OP_ADD, 0, 2, in2, NULL, &sum, r->st);
            td_release(r->c, &step);
            if (!code) {
                td_release(r->c, &pos);
                pos = sum;
            }
        }
        one[d] = 1;
    }
    if (code) {
        td_release(r->c, &pos);
        return code;
    }
    *out = pos;
    return TD_CODE_OK;
}

/* The lowest and highest storage positions a non-empty geometry reaches. */
static void geometry_span(int nd, const int64_t *sizes, const int64_t *strides, int64_t offset, int64_t *lo,
                          int64_t *hi)
{
    *lo = *hi = offset;
    for (int d = 0; d < nd; d++) {
        int64_t e = (sizes[d] - 1) * strides[d];
        *(e < 0 ? lo : hi) += e;
    }
}

/* Whether two elements of a geometry may share a storage position (a stride 0 of
 * expand, or strides that interleave): dims by stride, each stride past the extent of
 * the smaller ones. */
static bool may_overlap(int nd, const int64_t *sizes, const int64_t *strides)
{
    int64_t st[TD_MAX_DIMS], sz[TD_MAX_DIMS];
    int k = 0;
    for (int d = 0; d < nd; d++) {
        if (sizes[d] == 0)
            return false;
        if (sizes[d] == 1)
            continue;
        int64_t s = strides[d] < 0 ? -strides[d] : strides[d];
        int j = k++;
        for (; j > 0 && st[j - 1] > s; j--) {
            st[j] = st[j - 1];
            sz[j] = sz[j - 1];
        }
        st[j] = s;
        sz[j] = sizes[d];
    }
    int64_t extent = 0; /* the farthest position the smaller strides reach */
    for (int j = 0; j < k; j++) {
        if (st[j] <= extent)
            return true;
        extent += st[j] * (sz[j] - 1);
    }
    return false;
}

/* buf (1-d) read at pos: an INDEX in advanced mode, shaped like pos */
static enum td_code read_at(struct run *r, const struct td_t *buf, const struct td_t *pos, struct td_t *out)
{
    const struct td_t *in[2] = {buf, pos};
    int64_t w[2];
    w[TD_A_INDEX_DIM] = 0;
    w[TD_A_INDEX_MODE] = 0; /* advanced indexing */
    return td_op(r->c, TD_OP_INDEX, 0, in, 2, w, 2, out, r->st);
}

/* vals added into zeros (1-d, n elements of dtype dt) at pos, as torch's index_put_
 * with accumulate: positions that repeat sum their values */
static enum td_code add_at(struct run *r, enum td_dtype dt, int64_t n, const struct td_t *vals,
                           const struct td_t *pos, struct td_t *out)
{
    struct td_t z;
    if (td_full(r->c, dt, 1, &n, 0, &z, r->st))
        return r->st->code;
    const struct td_t *in[3] = {&z, vals, pos};
    int64_t w[3];
    w[TD_A_INDEX_PUT_DIM] = 0;
    w[TD_A_INDEX_PUT_MODE] = 0; /* advanced indexing */
    w[TD_A_INDEX_PUT_ACCUMULATE] = 1;
    enum td_code code = td_op(r->c, TD_OP_INDEX_PUT, 0, in, 3, w, 3, out, r->st);
    td_release(r->c, &z);
    return code;
}

/* AS_STRIDED (indexing's basic part records one; UNFOLD over a contiguous geometry): the
 * output's and the input's geometries are both positions in one storage, and either may
 * repeat a position (overlapping windows, expand's stride 0).  As torch's
 * as_strided_backward: grad is added into a buffer over the storage span both reach, at
 * the output's positions, and read back at the input's; an input element that shares
 * its position with others gets an equal share (the views behind it add the shares up
 * again, so a leaf gets the whole), and positions outside the input's elements give
 * nothing.  Composed of INDEX/INDEX_PUT, so it is differentiated again. */
static enum td_code strided_grad(struct run *r, struct val *grad, const struct td_meta *in, int nd,
                                 const int64_t *sizes, const int64_t *strides, int64_t off, struct val *out)
{
    enum td_dtype dt = (enum td_dtype)grad->t.m.dtype;
    int64_t n_in = td_meta_numel(in), n_out = td_meta_numel(&grad->t.m);
    if (n_in == 0 || n_out == 0)
        return h_zeros_like(r, &(struct val){.t = {.m = *in}}, out);
    /* the whole input as it is (indexing's view of an untouched tensor): its elements, not
     * their storage, so an expanded input's copies each keep their own gradient */
    if (nd == in->ndim && off == in->offset && !memcmp(sizes, in->sizes, sizeof(int64_t) * nd) &&
        !memcmp(strides, in->strides, sizeof(int64_t) * nd)) {
        *out = take(grad);
        return TD_CODE_OK;
    }
    int64_t lo, hi, lo_in, hi_in;
    geometry_span(nd, sizes, strides, off, &lo, &hi);
    geometry_span(in->ndim, in->sizes, in->strides, in->offset, &lo_in, &hi_in);
    int64_t base = lo < lo_in ? lo : lo_in, span = (hi > hi_in ? hi : hi_in) - base + 1;
    struct td_t pos, buf, pin = {0}, res = {0};
    if (positions(r, nd, sizes, strides, off - base, &pos))
        return r->st->code;
    enum td_code code = add_at(r, dt, span, &grad->t, &pos, &buf);
    td_release(r->c, &pos);
    if (code)
        return code;
    if (td_meta_is_contiguous(in) && lo_in == base && span == n_in) { /* the buffer is the input */
        code = reshape(r, &buf, in->ndim, in->sizes, &res);
        td_release(r->c, &buf);
        if (!code)
            *out = owned_val(res);
        return code;
    }
    if (!(code = positions(r, in->ndim, in->sizes, in->strides, in->offset - base, &pin)))
        code = read_at(r, &buf, &pin, &res);
    td_release(r->c, &buf);
    if (!code && may_overlap(in->ndim, in->sizes, in->strides)) {
        /* each element's share: divided by how many input elements read its position */
        struct td_t ones, cnt, per, share;
        if (!(code = td_full(r->c, dt, in->ndim, in->sizes, 1, &ones, r->st))) {
            code = add_at(r, dt, span, &ones, &pin, &cnt);
            td_release(r->c, &ones);
        }
        if (!code) {
            code = read_at(r, &cnt, &pin, &per);
            td_release(r->c, &cnt);
        }
        if (!code) {
            const struct td_t *in2[2] = {&res, &per};
            code = td_op_apply(r->c, TD_OP_DIV, 0, 2, in2, NULL, &share, r->st);
            td_release(r->c, &per);
            if (!code) {
                td_release(r->c, &res);
                res = share;
            }
        }
    }
    if (pin.handle)
        td_release(r->c, &pin);
    if (!code)
        *out = owned_val(res);
    else if (res.handle)
        td_release(r->c, &res);
    return code;
}

static enum td_code h_strided_back(struct run *r, struct val *v, struct val *out)
{
    const int64_t *a = r->n->attrs;
    int nd = (int)a[TD_A_AS_STRIDED_NDIM];
    const int64_t *sizes = a + TD_A_AS_STRIDED_SIZE, *strides = sizes + nd + TD_A_AS_STRIDED_STRIDE_TAIL;
    return strided_grad(r, &v[0], &v[1].t.m, nd, sizes, strides, a[TD_A_AS_STRIDED_STORAGE_OFFSET], out);
}

/* UNFOLD: its windows overlap, so the gradient is as_strided's over a contiguous tensor of
 * the input's sizes (each element's own, also where the input is expanded) */
static enum td_code h_unfold_back(struct run *r, struct val *v, struct val *out)
{
    struct td_meta cm;
    const struct td_meta *in = &v[1].t.m;
    if (td_meta_contiguous(&cm, (enum td_dtype)in->dtype, in->ndim, in->sizes, r->st))
        return r->st->code;
    const int64_t *a = r->n->attrs;
    int64_t d = a[TD_A_UNFOLD_DIMENSION], size = a[TD_A_UNFOLD_SIZE], step = a[TD_A_UNFOLD_STEP];
    int64_t sizes[TD_MAX_DIMS], strides[TD_MAX_DIMS];
    int nd = v[0].t.m.ndim;
    if (in->ndim == 0 || nd != in->ndim + 1) /* a 0-d input's one window, or none */
        return td_meta_numel(&v[0].t.m) ? h_view_back(r, v, out) : h_zeros_like(r, &v[1], out);
    if (d < 0)
        d += in->ndim;
    memcpy(sizes, v[0].t.m.sizes, sizeof(int64_t) * nd);
    memcpy(strides, cm.strides, sizeof(int64_t) * in->ndim);
    strides[d] = cm.strides[d] * step;
    strides[nd - 1] = cm.strides[d];
    sizes[nd - 1] = size;
    return strided_grad(r, &v[0], &cm, nd, sizes, strides, 0, out);
}

/* x with its last two dims swapped (the matrix transpose of linalg formulas) */
static enum td_code h_mt(struct run *r, struct val *v, struct val *out)
{
    struct td_t res;
    if (transpose_last(r, &v[0].t, &res))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* x^H: mt(x) conjugated (mt itself for real x) */
static enum td_code h_mh(struct run *r, struct val *v, struct val *out)
{
    struct val t;
    if (h_mt(r, v, &t))
        return r->st->code;
    enum td_code code = h_conj(r, &t, out);
    drop(r, &t);
    return code;
}

/* a batch of scalars (b) as (b, 1, 1): to scale a batch of matrices */
static enum td_code h_as_matrices(struct run *r, struct val *v, struct val *out)
{
    const struct td_meta *m = &v[0].t.m;
    int64_t sizes[TD_MAX_DIMS];
    if (m->ndim + 2 > TD_MAX_DIMS)
        return td_status_set(r->st, TD_CODE_INVALID_ARGUMENT, "autograd: too many dims");
    memcpy(sizes, m->sizes, sizeof(int64_t) * m->ndim);
    sizes[m->ndim] = sizes[m->ndim + 1] = 1;
    struct td_t res;
    if (reshape(r, &v[0].t, m->ndim + 2, sizes, &res))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}

/* the factorizations' formulas (formula_linalg.c), given their tensors and NULL for an
 * output gradient that never reached the node (svd's singular vectors when only the
 * singular values are used: their terms would divide 0 by 0 at repeated values) */
static enum td_code linalg(struct run *r, int helper, int nargs, struct val *v, struct val *out)
{
    const struct td_t *t[8];
    for (int i = 0; i < nargs; i++) {
        if (v[i].scalar)
            return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: a scalar in a linalg formula");
        t[i] = v[i].undefined ? NULL : &v[i].t;
    }
    struct td_t res;
    if (td__ag_linalg(r->c, r->n, helper, r->input, t, &res, r->st))
        return r->st->code;
    *out = owned_val(res);
    return TD_CODE_OK;
}
#define LINALG_HELPER(name, NAME, nargs)                                                                           \
    static enum td_code h_##name(struct run *r, struct val *v, struct val *out)                                   \
    {                                                                                                              \
        return linalg(r, TD_AGH_##NAME, nargs, v, out);                                                            \
    }
LINALG_HELPER(cholesky_back, CHOLESKY_BACK, 2)
LINALG_HELPER(matrix_exp_back, MATRIX_EXP_BACK, 2)
LINALG_HELPER(triangular_solve_back, TRIANGULAR_SOLVE_BACK, 3)
LINALG_HELPER(lu_solve_back, LU_SOLVE_BACK, 4)
LINALG_HELPER(lu_factor_back, LU_FACTOR_BACK, 3)
LINALG_HELPER(eigh_back, EIGH_BACK, 4)
LINALG_HELPER(svd_back, SVD_BACK, 6)
LINALG_HELPER(qr_back, QR_BACK, 4)
LINALG_HELPER(lstsq_back, LSTSQ_BACK, 3)
LINALG_HELPER(householder_back, HOUSEHOLDER_BACK, 4)

typedef enum td_code (*helper_fn)(struct run *r, struct val *v, struct val *out);
static const helper_fn helpers[TD_AGH_COUNT] = {
    [TD_AGH_REDUCE_BACK - TD_AGH_FIRST] = h_reduce_back,
    [TD_AGH_REDUCE_COUNT - TD_AGH_FIRST] = h_reduce_count,
    [TD_AGH_ZEROS_LIKE - TD_AGH_FIRST] = h_zeros_like,
    [TD_AGH_MM_INPUT - TD_AGH_FIRST] = h_mm_input,
    [TD_AGH_MM_OTHER - TD_AGH_FIRST] = h_mm_other,
    [TD_AGH_CONJ - TD_AGH_FIRST] = h_conj,
    [TD_AGH_SGN - TD_AGH_FIRST] = h_sgn,
    [TD_AGH_AS_COMPLEX - TD_AGH_FIRST] = h_as_complex,
    [TD_AGH_FFT_C2C_BACK - TD_AGH_FIRST] = h_fft_c2c_back,
    [TD_AGH_FFT_R2C_BACK - TD_AGH_FIRST] = h_fft_r2c_back,
    [TD_AGH_FFT_C2R_BACK - TD_AGH_FIRST] = h_fft_c2r_back,
    [TD_AGH_MH - TD_AGH_FIRST] = h_mh,
    [TD_AGH_VIEW_BACK - TD_AGH_FIRST] = h_view_back,
    [TD_AGH_SAME_VIEW - TD_AGH_FIRST] = h_same_view,
    [TD_AGH_PERMUTE_BACK - TD_AGH_FIRST] = h_permute_back,
    [TD_AGH_INTO_VIEW - TD_AGH_FIRST] = h_into_view,
    [TD_AGH_SUM_DIM - TD_AGH_FIRST] = h_sum_dim,
    [TD_AGH_CLAMP_MASK - TD_AGH_FIRST] = h_clamp_mask,
    [TD_AGH_SUM_DIMS - TD_AGH_FIRST] = h_sum_dims,
    [TD_AGH_MEAN_DIMS - TD_AGH_FIRST] = h_mean_dims,
    [TD_AGH_CAT_BACK - TD_AGH_FIRST] = h_cat_back,
    [TD_AGH_INDEX_BACK - TD_AGH_FIRST] = h_index_back,
    [TD_AGH_INDEX_PUT_BACK - TD_AGH_FIRST] = h_index_put_back,
    [TD_AGH_INDEX_VALUES - TD_AGH_FIRST] = h_index_values,
    [TD_AGH_GATHER_BACK - TD_AGH_FIRST] = h_gather_back,
    [TD_AGH_SCATTER_BACK - TD_AGH_FIRST] = h_scatter_back,
    [TD_AGH_GATHER_GRAD - TD_AGH_FIRST] = h_gather_grad,
    [TD_AGH_SELECT_BACK - TD_AGH_FIRST] = h_select_back,
    [TD_AGH_CUMSUM_BACK - TD_AGH_FIRST] = h_cumsum_back,
    [TD_AGH_REV_LOGCUMSUMEXP - TD_AGH_FIRST] = h_rev_logcumsumexp,
    [TD_AGH_TRIGAMMA - TD_AGH_FIRST] = h_trigamma,
    [TD_AGH_LOGIT_MASK - TD_AGH_FIRST] = h_logit_mask,
    [TD_AGH_NORM_BACK - TD_AGH_FIRST] = h_norm_back,
    [TD_AGH_CHANNEL_SUM - TD_AGH_FIRST] = h_channel_sum,
    [TD_AGH_POOL_GATHER - TD_AGH_FIRST] = h_pool_gather,
    [TD_AGH_STRIDED_BACK - TD_AGH_FIRST] = h_strided_back,
    [TD_AGH_MT - TD_AGH_FIRST] = h_mt,
    [TD_AGH_AS_MATRICES - TD_AGH_FIRST] = h_as_matrices,
    [TD_AGH_EXTREME_BACK - TD_AGH_FIRST] = h_extreme_back,
    [TD_AGH_UNFOLD_BACK - TD_AGH_FIRST] = h_unfold_back,
    [TD_AGH_CHOLESKY_BACK - TD_AGH_FIRST] = h_cholesky_back,
    [TD_AGH_MATRIX_EXP_BACK - TD_AGH_FIRST] = h_matrix_exp_back,
    [TD_AGH_TRIANGULAR_SOLVE_BACK - TD_AGH_FIRST] = h_triangular_solve_back,
    [TD_AGH_LU_SOLVE_BACK - TD_AGH_FIRST] = h_lu_solve_back,
    [TD_AGH_LU_FACTOR_BACK - TD_AGH_FIRST] = h_lu_factor_back,
    [TD_AGH_EIGH_BACK - TD_AGH_FIRST] = h_eigh_back,
    [TD_AGH_SVD_BACK - TD_AGH_FIRST] = h_svd_back,
    [TD_AGH_QR_BACK - TD_AGH_FIRST] = h_qr_back,
    [TD_AGH_LSTSQ_BACK - TD_AGH_FIRST] = h_lstsq_back,
    [TD_AGH_HOUSEHOLDER_BACK - TD_AGH_FIRST] = h_householder_back,
};

/* ---- the machine ---- */

/* A saved tensor, checked against in-place changes since it was saved; the error is
 * torch's (SavedVariable::unpack), with the version counts td_version keeps. */
static enum td_code saved(struct run *r, const struct td_t *t, const uint64_t *version, int k, bool output,
                          struct val *out)
{
    const struct td_ag_node *n = r->n;
    void *packed = n->packed ? n->packed[output ? n->n_in + k : k] : NULL;
    if (packed) { /* given to saved-tensor hooks: unpack gives it back (no version check, as torch) */
        struct td_t got = {0};
        if (n->packer->unpack(n->packer->ctx, r->c, packed, &got, r->st))
            return r->st ? r->st->code : TD_CODE_INTERNAL;
        *out = (struct val){.t = got, .owned = true};
        return TD_CODE_OK;
    }
    if (!t->handle)
        return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: %s read a tensor it did not save",
                             td_ag_node_name(r->n));
    if (td__known_changed(r->c, t, version[0])) {
        char shape[200], which[160] = "";
        const struct td_ag_meta *hist = td__ag_meta_latest(t->ag); /* the tensor's history since */
        const struct td_ag_node *fn = output ? r->n : hist ? hist->grad_fn : NULL;
        uint32_t nr = output ? (uint32_t)k : hist ? hist->output_nr : 0;
        int at = snprintf(shape, sizeof shape, "[");
        for (int d = 0; d < t->m.ndim && at < (int)sizeof shape - 24; d++)
            at += snprintf(shape + at, sizeof shape - (size_t)at, "%s%lld", d ? ", " : "", (long long)t->m.sizes[d]);
        snprintf(shape + at, sizeof shape - (size_t)at, "]");
        if (fn)
            snprintf(which, sizeof which, ", which is output %u of %s,", nr, td_ag_node_name(fn));
        uint64_t now = td_version(r->c, t), then = version[1];
        if (now == then) /* the counts started over (client.c's table is bounded): one write at least */
            now = then + 1;
        return td_status_set(r->st, TD_CODE_INVALID_ARGUMENT, "one of the variables needed for gradient "
                             "computation has been modified by an inplace operation: [torch.%s%sTensor %s]%s is "
                             "at version %llu; expected version %llu instead. %s",
                             t->m.device ? "cuda." : "", torch_type[t->m.dtype], shape, which,
                             (unsigned long long)now, (unsigned long long)then,
                             td_ag_anomaly() ? "Hint: the backtrace further above shows the operation that "
                                               "failed to compute its gradient. The variable in question was changed "
                                               "in there or anywhere later. Good luck!"
                                             : "Hint: enable anomaly detection to find the operation that failed to "
                                               "compute its gradient, with torch.autograd.set_detect_anomaly(True).");
    }
    *out = (struct val){.t = *t};
    enum td_dtype dt = (enum td_dtype)t->m.dtype;
    if (output && td_grad_enabled() && (td_dtype_is_float(dt) || td_dtype_is_complex(dt))) {
        /* create_graph: the output as the node's own, so its formula's use of it is
           differentiated too (not integer outputs: max_pool's indices carry no gradient) */
        struct td_ag_meta *m = td__ag_meta_new(r->c);
        if (m) {
            m->requires_grad = true;
            m->grad_fn = r->n;
            m->output_nr = (uint32_t)k;
            td__ag_node_ref(r->n);
            out->t.ag = m;
            out->own_ag = true;
        }
    }
    return TD_CODE_OK;
}

static enum td_code push(struct run *r, const int32_t *ins, const struct td_t *grads, struct val *out)
{
    struct td_ag_node *n = r->n;
    int a = ins[1];
    switch (ins[0]) {
    case TD_AG_GRAD:
        if (grads[a].handle) {
            *out = (struct val){.t = grads[a]};
            return TD_CODE_OK;
        }
        if (h_zeros_like(r, &(struct val){.t = {.m = n->out_meta[a]}}, out))
            return r->st->code;
        out->undefined = true;
        return TD_CODE_OK;
    case TD_AG_INPUT:
    case TD_AG_INPUT_META: {
        if (n->scalar_slot == a) /* the scalar operand: the first attribute's two words */
            return *out = scalar_val((struct td_scalar){n->attrs[0], n->attrs[1]}), TD_CODE_OK;
        int i = n->scalar_slot != TD_AG_NO_SLOT && a > n->scalar_slot ? a - 1 : a;
        if (ins[0] == TD_AG_INPUT_META)
            return *out = meta_val(&n->in_meta[i]), TD_CODE_OK;
        return saved(r, &n->saved_in[i], &n->versions[2 * i], i, false, out);
    }
    case TD_AG_RESULT:
        return saved(r, &n->saved_out[a], &n->versions[2 * (n->n_in + a)], a, true, out);
    case TD_AG_RESULT_META:
        return *out = meta_val(&n->out_meta[a]), TD_CODE_OK;
    case TD_AG_ATTR_SCALAR:
        if ((uint32_t)a + 2 <= n->n_attr)
            return *out = scalar_val((struct td_scalar){n->attrs[a], n->attrs[a + 1]}), TD_CODE_OK;
        if (ins[2] < 0)
            return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: %s lacks a scalar", td_ag_node_name(n));
        return *out = scalar_val(td_scalar_of_f64(td_ag_consts[ins[2]])), TD_CODE_OK;
    case TD_AG_ATTR_INT:
        return *out = scalar_val(td_scalar_of_i64((uint32_t)a < n->n_attr ? n->attrs[a] : 0)), TD_CODE_OK;
    case TD_AG_CONST:
        return *out = scalar_val(td_scalar_of_f64(td_ag_consts[a])), TD_CODE_OK;
    }
    return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: bad instruction %d", ins[0]);
}

static enum td_code step(struct run *r, const int32_t *ins, const struct td_t *grads, struct val *stack, int *sp)
{
    if (ins[0] < TD_AG_CALL) {
        if (*sp == STACK)
            return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: formula too deep");
        if (push(r, ins, grads, &stack[*sp]))
            return r->st->code;
        (*sp)++;
        return TD_CODE_OK;
    }
    bool op_call = ins[0] == TD_AG_CALL || ins[0] == TD_AG_CALL_ATTRS;
    int nargs = op_call ? ins[2] : ins[1];
    int most = ins[0] == TD_AG_CALL ? 3 : ins[0] == TD_AG_CALL_ATTRS ? ATTRS_ARGS : 8; /* helpers take 8 */
    if (nargs > *sp || nargs > most)
        return td_status_set(r->st, TD_CODE_INTERNAL, "autograd: formula stack underflow");
    struct val *args = stack + *sp - nargs, res;
    enum td_code code;
    if (ins[0] == TD_AG_CALL)
        code = call(r, (enum td_op)ins[1], args, nargs, &res);
    else if (ins[0] == TD_AG_CALL_ATTRS)
        code = call_attrs(r, (enum td_op)ins[1], args, nargs, &res);
    else
        code = helpers[ins[0] - TD_AGH_FIRST](r, args, &res);
    for (int i = 0; i < nargs; i++)
        drop(r, &args[i]);
    *sp -= nargs;
    if (code)
        return code;
    stack[(*sp)++] = res;
    return TD_CODE_OK;
}

enum td_code td__ag_formula(td_client_t *c, struct td_ag_node *n, int formula, int input, const struct td_t *grads,
                            struct td_t *out, struct td_status *st)
{
    struct run r = {c, n, st, input};
    const struct td_ag_formula *f = &td_ag_formulas[formula];
    struct val stack[STACK];
    int sp = 0;
    enum td_code code = TD_CODE_OK;
    for (int pc = f->start; !code && pc < f->start + f->len; pc++)
        code = step(&r, td_ag_code[pc], grads, stack, &sp);
    if (!code && (sp != 1 || stack[0].scalar))
        code = td_status_set(st, TD_CODE_INTERNAL, "autograd: %s's formula gave no tensor", td_ag_node_name(n));
    if (!code) {
        *out = stack[0].owned ? stack[0].t : td_retain(c, &stack[0].t);
        stack[0].owned = true; /* now *out's: only its own meta is dropped below */
        stack[0].t.handle = 0;
    }
    for (int i = 0; i < sp; i++)
        drop(&r, &stack[i]);
    return code;
}
