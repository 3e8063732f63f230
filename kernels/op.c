/* op.c — the op info table, expanded from proto/ops.def. */
#include "op.h"

#define TD_FAM_OF(fam) TD_FAM_##fam

const struct td_op_info td_op_table[TD_OP_COUNT] = {
#define TD_OP(NAME, name, nin, nout, fam, flg) \
    [TD_OP_##NAME] = {#name, nin, nout, TD_FAM_OF(fam), (flg)},
#include "../proto/ops.def"
#undef TD_OP
};
