/*
 * overlap.c — PyTorch's memory-overlap rules; see overlap.h.
 *
 * The rules per op are torch 1.13's, as its kernels apply them (checked against it op by
 * op, tests/python/test_overlap.py): element-wise ops, copy_, the cumulative ops,
 * sorting, the in-place samplers and the dim reductions with indices are TensorIterator
 * ops or copy into their outputs, refusing an output that overlaps itself and a partial
 * overlap with an input (an input that is the output itself, or laid out exactly like
 * it, is fine: element i is read before element i is written); cat and the index ops
 * refuse any overlap, full included; matmul refuses only an output that overlaps
 * itself; reductions without indices, fill_, tril/triu, linalg and the rest check
 * nothing.  index_put_ and index_fill_ on an expanded self are only deprecated in torch
 * (the Python client warns), so they are not refused here.
 */
#include "overlap.h"

static const char msg_internal[] =
    "unsupported operation: more than one element of the written-to tensor refers to a single memory location. "
    "Please clone() the tensor before performing the operation.";
static const char msg_partial[] =
    "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory "
    "location. Please clone() the tensor before performing the operation.";

int td_meta_dims_by_stride(const struct td_meta *m, int64_t *st, int64_t *sz)
{
    int n = 0;
    for (int d = 0; d < m->ndim; d++) {
        if (m->sizes[d] < 2)
            continue;
        int i = n++; /* insertion: at most 16 dims */
        for (; i > 0 && st[i - 1] > m->strides[d]; i--) {
            st[i] = st[i - 1];
            sz[i] = sz[i - 1];
        }
        st[i] = m->strides[d];
        sz[i] = m->sizes[d];
    }
    return n;
}

bool td_meta_non_overlapping_and_dense(const struct td_meta *m)
{
    /* dims of size > 1 by increasing stride must each be exactly as long as all smaller
     * ones together: strides 1, s0, s0*s1, ... (dims of size 0 or 1 take no room) */
    int64_t st[TD_MAX_DIMS], sz[TD_MAX_DIMS];
    int n = td_meta_dims_by_stride(m, st, sz);
    int64_t want = 1;
    for (int i = 0; i < n; i++) {
        if (st[i] != want)
            return false;
        want *= sz[i]; /* bounded: metas are bounds-checked (TD_MAX_NUMEL) */
    }
    return true;
}

enum td_mem_overlap td_meta_internal_overlap(const struct td_meta *m)
{
    if (td_meta_numel(m) == 0 || td_meta_non_overlapping_and_dense(m)) /* torch: an empty tensor is dense */
        return TD_MEM_OVERLAP_NO;
    for (int d = 0; d < m->ndim; d++)
        if (m->sizes[d] > 1 && m->strides[d] == 0)
            return TD_MEM_OVERLAP_YES;
    return TD_MEM_OVERLAP_TOO_HARD;
}

enum td_overlap td_meta_overlap(const struct td_meta *a, const struct td_meta *b)
{
    int64_t na = td_meta_numel(a), nb = td_meta_numel(b);
    if (!na || !nb)
        return TD_OVERLAP_NO;
    if (!td_meta_non_overlapping_and_dense(a) || !td_meta_non_overlapping_and_dense(b))
        return TD_OVERLAP_TOO_HARD;
    /* dense views: their bytes are one range from the first element on */
    int64_t ea = (int64_t)td_dtype_size((enum td_dtype)a->dtype), eb = (int64_t)td_dtype_size((enum td_dtype)b->dtype);
    int64_t a0 = a->offset * ea, a1 = a0 + na * ea, b0 = b->offset * eb, b1 = b0 + nb * eb;
    if (a0 == b0 && a1 == b1) {
        /* torch compares the whole stride lists, size-1 dims and the number of dims too */
        bool same = a->ndim == b->ndim;
        for (int d = 0; same && d < a->ndim; d++)
            same = a->strides[d] == b->strides[d];
        return same ? TD_OVERLAP_FULL : TD_OVERLAP_PARTIAL;
    }
    return a0 < b1 && b0 < a1 ? TD_OVERLAP_PARTIAL : TD_OVERLAP_NO;
}

enum td_code td_meta_assert_overlap(const struct td_meta *dst, const struct td_meta *src, bool same_tensor,
                                    bool same_storage, enum td_overlap_check check, struct td_status *st)
{
    if (!src)
        return td_meta_internal_overlap(dst) == TD_MEM_OVERLAP_YES
                   ? td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s", msg_internal)
                   : TD_CODE_OK;
    if (check == TD_OVERLAP_CHECK_NONE || !same_storage)
        return TD_CODE_OK;
    enum td_overlap o = same_tensor ? TD_OVERLAP_FULL : td_meta_overlap(dst, src);
    if (o == TD_OVERLAP_PARTIAL || (o == TD_OVERLAP_FULL && check == TD_OVERLAP_CHECK_ANY))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s", msg_partial);
    return TD_CODE_OK;
}

/* ---- which op checks what */

/* What torch asserts before an op writes its (first) destination: no internal overlap,
 * and per operand kind the overlap refused: self (input 0 of an out= record), index
 * tensors (td_meta_input_is_index), the others. */
struct rule {
    bool internal;
    uint8_t self, index, other; /* enum td_overlap_check */
};

enum { P = TD_OVERLAP_CHECK_PARTIAL, A = TD_OVERLAP_CHECK_ANY };
/* INDEX / INDEX_PUT's mode attribute (proto/ops.args) */
enum { MODE_ADV, MODE_SELF, MODE_TAKE, MODE_FILL, MODE_COPY };

static const struct rule no_rule = {false, 0, 0, 0};
static const struct rule iter_rule = {true, P, P, P}; /* TensorIterator's, and copy_'s */

static struct rule index_rule(const struct td_op_args *a)
{
    switch (a->op) {
    case TD_OP_GATHER: return (struct rule){true, A, P, A};
    case TD_OP_SCATTER: return (struct rule){true, P, A, A}; /* out= is self's copy first */
    case TD_OP_INDEX_PUT: {
        int64_t mode = a->n_attr > TD_A_INDEX_PUT_MODE ? a->attrs[TD_A_INDEX_PUT_MODE] : MODE_ADV;
        if (mode == MODE_FILL) /* the value is a scalar; an expanded self is only deprecated */
            return (struct rule){false, P, P, 0};
        return (struct rule){mode != MODE_ADV, P, A, A}; /* index_put_: expanded self deprecated */
    }
    default: return (struct rule){true, A, A, A}; /* index_select, take, masked_select, nonzero */
    }
}

static struct rule rule_of(const struct td_op_args *a)
{
    const struct td_op_info *o = &td_op_table[a->op];
    if (o->flags & TD_F_ELEMENTWISE)
        return iter_rule;
    switch (o->family) {
    case TD_FAM_COPY: return iter_rule;
    case TD_FAM_RANDOM: return (o->flags & TD_F_INPLACE_OK) ? iter_rule : no_rule; /* uniform_, normal_, ... */
    case TD_FAM_CUMULATIVE: return a->op == TD_OP_CUMMAX || a->op == TD_OP_CUMMIN ? no_rule : iter_rule;
    case TD_FAM_SORT: return a->op == TD_OP_SORT ? iter_rule : no_rule; /* sort, topk, kthvalue */
    case TD_FAM_REDUCE: return a->op == TD_OP_MAX_DIM || a->op == TD_OP_MIN_DIM ? iter_rule : no_rule;
    case TD_FAM_STAT:
        return a->op == TD_OP_MEDIAN_DIM || a->op == TD_OP_MODE || a->op == TD_OP_AMINMAX ? iter_rule : no_rule;
    case TD_FAM_MATMUL: return (struct rule){true, 0, 0, 0};
    case TD_FAM_CAT: return (struct rule){true, A, A, A};
    case TD_FAM_INDEX: return index_rule(a);
    default: return no_rule; /* fill_, reductions, tril/triu, linalg, ... */
    }
}

bool td_meta_overlap_checked(const struct td_op_args *a)
{
    return a->op < TD_OP_COUNT && ((a->flags & (TD_RF_INPLACE | TD_RF_OUT)) || a->op == TD_OP_COPY_);
}

/* copy_ returns at once when src is dst's data exactly (torch's is_same_data), even
 * into an expanded dst. */
static bool copy_noop(const struct td_op_args *a, const struct td_operand_id *ids)
{
    const struct td_meta *d = a->in[0], *s = a->in[1];
    if (ids[0].tensor == ids[1].tensor)
        return true;
    if (ids[0].storage != ids[1].storage || d->dtype != s->dtype || d->offset != s->offset || d->ndim != s->ndim)
        return false;
    for (int k = 0; k < d->ndim; k++)
        if (d->sizes[k] != s->sizes[k] || d->strides[k] != s->strides[k])
            return false;
    return true;
}

enum td_code td_meta_check_overlap(const struct td_op_args *a, const struct td_operand_id *ids,
                                   struct td_status *st)
{
    if (!td_meta_overlap_checked(a))
        return TD_CODE_OK;
    if (a->op == TD_OP_COPY_ && (a->n_in != 2 || copy_noop(a, ids)))
        return TD_CODE_OK;
    struct rule r = rule_of(a);
    /* the destination checked (a multi-output op's first, its values), and the operands */
    int n_ops = a->n_in - td_meta_n_dst(a), d = (a->flags & TD_RF_OUT) ? n_ops : 0;
    if (d >= a->n_in)
        return TD_CODE_OK;
    const struct td_meta *dst = a->in[d];
    enum td_code c = TD_CODE_OK;
    if (r.internal)
        c = td_meta_assert_overlap(dst, NULL, false, false, TD_OVERLAP_CHECK_NONE, st);
    /* in-place and copy_ records: input 0 is the destination, not an operand */
    for (int i = (a->flags & TD_RF_OUT) ? 0 : 1; !c && i < n_ops; i++) {
        enum td_overlap_check k = i == 0 ? r.self : td_meta_input_is_index((enum td_op)a->op, i) ? r.index : r.other;
        c = td_meta_assert_overlap(dst, a->in[i], ids[i].tensor == ids[d].tensor, ids[i].storage == ids[d].storage, k,
                                   st);
    }
    return c;
}
