/*
 * shape_move.c — meta inference for the data-movement ops that need a kernel: CAT (joins
 * its inputs along one dim, promoting their dtypes) and the MOVE family (FLIP, TRIL,
 * TRIU).  Attribute layouts are in proto/ops.args.  Everything else of torch's shape
 * surface (split, roll, repeat, pad, diagonal, ...) is composed from views and these ops
 * by the Python client.
 */
#include <string.h>

#include "shape_internal.h"

/* ---- cat ---- */

static bool legacy_empty(const struct td_meta *m) { return m->ndim == 1 && m->sizes[0] == 0; }

enum td_code td__infer_cat(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st)
{
    if (a->n_in == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "torch.cat(): expected a non-empty list of Tensors");
    if (td__need_attrs(a, TD_N_CAT, st))
        return st->code;
    for (int i = 0; i < a->n_in; i++) /* torch checks this first, before skipping legacy empty ones */
        if (a->in[i]->ndim == 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "zero-dimensional tensor (at position %d) cannot be concatenated", i);
    const struct td_meta *ref = NULL;
    enum td_dtype dt = a->in[0]->dtype;
    for (int i = 0; i < a->n_in; i++) {
        dt = td_promote_types(dt, a->in[i]->dtype);
        if (!ref && !legacy_empty(a->in[i]))
            ref = a->in[i];
    }
    if (!ref)
        ref = a->in[0];
    int64_t dim = a->attrs[TD_A_CAT_DIM];
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
    if (td_meta_contiguous(out, dt, ref->ndim, sizes, st))
        return st->code;
    bool cl = true; /* torch: the inputs' one suggested memory format, else row-major */
    for (int i = 0; i < a->n_in && cl; i++)
        cl = a->in[i]->ndim == ref->ndim && td__channels_last_like(a->in[i]);
    if (cl)
        td__channels_last(out);
    return TD_CODE_OK;
}

enum td_code td__infer_move(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st)
{
    /* TRIU's diagonal is TRIL's word (op.c) */
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, a->op == TD_OP_FLIP ? TD_N_FLIP : TD_N_TRIL, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    if (a->op == TD_OP_FLIP) {
        uint64_t full = x->ndim ? ((1ull << x->ndim) - 1) : 1;
        if ((uint64_t)a->attrs[TD_A_FLIP_DIMS] & ~full)
            return td_status_set(st, TD_CODE_OUT_OF_RANGE, "flip: dims out of range for a %d-d tensor", x->ndim);
        return td__same_as_input(a, out, inf, st);
    }
    /* TRIL, TRIU: the last two dims are the matrix */
    if (x->ndim == 0)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "Dimension specified as -2 but tensor has no dimensions");
    if (x->ndim < 2) {
        int64_t d = -2;
        return td_meta_wrap_dim(&d, x->ndim, st);
    }
    return td__same_as_input(a, out, inf, st);
}
