/*
 * shape_math.c — meta inference for the math families:
 *   MATH_UNARY    FRAC LOGIT NAN_TO_NUM and the bool predicates (ISNAN ... SIGNBIT)
 *   MATH_BINARY   ATAN2 HYPOT COPYSIGN XLOGY LOGADDEXP LOGADDEXP2 FMOD
 *   MATH_TERNARY  LERP ADDCMUL ADDCDIV
 *   (pointwise functions whose dtype rules differ op by op, unlike UNARY/BINARY's
 *   shared ones: each is checked here with torch's message)
 *   SOFTMAX / CUMULATIVE  one dim, output shaped like the input
 *   STAT      reductions over a dim mask (var, std, norm, median, mode, ...)
 * Attribute layouts are in proto/ops.args.  Like shape.c, nothing here trusts its
 * input: the daemon runs these rules on every record.  Float16/bfloat16 are computed
 * in float32 (the executor casts), so they are accepted where torch 1.13's CPU lacks
 * a kernel — more permissive than torch, never less.
 */
#include <string.h>

#include "shape_internal.h"

static enum td_code not_impl(const char *kernel, enum td_dtype d, struct td_status *st)
{
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for '%s'", kernel,
                         td_dtype_torch_name(d));
}

static bool is_pred(unsigned op) { return op >= TD_OP_ISNAN && op <= TD_OP_SIGNBIT; }

static enum td_code infer_math_unary(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    enum td_dtype dt = x->dtype, odt = dt;
    switch (a->op) {
    case TD_OP_FRAC:
        if (!td_dtype_is_float(dt))
            return not_impl("frac_cpu", dt, st);
        break;
    case TD_OP_LOGIT:
        if (td__need_attrs(a, TD_N_LOGIT, st))
            return st->code;
        if (!td_dtype_is_float(dt))
            odt = dt = a->default_float;
        break;
    case TD_OP_NAN_TO_NUM:
        if (td__need_attrs(a, TD_N_NAN_TO_NUM, st))
            return st->code;
        break;
    default:
        if (!is_pred(a->op))
            return td_status_set(st, TD_CODE_INTERNAL, "%s: not a math unary op", td_op_name(a->op));
        odt = TD_DTYPE_BOOL;
    }
    inf->compute_dtype = td__compute_dtype(dt);
    return td__elementwise_out(a, x->sizes, x->ndim, odt, out, inf, st);
}

static enum td_code infer_math_binary(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                  struct td_status *st)
{
    int64_t sizes[TD_MAX_DIMS];
    int nd;
    enum td_dtype rt;
    if (td__binary_operands(a, sizes, &nd, &rt, st))
        return st->code;
    unsigned op = a->op;
    if (op == TD_OP_FMOD && rt == TD_DTYPE_BOOL)
        return not_impl("fmod_cpu", rt, st);
    if ((op == TD_OP_HYPOT || op == TD_OP_LOGADDEXP || op == TD_OP_LOGADDEXP2) && !td_dtype_is_float(rt))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s_cpu\" not implemented for '%s'",
                             td_op_name(op), td_dtype_torch_name(rt));
    if ((td_op_table[op].flags & TD_F_FLOAT_OUT) && !td_dtype_is_float(rt))
        rt = a->default_float;
    inf->compute_dtype = td__compute_dtype(rt);
    td__round_operands(inf, rt);
    if (td__elementwise_out(a, sizes, nd, rt, out, inf, st))
        return st->code;
    return op == TD_OP_FMOD ? td__check_scalar_zero_divisor(a, out, inf, st) : TD_CODE_OK;
}

/* The C++ type names torch's lerp messages print ("expected dtype float ..."). */
static const char *cpp_name(enum td_dtype d)
{
    static const char *const n[TD_DTYPE_COUNT] = {
        "float", "double", "c10::Half", "c10::BFloat16", "long int", "int", "short int",
        "signed char", "unsigned char", "bool", "c10::complex<float>", "c10::complex<double>",
    };
    return td_dtype_valid(d) ? n[d] : "?";
}

static enum td_code infer_lerp(const struct td_op_args *a, int64_t *sizes, int nd, struct td_meta *out,
                               struct td_infer *inf, struct td_status *st)
{
    enum td_dtype dt = a->in[0]->dtype;
    if (a->n_in == 2 && (td__need_attrs(a, TD_N_LERP, st) || td__check_scalar(a->attrs + TD_A_LERP_OPERAND, st)))
        return st->code;
    if (!td_dtype_is_inexact(dt))
        return not_impl(a->n_in == 3 ? "lerp_kernel_tensor" : "lerp_kernel_scalar", dt, st);
    inf->compute_dtype = td__compute_dtype(dt);
    return td__elementwise_out(a, sizes, nd, dt, out, inf, st);
}

static enum td_code infer_math_ternary(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                   struct td_status *st)
{
    if (td__need_inputs(a, a->op == TD_OP_LERP ? 2 : 3, 3, st))
        return st->code;
    for (int i = 1; a->op == TD_OP_LERP && i < a->n_in; i++) /* torch checks lerp's dtypes before the shapes */
        if (a->in[i]->dtype != a->in[0]->dtype)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "expected dtype %s for `%s` but got dtype %s",
                                 cpp_name(a->in[0]->dtype), i == 1 ? "end" : "weight", cpp_name(a->in[i]->dtype));
    int64_t sizes[TD_MAX_DIMS];
    int nd = a->in[0]->ndim;
    memcpy(sizes, a->in[0]->sizes, sizeof(int64_t) * nd);
    for (int i = 1; i < a->n_in; i++)
        if (td__broadcast(sizes, &nd, a->in[i], st))
            return st->code;
    if (a->op == TD_OP_LERP)
        return infer_lerp(a, sizes, nd, out, inf, st);
    if (td__need_attrs(a, TD_N_ADDCMUL, st) || td__check_scalar(a->attrs + TD_A_ADDCMUL_VALUE, st)) /* ADDCDIV alike */
        return st->code;
    if (a->op == TD_OP_ADDCDIV && !td_dtype_is_inexact(a->in[1]->dtype) && !td_dtype_is_inexact(a->in[2]->dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Integer division with addcdiv is no longer supported, and in a future  release "
                             "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
                             "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
                             ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
                             "float inputs. The future addcdiv behavior is just the latter implementation: "
                             "(input + value * tensor1 / tensor2), for all dtypes.");
    enum td_dtype rt = td__result_type(a->in, 3, NULL, a->default_float);
    if (rt == TD_DTYPE_BOOL)
        return not_impl(a->op == TD_OP_ADDCMUL ? "addcmul_cpu_out" : "addcdiv_cpu_out", rt, st);
    inf->compute_dtype = td__compute_dtype(rt);
    return td__elementwise_out(a, sizes, nd, rt, out, inf, st);
}

enum td_code td__infer_math_elem(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    switch (td_op_table[a->op].family) {
    case TD_FAM_MATH_UNARY: return infer_math_unary(a, out, inf, st);
    case TD_FAM_MATH_BINARY: return infer_math_binary(a, out, inf, st);
    default: return infer_math_ternary(a, out, inf, st);
    }
}

/* ---- SOFTMAX, CUMULATIVE: dim, dtype or -1 (one layout, op.c) ---- */

static enum td_code dtype_attr(const struct td_op_args *a, int64_t w, enum td_dtype *dt, struct td_status *st)
{
    if (w >= 0 && !td_dtype_valid(w))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: invalid dtype %lld", td_op_name(a->op),
                             (long long)w);
    if (w >= 0)
        *dt = (enum td_dtype)w;
    return TD_CODE_OK;
}

enum td_code td__infer_math_dim(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_SOFTMAX, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    int64_t dim = a->attrs[TD_A_SOFTMAX_DIM];
    if (td_meta_wrap_dim(&dim, x->ndim, st))
        return st->code;
    enum td_dtype odt = x->dtype, want = odt;
    bool has_dtype = a->attrs[TD_A_SOFTMAX_DTYPE] >= 0;
    if (dtype_attr(a, a->attrs[TD_A_SOFTMAX_DTYPE], &want, st))
        return st->code;
    unsigned op = a->op;
    bool last = dim == x->ndim - 1 || x->ndim == 0;
    switch (op) {
    case TD_OP_SOFTMAX:
    case TD_OP_LOG_SOFTMAX:
        odt = want;
        if (!td_dtype_is_float(odt))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for '%s'",
                                 !last ? "softmax_kernel_impl"
                                 : op == TD_OP_SOFTMAX ? "softmax_lastdim_kernel_impl"
                                                       : "log_softmax_lastdim_kernel_impl",
                                 td_dtype_torch_name(odt));
        break;
    case TD_OP_CUMSUM:
    case TD_OP_CUMPROD:
        odt = has_dtype ? want : td_dtype_is_inexact(odt) ? odt : TD_DTYPE_INT64;
        break;
    case TD_OP_LOGCUMSUMEXP:
        odt = want;
        if (!td_dtype_is_float(odt))
            return not_impl("logcumsumexp_out_cpu", odt, st);
        break;
    default: /* CUMMAX, CUMMIN */
        break;
    }
    inf->compute_dtype = td__compute_dtype(odt);
    if (op == TD_OP_CUMMAX || op == TD_OP_CUMMIN) {
        inf->n_out = 2;
        if (td_meta_contiguous(&out[0], odt, x->ndim, x->sizes, st))
            return st->code;
        return td_meta_contiguous(&out[1], TD_DTYPE_INT64, x->ndim, x->sizes, st);
    }
    if (td__elementwise_out(a, x->sizes, x->ndim, odt, out, inf, st))
        return st->code;
    /* softmax and the scans give a row-major result whatever the input's layout (torch) */
    return (a->flags & TD_RF_INPLACE) ? TD_CODE_OK : td_meta_contiguous(out, odt, x->ndim, x->sizes, st);
}

/* ---- STAT: dim mask, keepdim, dtype or -1, extra: correction / p (double bits) ---- */

static enum td_code stat_dtype(const struct td_op_args *a, enum td_dtype in, enum td_dtype *odt,
                               struct td_status *st)
{
    enum td_dtype want = in;
    bool has = a->attrs[TD_A_STAT_DTYPE] >= 0;
    if (dtype_attr(a, a->attrs[TD_A_STAT_DTYPE], &want, st))
        return st->code;
    *odt = in;
    switch (a->op) {
    case TD_OP_VAR:
    case TD_OP_STD:
        if (!td_dtype_is_inexact(in))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "std and var only support floating point and complex dtypes");
        *odt = td_dtype_to_real(in); /* |x - mean|^2 is real */
        break;
    case TD_OP_VAR_MEAN:
    case TD_OP_STD_MEAN:
        if (!td_dtype_is_inexact(in))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "%s only support floating point and complex dtypes", td_op_name(a->op));
        *odt = td_dtype_to_real(in); /* the mean (output 1) keeps the input dtype */
        break;
    case TD_OP_LOGSUMEXP: *odt = td_dtype_is_float(in) ? in : a->default_float; break;
    case TD_OP_NORM:
        if (!td_dtype_is_inexact(in))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "norm(): input dtype should be either floating point or complex. Got %s instead.",
                                 td_dtype_torch_name(in));
        *odt = td_dtype_to_real(want); /* a complex input's norm is real (dtype= names the precision) */
        break;
    case TD_OP_NANSUM: *odt = has ? want : td_dtype_is_float(in) ? in : TD_DTYPE_INT64; break;
    case TD_OP_NANMEAN:
        if (!td_dtype_is_float(in))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "nanmean(): expected input to have floating point dtype but got %s",
                                 td_dtype_torch_name(in));
        *odt = want;
        break;
    case TD_OP_COUNT_NONZERO: *odt = TD_DTYPE_INT64; break;
    case TD_OP_MEDIAN:
    case TD_OP_MEDIAN_DIM:
        if (in == TD_DTYPE_BOOL)
            return not_impl("median_cpu", in, st);
        break;
    default: break; /* AMINMAX, MODE */
    }
    return TD_CODE_OK;
}

/* The empty-reduction errors of the ops that need an element. */
static enum td_code stat_nonempty(const struct td_op_args *a, uint64_t mask, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    unsigned op = a->op;
    bool one_dim = op == TD_OP_MEDIAN_DIM || op == TD_OP_MODE || (op == TD_OP_AMINMAX && a->attrs[TD_A_AMINMAX_EXTRA]);
    if (op == TD_OP_AMINMAX && !one_dim && td_meta_numel(x) == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "aminmax(): cannot compute aminmax over an empty dimension as the operation has "
                             "no identity.");
    if (op == TD_OP_MEDIAN && td_meta_numel(x) == 0 && !td_dtype_is_float(x->dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "median() of an empty integer tensor is undefined");
    if (!one_dim)
        return TD_CODE_OK;
    for (int d = 0; d < x->ndim; d++)
        if ((mask >> d & 1) && x->sizes[d] == 0)
            return td_status_set(st, TD_CODE_OUT_OF_RANGE, "%s%s Expected reduction dim %d to have non-zero size.",
                                 op == TD_OP_MEDIAN_DIM ? "median" : td_op_name(op),
                                 op == TD_OP_AMINMAX ? ":" : "():", d);
    return TD_CODE_OK;
}

enum td_code td__infer_math_stat(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_N_STAT, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    uint64_t mask = (uint64_t)a->attrs[TD_A_STAT_DIM];
    bool keepdim = a->attrs[TD_A_STAT_KEEPDIM] != 0;
    int nd = x->ndim;
    uint64_t full = nd ? ((1ull << nd) - 1) : 1;
    if (mask & ~full)
        return td_status_set(st, TD_CODE_OUT_OF_RANGE, "%s: reduction dims out of range for a %d-d tensor",
                             td_op_name(a->op), nd);
    if ((a->op == TD_OP_MEDIAN_DIM || a->op == TD_OP_MODE) && __builtin_popcountll(mask) != 1)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expects exactly one dim", td_op_name(a->op));
    if (a->op == TD_OP_MEDIAN)
        mask = full, keepdim = false;
    enum td_dtype odt = x->dtype;
    if (stat_dtype(a, x->dtype, &odt, st) || stat_nonempty(a, mask, st))
        return st->code;
    int64_t sizes[TD_MAX_DIMS];
    int ond = 0;
    for (int d = 0; d < nd; d++) {
        if (!(mask >> d & 1))
            sizes[ond++] = x->sizes[d];
        else if (keepdim)
            sizes[ond++] = 1;
    }
    bool cast_in = a->op == TD_OP_LOGSUMEXP || a->op == TD_OP_NORM || a->op == TD_OP_NANSUM ||
                   a->op == TD_OP_NANMEAN;
    bool cx = td_dtype_is_complex(x->dtype);
    enum td_dtype cdt = cast_in ? odt : x->dtype;
    if (cx && a->op == TD_OP_NORM)
        cdt = td_dtype_to_complex(odt); /* |z| is taken in the requested precision */
    inf->compute_dtype = td__compute_dtype(cdt);
    inf->n_out = td_op_table[a->op].n_out;
    if (td_meta_contiguous(&out[0], odt, ond, sizes, st))
        return st->code;
    if (inf->n_out == 1)
        return TD_CODE_OK;
    bool idx = a->op == TD_OP_MEDIAN_DIM || a->op == TD_OP_MODE;
    bool mean = a->op == TD_OP_VAR_MEAN || a->op == TD_OP_STD_MEAN;
    return td_meta_contiguous(&out[1], idx ? TD_DTYPE_INT64 : mean ? x->dtype : odt, ond, sizes, st);
}
