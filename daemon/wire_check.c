/*
 * wire_check.c — compile-time proof that the op numbers of proto/ops.def (enum td_op)
 * and the OpKind enum generated into tensord.proto agree, row by row.  No code.
 */
#include "../kernels/op.h"
#include "tensord.pb-c.h"

#define TD_OP(NAME, name, nin, nout, fam, flags)                                    \
    _Static_assert((int)TD_OP_##NAME == (int)TENSORD__V1__OP_KIND__OP_##NAME,        \
                   "ops.def and tensord.proto disagree on " #NAME ": run make gen");
#include "../proto/ops.def"
#undef TD_OP
