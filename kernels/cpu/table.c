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
