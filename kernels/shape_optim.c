/*
 * shape_optim.c — meta inference for the OPTIM family: fused optimizer steps over a
 * parameter group (SGD_STEP, ADAM_STEP).  The inputs are groups of `per` tensors, one
 * group per parameter: (param, grad, state...), all of one shape and one dtype
 * (float32 or float64) and contiguous, since the kernel walks them as flat arrays and
 * writes params and states in place.  The client falls back to one op per tensor for
 * anything else (torch's foreach paths do the same).
 */
#include <string.h>

#include "meta.h"
#include "shape_internal.h"

/* tensors per parameter, from the op and its flags */
static int group_size(const struct td_op_args *a)
{
    if (a->op == TD_OP_SGD_STEP) {
        double momentum;
        memcpy(&momentum, &a->attrs[TD_A_SGD_STEP_MOMENTUM], 8);
        return momentum != 0 ? 3 : 2;
    }
    return a->attrs[TD_A_ADAM_STEP_AMSGRAD] ? 5 : 4;
}

static enum td_code check_group(const struct td_op_args *a, int g, int per, struct td_status *st)
{
    const struct td_meta *p = a->in[g * per];
    const char *name = td_op_name(a->op);
    if (p->dtype != TD_DTYPE_FLOAT32 && p->dtype != TD_DTYPE_FLOAT64)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: parameter %d is %s; the fused step takes "
                             "float32 or float64", name, g, td_dtype_names[p->dtype]);
    for (int j = 0; j < per; j++) {
        const struct td_meta *t = a->in[g * per + j];
        if (t->dtype != p->dtype || t->ndim != p->ndim || memcmp(t->sizes, p->sizes, sizeof(int64_t) * p->ndim))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: tensor %d of parameter %d differs from the "
                                 "parameter in shape or dtype", name, j, g);
        if (!td_meta_is_contiguous(t))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: tensor %d of parameter %d is not "
                                 "contiguous", name, j, g);
    }
    return TD_CODE_OK;
}

enum td_code td__infer_optim(const struct td_op_args *a, struct td_infer *inf, struct td_status *st)
{
    if (td__need_attrs(a, a->op == TD_OP_SGD_STEP ? TD_N_SGD_STEP : TD_N_ADAM_STEP, st))
        return st->code;
    int per = group_size(a);
    if (a->n_in == 0 || a->n_in % per)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expected groups of %d tensors, got %d tensors",
                             td_op_name(a->op), per, a->n_in);
    for (int g = 0; g < a->n_in / per; g++)
        if (check_group(a, g, per, st))
            return st->code;
    inf->n_out = 0;
    inf->compute_dtype = a->in[0]->dtype;
    return TD_CODE_OK;
}
