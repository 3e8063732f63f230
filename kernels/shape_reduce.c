/*
 * shape_reduce.c — meta inference for the REDUCE family (sum, mean, prod, amax/amin,
 * all/any, argmax/argmin, max/min over a dim: reductions over a dim mask, keepdim, the
 * dtype= argument) and the MATMUL family (matmul/mm/bmm: a sum of products over the
 * inner dim, batch dims broadcast).  Attribute layouts are in proto/ops.args.  Like
 * shape.c, nothing here trusts its input: the daemon runs these rules on every record.
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
    int64_t want = a->attrs[TD_A_REDUCE_DTYPE];
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
                          "mean(): could not infer output dtype. %s dtype must be either a floating "
                          "point or complex dtype. Got: %s", want >= 0 ? "Optional" : "Input",
                          td_dtype_torch_name(d));
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
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_REDUCE, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    uint64_t mask = (uint64_t)a->attrs[TD_A_REDUCE_DIM];
    bool keepdim = a->attrs[TD_A_REDUCE_KEEPDIM] != 0, flatten = a->attrs[TD_A_REDUCE_FLATTEN] != 0;
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
    bool arg = a->op == TD_OP_ARGMAX || a->op == TD_OP_ARGMIN;
    if (needs_elem && (flatten || nd == 0) && td_meta_numel(x) == 0) /* no dim given; torch's argmax words it shorter */
        return td_status_set(st, arg ? TD_CODE_OUT_OF_RANGE : TD_CODE_INVALID_ARGUMENT,
                             "%s(): Expected reduction dim to be specified for input.numel() == 0.%s",
                             reduce_name(a->op), arg ? "" : " Specify the reduction dim with the 'dim' argument.");
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

static int64_t lead_numel(const struct td_meta *m, int upto)
{
    int64_t n = 1;
    for (int d = 0; d < upto; d++)
        n *= m->sizes[d];
    return n;
}

static enum td_code mm_err(int64_t r1, int64_t c1, int64_t r2, int64_t c2, struct td_status *st)
{
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)",
                         (long long)r1, (long long)c1, (long long)r2, (long long)c2);
}

/* A contraction-size mismatch worded as torch 1.13's matmul finds it: after folding the
   operands into the mv/mm/bmm it calls (the batched case after broadcasting, by the caller). */
static enum td_code matmul_dims_err(const struct td_meta *x, const struct td_meta *y, struct td_status *st)
{
    int64_t k = x->sizes[x->ndim - 1], k2 = y->ndim >= 2 ? y->sizes[y->ndim - 2] : y->sizes[0];
    int64_t m = y->ndim >= 2 ? y->sizes[y->ndim - 1] : 1;
    /* x @ y with x 1-D or 2-D and y batched: torch multiplies the transposes, y^T folded */
    bool swap = x->ndim <= 2 && y->ndim >= 3;
    if (y->ndim == 1 || (swap && x->ndim == 1)) { /* an mv of the folded matrix */
        int64_t n = swap ? lead_numel(y, y->ndim - 2) * m : lead_numel(x, x->ndim - 1);
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "size mismatch, got %lld, %lldx%lld,%lld", (long long)n,
                             (long long)n, (long long)(swap ? k2 : k), (long long)(swap ? k : k2));
    }
    if (swap)
        return mm_err(lead_numel(y, y->ndim - 2) * m, k2, k, x->sizes[0], st);
    return mm_err(x->ndim >= 2 ? lead_numel(x, x->ndim - 1) : 1, k, k2, m, st);
}

static enum td_code bmm_err(int64_t b, int64_t k, int64_t b2, int64_t k2, struct td_status *st)
{
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                         "Expected size for first two dimensions of batch2 tensor to be: [%lld, %lld] but got: "
                         "[%lld, %lld].", (long long)b, (long long)k, (long long)b2, (long long)k2);
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
    if (x->dtype != y->dtype && x->ndim == 1 && y->ndim == 1) /* torch's matmul of two vectors is dot */
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "dot : expected both vectors to have same dtype, but found %s and %s",
                             td_dtype_torch_name(x->dtype), td_dtype_torch_name(y->dtype));
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
    if (a->op == TD_OP_BMM && (x->sizes[0] != y->sizes[0] || k_x != k_y))
        return bmm_err(x->sizes[0], k_x, y->sizes[0], k_y, st);
    bool batched = x->ndim >= 3 && y->ndim >= 3;
    if (k_x != k_y && !batched)
        return matmul_dims_err(x, y, st);
    /* batch dims broadcast; a 1-D operand contributes no batch and no row/col */
    struct td_meta bx = *x, by = *y;
    bx.ndim = x->ndim > 2 ? x->ndim - 2 : 0;
    by.ndim = y->ndim > 2 ? y->ndim - 2 : 0;
    int64_t sizes[TD_MAX_DIMS];
    int nd = bx.ndim;
    memcpy(sizes, bx.sizes, sizeof(int64_t) * nd);
    if (td__broadcast(sizes, &nd, &by, st))
        return st->code;
    if (k_x != k_y) { /* torch's bmm over the broadcast batch */
        int64_t b = 1;
        for (int d = 0; d < nd; d++)
            b *= sizes[d];
        return bmm_err(b, k_x, b, k_y, st);
    }
    if (x->ndim >= 2)
        sizes[nd++] = x->sizes[x->ndim - 2];
    if (y->ndim >= 2)
        sizes[nd++] = y->sizes[y->ndim - 1];
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(x->dtype);
    return td_meta_contiguous(out, x->dtype, nd, sizes, st);
}
