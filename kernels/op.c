/* op.c — the op info table, expanded from proto/ops.def. */
#include "op.h"

#include <stdbool.h>

#include "../proto/td_record.h"

#define TD_FAM_OF(fam) TD_FAM_##fam

const struct td_op_info td_op_table[TD_OP_COUNT] = {
#define TD_OP(NAME, name, nin, nout, fam, flg) \
    [TD_OP_##NAME] = {#name, nin, nout, TD_FAM_OF(fam), (flg)},
#include "../proto/ops.def"
#undef TD_OP
};

/* Rows whose rules and kernels share code without sharing a family read one row's
 * attribute words for all of them (TD_A_* of kernels/op_attrs.h); a layout change in
 * proto/ops.args that breaks this stops the build here.  (make gen checks that a row
 * with a line of its own agrees with its family's TD_A_<FAMILY>_*.) */
_Static_assert(TD_A_UPLOAD_OFFSET == TD_A_READ_OFFSET && TD_A_UPLOAD_LENGTH == TD_A_READ_LENGTH,
               "UPLOAD's byte range is READ's");
_Static_assert(TD_A_SUB_ALPHA == TD_A_ADD_ALPHA && TD_N_SUB == TD_N_ADD, "SUB's alpha is ADD's");
_Static_assert(TD_A_MATH_BINARY_OPERAND == TD_A_BINARY_OPERAND && TD_N_MATH_BINARY == TD_N_BINARY &&
                   TD_A_LERP_OPERAND == TD_A_MATH_BINARY_OPERAND && TD_N_LERP == TD_N_MATH_BINARY,
               "MATH_BINARY's and LERP's operand slot is BINARY's");
_Static_assert(TD_A_ADDCDIV_VALUE == TD_A_ADDCMUL_VALUE && TD_N_ADDCDIV == TD_N_ADDCMUL,
               "ADDCDIV's value is ADDCMUL's");
_Static_assert(TD_A_CUMULATIVE_DIM == TD_A_SOFTMAX_DIM && TD_A_CUMULATIVE_DTYPE == TD_A_SOFTMAX_DTYPE &&
                   TD_N_CUMULATIVE == TD_N_SOFTMAX,
               "CUMULATIVE's layout is SOFTMAX's");
_Static_assert(TD_A_GATHER_DIM == TD_A_CUMULATIVE_DIM && TD_A_SCATTER_DIM == TD_A_CUMULATIVE_DIM &&
                   TD_N_GATHER <= TD_N_CUMULATIVE && TD_N_SCATTER <= TD_N_CUMULATIVE &&
                   TD_A_CUMULATIVE_DTYPE == TD_N_CUMULATIVE - 1,
               "the complex pair kernels rewrite GATHER's, SCATTER's and CUMSUM's dim alike (cpu/complex.c)");
_Static_assert(TD_A_INDEX_PUT_DIM == TD_A_INDEX_DIM && TD_A_INDEX_PUT_MODE == TD_A_INDEX_MODE,
               "INDEX_PUT's dim and mode are INDEX's");
_Static_assert(TD_A_TRIU_DIAGONAL == TD_A_TRIL_DIAGONAL && TD_N_TRIU == TD_N_TRIL, "TRIU's layout is TRIL's");

int td_op_written_inputs(unsigned op, unsigned flags, int n_in, int *first)
{
    *first = 0;
    if ((flags & TD_RF_OUT) && op < TD_OP_COUNT) {
        int n_dst = td_op_table[op].n_out;
        if (n_dst > n_in)
            return 0; /* a malformed record: it names no destination */
        *first = n_in - n_dst;
        return n_in;
    }
    if (op < TD_OP_COUNT && td_op_table[op].family == TD_FAM_OPTIM)
        return n_in; /* params and states, in place (grads too, conservatively) */
    bool in0 = (flags & TD_RF_INPLACE) || op == TD_OP_COPY_ || op == TD_OP_FILL_ || op == TD_OP_UPLOAD ||
               op == TD_OP_GET_RNG_STATE;
    return in0 && n_in > 0 ? 1 : 0;
}
