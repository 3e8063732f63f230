/*
 * shape_index.c — meta inference for the indexing and sorting families:
 *   INDEX: GATHER, SCATTER, INDEX (self[..., idx0, ..., idxk-1, ...], or self[..., mask, ...]
 *          in mode 5), INDEX_PUT, NONZERO;
 *   SORT:  SORT, SEARCHSORTED, HISTC.
 * Attribute layouts are documented in proto/ops.args.  Index tensors must be int64
 * (the client converts int32 and bool masks first, except for INDEX's mask mode); whether an index value is in range
 * depends on data, so the kernels check that (kernels/cpu/index.c) and report the error
 * with PyTorch's message through the kernel message buffer.  Nothing here trusts its
 * input: counts, dims and dtypes are all range-checked because the daemon runs this on
 * every record.
 */
#include <stdio.h>
#include <string.h>

#include "shape_internal.h"

bool td_meta_input_is_index(enum td_op op, int i)
{
    switch (op) {
    case TD_OP_GATHER:
    case TD_OP_SCATTER: return i == 1;
    case TD_OP_INDEX: return i >= 1;
    case TD_OP_INDEX_PUT: return i >= 2;
    default: return false;
    }
}

static enum td_code need_long(const struct td_meta *m, const char *what, struct td_status *st)
{
    if (m->dtype != TD_DTYPE_INT64)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s", what);
    return TD_CODE_OK;
}

static bool same_sizes(const struct td_meta *a, const struct td_meta *b)
{
    return a->ndim == b->ndim && !memcmp(a->sizes, b->sizes, sizeof(int64_t) * a->ndim);
}

/* GATHER (self, index): index.size(d) <= self.size(d) for d != dim. */
static enum td_code infer_gather(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    const struct td_meta *self = a->in[0], *idx = a->in[1];
    int64_t dim = a->attrs[TD_A_GATHER_DIM];
    char b1[200], b2[200];
    if (td_meta_wrap_dim(&dim, self->ndim, st) || need_long(idx, "gather(): Expected dtype int64 for index", st))
        return st->code;
    if (idx->ndim != self->ndim && td_meta_numel(idx) != 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Index tensor must have the same number of dimensions as input tensor");
    /* torch checks no size of an empty index: it gathers nothing */
    for (int d = 0; d < idx->ndim && idx->ndim == self->ndim && td_meta_numel(idx) != 0; d++)
        if (d != dim && idx->sizes[d] > self->sizes[d])
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Size does not match at dimension %d expected index %s to be smaller than self %s "
                                 "apart from dimension %d",
                                 d, td_meta_shape_str(idx, b1, sizeof b1), td_meta_shape_str(self, b2, sizeof b2),
                                 (int)dim);
    return td_meta_contiguous(out, self->dtype, idx->ndim, idx->sizes, st);
}

/* SCATTER (self, index, src): index fits in self (but along dim) and in src. */
static enum td_code infer_scatter(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    const struct td_meta *self = a->in[0], *idx = a->in[1], *src = a->in[2];
    int64_t dim = a->attrs[TD_A_SCATTER_DIM];
    char b1[200], b2[200], b3[200];
    if (td_meta_wrap_dim(&dim, self->ndim, st) ||
        need_long(idx, "scatter(): Expected dtype int64 for index", st))
        return st->code;
    if (a->attrs[TD_A_SCATTER_REDUCE] < 0 || a->attrs[TD_A_SCATTER_REDUCE] > 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "reduce argument must be either add or multiply.");
    if (src->dtype != self->dtype)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "scatter(): Expected self.dtype to be equal to src.dtype");
    if (td_meta_numel(idx) != 0) {
        if (idx->ndim != self->ndim)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Index tensor must have the same number of dimensions as self tensor");
        if (idx->ndim != src->ndim)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Index tensor must have the same number of dimensions as src tensor");
        for (int d = 0; d < idx->ndim; d++)
            if ((d != dim && idx->sizes[d] > self->sizes[d]) || idx->sizes[d] > src->sizes[d])
                return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                     "Expected index %s to be smaller than self %s apart from dimension %d and to "
                                     "be smaller size than src %s",
                                     td_meta_shape_str(idx, b1, sizeof b1), td_meta_shape_str(self, b2, sizeof b2),
                                     (int)dim, td_meta_shape_str(src, b3, sizeof b3));
    }
    return td_meta_contiguous(out, self->dtype, self->ndim, self->sizes, st);
}

/* Output sizes of self[dim: dim+k] indexed by k index tensors of one shape. */
static enum td_code indexed_sizes(const struct td_meta *self, const struct td_meta *idx, int64_t dim, int k,
                                  int64_t *sizes, int *nd, struct td_status *st)
{
    if (dim < 0 || k < 1 || dim + k > self->ndim)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "too many indices for tensor of dimension %d",
                             self->ndim);
    int n = self->ndim - k + idx->ndim;
    if (n > TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "index: result has more than %d dims", TD_MAX_DIMS);
    memcpy(sizes, self->sizes, sizeof(int64_t) * dim);
    memcpy(sizes + dim, idx->sizes, sizeof(int64_t) * idx->ndim);
    memcpy(sizes + dim + idx->ndim, self->sizes + dim + k, sizeof(int64_t) * (self->ndim - dim - k));
    *nd = n;
    return TD_CODE_OK;
}

/* INDEX mask mode (5): (self, mask bool/uint8 over self's dims dim..dim+km-1), attrs
 * [dim, 5, count of set mask elements, learned first]: self[..., mask, ...] in one op,
 * shape self.shape[:dim] + [count] + self.shape[dim+km:]. */
static enum td_code infer_index_mask(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    if (td__need_attrs(a, TD_N_INDEX, st) || td__need_inputs(a, 2, 2, st))
        return st->code;
    const struct td_meta *self = a->in[0], *m = a->in[1];
    int64_t dim = a->attrs[TD_A_INDEX_DIM], count = a->attrs[TD_A_INDEX_COUNT], sizes[TD_MAX_DIMS];
    char b1[200], b2[200];
    if (m->dtype != TD_DTYPE_BOOL && m->dtype != TD_DTYPE_UINT8)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "index: a mask must be a bool or uint8 tensor");
    if (m->ndim < 1 || dim < 0 || dim + m->ndim > self->ndim)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "too many indices for tensor of dimension %d", self->ndim);
    for (int j = 0; j < m->ndim; j++)
        if (m->sizes[j] != self->sizes[dim + j])
            return td_status_set(st, TD_CODE_OUT_OF_RANGE,
                                 "The shape of the mask %s at index %d does not match the shape of the indexed "
                                 "tensor %s at index %d",
                                 td_meta_shape_str(m, b1, sizeof b1), j, td_meta_shape_str(self, b2, sizeof b2),
                                 (int)dim + j);
    if (count < 0 || count > td_meta_numel(m))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "index: count %lld does not fit the mask",
                             (long long)count);
    int nd = self->ndim - m->ndim + 1;
    memcpy(sizes, self->sizes, sizeof(int64_t) * dim);
    sizes[dim] = count;
    memcpy(sizes + dim + 1, self->sizes + dim + m->ndim, sizeof(int64_t) * (nd - dim - 1));
    return td_meta_contiguous(out, self->dtype, nd, sizes, st);
}

/* INDEX (self, idx...) and INDEX_PUT (self, values, idx...): dim and mode are the same
 * words in both (op.c); INDEX's count may be left out. */
static enum td_code infer_index(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    bool put = a->op == TD_OP_INDEX_PUT;
    int first = put ? 2 : 1, k = a->n_in - first;
    if (!put && a->n_attr > TD_A_INDEX_MODE && a->attrs[TD_A_INDEX_MODE] == 5)
        return infer_index_mask(a, out, st);
    if (td__need_attrs(a, put ? TD_N_INDEX_PUT : TD_A_INDEX_COUNT, st) ||
        td__need_inputs(a, first + 1, TD_MAX_INPUTS, st))
        return st->code;
    int64_t mode = a->attrs[TD_A_INDEX_MODE];
    if (mode < 0 || mode > 6 || mode == 5)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: invalid mode %lld", td_op_name(a->op),
                             (long long)mode);
    const struct td_meta *self = a->in[0], *idx = a->in[first];
    for (int j = 0; j < k; j++) {
        if (need_long(a->in[first + j], "tensors used as indices must be long, byte or bool tensors", st))
            return st->code;
        if (!same_sizes(a->in[first + j], idx))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: index tensors must have one shape",
                                 td_op_name(a->op));
    }
    int64_t sizes[TD_MAX_DIMS];
    int nd = 0;
    if (indexed_sizes(self, idx, a->attrs[TD_A_INDEX_DIM], k, sizes, &nd, st))
        return st->code;
    if (!put)
        return td_meta_contiguous(out, self->dtype, nd, sizes, st);
    const struct td_meta *v = a->in[1];
    char b1[200], b2[200];
    if (v->dtype != self->dtype)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Index put requires the source and destination dtypes match, got %s for the "
                             "destination and %s for the source.",
                             td_dtype_torch_name(self->dtype), td_dtype_torch_name(v->dtype));
    if (v->ndim != nd || memcmp(v->sizes, sizes, sizeof(int64_t) * nd))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "shape mismatch: value tensor of shape %s cannot be broadcast to indexing result "
                             "of shape %s",
                             td_meta_shape_str(v, b1, sizeof b1), td__sizes_str(sizes, nd, b2, sizeof b2));
    return td_meta_contiguous(out, self->dtype, self->ndim, self->sizes, st);
}

/* NONZERO (x): count is the count of non-zero elements the client learned first.  With
 * count_only == 1 (count mode; it may be left out) the output is that count instead: a
 * 0-d int64 (count unused). */
static enum td_code infer_nonzero(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    int64_t count = a->attrs[TD_A_NONZERO_COUNT], sizes[2] = {count, a->in[0]->ndim};
    int64_t count_only = a->n_attr >= TD_N_NONZERO ? a->attrs[TD_A_NONZERO_COUNT_ONLY] : 0;
    if (count_only != 0) {
        if (count_only != 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "nonzero: invalid mode %lld", (long long)count_only);
        return td_meta_contiguous(out, TD_DTYPE_INT64, 0, sizes, st);
    }
    if (count < 0 || count > td_meta_numel(a->in[0]))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "nonzero: count %lld does not fit the input",
                             (long long)count);
    return td_meta_contiguous(out, TD_DTYPE_INT64, 2, sizes, st);
}

enum td_code td__infer_index(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                             struct td_status *st)
{
    enum td_code c;
    switch (a->op) {
    case TD_OP_GATHER:
        c = td__need_inputs(a, 2, 2, st) || td__need_attrs(a, TD_N_GATHER, st) ? st->code : infer_gather(a, out, st);
        break;
    case TD_OP_SCATTER:
        c = td__need_inputs(a, 3, 3, st) || td__need_attrs(a, TD_N_SCATTER, st) ? st->code : infer_scatter(a, out, st);
        break;
    case TD_OP_INDEX:
    case TD_OP_INDEX_PUT: c = infer_index(a, out, st); break;
    case TD_OP_NONZERO: /* count_only may be left out */
        c = td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_A_NONZERO_COUNT_ONLY, st) ? st->code
                                                                                           : infer_nonzero(a, out, st);
        break;
    default: return td_status_set(st, TD_CODE_INTERNAL, "op %u is not an indexing op", a->op);
    }
    if (c)
        return c;
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(a->in[0]->dtype);
    return TD_CODE_OK;
}

/* ---- SORT family ---- */

static enum td_code infer_searchsorted(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                       struct td_status *st)
{
    char b1[200], b2[200];
    if (td__need_inputs(a, 2, 2, st) || td__need_attrs(a, TD_N_SEARCHSORTED, st))
        return st->code;
    const struct td_meta *s = a->in[0], *v = a->in[1]; /* only once there are two */
    if (s->ndim == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                             "dimension");
    if (s->ndim != 1 && (s->ndim != v->ndim || memcmp(s->sizes, v->sizes, sizeof(int64_t) * (s->ndim - 1))))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                             "dimensions of boundaries tensor and input value tensor must match, but we got "
                             "boundaries tensor %s and input value tensor %s",
                             td_meta_shape_str(s, b1, sizeof b1), td_meta_shape_str(v, b2, sizeof b2));
    if (s->dtype == TD_DTYPE_BOOL || v->dtype == TD_DTYPE_BOOL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"searchsorted_out_cpu\" not implemented for 'Bool'");
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(td_promote_types(s->dtype, v->dtype));
    enum td_dtype odt = a->attrs[TD_A_SEARCHSORTED_OUT_INT32] ? TD_DTYPE_INT32 : TD_DTYPE_INT64;
    return td_meta_contiguous(out, odt, v->ndim, v->sizes, st);
}

static enum td_code infer_histc(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_HISTC, st))
        return st->code;
    const struct td_meta *x = a->in[0]; /* only once there is one */
    if (!td_dtype_is_float(x->dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"histogram_cpu\" not implemented for '%s'",
                             td_dtype_torch_name(x->dtype));
    const int64_t *bins = &a->attrs[TD_A_HISTC_BINS];
    if (*bins <= 0 || *bins > TD_MAX_NUMEL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "torch.histc: bins must be > 0, but got %lld for bins",
                             (long long)*bins);
    double lo, hi;
    memcpy(&lo, &a->attrs[TD_A_HISTC_MIN], sizeof lo);
    memcpy(&hi, &a->attrs[TD_A_HISTC_MAX], sizeof hi);
    if (!(lo <= hi))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "torch.histc: max must be larger than min");
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(x->dtype);
    return td_meta_contiguous(out, x->dtype, 1, bins, st);
}

enum td_code td__infer_sort(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st)
{
    if (a->op == TD_OP_SEARCHSORTED)
        return infer_searchsorted(a, out, inf, st);
    if (a->op == TD_OP_HISTC)
        return infer_histc(a, out, inf, st);
    if (a->op != TD_OP_SORT)
        return td_status_set(st, TD_CODE_INTERNAL, "op %u is not a sorting op", a->op);
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_A_SORT_K, st)) /* k may be left out */
        return st->code;
    const struct td_meta *x = a->in[0];
    int64_t dim = a->attrs[TD_A_SORT_DIM], k = a->n_attr >= TD_N_SORT ? a->attrs[TD_A_SORT_K] : -1;
    if (td_meta_wrap_dim(&dim, x->ndim, st))
        return st->code;
    int64_t sizes[TD_MAX_DIMS];
    memcpy(sizes, x->sizes, sizeof(int64_t) * x->ndim);
    if (k >= 0) { /* partial: the first k of the sorted order */
        int64_t len = x->ndim ? x->sizes[dim] : 1;
        if (k > len)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "selected index k out of range");
        if (x->ndim) /* a 0-d input keeps its one element */
            sizes[dim] = k;
    }
    inf->n_out = 2;
    inf->compute_dtype = td__compute_dtype(x->dtype);
    if (td_meta_contiguous(&out[0], x->dtype, x->ndim, sizes, st))
        return st->code;
    return td_meta_contiguous(&out[1], TD_DTYPE_INT64, x->ndim, sizes, st);
}
