/*
 * table.c — td_cpu_kernels, the CPU kernel of every op row, expanded from
 * proto/ops.def.  A row without a td_cpu_<name> definition fails to link.
 */
#include "../kernel.h"

const td_kernel_fn td_cpu_kernels[TD_OP_COUNT] = {
#define TD_OP(NAME, name, nin, nout, fam, flags) [TD_OP_##NAME] = td_cpu_##name,
#include "../../proto/ops.def"
#undef TD_OP
};
