/*
 * shape_linalg_lu.c — meta inference for the LINALG_LU family: LU_FACTOR (getrf),
 * LU_SOLVE (getrs on those factors), TRIANGULAR_SOLVE (trsm) and MATRIX_EXP (scaling
 * and squaring of a Pade approximant, whose rational step is an LU solve).
 *
 * As in the LINALG family (shape_linalg.c): the last two dims of a matrix operand are
 * the matrix, the leading dims a batch that every operand shares exactly (the client
 * broadcasts where torch does, so the kernels never do), outputs are contiguous and
 * float32/float64/complex64/complex128 are computed.  Singular input is not an error:
 * LU_FACTOR reports getrf's info in an int32 output, the solves leave inf/nan as
 * LAPACK and BLAS do (torch's CPU results).  The client words torch's argument errors
 * per Python function before it records the op; the messages here are torch's for the
 * common spelling and guard the wire.  Layouts and attributes: the rows in ops.def.
 */
#include <string.h>

#include "meta.h"
#include "shape_internal.h"

/* torch's "\"<kernel>\" not implemented for 'Long'" for what LAPACK cannot compute. */
static enum td_code check_dtype(const struct td_op_args *a, enum td_dtype dt, struct td_status *st)
{
    if (dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 || td_dtype_is_complex(dt))
        return TD_CODE_OK;
    const char *name = td_dtype_torch_name(dt);
    switch (a->op) {
    case TD_OP_LU_FACTOR:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"lu_cpu\" not implemented for '%s'", name);
    case TD_OP_LU_SOLVE:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "torch.linalg.lu_solve: Expected a floating point or complex tensor as input. Got %s",
                             name);
    case TD_OP_TRIANGULAR_SOLVE:
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"triangular_solve_cpu\" not implemented for '%s'",
                             name);
    }
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                         "matrix_exp: Expected a floating point or complex tensor as input. Got %s", name);
}

/* Input 0: a batch of matrices (square unless LU_FACTOR) of a LAPACK dtype. */
static enum td_code check_a(const struct td_op_args *a, const char *fn, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    if (x->ndim < 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: The input tensor A must have at least 2 dimensions.",
                             fn);
    int64_t m = x->sizes[x->ndim - 2], n = x->sizes[x->ndim - 1];
    if (a->op != TD_OP_LU_FACTOR && m != n) /* torch checks squareness before the dtype */
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: A must be batches of square matrices, but they are %lld by %lld matrices", fn,
                             (long long)m, (long long)n);
    return check_dtype(a, (enum td_dtype)x->dtype, st);
}

/* Input i has input 0's batch dims and then tail (nt trailing sizes), with dtype dt. */
static bool batch_ok(const struct td_op_args *a, int i, enum td_dtype dt, int nt, const int64_t *tail)
{
    const struct td_meta *x = a->in[0], *y = a->in[i];
    int nb = x->ndim - 2;
    return y->dtype == dt && y->ndim == nb + nt && !memcmp(x->sizes, y->sizes, sizeof(int64_t) * (size_t)nb) &&
           !memcmp(y->sizes + nb, tail, sizeof(int64_t) * (size_t)nt);
}

/* B of a solve: A's dtype and batch dims, n rows (left) or n columns (right). */
static enum td_code check_b(const struct td_op_args *a, int i, bool left, const char *fn, struct td_status *st)
{
    const struct td_meta *x = a->in[0], *y = a->in[i];
    int64_t n = x->sizes[x->ndim - 1];
    if (y->ndim < 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: The input tensor B must have at least 2 dimensions.",
                             fn);
    if (y->dtype != x->dtype)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: Expected A and B to have the same dtype, but found A of type %s and B of type %s "
                             "instead", fn, td_dtype_torch_name((enum td_dtype)x->dtype),
                             td_dtype_torch_name((enum td_dtype)y->dtype));
    int64_t r = y->sizes[y->ndim - 2], c = y->sizes[y->ndim - 1];
    if ((left ? r : c) != n)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: Incompatible shapes of A and B for the equation %s (%lldx%lld and %lldx%lld)", fn,
                             left ? "AX = B" : "XA = B", (long long)n, (long long)n, (long long)r, (long long)c);
    int64_t tail[2] = {r, c};
    if (!batch_ok(a, i, (enum td_dtype)x->dtype, 2, tail))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: A and B must have the same batch dimensions (the client broadcasts them)", fn);
    return TD_CODE_OK;
}

static enum td_code flag_attr(const struct td_op_args *a, uint32_t i, int64_t hi, const char *what,
                              struct td_status *st)
{
    if (a->attrs[i] < 0 || a->attrs[i] > hi)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: %s must be in [0, %lld], got %lld",
                             td_op_name(a->op), what, (long long)hi, (long long)a->attrs[i]);
    return TD_CODE_OK;
}

static enum td_code infer_lu_factor(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    if (x->ndim < 2) {
        char b[128];
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "linalg.lu_factor: Expected tensor with 2 or more dimensions. Got size: %s instead",
                             td_meta_shape_str(x, b, sizeof b));
    }
    if (check_a(a, "linalg.lu_factor", st))
        return st->code;
    int64_t m = x->sizes[x->ndim - 2], n = x->sizes[x->ndim - 1];
    return td__la_batch_out(x, (enum td_dtype)x->dtype, 2, m, n, &out[0], st) ||
           td__la_batch_out(x, TD_DTYPE_INT32, 1, m < n ? m : n, 0, &out[1], st) ||
           td__la_batch_out(x, TD_DTYPE_INT32, 0, 0, 0, &out[2], st);
}

static enum td_code infer_lu_solve(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    const char *fn = "linalg.lu_solve";
    if (td__need_attrs(a, TD_N_LU_SOLVE, st) || flag_attr(a, TD_A_LU_SOLVE_TRANS, 2, "trans", st) ||
        check_a(a, fn, st) || check_b(a, 2, true, fn, st))
        return st->code;
    const struct td_meta *x = a->in[0], *piv = a->in[1], *b = a->in[2];
    if (piv->dtype != TD_DTYPE_INT32)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: pivots should be a Tensor of scalar type torch.int32", fn);
    int64_t n = x->sizes[x->ndim - 1];
    if (!batch_ok(a, 1, TD_DTYPE_INT32, 1, &n))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: Expected LU.shape[:-1] and pivots.shape to be the same", fn);
    return td__la_batch_out(b, (enum td_dtype)b->dtype, 2, n, b->sizes[b->ndim - 1], &out[0], st);
}

static enum td_code infer_triangular_solve(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    const char *fn = "linalg.solve_triangular";
    if (td__need_attrs(a, TD_N_TRIANGULAR_SOLVE, st) || flag_attr(a, TD_A_TRIANGULAR_SOLVE_UPPER, 1, "upper", st) ||
        flag_attr(a, TD_A_TRIANGULAR_SOLVE_LEFT, 1, "left", st) ||
        flag_attr(a, TD_A_TRIANGULAR_SOLVE_UNITRIANGULAR, 1, "unitriangular", st) ||
        flag_attr(a, TD_A_TRIANGULAR_SOLVE_TRANS, 2, "trans", st) || check_a(a, fn, st) ||
        check_b(a, 1, a->attrs[TD_A_TRIANGULAR_SOLVE_LEFT] != 0, fn, st))
        return st->code;
    const struct td_meta *b = a->in[1];
    return td_meta_contiguous(&out[0], (enum td_dtype)b->dtype, b->ndim, b->sizes, st);
}

enum td_code td__infer_linalg_lu(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st)
{
    int n_in = td_op_table[a->op].n_in;
    if (td__need_inputs(a, n_in, n_in, st))
        return st->code;
    inf->n_out = td_op_table[a->op].n_out;
    inf->compute_dtype = a->in[0]->dtype;
    switch (a->op) {
    case TD_OP_LU_FACTOR: return infer_lu_factor(a, out, st);
    case TD_OP_LU_SOLVE: return infer_lu_solve(a, out, st);
    case TD_OP_TRIANGULAR_SOLVE: return infer_triangular_solve(a, out, st);
    case TD_OP_MATRIX_EXP:
        if (check_a(a, "linalg.matrix_exp", st))
            return st->code;
        return td_meta_contiguous(&out[0], (enum td_dtype)a->in[0]->dtype, a->in[0]->ndim, a->in[0]->sizes, st);
    }
    return td_status_set(st, TD_CODE_INTERNAL, "op %u is not a LINALG_LU-family op", a->op);
}
