/* wrappers.c — conveniences for C users over the typed builders (td_ops.h); each is one
 * record. */
#include <string.h>

#include "tensord.h"

void td_scalar_f64(int64_t *w, double v)
{
    struct td_scalar s = td_scalar_of_f64(v);
    w[0] = s.kind;
    w[1] = s.bits;
}

void td_scalar_i64(int64_t *w, int64_t v)
{
    w[0] = TD_SCALAR_INT;
    w[1] = v;
}

enum td_code td_full(td_client_t *c, enum td_dtype dt, int ndim, const int64_t *sizes, double value,
                     struct td_t *out, struct td_status *st)
{
    struct td_full_args a = {.dtype = dt, .size = sizes, .n_size = ndim, .fill_value = td_scalar_of_f64(value)};
    if (ndim < 0 || ndim > TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims", TD_MAX_DIMS);
    return td_rec_full(c, 0, NULL, 0, &a, out, st);
}

enum td_code td_binary(td_client_t *c, enum td_op op, const struct td_t *a, const struct td_t *b,
                       struct td_t *out, struct td_status *st)
{
    const struct td_t *in[2] = {a, b};
    return td_op_apply(c, op, 0, 2, in, NULL, out, st);
}

enum td_code td_binary_scalar(td_client_t *c, enum td_op op, const struct td_t *a, double b, struct td_t *out,
                              struct td_status *st)
{
    struct td_scalar sc[2] = {{0, 0}, td_scalar_of_f64(b)};
    const struct td_t *in[2] = {a, NULL};
    return td_op_apply(c, op, 0, 2, in, sc, out, st);
}

enum td_code td_unary(td_client_t *c, enum td_op op, const struct td_t *a, struct td_t *out, struct td_status *st)
{
    const struct td_t *in[1] = {a};
    return td_op_values(c, op, 0, in, 1, NULL, 0, out, st);
}

enum td_code td_reduce(td_client_t *c, enum td_op op, const struct td_t *a, const int64_t *dims, int n_dims,
                       int keepdim, struct td_t *out, struct td_status *st)
{
    uint64_t mask = 0;
    int nd = a->m.ndim;
    for (int i = 0; i < n_dims; i++) {
        int64_t d = dims[i];
        if (td_meta_wrap_dim(&d, nd, st))
            return st ? st->code : TD_CODE_OUT_OF_RANGE;
        mask |= 1ull << d;
    }
    if (!dims || !n_dims)
        mask = nd ? (1ull << nd) - 1 : 1;
    struct td_argval v[8];
    int n = td_op_default_values(op, v, 8);
    struct td_argval *dim = td_op_value(op, v, "dim"), *kd = td_op_value(op, v, "keepdim");
    if (!dim || !kd || td_op_table[op].family != TD_FAM_REDUCE)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s is not a reduction", td_op_name(op));
    dim->w[0] = (int64_t)mask;
    kd->w[0] = keepdim;
    const struct td_t *in[1] = {a};
    return td_op_values(c, op, 0, in, 1, v, n, out, st);
}

enum td_code td_matmul(td_client_t *c, const struct td_t *a, const struct td_t *b, struct td_t *out,
                       struct td_status *st)
{
    const struct td_t *in[2] = {a, b};
    return td_rec_matmul(c, 0, in, 2, out, st);
}

enum td_code td_client_set_num_threads(td_client_t *c, int n, struct td_status *st)
{
    struct td_set_num_threads_args a = {.n = n};
    return td_rec_set_num_threads(c, 0, NULL, 0, &a, NULL, st);
}
