/*
 * shape_view.c — meta inference for the VIEW family (view, as_strided, permute,
 * transpose, expand, squeeze/unsqueeze, slice, select, ...).
 * View rules produce metas that alias input 0's storage; td__infer_view proves every one
 * in bounds (td_meta_check_bounds) before returning it, and the daemon checks again.
 */
#include <string.h>

#include "shape_internal.h"

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
    int64_t nd = a->attrs[TD_A_VIEW_NDIM];
    if (nd < 0 || nd > TD_MAX_DIMS || td__need_attrs(a, TD_A_VIEW_SIZE + (uint32_t)nd, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "view: invalid number of dims %lld", (long long)nd);
    int64_t sizes[TD_MAX_DIMS], known = 1, infer = -1, numel = td_meta_numel(x);
    for (int i = 0; i < nd; i++) {
        sizes[i] = a->attrs[TD_A_VIEW_SIZE + i];
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
                             td__sizes_str(a->attrs + TD_A_VIEW_SIZE, (int)nd, b, sizeof b), (long long)numel);
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
    int64_t nd = a->attrs[TD_A_AS_STRIDED_NDIM];
    /* size and stride, nd words each: stride's offset follows from nd */
    if (nd < 0 || nd > TD_MAX_DIMS ||
        td__need_attrs(a, TD_A_AS_STRIDED_SIZE + (uint32_t)nd + TD_A_AS_STRIDED_STRIDE_TAIL + (uint32_t)nd, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "as_strided: invalid number of dims %lld", (long long)nd);
    const int64_t *size = a->attrs + TD_A_AS_STRIDED_SIZE, *stride = size + nd + TD_A_AS_STRIDED_STRIDE_TAIL;
    o->ndim = (uint8_t)nd;
    o->offset = a->attrs[TD_A_AS_STRIDED_STORAGE_OFFSET];
    for (int i = 0; i < nd; i++) {
        o->sizes[i] = size[i];
        o->strides[i] = stride[i];
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
    int64_t nd = a->attrs[TD_A_PERMUTE_NDIM];
    if (nd != x->ndim || td__need_attrs(a, TD_A_PERMUTE_DIMS + (uint32_t)x->ndim, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "permute(sparse_coo): number of dimensions in the tensor input does not match the "
                             "length of the desired ordering of dimensions i.e. input.dim() = %d is not equal "
                             "to len(dims) = %lld", x->ndim, (long long)nd);
    uint32_t seen = 0;
    for (int i = 0; i < nd; i++) {
        int64_t d = a->attrs[TD_A_PERMUTE_DIMS + i];
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
    int64_t nd = a->attrs[TD_A_EXPAND_NDIM];
    const int64_t *size = a->attrs + TD_A_EXPAND_SIZE;
    if (nd < 0 || nd > TD_MAX_DIMS || td__need_attrs(a, TD_A_EXPAND_SIZE + (uint32_t)nd, st))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "expand: invalid number of dims %lld", (long long)nd);
    char b1[200], b2[200];
    if (nd < x->ndim)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "expand(torch.%sTensor{%s}, size=%s): the number of sizes provided (%lld) "
                             "must be greater or equal to the number of dimensions in the tensor (%d)",
                             td_dtype_torch_name(x->dtype), td_meta_shape_str(x, b1, sizeof b1),
                             td__sizes_str(size, (int)nd, b2, sizeof b2), (long long)nd, x->ndim);
    o->ndim = (uint8_t)nd;
    for (int i = (int)nd - 1; i >= 0; i--) {
        int xi = i - ((int)nd - x->ndim);
        int64_t want = size[i];
        if (xi < 0) {
            if (want < 0)
                return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                     "The expanded size of the tensor (%lld) isn't allowed in a leading, "
                                     "non-existing dimension %d", (long long)want, i);
            o->sizes[i] = want;
            /* torch's inferExpandGeometry: a new size-1 dim gets the stride that keeps a
               contiguous tensor contiguous (its strides are visible and compared) */
            o->strides[i] = want != 1 ? 0 : i + 1 < (int)nd ? o->sizes[i + 1] * o->strides[i + 1] : 0;
            continue;
        }
        int64_t have = x->sizes[xi];
        if (want == -1)
            want = have;
        if (want != have && have != 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "The expanded size of the tensor (%lld) must match the existing size (%lld) at "
                                 "non-singleton dimension %d.  Target sizes: %s.  Tensor sizes: %s",
                                 (long long)want, (long long)have, i, td__sizes_str(size, (int)nd, b2, sizeof b2),
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
    int64_t dim = a->attrs[TD_A_SLICE_DIM], start = a->attrs[TD_A_SLICE_START], end = a->attrs[TD_A_SLICE_END];
    int64_t step = a->attrs[TD_A_SLICE_STEP];
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
    int64_t dim = a->attrs[TD_A_SELECT_DIM], idx = a->attrs[TD_A_SELECT_INDEX];
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

/* DIAGONAL: dims dim1 and dim2 give way to a last dim, their diagonal at offset (torch's
 * diagonal; its length clamps at 0) */
static enum td_code infer_diagonal(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    int64_t off = a->attrs[TD_A_DIAGONAL_OFFSET], d1 = a->attrs[TD_A_DIAGONAL_DIM1], d2 = a->attrs[TD_A_DIAGONAL_DIM2];
    if (td_meta_wrap_dim(&d1, o->ndim, st) || td_meta_wrap_dim(&d2, o->ndim, st))
        return st->code;
    if (d1 == d2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "diagonal dimensions cannot be identical %lld, %lld",
                             (long long)a->attrs[TD_A_DIAGONAL_DIM1], (long long)a->attrs[TD_A_DIAGONAL_DIM2]);
    int64_t s1 = o->sizes[d1], s2 = o->sizes[d2], n, step;
    if (off > TD_MAX_NUMEL || off < -TD_MAX_NUMEL) /* no dim is that long: an empty diagonal */
        n = 0;
    else if (off >= 0)
        n = s1 < s2 - off ? s1 : s2 - off;
    else
        n = s1 + off < s2 ? s1 + off : s2;
    if (n < 0)
        n = 0;
    if (n > 0 && td_muladd_overflow(&o->offset, off >= 0 ? off : -off, off >= 0 ? o->strides[d2] : o->strides[d1]))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "diagonal: storage offset overflows");
    if (__builtin_add_overflow(o->strides[d1], o->strides[d2], &step))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "diagonal: stride overflows");
    drop_dim(o, (int)(d1 > d2 ? d1 : d2));
    drop_dim(o, (int)(d1 > d2 ? d2 : d1));
    o->sizes[o->ndim] = n;
    o->strides[o->ndim] = step;
    o->ndim++;
    return TD_CODE_OK;
}

/* UNFOLD: dim `dimension` as windows of `size` every `step` (a 0-d input: one window of
 * size 0 or 1), their elements along a new last dim (torch's Tensor.unfold) */
static enum td_code infer_unfold(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    int64_t d = a->attrs[TD_A_UNFOLD_DIMENSION], size = a->attrs[TD_A_UNFOLD_SIZE], step = a->attrs[TD_A_UNFOLD_STEP];
    if (td_meta_wrap_dim(&d, o->ndim ? o->ndim : 1, st))
        return st->code;
    int64_t n = o->ndim ? o->sizes[d] : 1;
    if (size > n)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "maximum size for tensor at dimension %lld is %lld but "
                             "size is %lld", (long long)d, (long long)n, (long long)size);
    if (step <= 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "step is %lld but must be > 0", (long long)step);
    if (size < 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "size is %lld but must be >= 0", (long long)size);
    if (o->ndim == 0) {
        o->ndim = 1;
        o->sizes[0] = size;
        o->strides[0] = 1;
        return TD_CODE_OK;
    }
    if (o->ndim >= TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims", TD_MAX_DIMS);
    int64_t windows = (n - size) / step + 1, stride;
    if (td_mul_overflow(o->strides[d], step, &stride) || stride > TD_MAX_NUMEL) {
        if (windows > 1) /* one window never steps: any stride is right */
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "unfold: stride %lld times step %lld overflows",
                                 (long long)o->strides[d], (long long)step);
        stride = o->strides[d];
    }
    o->sizes[o->ndim] = size;
    o->strides[o->ndim] = o->strides[d];
    o->ndim++;
    o->sizes[d] = windows;
    o->strides[d] = stride;
    return TD_CODE_OK;
}

static enum td_code infer_dims_op(const struct td_op_args *a, struct td_meta *o, struct td_status *st)
{
    switch (a->op) {
    case TD_OP_TRANSPOSE: {
        int64_t d0 = a->attrs[TD_A_TRANSPOSE_DIM0], d1 = a->attrs[TD_A_TRANSPOSE_DIM1];
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
        uint64_t mask = (uint64_t)a->attrs[TD_A_SQUEEZE_DIM];
        for (int d = o->ndim - 1; d >= 0; d--)
            if (((mask >> d) & 1) && o->sizes[d] == 1)
                drop_dim(o, d);
        return TD_CODE_OK;
    }
    case TD_OP_UNSQUEEZE: {
        int64_t d = a->attrs[TD_A_UNSQUEEZE_DIM];
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
    /* fixed layouts whole, list layouts up to their list (each rule checks the list) */
    static const uint8_t min_attrs[TD_OP_COUNT] = {
        [TD_OP_VIEW] = TD_A_VIEW_SIZE, [TD_OP_AS_STRIDED] = TD_A_AS_STRIDED_SIZE,
        [TD_OP_PERMUTE] = TD_A_PERMUTE_DIMS, [TD_OP_TRANSPOSE] = TD_N_TRANSPOSE, [TD_OP_EXPAND] = TD_A_EXPAND_SIZE,
        [TD_OP_SQUEEZE] = TD_N_SQUEEZE, [TD_OP_UNSQUEEZE] = TD_N_UNSQUEEZE, [TD_OP_SLICE] = TD_N_SLICE,
        [TD_OP_SELECT] = TD_N_SELECT, [TD_OP_DIAGONAL] = TD_N_DIAGONAL, [TD_OP_UNFOLD] = TD_N_UNFOLD,
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
    case TD_OP_DIAGONAL: c = infer_diagonal(a, out, st); break;
    case TD_OP_UNFOLD: c = infer_unfold(a, out, st); break;
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
