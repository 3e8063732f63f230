/*
 * cat.c — CAT: joins its inputs along its dim attribute (already normalized by the meta layer).
 *
 * Each input is copied into the slice of the output it occupies: a view of out[0]
 * with the input's sizes and the output's strides, offset along dim by the inputs
 * before it.  Inputs with no elements are skipped, which also covers PyTorch's legacy
 * rule that a 1-D (0,) tensor may be joined with tensors of any rank.  Inputs share
 * the output's dtype in practice; a different one is converted by td__copy anyway.
 * The copies run one after another, each parallel inside when large.
 */
#include "iter.h"

static int64_t numel(const struct td_meta *m)
{
    int64_t n = 1;
    for (int d = 0; d < m->ndim; d++)
        n *= m->sizes[d];
    return n;
}

enum td_code td_cpu_cat(struct td_kctx *k)
{
    if (k->n_out < 1 || k->n_attr < TD_N_CAT)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *out = k->out[0];
    int64_t dim = k->attrs[TD_A_CAT_DIM], at = 0;
    if (dim < 0) /* the meta layer accepted a negative dim */
        dim += out->m.ndim;
    if (dim < 0 || dim >= out->m.ndim)
        return TD_CODE_INVALID_ARGUMENT;
    for (int i = 0; i < k->n_in; i++) {
        const struct td_meta *im = &k->in[i]->m;
        if (numel(im) == 0)
            continue;
        if (im->ndim != out->m.ndim || at + im->sizes[dim] > out->m.sizes[dim])
            return TD_CODE_INVALID_ARGUMENT;
        for (int d = 0; d < im->ndim; d++)
            if (d != dim && im->sizes[d] != out->m.sizes[d])
                return TD_CODE_INVALID_ARGUMENT;
        struct td_kt slice = *out;
        slice.m.sizes[dim] = im->sizes[dim];
        slice.m.offset += at * out->m.strides[dim];
        enum td_code rc = td__copy(&slice, k->in[i]);
        if (rc != TD_CODE_OK)
            return rc;
        at += im->sizes[dim];
    }
    return TD_CODE_OK;
}
