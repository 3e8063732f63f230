/* wrappers.c — typed conveniences over td_op for C users; each is one record. */
#include <string.h>

#include "tensord.h"

void td_scalar_f64(int64_t *w, double v)
{
    w[0] = TD_SCALAR_FLOAT;
    memcpy(&w[1], &v, 8);
}

void td_scalar_i64(int64_t *w, int64_t v)
{
    w[0] = TD_SCALAR_INT;
    w[1] = v;
}

enum td_code td_full(td_client_t *c, enum td_dtype dt, int ndim, const int64_t *sizes, double value,
                     struct td_t *out, struct td_status *st)
{
    int64_t attrs[4 + TD_MAX_DIMS];
    if (ndim < 0 || ndim > TD_MAX_DIMS)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "tensors have at most %d dims", TD_MAX_DIMS);
    attrs[0] = dt;
    attrs[1] = ndim;
    memcpy(attrs + 2, sizes, sizeof(int64_t) * ndim);
    td_scalar_f64(attrs + 2 + ndim, value);
    return td_op(c, TD_OP_FULL, 0, NULL, 0, attrs, 4 + ndim, out, st);
}

enum td_code td_binary(td_client_t *c, enum td_op op, const struct td_t *a, const struct td_t *b,
                       struct td_t *out, struct td_status *st)
{
    const struct td_t *in[2] = {a, b};
    int64_t attrs[2] = {0, 0};
    return td_op(c, op, 0, in, 2, attrs, 2, out, st);
}

enum td_code td_binary_scalar(td_client_t *c, enum td_op op, const struct td_t *a, double b, struct td_t *out,
                              struct td_status *st)
{
    const struct td_t *in[1] = {a};
    int64_t attrs[2];
    td_scalar_f64(attrs, b);
    return td_op(c, op, 0, in, 1, attrs, 2, out, st);
}

enum td_code td_unary(td_client_t *c, enum td_op op, const struct td_t *a, struct td_t *out, struct td_status *st)
{
    const struct td_t *in[1] = {a};
    return td_op(c, op, 0, in, 1, NULL, 0, out, st);
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
    int64_t attrs[4] = {(int64_t)mask, keepdim, -1, 0};
    const struct td_t *in[1] = {a};
    return td_op(c, op, 0, in, 1, attrs, 4, out, st);
}

enum td_code td_matmul(td_client_t *c, const struct td_t *a, const struct td_t *b, struct td_t *out,
                       struct td_status *st)
{
    const struct td_t *in[2] = {a, b};
    return td_op(c, TD_OP_MATMUL, 0, in, 2, NULL, 0, out, st);
}

enum td_code td_client_set_num_threads(td_client_t *c, int n, struct td_status *st)
{
    int64_t attr = n;
    return td_op(c, TD_OP_SET_NUM_THREADS, 0, NULL, 0, &attr, 1, NULL, st);
}
