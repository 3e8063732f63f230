/*
 * shape_linalg_packed.c — meta inference for the LINALG_PACKED family: the Householder
 * and LDL ops whose results are LAPACK's packed factor forms, which torch exposes below
 * torch.linalg's decompositions (geqrf, householder_product/orgqr,
 * ormqr, ldl_factor, ldl_solve).
 *
 * As in the LINALG family (shape_linalg.c): the last two dims of each matrix operand
 * are the matrix, the leading dims a batch that every operand shares exactly (the
 * client broadcasts where torch does), outputs are contiguous, only float32/float64
 * are computed.  The client words torch's argument errors before it records the op;
 * the messages here guard the wire.  Data-dependent failures (a zero pivot of sytrf)
 * are results: LDL_FACTOR reports sytrf's info in an int32 output.
 *
 * Layouts (b = the batch dims, k = number of reflectors):
 *   GEQRF       A (b, m, n): (b, m, n) R and reflectors as LAPACK leaves them, (b, min(m, n)) tau
 *   ORGQR       A (b, m, n) reflectors, tau (b, k), m >= n >= k: (b, m, n) Q's first n columns
 *   ORMQR       A (b, r, ka) reflectors, tau (b, k), C (b, m, n); attr 0 left, 1 transpose;
 *               r == (left ? m : n), k <= ka, k <= r: (b, m, n) op(Q) C or C op(Q)
 *   LDL_FACTOR  A (b, n, n); attr 0 hermitian: (b, n, n) LD (lower), (b, n) int32 pivots
 *               (LAPACK's 1-based ipiv, negative for 2x2 blocks), (b) int32 info
 *   LDL_SOLVE   LD (b, n, n), pivots int32 (b, n), B (b, n, r); attr 0 hermitian: (b, n, r) X
 */
#include <string.h>

#include "meta.h"
#include "shape_internal.h"

static enum td_code fail(const struct td_op_args *a, const char *what, struct td_status *st)
{
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: %s", td_op_name(a->op), what);
}

/* Input i is a batch of matrices (mat) or vectors with input 0's batch dims and dtype dt. */
static bool batch_ok(const struct td_op_args *a, int i, bool mat, enum td_dtype dt)
{
    const struct td_meta *x = a->in[0], *y = a->in[i];
    int nb = x->ndim - 2;
    return y->dtype == dt && y->ndim == nb + (mat ? 2 : 1) && !memcmp(x->sizes, y->sizes, sizeof(int64_t) * (size_t)nb);
}

enum td_code td__infer_linalg_packed(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                     struct td_status *st)
{
    int n_in = td_op_table[a->op].n_in;
    if (td__need_inputs(a, n_in, n_in, st))
        return st->code;
    const struct td_meta *x = a->in[0];
    enum td_dtype dt = (enum td_dtype)x->dtype;
    if (x->ndim < 2)
        return fail(a, "input must have at least 2 dimensions", st);
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s_cpu\" not implemented for '%s'", td_op_name(a->op),
                             td_dtype_torch_name(dt));
    int64_t m = x->sizes[x->ndim - 2], n = x->sizes[x->ndim - 1];
    inf->n_out = td_op_table[a->op].n_out;
    inf->compute_dtype = dt;
    switch (a->op) {
    case TD_OP_GEQRF:
        return td__la_batch_out(x, dt, 2, m, n, &out[0], st) || td__la_batch_out(x, dt, 1, m < n ? m : n, 0, &out[1], st);
    case TD_OP_ORGQR: {
        if (!batch_ok(a, 1, false, dt))
            return fail(a, "tau must have input's dtype and batch dims", st);
        int64_t k = a->in[1]->sizes[a->in[1]->ndim - 1];
        if (m < n || n < k)
            return fail(a, "expected input.shape[-2] >= input.shape[-1] >= tau.shape[-1]", st);
        return td__la_batch_out(x, dt, 2, m, n, &out[0], st);
    }
    case TD_OP_ORMQR: {
        if (td__need_attrs(a, TD_N_ORMQR, st))
            return st->code;
        if (!batch_ok(a, 1, false, dt) || !batch_ok(a, 2, true, dt))
            return fail(a, "tau and other must have input's dtype and batch dims", st);
        const struct td_meta *c = a->in[2];
        int64_t k = a->in[1]->sizes[a->in[1]->ndim - 1], cm = c->sizes[c->ndim - 2], cn = c->sizes[c->ndim - 1];
        if (m != (a->attrs[TD_A_ORMQR_LEFT] ? cm : cn) || k > n || k > m)
            return fail(a, "incompatible shapes of input, tau and other", st);
        return td__la_batch_out(c, dt, 2, cm, cn, &out[0], st);
    }
    case TD_OP_LDL_FACTOR:
        if (m != n)
            return fail(a, "A must be batches of square matrices", st);
        return td__la_batch_out(x, dt, 2, n, n, &out[0], st) || td__la_batch_out(x, TD_DTYPE_INT32, 1, n, 0, &out[1], st) ||
               td__la_batch_out(x, TD_DTYPE_INT32, 0, 0, 0, &out[2], st);
    case TD_OP_LDL_SOLVE: {
        const struct td_meta *b = a->in[2];
        if (m != n || !batch_ok(a, 1, false, TD_DTYPE_INT32) || a->in[1]->sizes[a->in[1]->ndim - 1] != n ||
            !batch_ok(a, 2, true, dt) || b->sizes[b->ndim - 2] != n)
            return fail(a, "expected LD (*, n, n), int32 pivots (*, n) and B (*, n, k) of LD's dtype", st);
        return td__la_batch_out(b, dt, 2, n, b->sizes[b->ndim - 1], &out[0], st);
    }
    }
    return td_status_set(st, TD_CODE_INTERNAL, "op %u is not a LINALG_PACKED-family op", a->op);
}
