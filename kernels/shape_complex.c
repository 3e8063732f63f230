/*
 * shape_complex.c — meta rules for the complex dtypes (complex64, complex128).
 *
 * The gate: td_meta_infer calls td__complex_gate_inputs before the family rule and
 * td__complex_gate_outputs after it.  An op whose row lacks TD_F_COMPLEX that gets a
 * complex input, or would produce a complex output, fails here with PyTorch's message
 * ("\"lt_cpu\" not implemented for 'ComplexFloat'", "clamp is not supported for complex
 * types", ...), so no kernel that does not understand complex ever sees one — whatever
 * arrives from the wire.  Rows with the flag may still refuse particular forms (div with
 * a rounding mode, in-place abs); those checks live here too.
 *
 * The views: VIEW_AS_REAL and VIEW_AS_COMPLEX reinterpret a storage as (re, im) pairs of
 * the real dtype and back, as torch.view_as_real/view_as_complex do; torch.real/imag are
 * selects on view_as_real, so they are views too.
 * Not here: promotion (kernels/dtype.c), kernels (kernels/cpu/complex.c).
 */
#include <stdio.h>
#include <string.h>

#include "shape_internal.h"

static bool any_complex_input(const struct td_op_args *a)
{
    for (int i = 0; i < a->n_in; i++)
        if (td_dtype_is_complex(a->in[i]->dtype))
            return true;
    return false;
}

/* PyTorch's kernel name in "\"<name>\" not implemented for 'ComplexFloat'". */
static const char *kernel_name(const struct td_op_args *a, char *buf, size_t len)
{
    switch (a->op) {
    case TD_OP_SORT:
        return a->n_attr >= TD_N_SORT && a->attrs[TD_A_SORT_K] >= 0 ? "topk_cpu" : "sorting_kernel_method_name";
    case TD_OP_AMAX: return "max_values_cpu";
    case TD_OP_AMIN: return "min_values_cpu";
    case TD_OP_MAX_DIM: return "max_cpu";
    case TD_OP_MIN_DIM: return "min_cpu";
    case TD_OP_ERF: return "erf_vml_cpu";
    case TD_OP_LOG1P: return "log1p_vml_cpu";
    case TD_OP_EXPM1: return "expm1_vml_cpu";
    case TD_OP_ERFINV: return "erfinv_vml_cpu";
    case TD_OP_ROUND: return "round_vml_cpu";
    case TD_OP_LGAMMA: return "lgamma_vml_cpu";
    case TD_OP_EXP2: return "exp2";
    case TD_OP_DIGAMMA: return "digamma";
    case TD_OP_NAN_TO_NUM: return "nan_to_num";
    case TD_OP_SEARCHSORTED: return "searchsorted_out_cpu";
    case TD_OP_LOGCUMSUMEXP: return "logcumsumexp_out_cpu";
    case TD_OP_SOFTMAX: return "softmax_lastdim_kernel_impl";
    case TD_OP_LOG_SOFTMAX: return "log_softmax_lastdim_kernel_impl";
    case TD_OP_HISTC:
    case TD_OP_AMINMAX: return "aminmax_cpu";
    case TD_OP_BERNOULLI_: return "bernoulli_tensor_cpu_self_";
    default: snprintf(buf, len, "%s_cpu", td_op_name(a->op)); return buf;
    }
}

/* The refusal for op on complex dtype dt, in PyTorch's words where it has its own. */
static enum td_code refuse(const struct td_op_args *a, enum td_dtype dt, struct td_status *st)
{
    const char *name = td_op_name(a->op);
    char buf[64];
    switch (a->op) {
    case TD_OP_MAXIMUM:
    case TD_OP_MINIMUM:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s not implemented for complex tensors.", name);
    case TD_OP_CLAMP:
    case TD_OP_RELU:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "clamp is not supported for complex types");
    case TD_OP_FLOOR:
    case TD_OP_CEIL:
    case TD_OP_TRUNC:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s is not supported for complex inputs", name);
    case TD_OP_SIGN:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                             "torch.sgn instead.");
    case TD_OP_ISPOSINF:
    case TD_OP_ISNEGINF:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s does not support complex inputs.", name);
    case TD_OP_SIGNBIT:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "signbit is not implemented for complex tensors.");
    case TD_OP_NANSUM:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "nansum does not support complex inputs");
    case TD_OP_NANMEAN:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "nanmean(): expected input to have floating point dtype but got %s",
                             td_dtype_torch_name(dt));
    case TD_OP_LOGSUMEXP:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "logsumexp(): Expected floating point type for result tensor, but got: %s",
                             td_dtype_torch_name(dt));
    case TD_OP_MAX_DIM:
    case TD_OP_MIN_DIM:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s(): does not support complex input",
                             a->op == TD_OP_MAX_DIM ? "max" : "min");
    case TD_OP_MULTINOMIAL:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "multinomial only supports floating-point dtypes for input, got: %s",
                             td_dtype_torch_name(dt));
    case TD_OP_RANDINT:
    case TD_OP_RANDOM_:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "check_random_bounds handles only integral, floating-point and boolean types");
    default:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for '%s'",
                             kernel_name(a, buf, sizeof buf), td_dtype_torch_name(dt));
    }
}

/* Forms of TD_F_COMPLEX rows that still refuse complex operands. */
static enum td_code check_flagged(const struct td_op_args *a, enum td_dtype dt, struct td_status *st)
{
    bool inplace = a->flags & TD_RF_INPLACE;
    switch (a->op) {
    case TD_OP_DIV: {
        int64_t mode = a->n_attr >= TD_N_DIV ? a->attrs[TD_A_DIV_ROUNDING_MODE] : TD_ROUND_NONE;
        if (mode == TD_ROUND_TRUNC || mode == TD_ROUND_FLOOR)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"div_%s_cpu\" not implemented for '%s'",
                                 mode == TD_ROUND_FLOOR ? "floor" : "trunc", td_dtype_torch_name(dt));
        return TD_CODE_OK;
    }
    case TD_OP_ABS:
        if (inplace && td_dtype_is_complex(a->in[0]->dtype))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "In-place abs is not supported for complex tensors.");
        return TD_CODE_OK;
    default: return TD_CODE_OK;
    }
}

enum td_code td__complex_gate_inputs(const struct td_op_args *a, struct td_status *st)
{
    if (!any_complex_input(a))
        return TD_CODE_OK;
    enum td_dtype dt = TD_DTYPE_COMPLEX64;
    for (int i = 0; i < a->n_in; i++)
        if (a->in[i]->dtype == TD_DTYPE_COMPLEX128)
            dt = TD_DTYPE_COMPLEX128;
    if (!(td_op_table[a->op].flags & TD_F_COMPLEX))
        return refuse(a, dt, st);
    return check_flagged(a, dt, st);
}

enum td_code td__complex_gate_outputs(const struct td_op_args *a, const struct td_meta *out, int n_out,
                                      struct td_status *st)
{
    for (int j = 0; j < n_out; j++)
        if (td_dtype_is_complex(out[j].dtype) && !(td_op_table[a->op].flags & TD_F_COMPLEX))
            return refuse(a, (enum td_dtype)out[j].dtype, st);
    return TD_CODE_OK;
}

/* ---- VIEW_AS_REAL / VIEW_AS_COMPLEX: o starts as a copy of the input meta ---- */

static enum td_code as_real(struct td_meta *o, struct td_status *st)
{
    if (!td_dtype_is_complex(o->dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "view_as_real is only supported for complex tensors");
    if (o->ndim >= TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims", TD_MAX_DIMS);
    for (int d = 0; d < o->ndim; d++)
        o->strides[d] *= 2;
    o->sizes[o->ndim] = 2;
    o->strides[o->ndim] = 1;
    o->ndim++;
    o->offset *= 2;
    o->dtype = (uint8_t)td_dtype_to_real((enum td_dtype)o->dtype);
    return TD_CODE_OK;
}

static enum td_code as_complex(struct td_meta *o, struct td_status *st)
{
    enum td_dtype dt = (enum td_dtype)o->dtype;
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "view_as_complex is only supported for half, float and double tensors, but got a tensor "
                             "of scalar type: %s", td_dtype_torch_name(dt));
    if (o->ndim == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Input tensor must have one or more dimensions");
    int last = o->ndim - 1;
    if (o->sizes[last] != 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Tensor must have a last dimension of size 2");
    if (o->strides[last] != 1)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Tensor must have a last dimension with stride 1");
    for (int d = 0; d < last; d++)
        if (o->strides[d] % 2)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Tensor must have a stride divisible by 2 for all but last dimension");
    if (o->offset % 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Tensor must have a storage_offset divisible by 2");
    for (int d = 0; d < last; d++)
        o->strides[d] /= 2;
    o->ndim--;
    o->offset /= 2;
    o->dtype = (uint8_t)td_dtype_to_complex(dt);
    return TD_CODE_OK;
}

enum td_code td__infer_complex_view(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    return a->op == TD_OP_VIEW_AS_REAL ? as_real(out, st) : as_complex(out, st);
}
