/*
 * shape.c — meta inference for the control, creation, element-wise (UNARY, BINARY,
 * WHERE, CLAMP) and cast/copy/fill families, the helpers every family rule shares
 * (declared in shape_internal.h), and td_meta_infer, which hands each other family to
 * its own file (shape_reduce.c, shape_view.c, shape_move.c, shape_math.c, shape_index.c,
 * shape_random.c, shape_linalg.c, shape_linalg_packed.c; the complex gate in
 * shape_complex.c): output sizes, dtypes and the compute dtype, with PyTorch's messages.
 * Shared by daemon and client: the
 * daemon runs exactly this code on every record it receives, so nothing here trusts
 * its input (counts, dims, dtypes and sizes are all range-checked).
 */
#include <stdio.h>
#include <string.h>

#include "meta.h"
#include "overlap.h"
#include "shape_internal.h"

int64_t td_meta_numel(const struct td_meta *m)
{
    /* saturates instead of overflowing: metas may come from the network */
    int64_t n = 1;
    for (int i = 0; i < m->ndim; i++)
        if (td_mul_overflow(n, m->sizes[i], &n))
            return INT64_MAX;
    return n;
}

bool td_meta_is_contiguous(const struct td_meta *m)
{
    int64_t expect = 1;
    for (int i = m->ndim - 1; i >= 0; i--) {
        if (m->sizes[i] == 0)
            return true;
        if (m->sizes[i] != 1 && m->strides[i] != expect)
            return false;
        if (td_mul_overflow(expect, m->sizes[i], &expect))
            return false; /* no stride can match any more */
    }
    return true;
}

bool td_meta_check_bounds(const struct td_meta *m)
{
    if (!td_dtype_valid(m->dtype) || m->ndim > TD_MAX_DIMS || m->offset < 0 || m->offset > TD_MAX_NUMEL ||
        m->storage_nbytes < 0)
        return false;
    /* limits first, for empty views too: kernels form offset * itemsize, stride * itemsize
     * and products of the sizes before they notice there is nothing to do */
    bool empty = false;
    int64_t extent = 1; /* product of the sizes, size-0 dims counted as 1 */
    for (int i = 0; i < m->ndim; i++) {
        if (m->sizes[i] < 0 || m->strides[i] < 0 || m->sizes[i] > TD_MAX_NUMEL || m->strides[i] > TD_MAX_NUMEL)
            return false;
        empty |= m->sizes[i] == 0;
        if (m->sizes[i] && (td_mul_overflow(extent, m->sizes[i], &extent) || extent > TD_MAX_NUMEL))
            return false;
    }
    if (empty)
        return true; /* no element is ever touched */
    int64_t last = m->offset, nbytes; /* element offset of the last element reached */
    for (int i = 0; i < m->ndim; i++)
        if (td_muladd_overflow(&last, m->sizes[i] - 1, m->strides[i]) || last > TD_MAX_NUMEL)
            return false;
    if (td_mul_overflow(last + 1, (int64_t)td_dtype_size(m->dtype), &nbytes))
        return false;
    return nbytes <= m->storage_nbytes;
}

enum td_code td_meta_wrap_dim(int64_t *dim, int ndim, struct td_status *st)
{
    int64_t n = ndim > 0 ? ndim : 1; /* a 0-d tensor accepts dim 0 and -1 */
    if (*dim < -n || *dim >= n)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE,
                             "Dimension out of range (expected to be in range of [%lld, %lld], but got %lld)",
                             (long long)-n, (long long)(n - 1), (long long)*dim);
    if (*dim < 0)
        *dim += n;
    return TD_CODE_OK;
}

const char *td_meta_shape_str(const struct td_meta *m, char *buf, int len)
{
    return td__sizes_str(m->sizes, m->ndim, buf, len);
}

bool td_meta_same_layout(const struct td_meta *x, const struct td_meta *y)
{
    if (x->dtype != y->dtype || x->device != y->device || x->ndim != y->ndim)
        return false;
    for (int d = 0; d < x->ndim; d++)
        if (x->sizes[d] != y->sizes[d] || (x->sizes[d] > 1 && x->strides[d] != y->strides[d]))
            return false;
    return true;
}

const char *td_meta_describe(const struct td_meta *m, char *buf, int len)
{
    char shape[TD_MAX_DIMS * 21 + 3], strides[TD_MAX_DIMS * 21 + 3], dev[16];
    snprintf(buf, len, "%s%s (strides %s) on %s", td_dtype_valid(m->dtype) ? td_dtype_names[m->dtype] : "?",
             td_meta_shape_str(m, shape, sizeof shape), td__sizes_str(m->strides, m->ndim, strides, sizeof strides),
             td_device_str(m->device, dev, sizeof dev));
    return buf;
}

const char *td__sizes_str(const int64_t *sizes, int ndim, char *buf, int len)
{
    int p = snprintf(buf, len, "[");
    for (int i = 0; i < ndim && p < len; i++)
        p += snprintf(buf + p, len - p, i ? ", %lld" : "%lld", (long long)sizes[i]);
    if (p < len)
        snprintf(buf + p, len - p, "]");
    return buf;
}

enum td_code td_meta_contiguous(struct td_meta *m, enum td_dtype dt, int ndim, const int64_t *sizes,
                                struct td_status *st)
{
    if (!td_dtype_valid(dt))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "invalid dtype %d", (int)dt);
    if (ndim < 0 || ndim > TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims, got %d",
                             TD_MAX_DIMS, ndim);
    memset(m, 0, sizeof *m);
    m->dtype = (uint8_t)dt;
    m->ndim = (uint8_t)ndim;
    int64_t n = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        if (sizes[i] < 0) {
            char b[200];
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Trying to create tensor with negative dimension %lld: %s",
                                 (long long)sizes[i], td__sizes_str(sizes, ndim, b, sizeof b));
        }
        m->sizes[i] = sizes[i];
        m->strides[i] = n;
        /* strides multiply the sizes (size-0 dims as 1): keep them under the limit too */
        if (td_mul_overflow(n, sizes[i] ? sizes[i] : 1, &n) || n > TD_MAX_NUMEL)
            n = TD_MAX_NUMEL + 1;
    }
    if (td_meta_numel(m) > TD_MAX_NUMEL || n > TD_MAX_NUMEL)
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED,
                             "tensor of %s elements is too large (limit 2^40 elements)", "more than 2^40");
    m->storage_nbytes = td_meta_numel(m) * (int64_t)td_dtype_size(dt);
    return TD_CODE_OK;
}

enum td_dtype td_scalar_dtype(int64_t kind, enum td_dtype default_float)
{
    if (kind == TD_SCALAR_BOOL)
        return TD_DTYPE_BOOL;
    if (kind == TD_SCALAR_INT)
        return TD_DTYPE_INT64;
    return default_float;
}

/* ---- shared checks ---- */

enum td_code td__need_attrs(const struct td_op_args *a, uint32_t n, struct td_status *st)
{
    if (a->n_attr < n)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expected at least %u attributes, got %u",
                             td_op_name(a->op), n, a->n_attr);
    return TD_CODE_OK;
}

enum td_code td__need_inputs(const struct td_op_args *a, int lo, int hi, struct td_status *st)
{
    if (a->n_in < lo || a->n_in > hi)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expected %d to %d inputs, got %d",
                             td_op_name(a->op), lo, hi, a->n_in);
    return TD_CODE_OK;
}

enum td_code td__check_scalar(const int64_t *w, struct td_status *st)
{
    if (w[0] < TD_SCALAR_BOOL || w[0] > TD_SCALAR_FLOAT)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "invalid scalar kind %lld", (long long)w[0]);
    return TD_CODE_OK;
}

enum td_code td_meta_broadcast(int64_t *sizes, int *ndim, const int64_t *b, int b_ndim, struct td_status *st)
{
    int nd = *ndim > b_ndim ? *ndim : b_ndim;
    int64_t out[TD_MAX_DIMS];
    for (int i = nd - 1; i >= 0; i--) { /* from the last dim, so errors name what PyTorch names */
        int ia = i - (nd - *ndim), ib = i - (nd - b_ndim);
        int64_t sa = ia >= 0 ? sizes[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "The size of tensor a (%lld) must match the size of tensor b (%lld) at "
                                 "non-singleton dimension %d",
                                 (long long)sa, (long long)sb, i);
        out[i] = sa == 1 ? sb : sa;
    }
    memcpy(sizes, out, sizeof(int64_t) * nd);
    *ndim = nd;
    return TD_CODE_OK;
}

enum td_code td_meta_broadcast_shapes_add(int64_t *sizes, int *ndim, const int64_t *s, int s_ndim,
                                          struct td_status *st)
{
    if (s_ndim > TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "broadcast_shapes: tensors have at most %d dims, "
                             "got a shape of %d", TD_MAX_DIMS, s_ndim);
    if (s_ndim > *ndim) { /* right-align: new leading dims start as 1 */
        int grow = s_ndim - *ndim;
        memmove(sizes + grow, sizes, sizeof(int64_t) * *ndim);
        for (int i = 0; i < grow; i++)
            sizes[i] = 1;
        *ndim = s_ndim;
    }
    /* torch checks each size from the last, sign before match: keep its order of errors */
    for (int i = 1; i <= s_ndim; i++) {
        int64_t v = s[s_ndim - i], *r = &sizes[*ndim - i];
        if (v < 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Trying to create tensor with negative dimension (%lld): (%lld)",
                                 (long long)v, (long long)v);
        if (v == 1 || v == *r)
            continue;
        if (*r != 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Shape mismatch: objects cannot be broadcast to a single shape");
        *r = v;
    }
    return TD_CODE_OK;
}

enum td_code td__broadcast(int64_t *sizes, int *ndim, const struct td_meta *b, struct td_status *st)
{
    return td_meta_broadcast(sizes, ndim, b->sizes, b->ndim, st);
}

/* Tensors rank by whether they have dims; the scalar attribute is a Python number. */
enum td_dtype td__result_type(const struct td_meta *const *in, int n_in, const int64_t *scalar,
                              enum td_dtype default_float)
{
    struct td_result_type r;
    td_result_type_init(&r);
    for (int i = 0; i < n_in; i++)
        td_result_type_add(&r, (enum td_dtype)in[i]->dtype, in[i]->ndim ? TD_TIER_DIM : TD_TIER_ZERO_DIM);
    if (scalar)
        td_result_type_add(&r, td_scalar_dtype(scalar[0], default_float), TD_TIER_NUMBER);
    return td_result_type_get(&r, default_float);
}

/* Input i's stride for dim d of the output m (torch's TensorIterator view of it): 0 where
 * it broadcasts (missing, or size 1 against a larger size). */
static int64_t iter_stride(const struct td_meta *in, const struct td_meta *m, int d)
{
    int od = d - (m->ndim - in->ndim);
    if (od < 0 || (in->sizes[od] == 1 && m->sizes[d] != 1))
        return 0;
    return in->strides[od];
}

/* Whether dim d0 goes outside dim d1 (1), inside (-1), or no input says (0): the first
 * input with both strides nonzero and different decides; equal strides put the smaller
 * size inside (torch's reorder_dimensions). */
static int iter_order(const struct td_op_args *a, const struct td_meta *m, int d0, int d1)
{
    for (int i = 0; i < a->n_in; i++) {
        int64_t s0 = iter_stride(a->in[i], m, d0), s1 = iter_stride(a->in[i], m, d1);
        if (s0 == 0 || s1 == 0)
            continue;
        if (s0 != s1)
            return s0 < s1 ? -1 : 1;
        if (m->sizes[d0] > m->sizes[d1])
            return 1;
    }
    return 0;
}

static bool channels_last_dense(const struct td_meta *m)
{
    static const int order[4] = {1, 3, 2, 0}; /* innermost first: C, W, H, N */
    int64_t want = 1;
    if (m->ndim != 4)
        return false;
    for (int i = 0; i < 4; i++) {
        int d = order[i];
        if (m->sizes[d] != 1) {
            if (m->strides[d] != want)
                return false;
            want *= m->sizes[d];
        }
    }
    return true;
}

/* Whether x's strides order its dims as channels-last (5-d: channels-last-3d) does, gaps
 * allowed: torch's suggest_memory_format (is_channels_last_strides_2d/3d); the ambiguous
 * cases are row-major. */
bool td__channels_last_like(const struct td_meta *x)
{
    static const int o4[] = {1, 3, 2, 0}, o5[] = {1, 4, 3, 2, 0};
    if ((x->ndim != 4 && x->ndim != 5) || x->strides[1] == 0)
        return false;
    const int *order = x->ndim == 4 ? o4 : o5;
    int64_t low = 0;
    for (int i = 0; i < x->ndim; i++) {
        int d = order[i];
        if (x->sizes[d] == 0 || x->strides[d] < low || (d == 0 && low == x->strides[1]))
            return false;
        low = x->strides[d] * (x->sizes[d] > 1 ? x->sizes[d] : 1);
    }
    return true;
}

/* m (4-d or 5-d, dense) laid out channels-last: C innermost, then the spatial dims, N. */
void td__channels_last(struct td_meta *m)
{
    int64_t next = 1;
    if (m->ndim != 4 && m->ndim != 5)
        return;
    m->strides[1] = next;
    next *= m->sizes[1];
    for (int d = m->ndim - 1; d >= 2; d--) {
        m->strides[d] = next;
        next *= m->sizes[d];
    }
    m->strides[0] = next;
}

/* The strides torch's TensorIterator gives the new output m (row-major on entry) of an
 * elementwise op, so results keep their inputs' memory format: inputs all of m's shape
 * and all row-major, all channels-last or all dense with one set of strides give that
 * layout (its fast setup); otherwise m's dims are ordered as the inputs order them
 * (iter_order, by insertion as torch sorts) and laid out densely in that order. */
static void iterator_layout(const struct td_op_args *a, struct td_meta *m)
{
    int nd = m->ndim;
    if (nd < 2 || a->n_in < 1)
        return;
    bool same = true, contig = true, cl = true, dense = true;
    for (int i = 0; i < a->n_in; i++) {
        const struct td_meta *x = a->in[i];
        same = same && x->ndim == nd && !memcmp(x->sizes, m->sizes, sizeof(int64_t) * nd);
        contig = contig && td_meta_is_contiguous(x);
    }
    if (same && contig) /* the common case, checked first: every op records through here */
        return;
    for (int i = 0; same && i < a->n_in && (cl || dense); i++) {
        const struct td_meta *x = a->in[i];
        cl = cl && channels_last_dense(x);
        dense = dense && td_meta_non_overlapping_and_dense(x) &&
                !memcmp(x->strides, a->in[0]->strides, sizeof(int64_t) * nd);
    }
    if (same && (cl || dense)) {
        if (cl)
            td__channels_last(m);
        else
            memcpy(m->strides, a->in[0]->strides, sizeof(int64_t) * nd);
        return;
    }
    int perm[TD_MAX_DIMS]; /* perm[0]: the innermost dim */
    for (int j = 0; j < nd; j++)
        perm[j] = nd - 1 - j;
    for (int i = 1; i < nd; i++)
        for (int d1 = i, d0 = i - 1; d0 >= 0; d0--) {
            int c = iter_order(a, m, perm[d0], perm[d1]);
            if (c > 0) {
                int t = perm[d0];
                perm[d0] = perm[d1];
                perm[d1] = t;
                d1 = d0;
            } else if (c < 0) {
                break;
            }
        }
    int64_t next = 1;
    for (int j = 0; j < nd; j++) {
        m->strides[perm[j]] = next;
        next *= m->sizes[perm[j]];
    }
}

enum td_code td__elementwise_out(const struct td_op_args *a, const int64_t *sizes, int nd,
                                    enum td_dtype out_dt, struct td_meta *out, struct td_infer *inf,
                                    struct td_status *st)
{
    if (a->flags & TD_RF_INPLACE) {
        const struct td_meta *self = a->in[0];
        char b1[200], b2[200];
        if (!(td_op_table[a->op].flags & TD_F_INPLACE_OK))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s has no in-place variant",
                                 td_op_name(a->op));
        if (nd != self->ndim || memcmp(sizes, self->sizes, sizeof(int64_t) * nd))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "output with shape %s doesn't match the broadcast shape %s",
                                 td_meta_shape_str(self, b1, sizeof b1), td__sizes_str(sizes, nd, b2, sizeof b2));
        if (!td_can_cast(out_dt, self->dtype))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "result type %s can't be cast to the desired output type %s",
                                 td_dtype_torch_name(out_dt), td_dtype_torch_name(self->dtype));
    }
    inf->n_out = 1;
    if (td_meta_contiguous(out, out_dt, nd, sizes, st))
        return st->code;
    if (!(a->flags & TD_RF_INPLACE))
        iterator_layout(a, out);
    return TD_CODE_OK;
}

static bool is_compare(unsigned op) { return op >= TD_OP_EQ && op <= TD_OP_GE; }
static bool is_logical(unsigned op) { return op >= TD_OP_LOGICAL_AND && op <= TD_OP_LOGICAL_XOR; }
static bool is_bitwise(unsigned op) { return op >= TD_OP_BITWISE_AND && op <= TD_OP_BITWISE_XOR; }
static bool is_shift(unsigned op) { return op == TD_OP_LSHIFT || op == TD_OP_RSHIFT; }

enum td_code td__binary_operands(const struct td_op_args *a, int64_t *sizes, int *nd, enum td_dtype *rt,
                                 struct td_status *st)
{
    if (td__need_inputs(a, 1, 2, st) || td__need_attrs(a, TD_N_BINARY, st)) /* MATH_BINARY's slot alike */
        return st->code;
    const int64_t *scalar = a->n_in == 1 ? a->attrs + TD_A_BINARY_OPERAND : NULL;
    if (scalar && td__check_scalar(scalar, st))
        return st->code;
    if ((a->flags & TD_RF_SCALAR_LHS) && (a->flags & TD_RF_INPLACE))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: in-place op needs a tensor on the left",
                             td_op_name(a->op));
    *nd = a->in[0]->ndim;
    memcpy(sizes, a->in[0]->sizes, sizeof(int64_t) * *nd);
    if (a->n_in == 2 && td__broadcast(sizes, nd, a->in[1], st))
        return st->code;
    *rt = td__result_type(a->in, a->n_in, scalar, a->default_float);
    return TD_CODE_OK;
}

/* Output like input 0 (contiguous), or input 0 itself for TD_RF_INPLACE. */
enum td_code td__same_as_input(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                               struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(x->dtype);
    return td_meta_contiguous(out, x->dtype, x->ndim, x->sizes, st);
}

enum td_code td__check_scalar_zero_divisor(const struct td_op_args *a, const struct td_meta *out,
                                           const struct td_infer *inf, struct td_status *st)
{
    const int64_t *s = a->attrs + TD_A_BINARY_OPERAND; /* MATH_BINARY's slot alike */
    bool by_scalar = a->n_in == 1 && a->n_attr >= TD_N_BINARY && !(a->flags & TD_RF_SCALAR_LHS);
    if (by_scalar && s[0] != TD_SCALAR_FLOAT && s[1] == 0 &&
        !td_dtype_is_inexact((enum td_dtype)inf->compute_dtype) && td_meta_numel(out) > 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "ZeroDivisionError");
    return TD_CODE_OK;
}

static enum td_code infer_binary(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    int64_t sizes[TD_MAX_DIMS];
    int nd;
    enum td_dtype rt;
    unsigned op = a->op;
    /* torch refuses a bool subtraction before it broadcasts the operands */
    if (op == TD_OP_SUB && a->n_in >= 1) {
        /* a Python bool operand counts as a bool tensor (t - True with t bool: two bools) */
        bool other_bool = a->n_in == 2 ? a->in[1]->dtype == TD_DTYPE_BOOL
                                       : a->n_attr > TD_A_BINARY_OPERAND &&
                                             a->attrs[TD_A_BINARY_OPERAND] == TD_SCALAR_BOOL;
        bool any_bool = a->in[0]->dtype == TD_DTYPE_BOOL || other_bool;
        bool all_bool = a->in[0]->dtype == TD_DTYPE_BOOL && other_bool;
        if (all_bool)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
                                 "`^` or `logical_xor()` operator instead.");
        if (any_bool)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                                 "are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
    }
    if (td__binary_operands(a, sizes, &nd, &rt, st))
        return st->code;
    const int64_t *scalar = a->n_in == 1 ? a->attrs + TD_A_BINARY_OPERAND : NULL;
    enum td_dtype out_dt = rt;
    if ((op == TD_OP_ADD || op == TD_OP_SUB) && a->n_attr >= TD_N_ADD && /* SUB's alpha alike (op.c) */
        td__check_scalar(a->attrs + TD_A_ADD_ALPHA, st))
        return st->code;
    if (op == TD_OP_DIV) {
        int64_t mode = a->n_attr >= TD_N_DIV ? a->attrs[TD_A_DIV_ROUNDING_MODE] : TD_ROUND_NONE;
        if (mode < TD_ROUND_NONE || mode > TD_ROUND_FLOOR)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "div: invalid rounding mode %lld",
                                 (long long)mode);
        if (mode == TD_ROUND_NONE && !td_dtype_is_inexact(rt))
            out_dt = rt = a->default_float;
        if (mode != TD_ROUND_NONE && rt == TD_DTYPE_BOOL)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"div_%s_cpu\" not implemented for 'Bool'",
                                 mode == TD_ROUND_FLOOR ? "floor" : "trunc");
    }
    if (op == TD_OP_POW && scalar && !(a->flags & TD_RF_SCALAR_LHS) && scalar[0] == TD_SCALAR_INT &&
        scalar[1] < 0 && !td_dtype_is_inexact(rt))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Integers to negative integer powers are not allowed.");
    if ((op == TD_OP_POW || op == TD_OP_REMAINDER) && rt == TD_DTYPE_BOOL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for 'Bool'",
                             op == TD_OP_POW ? "pow" : "remainder_cpu");
    /* torch's pow_ with a number exponent checks the dtypes its own way */
    if (op == TD_OP_POW && scalar && (a->flags & TD_RF_INPLACE) && !(a->flags & TD_RF_SCALAR_LHS) &&
        !td_can_cast(rt, a->in[0]->dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Found dtype %s but expected %s",
                             td_dtype_torch_name(a->in[0]->dtype), td_dtype_torch_name(rt));
    if (is_compare(op) || is_logical(op))
        out_dt = TD_DTYPE_BOOL;
    inf->compute_dtype = td__compute_dtype(rt);
    td__round_operands(inf, rt);
    if (td__elementwise_out(a, sizes, nd, out_dt, out, inf, st)) /* torch checks self's shape and cast first */
        return st->code;
    if (((is_bitwise(op) || is_shift(op)) && td_dtype_is_float(rt)) || (is_shift(op) && rt == TD_DTYPE_BOOL))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s_cpu\" not implemented for '%s'",
                             td_op_name(op), td_dtype_torch_name(rt));
    bool divides = op == TD_OP_REMAINDER ||
                   (op == TD_OP_DIV && a->n_attr >= TD_N_DIV && a->attrs[TD_A_DIV_ROUNDING_MODE] != TD_ROUND_NONE);
    return divides ? td__check_scalar_zero_divisor(a, out, inf, st) : TD_CODE_OK;
}

static enum td_code infer_unary(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    enum td_dtype dt = x->dtype, out_dt = dt;
    unsigned op = a->op;
    if ((td_op_table[op].flags & TD_F_FLOAT_OUT) && !td_dtype_is_inexact(dt))
        out_dt = dt = a->default_float;
    if (op == TD_OP_ABS && td_dtype_is_complex(dt))
        out_dt = td_dtype_to_real(dt); /* |z| is real; computed from the complex input */
    if (op == TD_OP_NEG && dt == TD_DTYPE_BOOL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                             "trying to invert a mask, use the `~` or `logical_not()` operator instead.");
    bool no_bool = op == TD_OP_ABS || op == TD_OP_RELU || op == TD_OP_FLOOR || op == TD_OP_CEIL ||
                   op == TD_OP_ROUND || op == TD_OP_TRUNC;
    if (op == TD_OP_RELU && dt == TD_DTYPE_BOOL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Boolean inputs not supported for relu");
    if (no_bool && dt == TD_DTYPE_BOOL) /* torch's kernel names: the rounding ones are its vml kernels */
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s_%scpu\" not implemented for 'Bool'",
                             td_op_name(op), op == TD_OP_ABS ? "" : "vml_");
    if (op == TD_OP_BITWISE_NOT && td_dtype_is_float(dt))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"bitwise_not_cpu\" not implemented for '%s'",
                             td_dtype_torch_name(dt));
    if (op == TD_OP_LOGICAL_NOT)
        out_dt = TD_DTYPE_BOOL;
    inf->compute_dtype = td__compute_dtype(dt);
    return td__elementwise_out(a, x->sizes, x->ndim, out_dt, out, inf, st);
}

static enum td_code infer_where(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                struct td_status *st)
{
    if (td__need_inputs(a, 3, 3, st))
        return st->code;
    if (a->in[0]->dtype != TD_DTYPE_BOOL && a->in[0]->dtype != TD_DTYPE_UINT8)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "where expected condition to be a boolean tensor, but got a tensor with dtype %s",
                             td_dtype_torch_name(a->in[0]->dtype));
    int64_t sizes[TD_MAX_DIMS];
    int nd = a->in[0]->ndim;
    memcpy(sizes, a->in[0]->sizes, sizeof(int64_t) * nd);
    if (td__broadcast(sizes, &nd, a->in[1], st) || td__broadcast(sizes, &nd, a->in[2], st))
        return st->code;
    enum td_dtype rt = td__result_type(a->in + 1, 2, NULL, a->default_float);
    inf->compute_dtype = td__compute_dtype(rt);
    return td__elementwise_out(a, sizes, nd, rt, out, inf, st);
}

static enum td_code infer_clamp(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_CLAMP, st))
        return st->code;
    bool has_min = a->attrs[TD_A_CLAMP_HAS_MIN] != 0, has_max = a->attrs[TD_A_CLAMP_HAS_MAX] != 0;
    if (!has_min && !has_max)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "torch.clamp: At least one of 'min' or 'max' must not be None");
    enum td_dtype rt = a->in[0]->dtype;
    static const uint8_t has[2] = {TD_A_CLAMP_HAS_MIN, TD_A_CLAMP_HAS_MAX}, at[2] = {TD_A_CLAMP_MIN, TD_A_CLAMP_MAX};
    for (int i = 0; i < 2; i++) {
        const int64_t *s = a->attrs + at[i];
        if (!a->attrs[has[i]])
            continue;
        if (td__check_scalar(s, st))
            return st->code;
        const struct td_meta *x = a->in[0];
        enum td_dtype r = td__result_type(&x, 1, s, a->default_float);
        rt = td_promote_types(rt, r);
    }
    inf->compute_dtype = td__compute_dtype(rt);
    return td__elementwise_out(a, a->in[0]->sizes, a->in[0]->ndim, rt, out, inf, st);
}

static enum td_code infer_cast(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                               struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st))
        return st->code;
    enum td_dtype dt = a->in[0]->dtype;
    if (a->op == TD_OP_CAST) {
        if (td__need_attrs(a, TD_N_CAST, st))
            return st->code;
        int64_t want = a->attrs[TD_A_CAST_DTYPE];
        if (!td_dtype_valid(want))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "invalid dtype %lld", (long long)want);
        dt = (enum td_dtype)want;
    }
    inf->compute_dtype = a->in[0]->dtype; /* CAST/CLONE read their input as it is */
    inf->n_out = 1;
    if (td_meta_contiguous(out, dt, a->in[0]->ndim, a->in[0]->sizes, st))
        return st->code;
    if (a->op == TD_OP_CAST) /* torch's to(dtype) keeps the layout (its infer_dense_strides); CLONE is row-major */
        iterator_layout(a, out);
    return TD_CODE_OK;
}

static enum td_code infer_copy(const struct td_op_args *a, struct td_infer *inf, struct td_status *st)
{
    if (td__need_inputs(a, a->op == TD_OP_COPY_ ? 2 : 1, a->op == TD_OP_COPY_ ? 2 : 1, st))
        return st->code;
    const struct td_meta *dst = a->in[0];
    inf->n_out = 0;
    inf->compute_dtype = dst->dtype;
    if (a->op == TD_OP_FILL_)
        return td__need_attrs(a, TD_N_FILL_, st) ? st->code : td__check_scalar(a->attrs + TD_A_FILL__VALUE, st);
    int64_t sizes[TD_MAX_DIMS];
    int nd = dst->ndim;
    memcpy(sizes, dst->sizes, sizeof(int64_t) * nd);
    if (td__broadcast(sizes, &nd, a->in[1], st))
        return st->code;
    if (nd != dst->ndim || memcmp(sizes, dst->sizes, sizeof(int64_t) * nd)) {
        char b1[200], b2[200];
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "output with shape %s doesn't match the broadcast shape %s",
                             td_meta_shape_str(dst, b1, sizeof b1), td__sizes_str(sizes, nd, b2, sizeof b2));
    }
    return TD_CODE_OK;
}

static enum td_code infer_create(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_A_CREATE_SIZE, st))
        return st->code;
    int64_t dt = a->attrs[TD_A_CREATE_DTYPE], nd = a->attrs[TD_A_CREATE_NDIM];
    if (!td_dtype_valid(dt))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "invalid dtype %lld", (long long)dt);
    if (nd < 0 || nd > TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims, got %lld",
                             TD_MAX_DIMS, (long long)nd);
    static const uint8_t extra[TD_OP_COUNT] = {
        [TD_OP_FULL] = TD_N_FULL_TAIL, [TD_OP_ARANGE] = TD_N_ARANGE_TAIL,
        [TD_OP_LINSPACE] = TD_N_LINSPACE_TAIL, [TD_OP_RANDINT] = TD_N_RANDINT_TAIL,
    };
    if (td__need_attrs(a, TD_A_CREATE_SIZE + (uint32_t)nd + extra[a->op], st))
        return st->code;
    const int64_t *x = a->attrs + TD_A_CREATE_SIZE + nd; /* the row's own attributes follow the sizes */
    if ((a->op == TD_OP_FULL && td__check_scalar(x + TD_A_FULL_FILL_VALUE_TAIL, st)) ||
        (a->op == TD_OP_ARANGE &&
         (td__check_scalar(x + TD_A_ARANGE_START_TAIL, st) || td__check_scalar(x + TD_A_ARANGE_STEP_TAIL, st))))
        return st->code;
    if ((a->op == TD_OP_RAND || a->op == TD_OP_RANDN) && !td_dtype_is_float(dt))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for '%s'",
                             a->op == TD_OP_RAND ? "check_uniform_bounds" : "normal_kernel_cpu",
                             td_dtype_torch_name(dt));
    if (a->op == TD_OP_RANDINT && x[TD_A_RANDINT_LOW_TAIL] >= x[TD_A_RANDINT_HIGH_TAIL])
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "random_ expects 'from' to be less than 'to', but got from=%lld >= to=%lld",
                             (long long)x[TD_A_RANDINT_LOW_TAIL], (long long)x[TD_A_RANDINT_HIGH_TAIL]);
    if ((a->op == TD_OP_ARANGE || a->op == TD_OP_LINSPACE) && nd != 1)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: output must be 1-D", td_op_name(a->op));
    if (a->op == TD_OP_EYE && nd != 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "eye: output must be 2-D");
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(dt);
    return td_meta_contiguous(out, dt, (int)nd, a->attrs + TD_A_CREATE_SIZE, st);
}

/* SET_DEFAULT_DTYPE (a CTRL row, called from infer_ctrl): attr 0 a floating dtype. */
static enum td_code infer_set_default_dtype(const struct td_op_args *a, struct td_status *st)
{
    if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_N_SET_DEFAULT_DTYPE, st))
        return st->code;
    int64_t dt = a->attrs[TD_A_SET_DEFAULT_DTYPE_DTYPE];
    if (!td_dtype_valid(dt) || !td_dtype_is_float((enum td_dtype)dt))
        return td_status_set(st, TD_CODE_FAILED_PRECONDITION,
                             "only floating-point types are supported as the default type");
    return TD_CODE_OK;
}

/* OPEN (a CTRL row): the view the opener describes, on a storage of storage_nbytes
 * bytes (the daemon checks that against the real storage, daemon/share.c). */
static enum td_code infer_open(const struct td_op_args *a, struct td_meta *o, struct td_infer *inf,
                               struct td_status *st)
{
    if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_A_OPEN_SIZE, st))
        return st->code;
    int64_t nd = a->attrs[TD_A_OPEN_NDIM], dt = a->attrs[TD_A_OPEN_DTYPE];
    if (nd < 0 || nd > TD_MAX_DIMS ||
        td__need_attrs(a, TD_A_OPEN_SIZE + (uint32_t)nd + TD_A_OPEN_STRIDE_TAIL + (uint32_t)nd, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "open: invalid number of dims %lld", (long long)nd);
    if (!td_dtype_valid(dt))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "open: invalid dtype %lld", (long long)dt);
    memset(o, 0, sizeof *o);
    o->dtype = (uint8_t)dt;
    o->ndim = (uint8_t)nd;
    o->offset = a->attrs[TD_A_OPEN_STORAGE_OFFSET];
    o->storage_nbytes = a->attrs[TD_A_OPEN_STORAGE_NBYTES];
    const int64_t *size = a->attrs + TD_A_OPEN_SIZE, *stride = size + nd + TD_A_OPEN_STRIDE_TAIL;
    for (int i = 0; i < nd; i++) {
        o->sizes[i] = size[i];
        o->strides[i] = stride[i];
        if (size[i] < 0 || stride[i] < 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "open: negative size or stride");
    }
    if (o->storage_nbytes < 0 || !td_meta_check_bounds(o))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "open: the view lies outside its storage of %lld bytes",
                             (long long)o->storage_nbytes);
    inf->n_out = 1;
    inf->compute_dtype = (enum td_dtype)dt;
    return TD_CODE_OK;
}

static enum td_code infer_ctrl(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                               struct td_status *st)
{
    inf->n_out = 0;
    if (a->op == TD_OP_NONE)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "op 0 (none) is not executable");
    if (a->op == TD_OP_MANUAL_SEED) { /* generators (all) may be left out */
        if (td__need_attrs(a, TD_A_MANUAL_SEED_SEED + 1, st))
            return st->code;
        if (a->n_attr > TD_A_MANUAL_SEED_GENERATORS && (uint64_t)a->attrs[TD_A_MANUAL_SEED_GENERATORS] > 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "manual_seed: generators must be 0 (all) or 1 (devices)");
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_SET_DEFAULT_DTYPE)
        return infer_set_default_dtype(a, st);
    if (a->op == TD_OP_SET_NUM_THREADS) {
        if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_N_SET_NUM_THREADS, st))
            return st->code;
        int64_t n = a->attrs[TD_A_SET_NUM_THREADS_N];
        if (n < 1 || n > TD_MAX_THREADS)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "set_num_threads: %lld threads (1 to %d)",
                                 (long long)n, TD_MAX_THREADS);
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_RELEASE)
        return TD_CODE_OK;
    if (a->op == TD_OP_EMPTY_CACHE)
        return td__need_inputs(a, 0, 0, st);
    if (a->op == TD_OP_PROFILE) {
        if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_N_PROFILE, st))
            return st->code;
        if ((uint64_t)a->attrs[TD_A_PROFILE_MODE] > 2)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "profile: mode must be 0 (stop), 1 (start) or 2 (read)");
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_LOCATE)
        return td__need_inputs(a, 1, 1, st);
    if (a->op == TD_OP_GRAPH_DEFINE) { /* the body itself: daemon/graph.c */
        if (td__need_attrs(a, TD_N_GRAPH_DEFINE, st))
            return st->code;
        const int64_t *w = a->attrs;
        /* each bounded before they are added: any words may arrive here */
        if (w[TD_A_GRAPH_DEFINE_N_INPUTS] < 0 || w[TD_A_GRAPH_DEFINE_N_INPUTS] > 255 ||
            w[TD_A_GRAPH_DEFINE_N_OUTPUTS] < 0 || w[TD_A_GRAPH_DEFINE_N_OUTPUTS] >= (1 << 24) ||
            w[TD_A_GRAPH_DEFINE_N_CONSTS] < a->n_in || w[TD_A_GRAPH_DEFINE_N_CONSTS] >= (1 << 24) ||
            w[TD_A_GRAPH_DEFINE_N_INPUTS] + w[TD_A_GRAPH_DEFINE_N_OUTPUTS] + w[TD_A_GRAPH_DEFINE_N_CONSTS] >= (1 << 24))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "graph_define: %lld inputs, %lld outputs and %lld "
                                 "constants with %u tensors named", (long long)w[TD_A_GRAPH_DEFINE_N_INPUTS],
                                 (long long)w[TD_A_GRAPH_DEFINE_N_OUTPUTS], (long long)w[TD_A_GRAPH_DEFINE_N_CONSTS],
                                 a->n_in);
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_GRAPH_CONSTS || a->op == TD_OP_GRAPH_RUN)
        return td__need_attrs(a, 1, st);
    if (a->op == TD_OP_GRAPH_FREE)
        return td__need_inputs(a, 0, 0, st) || td__need_attrs(a, 1, st) ? st->code : TD_CODE_OK;
    if (a->op == TD_OP_SET_DEVICE || a->op == TD_OP_DEVICE_QUERY || a->op == TD_OP_DEVICE_CTRL) {
        if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, a->op == TD_OP_SET_DEVICE ? 1 : 2, st))
            return st->code;
        if (a->attrs[0] < 0 || a->attrs[0] > TD_MAX_DEVICES)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_STREAM_CTRL || a->op == TD_OP_EVENT_CTRL) {
        if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_N_STREAM_CTRL, st))
            return st->code;
        if (a->attrs[0] < 0 || a->attrs[0] > TD_MAX_DEVICES || (a->op == TD_OP_STREAM_CTRL && a->attrs[0] == 0))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "CUDA error: invalid device ordinal");
        if (a->attrs[2] < 0 || a->attrs[3] < 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: negative id",
                                 a->op == TD_OP_STREAM_CTRL ? "stream" : "event");
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_RECORD_STREAM) {
        if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_RECORD_STREAM, st))
            return st->code;
        if (a->in[0]->device == TD_DEVICE_CPU)
            return td_status_set(st, TD_CODE_UNIMPLEMENTED,
                                 "Could not run 'aten::record_stream' with arguments from the 'CPU' backend.");
        if (a->attrs[TD_A_RECORD_STREAM_STREAM] < 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "record_stream: negative stream id");
        return TD_CODE_OK;
    }
    if (a->op == TD_OP_FORK_GRANT)
        return td__need_inputs(a, 0, 0, st);
    if (a->op == TD_OP_REVOKE)
        return td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_N_REVOKE, st) ? st->code : TD_CODE_OK;
    if (a->op == TD_OP_SHARE)
        return td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_SHARE, st) ? st->code : TD_CODE_OK;
    if (a->op == TD_OP_SHARE_RESERVE)
        return td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_N_SHARE_RESERVE, st) ? st->code : TD_CODE_OK;
    if (a->op == TD_OP_SHARE_INTO)
        return td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_SHARE_INTO, st) ? st->code : TD_CODE_OK;
    if (a->op == TD_OP_OPEN)
        return infer_open(a, out, inf, st);
    /* UPLOAD and READ address the contiguous bytes of their input (the same words, op.c) */
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, a->op == TD_OP_UPLOAD ? TD_N_UPLOAD : TD_N_READ, st))
        return st->code;
    const struct td_meta *m = a->in[0];
    int64_t nbytes, off = a->attrs[TD_A_READ_OFFSET], len = a->attrs[TD_A_READ_LENGTH];
    if (td_mul_overflow(td_meta_numel(m), (int64_t)td_dtype_size(m->dtype), &nbytes))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: tensor too large", td_op_name(a->op));
    if (!td_meta_is_contiguous(m))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: tensor must be contiguous", td_op_name(a->op));
    if (off < 0 || len < 0 || off > nbytes || len > nbytes - off)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "%s: byte range [%lld, +%lld) outside tensor of %lld bytes",
                             td_op_name(a->op), (long long)off, (long long)len, (long long)nbytes);
    /* an empty READ returns nothing a client could want; clients never send one */
    if (a->op == TD_OP_READ && len == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "read: empty byte range at %lld", (long long)off);
    return TD_CODE_OK;
}

static enum td_code infer_family(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    switch (td_op_table[a->op].family) {
    case TD_FAM_CTRL: return infer_ctrl(a, out, inf, st);
    case TD_FAM_CREATE: return infer_create(a, out, inf, st);
    case TD_FAM_BINARY: return infer_binary(a, out, inf, st);
    case TD_FAM_UNARY: return infer_unary(a, out, inf, st);
    case TD_FAM_WHERE: return infer_where(a, out, inf, st);
    case TD_FAM_CLAMP: return infer_clamp(a, out, inf, st);
    case TD_FAM_CAST: return infer_cast(a, out, inf, st);
    case TD_FAM_COPY:
    case TD_FAM_FILL: return infer_copy(a, inf, st);
    case TD_FAM_REDUCE: return td__infer_reduce(a, out, inf, st);
    case TD_FAM_MATMUL: return td__infer_matmul(a, out, inf, st);
    case TD_FAM_VIEW: return td__infer_view(a, out, inf, st);
    case TD_FAM_CAT: return td__infer_cat(a, out, inf, st);
    /* math (shape_math.c) */
    case TD_FAM_MATH_UNARY:
    case TD_FAM_MATH_BINARY:
    case TD_FAM_MATH_TERNARY: return td__infer_math_elem(a, out, inf, st);
    case TD_FAM_SOFTMAX:
    case TD_FAM_CUMULATIVE: return td__infer_math_dim(a, out, inf, st);
    case TD_FAM_STAT: return td__infer_math_stat(a, out, inf, st);
    /* linear algebra (shape_linalg.c, shape_linalg_packed.c) */
    case TD_FAM_LINALG: return td__infer_linalg(a, out, inf, st);
    /* indexing and sorting (shape_index.c) */
    case TD_FAM_INDEX: return td__infer_index(a, out, inf, st);
    case TD_FAM_SORT: return td__infer_sort(a, out, inf, st);
    /* data movement and random sampling (shape_move.c, shape_random.c) */
    case TD_FAM_MOVE: return td__infer_move(a, out, inf, st);
    case TD_FAM_RANDOM: return td__infer_random(a, out, inf, st);
    case TD_FAM_LINALG_PACKED: return td__infer_linalg_packed(a, out, inf, st);
    case TD_FAM_FFT: return td__infer_fft(a, out, inf, st);
    case TD_FAM_LINALG_LU: return td__infer_linalg_lu(a, out, inf, st);
    case TD_FAM_OPTIM: return td__infer_optim(a, inf, st);
    case TD_FAM_CONV: return td__infer_conv(a, out, inf, st);
    case TD_FAM_LOSS: return td__infer_loss(a, out, inf, st);
    }
    return td_status_set(st, TD_CODE_INTERNAL, "op %u has no shape family", a->op);
}

int td_meta_n_dst(const struct td_op_args *a)
{
    return (a->flags & TD_RF_OUT) && a->op < TD_OP_COUNT ? td_op_table[a->op].n_out : 0;
}

/* TD_RF_OUT: infers the op on its operands, then holds each destination to the result's
 * sizes and dtype.  Views and stream controls have nothing to write into. */
static enum td_code infer_into(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                               struct td_status *st)
{
    int n_dst = td_meta_n_dst(a);
    struct td_op_args ops = *a;
    if (n_dst < 1 || a->n_in < n_dst || (a->flags & TD_RF_INPLACE))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: no out= form with %u inputs", td_op_name(a->op),
                             a->n_in);
    ops.n_in = (uint16_t)(a->n_in - n_dst);
    ops.flags = a->flags & ~TD_RF_OUT;
    if (td_meta_infer(&ops, out, inf, st))
        return st->code;
    if (inf->out_is_view || inf->n_out != n_dst)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: no out= form", td_op_name(a->op));
    for (int j = 0; j < n_dst; j++) {
        const struct td_meta *d = a->in[ops.n_in + j];
        if (!td_meta_check_bounds(d))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: out= tensor %d lies outside its storage",
                                 td_op_name(a->op), j);
        if (d->dtype != out[j].dtype || d->ndim != out[j].ndim ||
            memcmp(d->sizes, out[j].sizes, sizeof(int64_t) * d->ndim))
            return td_status_set(st, TD_CODE_ABORTED, "%s: out= tensor %d is not shaped like the result",
                                 td_op_name(a->op), j);
    }
    return TD_CODE_OK;
}

const char *td_device_str(uint8_t device, char *buf, int len)
{
    if (device == 0)
        snprintf(buf, (size_t)len, "cpu");
    else
        snprintf(buf, (size_t)len, "cuda:%d", device - 1);
    return buf;
}

enum td_code td_meta_op_device(const struct td_op_args *a, uint8_t *device, struct td_status *st)
{
    *device = a->device;
    if (a->n_in == 0)
        return TD_CODE_OK;
    *device = a->in[0]->device;
    if (td_op_table[a->op].family == TD_FAM_COPY)
        return TD_CODE_OK; /* copy_ is how tensors move: into its destination's device */
    bool scalars = td_op_table[a->op].flags & TD_F_ELEMENTWISE;
    int first = -1;
    for (int i = 0; i < a->n_in; i++) {
        const struct td_meta *m = a->in[i];
        if (scalars && m->device == 0 && m->ndim == 0)
            continue;
        if (first < 0) {
            first = i;
            *device = m->device;
        } else if (m->device != *device) {
            char x[16], y[16];
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Expected all tensors to be on the same device, but found at least two devices, %s "
                                 "and %s!",
                                 td_device_str(*device, x, sizeof x), td_device_str(m->device, y, sizeof y));
        }
    }
    return TD_CODE_OK;
}

static enum td_code infer_placed(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st);

enum td_code td_meta_infer(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st)
{
    uint8_t dev = TD_DEVICE_CPU;
    if (a->op < TD_OP_COUNT && td_meta_op_device(a, &dev, st))
        return st->code;
    enum td_code c = infer_placed(a, out, inf, st);
    inf->device = dev;
    if (c == TD_CODE_OK)
        for (int j = 0; j < inf->n_out; j++)
            out[j].device = dev;
    return c;
}

/* td_meta_infer once the device is known: the shapes and dtypes. */
static enum td_code infer_placed(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    memset(inf, 0, sizeof *inf);
    if (a->op >= TD_OP_COUNT || (td_op_table[a->op].flags & TD_F_DEPRECATED))
        return td_status_set(st, TD_CODE_UNIMPLEMENTED, "unknown op %u", a->op);
    if (a->flags & TD_RF_OUT)
        return infer_into(a, out, inf, st);
    if ((a->flags & TD_RF_INPLACE) && (a->n_in < 1 || !(td_op_table[a->op].flags & TD_F_INPLACE_OK)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s has no in-place variant", td_op_name(a->op));
    for (int i = 0; i < a->n_in; i++)
        if (!td_meta_check_bounds(a->in[i]))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: input %d lies outside its storage",
                                 td_op_name(a->op), i);
    /* the complex gate: only TD_F_COMPLEX rows see or make complex tensors */
    if (td__complex_gate_inputs(a, st) || infer_family(a, out, inf, st))
        return st->code;
    return td__complex_gate_outputs(a, out, inf->n_out, st);
}
