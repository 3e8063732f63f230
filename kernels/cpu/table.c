/*
 * table.c — td_cpu_kernels, the CPU kernel of every op row, expanded from
 * proto/ops.def (a row without a td_cpu_<name> definition fails to link), and the
 * one helper kernels use to report PyTorch's message with their code.
 */
#include <stdarg.h>
#include <stdio.h>

#include "iter.h"

const td_kernel_fn td_cpu_kernels[TD_OP_COUNT] = {
#define TD_OP(NAME, name, nin, nout, fam, flags) [TD_OP_##NAME] = td_cpu_##name,
#include "../../proto/ops.def"
#undef TD_OP
};

enum td_code td__kernel_fail(struct td_kctx *k, enum td_code c, const char *fmt, ...)
{
    if (k->msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(k->msg, TD_KMSG_LEN, fmt, ap);
        va_end(ap);
    }
    return c;
}

enum td_code td__kernel_recheck(struct td_kctx *k, struct td_infer *inf)
{
    const struct td_meta *in_m[TD_MAX_INPUTS];
    if (k->n_in > TD_MAX_INPUTS || k->n_out > TD_MAX_OUTPUTS)
        return TD_CODE_INVALID_ARGUMENT;
    for (int i = 0; i < k->n_in; i++)
        in_m[i] = &k->in[i]->m;
    struct td_op_args a = {.op = k->op, .n_in = (uint16_t)k->n_in, .in = in_m, .attrs = k->attrs,
                           .n_attr = k->n_attr, .default_float = TD_DTYPE_FLOAT32};
    struct td_meta want[TD_MAX_OUTPUTS];
    struct td_status st = TD_STATUS_INIT; /* meta rules read st->code: never NULL */
    if (td_meta_infer(&a, want, inf, &st))
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "%s", st.msg);
    if (inf->n_out != k->n_out)
        return TD_CODE_INVALID_ARGUMENT;
    for (int o = 0; o < k->n_out; o++) {
        const struct td_meta *got = &k->out[o]->m;
        if (got->dtype != want[o].dtype || got->ndim != want[o].ndim ||
            memcmp(got->sizes, want[o].sizes, sizeof(int64_t) * got->ndim) || !td_meta_check_bounds(got))
            return TD_CODE_INVALID_ARGUMENT;
    }
    return TD_CODE_OK;
}
