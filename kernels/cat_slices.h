/*
 * cat_slices.h — CAT's plan, shared by the CPU kernel (kernels/cpu/cat.c) and the CUDA
 * plugin (kernels/cuda/copy.cu): each input with elements is copied into the slice of
 * out[0] it occupies, a view with the input's sizes and the output's strides, offset
 * along dim by the inputs before it.  Inputs with no elements are skipped, which also
 * covers PyTorch's legacy rule that a 1-D (0,) tensor joins tensors of any rank.
 */
#ifndef TD_CAT_SLICES_H
#define TD_CAT_SLICES_H

#include "kernel.h"
#include "op_attrs.h"

typedef enum td_code (*td_cat_copy_fn)(struct td_kctx *k, struct td_kt *dst, struct td_kt *src);

static inline enum td_code td_cat_slices(struct td_kctx *k, td_cat_copy_fn copy)
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
        int64_t n = 1;
        for (int d = 0; d < im->ndim; d++)
            n *= im->sizes[d];
        if (n == 0)
            continue;
        if (im->ndim != out->m.ndim || at + im->sizes[dim] > out->m.sizes[dim])
            return TD_CODE_INVALID_ARGUMENT;
        for (int d = 0; d < im->ndim; d++)
            if (d != dim && im->sizes[d] != out->m.sizes[d])
                return TD_CODE_INVALID_ARGUMENT;
        struct td_kt slice = *out;
        slice.m.sizes[dim] = im->sizes[dim];
        slice.m.offset += at * out->m.strides[dim];
        enum td_code rc = copy(k, &slice, k->in[i]);
        if (rc != TD_CODE_OK)
            return rc;
        at += im->sizes[dim];
    }
    return TD_CODE_OK;
}

#endif
