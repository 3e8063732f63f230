/*
 * shape_random.c — meta inference for the RANDOM family: the in-place distributions
 * (uniform_, normal_, exponential_, cauchy_, log_normal_, geometric_, random_,
 * bernoulli_), bernoulli with a probability tensor, binomial, poisson, multinomial,
 * randperm and the generator-state transfers (get/set_rng_state).  Attribute layouts
 * are in proto/ops.args.  Whether a probability lies in [0, 1] inside a tensor is
 * data: the kernels (kernels/cpu/random.c) check that.
 */
#include <math.h>
#include <string.h>

#include "rng.h"
#include "shape_internal.h"


static double f64_of(int64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static enum td_code float_only(const struct td_meta *x, const char *kname, struct td_status *st)
{
    if (!td_dtype_is_float(x->dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for '%s'", kname,
                             td_dtype_torch_name(x->dtype));
    return TD_CODE_OK;
}

/* The distributions of one parameter, and RANDOM_'s range. */
static enum td_code check_dist_one(const struct td_op_args *a, struct td_status *st)
{
    switch (a->op) {
    case TD_OP_EXPONENTIAL_: {
        if (td__need_attrs(a, TD_N_EXPONENTIAL_, st) || float_only(a->in[0], "exponential_cpu", st))
            return st->code;
        double lambd = f64_of(a->attrs[TD_A_EXPONENTIAL__LAMBD]);
        if (!(lambd >= 0))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "exponential_ expects lambda >= 0.0, but found lambda=%g", lambd);
        return TD_CODE_OK;
    }
    case TD_OP_GEOMETRIC_: {
        if (td__need_attrs(a, TD_N_GEOMETRIC_, st))
            return st->code;
        double p = f64_of(a->attrs[TD_A_GEOMETRIC__P]);
        if (!(p > 0 && p < 1))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "geometric_ expects p to be in (0, 1), but got p=%g", p);
        return TD_CODE_OK;
    }
    case TD_OP_BERNOULLI_: {
        if (td__need_attrs(a, TD_N_BERNOULLI_, st))
            return st->code;
        double p = f64_of(a->attrs[TD_A_BERNOULLI__P]);
        if (!(p >= 0 && p <= 1))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "bernoulli_ expects p to be in [0, 1], but got p=%g", p);
        return TD_CODE_OK;
    }
    default: /* RANDOM_ */
        if (td__need_attrs(a, TD_N_RANDOM_, st))
            return st->code;
        /* to = TD_RNG_TO_NONE on int64: torch's to=None (its maximum + 1, not a word) */
        if (a->attrs[TD_A_RANDOM__TO] == TD_RNG_TO_NONE && a->in[0]->dtype == TD_DTYPE_INT64)
            return TD_CODE_OK;
        if (a->attrs[TD_A_RANDOM__FROM] >= a->attrs[TD_A_RANDOM__TO])
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "random_ expects 'from' to be less than 'to', but got from=%lld >= to=%lld",
                                 (long long)a->attrs[TD_A_RANDOM__FROM], (long long)a->attrs[TD_A_RANDOM__TO]);
        return TD_CODE_OK;
    }
}

/* Parameter checks of the in-place distributions, with torch's messages. */
static enum td_code check_dist(const struct td_op_args *a, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    switch (a->op) {
    case TD_OP_UNIFORM_:
        if (td__need_attrs(a, TD_N_UNIFORM_, st) || float_only(x, "check_uniform_bounds", st))
            return st->code;
        if (a->attrs[TD_A_UNIFORM__DTYPE] != x->dtype)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "uniform_: attribute 2 must be the tensor's dtype");
        if (!(f64_of(a->attrs[TD_A_UNIFORM__FROM]) <= f64_of(a->attrs[TD_A_UNIFORM__TO])))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "uniform_ expects to return a [from, to) range, but found from=%g > to=%g",
                                 f64_of(a->attrs[TD_A_UNIFORM__FROM]), f64_of(a->attrs[TD_A_UNIFORM__TO]));
        return TD_CODE_OK;
    case TD_OP_NORMAL_:
        if (td__need_attrs(a, TD_N_NORMAL_, st) || float_only(x, "normal_kernel_cpu", st))
            return st->code;
        if (!(f64_of(a->attrs[TD_A_NORMAL__STD]) >= 0))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "normal expects std >= 0.0, but found std %g",
                                 f64_of(a->attrs[TD_A_NORMAL__STD]));
        return TD_CODE_OK;
    case TD_OP_LOG_NORMAL_:
        if (td__need_attrs(a, TD_N_LOG_NORMAL_, st) || float_only(x, "log_normal_cpu", st))
            return st->code;
        if (!(f64_of(a->attrs[TD_A_LOG_NORMAL__STD]) > 0))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "log_normal_ expects std > 0.0, but found std=%g",
                                 f64_of(a->attrs[TD_A_LOG_NORMAL__STD]));
        return TD_CODE_OK;
    case TD_OP_CAUCHY_:
        /* torch 1.13 accepts any sigma here (a negative one mirrors the distribution) */
        return td__need_attrs(a, TD_N_CAUCHY_, st) ? st->code : float_only(x, "cauchy_cpu", st);
    default: return check_dist_one(a, st);
    }
}

static enum td_code infer_multinomial(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                      struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    if (td__need_attrs(a, TD_N_MULTINOMIAL, st))
        return st->code;
    int64_t n = a->attrs[TD_A_MULTINOMIAL_NUM_SAMPLES];
    if (!td_dtype_is_float(x->dtype))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "multinomial only supports floating-point dtypes for input, got: %s",
                             td_dtype_torch_name(x->dtype));
    if (x->dtype == TD_DTYPE_FLOAT16)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "multinomial is not implemented for half on CPU");
    if (x->ndim != 1 && x->ndim != 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "prob_dist must be 1 or 2 dim");
    if (n <= 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "cannot sample n_sample <= 0 samples");
    int64_t cats = x->sizes[x->ndim - 1];
    if (!a->attrs[TD_A_MULTINOMIAL_REPLACEMENT] && n > cats)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
    if (cats == 0)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "multinomial: prob_dist has no categories");
    int64_t sizes[2] = {x->sizes[0], n};
    inf->n_out = 1;
    inf->compute_dtype = td__compute_dtype(x->dtype);
    return td_meta_contiguous(out, TD_DTYPE_INT64, x->ndim, x->ndim == 1 ? sizes + 1 : sizes, st);
}

enum td_code td__infer_random(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st)
{
    if (a->op == TD_OP_RANDPERM) {
        if (td__need_inputs(a, 0, 0, st) || td__need_attrs(a, TD_N_RANDPERM, st))
            return st->code;
        int64_t dt = a->attrs[TD_A_RANDPERM_DTYPE], n = a->attrs[TD_A_RANDPERM_N];
        if (!td_dtype_valid(dt))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "invalid dtype %lld", (long long)dt);
        if (dt == TD_DTYPE_BOOL)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"randperm\" not implemented for 'Bool'");
        /* every value n-1 must be representable (exactly, for floats) */
        int64_t lim = dt == TD_DTYPE_UINT8 ? 256 : dt == TD_DTYPE_INT8 ? 128 : dt == TD_DTYPE_INT16 ? 32768
                    : dt == TD_DTYPE_INT32 ? INT64_C(2147483648) : dt == TD_DTYPE_FLOAT16 ? 2049
                    : dt == TD_DTYPE_BFLOAT16 ? 257 : dt == TD_DTYPE_FLOAT32 ? (INT64_C(1) << 24) + 1 : INT64_MAX;
        if (n > lim)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "n must be at most %lld for randperm with dtype %s, got %lld",
                                 (long long)lim, td_dtype_torch_name((enum td_dtype)dt), (long long)n);
        inf->n_out = 1;
        inf->compute_dtype = td__compute_dtype((enum td_dtype)dt);
        return td_meta_contiguous(out, (enum td_dtype)dt, 1, &n, st);
    }
    if (a->op == TD_OP_BINOMIAL) { /* count, prob: one float dtype, one shape (the client broadcasts) */
        if (td__need_inputs(a, 2, 2, st))
            return st->code;
        const struct td_meta *c = a->in[0], *p = a->in[1];
        if (p->dtype != c->dtype)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Found dtype %s but expected %s",
                                 td_dtype_torch_name(p->dtype), td_dtype_torch_name(c->dtype));
        if (!td_dtype_is_float(c->dtype) || c->dtype == TD_DTYPE_FLOAT16)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"binomial_cpu\" not implemented for '%s'",
                                 td_dtype_torch_name(c->dtype));
        if (c->ndim != p->ndim || memcmp(c->sizes, p->sizes, sizeof(int64_t) * (size_t)c->ndim))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "binomial: count and prob must have the same shape");
        return td__same_as_input(a, out, inf, st);
    }
    if (td__need_inputs(a, 1, 1, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    switch (a->op) {
    case TD_OP_POISSON:
        if (!td_dtype_is_float(x->dtype) || x->dtype == TD_DTYPE_FLOAT16)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"poisson_cpu\" not implemented for '%s'",
                                 td_dtype_torch_name(x->dtype));
        return td__same_as_input(a, out, inf, st);
    case TD_OP_GET_RNG_STATE:
    case TD_OP_SET_RNG_STATE:
        if (a->n_attr > TD_A_GET_RNG_STATE_GENERATOR && (uint64_t)a->attrs[TD_A_GET_RNG_STATE_GENERATOR] > 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: generator must be 0 (cpu) or 1 (devices)",
                                 td_op_name(a->op));
        if (x->dtype != TD_DTYPE_UINT8 || td_meta_numel(x) != TD_RNG_STATE_BYTES || !td_meta_is_contiguous(x))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "%s: expected a contiguous uint8 tensor of %d elements", td_op_name(a->op),
                                 TD_RNG_STATE_BYTES);
        inf->n_out = 0;
        inf->compute_dtype = TD_DTYPE_UINT8;
        return TD_CODE_OK;
    case TD_OP_MULTINOMIAL: return infer_multinomial(a, out, inf, st);
    case TD_OP_BERNOULLI_P:
        if (!td_dtype_is_float(x->dtype))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"bernoulli_tensor_cpu_p_\" not implemented for '%s'",
                                 td_dtype_torch_name(x->dtype));
        return td__same_as_input(a, out, inf, st);
    default:
        if (check_dist(a, st)) /* each distribution checks its own words */
            return st->code;
        return td__same_as_input(a, out, inf, st);
    }
}
