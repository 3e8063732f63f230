/*
 * shape_view.c — meta inference for reductions, matmul, cat and the view family.
 * View rules produce metas that alias input 0's storage; td__infer_view proves every one
 * in bounds (td_meta_check_bounds) before returning it, and the daemon checks again.
 */
#include <string.h>

#include "shape_internal.h"

/* ---- reductions ---- */

/* The name PyTorch's messages use (max/min for the (values, indices) forms). */
static const char *reduce_name(unsigned op)
{
    return op == TD_OP_MAX_DIM ? "max" : op == TD_OP_MIN_DIM ? "min" : td_op_name(op);
}

static enum td_dtype reduce_dtype(const struct td_op_args *a, enum td_dtype in, struct td_status *st)
{
    int64_t want = a->attrs[2];
    if (want >= 0 && !td_dtype_valid(want)) {
        td_status_set(st, TD_CODE_INVALID_ARGUMENT, "invalid dtype %lld", (long long)want);
        return in;
    }
    switch (a->op) {
    case TD_OP_SUM:
    case TD_OP_PROD:
        if (want >= 0)
            return (enum td_dtype)want;
        return td_dtype_is_inexact(in) ? in : TD_DTYPE_INT64;
    case TD_OP_MEAN: {
        enum td_dtype d = want >= 0 ? (enum td_dtype)want : in;
        if (!td_dtype_is_inexact(d))
            td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                          "mean(): could not infer output dtype. Input dtype must be either a floating "
                          "point or complex dtype. Got: %s", td_dtype_torch_name(d));
        return d;
    }
    case TD_OP_ALL:
    case TD_OP_ANY: return in == TD_DTYPE_UINT8 ? TD_DTYPE_UINT8 : TD_DTYPE_BOOL;
    case TD_OP_ARGMAX:
    case TD_OP_ARGMIN: return TD_DTYPE_INT64;
    default: return in; /* AMAX, AMIN, MAX_DIM, MIN_DIM */
    }
}

enum td_code td__infer_reduce(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, 4, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    uint64_t mask = (uint64_t)a->attrs[0];
    bool keepdim = a->attrs[1] != 0, flatten = a->attrs[3] != 0;
    int nd = x->ndim;
    uint64_t full = nd ? ((1ull << nd) - 1) : 1;
    if (mask & ~full)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "%s: reduction dims out of range for a %d-d tensor",
                             td_op_name(a->op), nd);
    bool two_out = a->op == TD_OP_MAX_DIM || a->op == TD_OP_MIN_DIM;
    if (two_out && __builtin_popcountll(mask) != 1)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expects exactly one dim", td_op_name(a->op));
    if (flatten)
        mask = full;
    enum td_dtype odt = reduce_dtype(a, x->dtype, st);
    if (st->code)
        return st->code;
    int64_t sizes[TD_MAX_DIMS];
    int ond = 0;
    bool empty_reduced = false;
    for (int d = 0; d < nd; d++) {
        bool r = (mask >> d) & 1;
        if (r && x->sizes[d] == 0)
            empty_reduced = true;
        if (!r)
            sizes[ond++] = x->sizes[d];
        else if (keepdim)
            sizes[ond++] = 1;
    }
    bool needs_elem = a->op == TD_OP_AMAX || a->op == TD_OP_AMIN || a->op == TD_OP_ARGMAX ||
                      a->op == TD_OP_ARGMIN || two_out;
    if (needs_elem && (flatten || nd == 0 || mask == full) && td_meta_numel(x) == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                             "the reduction dim with the 'dim' argument.", reduce_name(a->op));
    for (int d = 0; needs_elem && empty_reduced && d < nd; d++)
        if (((mask >> d) & 1) && x->sizes[d] == 0)
            return td_status_set(st, TD_CODE_OUT_OF_RANGE, "%s(): Expected reduction dim %d to have non-zero size.",
                                 reduce_name(a->op), d);
    /* compute in the output dtype for sums/means, in the input dtype otherwise */
    bool acc = a->op == TD_OP_SUM || a->op == TD_OP_PROD || a->op == TD_OP_MEAN;
    inf->compute_dtype = td__compute_dtype(acc ? odt : x->dtype);
    inf->n_out = two_out ? 2 : 1;
    if (td_meta_contiguous(&out[0], odt, ond, sizes, st))
        return st->code;
    return two_out ? td_meta_contiguous(&out[1], TD_DTYPE_INT64, ond, sizes, st) : TD_CODE_OK;
}

/* ---- matmul ---- */

static enum td_code matmul_dims_err(const struct td_meta *x, const struct td_meta *y, struct td_status *st)
{
    int64_t xr = x->ndim >= 2 ? x->sizes[x->ndim - 2] : 1, xc = x->sizes[x->ndim - 1];
    int64_t yr = y->ndim >= 2 ? y->sizes[y->ndim - 2] : y->sizes[0], yc = y->ndim >= 2 ? y->sizes[y->ndim - 1] : 1;
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)",
                         (long long)xr, (long long)xc, (long long)yr, (long long)yc);
}

enum td_code td__infer_matmul(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st)
{
    if (td__need_inputs(a, 2, 2, st))
        return st->code;
    const struct td_meta *x = a->in[0], *y = a->in[1];
    if (a->op == TD_OP_MM && (x->ndim != 2 || y->ndim != 2))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s must be a matrix", x->ndim != 2 ? "self" : "mat2");
    if (a->op == TD_OP_BMM && (x->ndim != 3 || y->ndim != 3))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "batch%d must be a 3D tensor", x->ndim != 3 ? 1 : 2);
    if (x->ndim == 0 || y->ndim == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "both arguments to matmul need to be at least 1D, but they are %dD and %dD",
                             x->ndim, y->ndim);
    if (x->dtype != y->dtype)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "expected scalar type %s but found %s", td_dtype_torch_name(x->dtype),
                             td_dtype_torch_name(y->dtype));
    if (x->dtype == TD_DTYPE_BOOL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
    int64_t k_x = x->sizes[x->ndim - 1], k_y = y->ndim >= 2 ? y->sizes[y->ndim - 2] : y->sizes[0];
    if (x->ndim == 1 && y->ndim == 1 && k_x != k_y)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "inconsistent tensor size, expected tensor [%lld] and src [%lld] to have the "
                             "same number of elements, but got %lld and %lld elements respectively",
                             (long long)k_x, (long long)k_y, (long long)k_x, (long long)k_y);
    if (k_x != k_y)
        return matmul_dims_err(x, y, st);
    if (a->op == TD_OP_BMM && x->sizes[0] != y->sizes[0])
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "batch1 and batch2 must have same number of batches, got %lld and %lld",
                             (long long)x->sizes[0], (long long)y->sizes[0]);
    /* batch dims broadcast; a 1-D operand contributes no batch and no row/col */
    struct td_meta bx = *x, by = *y;
    bx.ndim = x->ndim > 2 ? x->ndim - 2 : 0;
    by.ndim = y->ndim > 2 ? y->ndim - 2 : 0;
    int64_t sizes[TD_MAX_DIMS];
    int nd = bx.ndim;
    memcpy(sizes, bx.sizes, sizeof(int64_t) * nd);
    if (td__broadcast(sizes, &nd, &by, st))
        return st->code;
    if (x->ndim >= 2)
        sizes[nd++] = x->sizes[x->ndim - 2];
    if (y->ndim >= 2)
        sizes[nd++] = y->sizes[y->ndim - 1];
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(x->dtype);
    return td_meta_contiguous(out, x->dtype, nd, sizes, st);
}

/* ---- cat ---- */

static bool legacy_empty(const struct td_meta *m) { return m->ndim == 1 && m->sizes[0] == 0; }

enum td_code td__infer_cat(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st)
{
    if (a->n_in == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "torch.cat(): expected a non-empty list of Tensors");
    if (td__need_attrs(a, 1, st))
        return st->code;
    const struct td_meta *ref = NULL;
    enum td_dtype dt = a->in[0]->dtype;
    for (int i = 0; i < a->n_in; i++) {
        dt = td_promote_types(dt, a->in[i]->dtype);
        if (!ref && !legacy_empty(a->in[i]))
            ref = a->in[i];
    }
    if (!ref)
        ref = a->in[0];
    if (ref->ndim == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "zero-dimensional tensor (at position 0) cannot be concatenated");
    int64_t dim = a->attrs[0];
    if (td_meta_wrap_dim(&dim, ref->ndim, st))
        return st->code;
    int64_t sizes[TD_MAX_DIMS];
    memcpy(sizes, ref->sizes, sizeof sizes);
    sizes[dim] = 0;
    for (int i = 0; i < a->n_in; i++) {
        const struct td_meta *m = a->in[i];
        if (legacy_empty(m) && m != ref)
            continue;
        if (m->ndim != ref->ndim)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Tensors must have same number of dimensions: got %d and %d", ref->ndim, m->ndim);
        for (int d = 0; d < m->ndim; d++)
            if (d != dim && m->sizes[d] != ref->sizes[d])
                return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                     "Sizes of tensors must match except in dimension %lld. Expected size %lld "
                                     "but got size %lld for tensor number %d in the list.",
                                     (long long)dim, (long long)ref->sizes[d], (long long)m->sizes[d], i);
        sizes[dim] += m->sizes[dim];
    }
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(dt);
    return td_meta_contiguous(out, dt, ref->ndim, sizes, st);
}

/* ---- views ---- */

/* PyTorch's computeStride: strides for viewing (sizes, strides) as new sizes without a
 * copy, or false when a new dim would span two non-contiguous chunks.  *overflow is set
 * when the strides of an empty view would not fit (sizes multiply past TD_MAX_NUMEL);
 * numel equal on both sides bounds every other product by the input's extent. */
static bool view_strides(const struct td_meta *x, const int64_t *ns, int nnd, int64_t *out, bool *overflow)
{
    *overflow = false;
    if (td_meta_numel(x) == 0 || x->ndim == 0) {
        int64_t s = 1;
        for (int i = nnd - 1; i >= 0; i--) {
            out[i] = s;
            if (td_mul_overflow(s, ns[i] > 1 ? ns[i] : 1, &s) || s > TD_MAX_NUMEL)
                return !(*overflow = true);
        }
        return true;
    }
    int view_d = nnd - 1;
    int64_t chunk_base_stride = x->strides[x->ndim - 1], tensor_numel = 1, view_numel = 1;
    for (int td = x->ndim - 1; td >= 0; td--) {
        int64_t span; /* overflow: no stride (at most TD_MAX_NUMEL) can continue the chunk */
        tensor_numel *= x->sizes[td]; /* a factor of numel(x), which is checked */
        bool ovf = td_mul_overflow(tensor_numel, chunk_base_stride, &span);
        if (td == 0 || (x->sizes[td - 1] != 1 && (ovf || x->strides[td - 1] != span))) {
            while (view_d >= 0 && (view_numel < tensor_numel || ns[view_d] == 1)) {
                if (td_mul_overflow(view_numel, chunk_base_stride, &out[view_d]) ||
                    td_mul_overflow(view_numel, ns[view_d], &view_numel))
                    return !(*overflow = true);
                view_d--;
            }
            if (view_numel != tensor_numel)
                return false;
            if (td > 0) {
                chunk_base_stride = x->strides[td - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

static enum td_code infer_view_sizes(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    int64_t nd = a->attrs[0];
    if (nd < 0 || nd > TD_MAX_DIMS || td__need_attrs(a, 1 + (uint32_t)nd, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "view: invalid number of dims %lld", (long long)nd);
    int64_t sizes[TD_MAX_DIMS], known = 1, infer = -1, numel = td_meta_numel(x);
    for (int i = 0; i < nd; i++) {
        sizes[i] = a->attrs[1 + i];
        if (sizes[i] == -1) {
            if (infer >= 0)
                return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "only one dimension can be inferred");
            infer = i;
        } else if (sizes[i] < 0) {
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "invalid shape dimension %lld", (long long)sizes[i]);
        } else {
            known = sizes[i] && known <= TD_MAX_NUMEL / sizes[i] ? known * sizes[i] : (sizes[i] ? TD_MAX_NUMEL + 1 : 0);
        }
    }
    if (infer >= 0 && known > 0 && numel % known == 0)
        sizes[infer] = numel / known;
    char b[200];
    if ((infer >= 0 && (known == 0 || numel % known)) || (infer < 0 && known != numel))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "shape '%s' is invalid for input of size %lld",
                             td__sizes_str(a->attrs + 1, (int)nd, b, sizeof b), (long long)numel);
    memcpy(o->sizes, sizes, sizeof(int64_t) * nd);
    o->ndim = (uint8_t)nd;
    bool overflow, ok = view_strides(x, sizes, (int)nd, o->strides, &overflow);
    if (overflow)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "view: shape '%s' is too large (its strides pass the 2^40-element limit)",
                             td__sizes_str(sizes, (int)nd, b, sizeof b));
    if (!ok)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "view size is not compatible with input tensor's size and stride (at least one "
                             "dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
    return TD_CODE_OK;
}

static enum td_code infer_as_strided(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    int64_t nd = a->attrs[0];
    if (nd < 0 || nd > TD_MAX_DIMS || td__need_attrs(a, 2 + 2 * (uint32_t)nd, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "as_strided: invalid number of dims %lld", (long long)nd);
    o->ndim = (uint8_t)nd;
    o->offset = a->attrs[1];
    for (int i = 0; i < nd; i++) {
        o->sizes[i] = a->attrs[2 + i];
        o->strides[i] = a->attrs[2 + nd + i];
        if (o->sizes[i] < 0 || o->strides[i] < 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "as_strided: negative size or stride");
    }
    if (!td_meta_check_bounds(o)) {
        char b1[200], b2[200];
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "setStorage: sizes %s, strides %s, storage offset %lld, and itemsize %d are out of "
                             "bounds for storage of size %lld",
                             td__sizes_str(o->sizes, o->ndim, b1, sizeof b1), td__sizes_str(o->strides, o->ndim, b2, sizeof b2),
                             (long long)o->offset, (int)td_dtype_size(o->dtype), (long long)o->storage_nbytes);
    }
    return TD_CODE_OK;
}

static enum td_code infer_permute(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    int64_t nd = a->attrs[0];
    if (nd != x->ndim || td__need_attrs(a, 1 + (uint32_t)x->ndim, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "permute(sparse_coo): number of dimensions in the tensor input does not match the "
                             "length of the desired ordering of dimensions i.e. input.dim() = %d is not equal "
                             "to len(dims) = %lld", x->ndim, (long long)nd);
    uint32_t seen = 0;
    for (int i = 0; i < nd; i++) {
        int64_t d = a->attrs[1 + i];
        if (td_meta_wrap_dim(&d, x->ndim, st))
            return st->code;
        if (seen & (1u << d))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "permute(): duplicate dims are not allowed.");
        seen |= 1u << d;
        o->sizes[i] = x->sizes[d];
        o->strides[i] = x->strides[d];
    }
    return TD_CODE_OK;
}

static enum td_code infer_expand(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    int64_t nd = a->attrs[0];
    if (nd < 0 || nd > TD_MAX_DIMS || td__need_attrs(a, 1 + (uint32_t)nd, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "expand: invalid number of dims %lld", (long long)nd);
    char b1[200], b2[200];
    if (nd < x->ndim)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "expand(torch.%sTensor{%s}, size=%s): the number of sizes provided (%lld) "
                             "must be greater or equal to the number of dimensions in the tensor (%d)",
                             td_dtype_torch_name(x->dtype), td_meta_shape_str(x, b1, sizeof b1),
                             td__sizes_str(a->attrs + 1, (int)nd, b2, sizeof b2), (long long)nd, x->ndim);
    o->ndim = (uint8_t)nd;
    for (int i = (int)nd - 1; i >= 0; i--) {
        int xi = i - ((int)nd - x->ndim);
        int64_t want = a->attrs[1 + i];
        if (xi < 0) {
            if (want < 0)
                return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                     "The expanded size of the tensor (%lld) isn't allowed in a leading, "
                                     "non-existing dimension %d", (long long)want, i);
            o->sizes[i] = want;
            o->strides[i] = 0;
            continue;
        }
        int64_t have = x->sizes[xi];
        if (want == -1)
            want = have;
        if (want != have && have != 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "The expanded size of the tensor (%lld) must match the existing size (%lld) at "
                                 "non-singleton dimension %d.  Target sizes: %s.  Tensor sizes: %s",
                                 (long long)want, (long long)have, i, td__sizes_str(a->attrs + 1, (int)nd, b2, sizeof b2),
                                 td_meta_shape_str(x, b1, sizeof b1));
        if (want < 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "expand: invalid size %lld", (long long)want);
        o->sizes[i] = want;
        o->strides[i] = want == have ? x->strides[xi] : 0;
    }
    return TD_CODE_OK;
}

/* Removes dim d of o in place. */
static void drop_dim(struct td_meta *o, int d)
{
    memmove(o->sizes + d, o->sizes + d + 1, sizeof(int64_t) * (o->ndim - d - 1));
    memmove(o->strides + d, o->strides + d + 1, sizeof(int64_t) * (o->ndim - d - 1));
    o->ndim--;
}

static enum td_code infer_slice(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    int64_t dim = a->attrs[0], start = a->attrs[1], end = a->attrs[2], step = a->attrs[3];
    if (o->ndim == 0)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "slice() cannot be applied to a 0-dim tensor.");
    if (td_meta_wrap_dim(&dim, o->ndim, st))
        return st->code;
    if (step <= 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "slice step must be positive");
    int64_t n = o->sizes[dim];
    /* Python slice clamping, as PyTorch does it */
    if (start < 0)
        start = start + n < 0 ? 0 : start + n;
    if (end < 0)
        end = end + n < 0 ? 0 : end + n;
    if (start > n)
        start = n;
    if (end > n)
        end = n;
    if (end < start)
        end = start;
    /* ceil((end - start) / step) without forming end - start + step, which overflows for
     * steps near INT64_MAX */
    int64_t len = end > start ? (end - start - 1) / step + 1 : 0, stride;
    if (td_muladd_overflow(&o->offset, start, o->strides[dim]))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "slice: storage offset overflows (start %lld)",
                             (long long)start);
    if (td_mul_overflow(o->strides[dim], step, &stride) || stride > TD_MAX_NUMEL) {
        /* a dim of 0 or 1 elements never steps, so any stride is right: PyTorch's x[::2**62]
         * is one element, not an error (its stride would wrap there) */
        if (len > 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "slice: stride %lld times step %lld overflows",
                                 (long long)o->strides[dim], (long long)step);
        stride = o->strides[dim];
    }
    o->sizes[dim] = len;
    o->strides[dim] = stride;
    return TD_CODE_OK;
}

static enum td_code infer_select(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    int64_t dim = a->attrs[0], idx = a->attrs[1];
    if (o->ndim == 0)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "select() cannot be applied to a 0-dim tensor.");
    if (td_meta_wrap_dim(&dim, o->ndim, st))
        return st->code;
    int64_t n = o->sizes[dim];
    if (idx < -n || idx >= n)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "index %lld is out of bounds for dimension %lld with size %lld",
                             (long long)idx, (long long)dim, (long long)n);
    if (idx < 0)
        idx += n;
    if (td_muladd_overflow(&o->offset, idx, o->strides[dim])) /* not for checked inputs: defensive */
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "select: storage offset overflows");
    drop_dim(o, (int)dim);
    return TD_CODE_OK;
}

static enum td_code infer_dims_op(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    switch (a->op) {
    case TD_OP_TRANSPOSE: {
        int64_t d0 = a->attrs[0], d1 = a->attrs[1];
        if (td_meta_wrap_dim(&d0, o->ndim, st) || td_meta_wrap_dim(&d1, o->ndim, st))
            return st->code;
        if (o->ndim == 0)
            return TD_CODE_OK;
        int64_t s = o->sizes[d0], t = o->strides[d0];
        o->sizes[d0] = o->sizes[d1], o->strides[d0] = o->strides[d1];
        o->sizes[d1] = s, o->strides[d1] = t;
        return TD_CODE_OK;
    }
    case TD_OP_SQUEEZE: {
        uint64_t mask = (uint64_t)a->attrs[0];
        for (int d = o->ndim - 1; d >= 0; d--)
            if (((mask >> d) & 1) && o->sizes[d] == 1)
                drop_dim(o, d);
        return TD_CODE_OK;
    }
    case TD_OP_UNSQUEEZE: {
        int64_t d = a->attrs[0];
        if (o->ndim >= TD_MAX_DIMS)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims", TD_MAX_DIMS);
        if (td_meta_wrap_dim(&d, o->ndim + 1, st))
            return st->code;
        memmove(o->sizes + d + 1, o->sizes + d, sizeof(int64_t) * (o->ndim - d));
        memmove(o->strides + d + 1, o->strides + d, sizeof(int64_t) * (o->ndim - d));
        o->sizes[d] = 1;
        o->strides[d] = 1;
        /* an empty view's size * stride need not fit (only each factor is bounded); the
         * new dim has one element, so its stride is free: keep it within the bounds rule */
        if (d + 1 < o->ndim + 1 &&
            (td_mul_overflow(o->sizes[d + 1], o->strides[d + 1], &o->strides[d]) || o->strides[d] > TD_MAX_NUMEL))
            o->strides[d] = TD_MAX_NUMEL;
        o->ndim++;
        return TD_CODE_OK;
    }
    case TD_OP_SLICE: return infer_slice(a, o, st);
    default: return infer_select(a, o, st);
    }
}

enum td_code td__infer_view(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st)
{
    static const uint8_t min_attrs[TD_OP_COUNT] = {
        [TD_OP_VIEW] = 1, [TD_OP_AS_STRIDED] = 2, [TD_OP_PERMUTE] = 1, [TD_OP_TRANSPOSE] = 2,
        [TD_OP_EXPAND] = 1, [TD_OP_SQUEEZE] = 1, [TD_OP_UNSQUEEZE] = 1, [TD_OP_SLICE] = 4,
        [TD_OP_SELECT] = 2,
    };
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, min_attrs[a->op], st))
        return st->code;
    *out = *a->in[0];
    inf->n_out = 1;
    inf->out_is_view = true;
    inf->compute_dtype = a->in[0]->dtype;
    enum td_code c;
    switch (a->op) {
    case TD_OP_VIEW: c = infer_view_sizes(a, out, st); break;
    case TD_OP_AS_STRIDED: c = infer_as_strided(a, out, st); break;
    case TD_OP_PERMUTE: c = infer_permute(a, out, st); break;
    case TD_OP_EXPAND: c = infer_expand(a, out, st); break;
    case TD_OP_VIEW_AS_REAL:
    case TD_OP_VIEW_AS_COMPLEX: c = td__infer_complex_view(a, out, st); break;
    default: c = infer_dims_op(a, out, st); break;
    }
    /* one proof for every rule: the view is inside its storage and within the size limits
     * (an expand to 2^50 elements is in bounds, stride 0, but no kernel could walk it) */
    if (c == TD_CODE_OK && !td_meta_check_bounds(out)) {
        char b1[200], b2[200];
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: view with sizes %s, strides %s and storage offset %lld lies outside its storage "
                             "of %lld bytes or exceeds 2^40 elements", td_op_name(a->op),
                             td__sizes_str(out->sizes, out->ndim, b1, sizeof b1),
                             td__sizes_str(out->strides, out->ndim, b2, sizeof b2), (long long)out->offset,
                             (long long)out->storage_nbytes);
    }
    return c;
}
