/*
 * shape_linalg.c — meta inference for the LINALG family: the LAPACK-backed ops of
 * torch.linalg (inv, solve, det, slogdet, cholesky, qr, svd, eigh, eig, lstsq).
 *
 * Every op works on a batch of matrices: the last two dims of input 0 (A) are the
 * matrix, the leading dims the batch.  Outputs are contiguous, with A's batch dims
 * first.  float32/float64 and complex64/complex128 are computed (torch rejects integer
 * and low-precision inputs with the messages reproduced here); for complex A the
 * outputs marked "real" below have A's real dtype (float32 for complex64).  Batch broadcasting between A and B
 * (solve, lstsq) is the client's job: this rule wants equal batch dims, so the kernel
 * never has to broadcast.  Data-dependent failures (singular matrix, not positive
 * definite) are not errors here: kernels report them in an int32 `info` output that
 * the client reads and turns into torch's LinAlgError message.
 *
 * Output layouts (b = A's batch dims, A is (b, m, n), k = min(m, n)):
 *   LINALG_INV       (b, n, n) inverse, (b) int32 info (getrf: i > 0 = U(i,i) is zero)
 *   LINALG_SOLVE     A (b, n, n), B (b, n, r): (b, n, r) X, (b) int32 info
 *   LINALG_DET       (b) det
 *   LINALG_SLOGDET   (b) sign, (b) logabsdet (real)
 *   LINALG_CHOLESKY  attr 0 upper: (b, n, n) factor, (b) int32 info (potrf minor order)
 *   LINALG_QR        attr 0 mode (0 reduced, 1 complete, 2 r): Q (b, m, k|m) or (0),
 *                    R (b, k|m, n)
 *   LINALG_SVD       attr 0 full_matrices, 1 compute_uv: U (b, m, k|m) or (0), S (b, k) real,
 *                    Vh (b, k|n, n) or (0); non-finite or unconverged input gives NaN S
 *   LINALG_EIGH      attr 0 upper (UPLO='U'), 1 compute_v: w (b, n) real ascending,
 *                    V (b, n, n) or (0), (b) int32 info (syevd)
 *   LINALG_EIG       real A: wr (b, n), wi (b, n), V (b, n, n) in LAPACK's real packed form;
 *                    complex A: w (b, n), (0) placeholder, V (b, n, n) (geev's complex form)
 *   LINALG_LSTSQ     A (b, m, n), B (b, m, r); attr 0 rcond (double bits, < 0: default
 *                    eps * max(m, n)), 1 driver (0 gelsy, 1 gelsd, 2 gelss, 3 gels):
 *                    (b, max(m, n), r) LAPACK's B (solution in the first n rows),
 *                    (b) int64 rank, (b, k) real singular values (gelsd/gelss)
 */
#include <stdio.h>
#include <string.h>

#include "meta.h"
#include "shape_internal.h"

/* How torch words each op's errors. */
struct la_info {
    const char *name;      /* message prefix */
    const char *low_kern;  /* f16/bf16: "\"<low_kern>\" not implemented for 'Half'"; NULL: low-precision msg */
    const char *int_kern;  /* integer: same form; NULL: "Expected a floating point ..." */
    bool square;
};

static const struct la_info *la_info_of(unsigned op)
{
    static const struct la_info tab[] = {
        {"linalg.inv", NULL, NULL, true},
        {"linalg.solve", "lu_cpu", NULL, true},
        {"linalg.det", "lu_cpu", NULL, true},
        {"linalg.slogdet", NULL, NULL, true},
        {"linalg.cholesky", "cholesky_cpu", NULL, true},
        {"linalg.qr", "geqrf_cpu", NULL, false},
        {"linalg.svd", "linalg_svd_cpu", NULL, false},
        {"linalg.eigh", "linalg_eigh_cpu", "linalg_eigh_cpu", true},
        {"linalg.eig", "linalg_eig_out_cpu", "linalg_eig_out_cpu", true},
        {"torch.linalg.lstsq", "", "", false},
    };
    unsigned i = op - TD_OP_LINALG_INV;
    return i < sizeof tab / sizeof tab[0] ? &tab[i] : NULL;
}

static enum td_code check_dtype(const struct la_info *li, enum td_dtype dt, struct td_status *st)
{
    if (dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 || td_dtype_is_complex(dt))
        return TD_CODE_OK;
    bool low = dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16;
    const char *kern = low ? li->low_kern : li->int_kern;
    if (kern && !kern[0])
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "This function doesn't handle types other than float and double");
    if (kern)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for '%s'", kern,
                             td_dtype_torch_name(dt));
    if (low)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: Low precision dtypes not supported. Got %s",
                             li->name, td_dtype_torch_name(dt));
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                         "%s: Expected a floating point or complex tensor as input. Got %s", li->name,
                         td_dtype_torch_name(dt));
}

/* A's checks shared by every op: rank, dtype, squareness. */
static enum td_code check_a(const struct td_op_args *a, const struct la_info *li, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    if (x->ndim < 2)
        return a->op == TD_OP_LINALG_LSTSQ
                   ? td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: input must have at least 2 dimensions.",
                                   li->name)
                   : td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                   "%s: The input tensor A must have at least 2 dimensions.", li->name);
    if (check_dtype(li, (enum td_dtype)x->dtype, st))
        return st->code;
    int64_t m = x->sizes[x->ndim - 2], n = x->sizes[x->ndim - 1];
    if (li->square && m != n)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: A must be batches of square matrices, but they are %lld by %lld matrices",
                             li->name, (long long)m, (long long)n);
    return TD_CODE_OK;
}

/* B of solve/lstsq: a batch of matrices with A's batch dims, A's dtype and m rows. */
static enum td_code check_b(const struct td_op_args *a, const struct la_info *li, struct td_status *st)
{
    const struct td_meta *x = a->in[0], *y = a->in[1];
    const char *xt = td_dtype_torch_name((enum td_dtype)x->dtype), *yt = td_dtype_torch_name((enum td_dtype)y->dtype);
    if (y->dtype != x->dtype)
        return a->op == TD_OP_LINALG_SOLVE
                   ? td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                   "%s: Expected A and B to have the same dtype, but found A of type %s and B "
                                   "of type %s instead",
                                   li->name, xt, yt)
                   : td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                   "%s: Expected input and other to have the same dtype, but got input's dtype "
                                   "%s and other's dtype %s",
                                   li->name, xt, yt);
    if (y->ndim != x->ndim)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: A and B must have the same number of dims "
                             "(the client broadcasts them), got %d and %d", li->name, x->ndim, y->ndim);
    if (memcmp(x->sizes, y->sizes, sizeof(int64_t) * (size_t)(x->ndim - 2)))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: batch dimensions of A and B differ", li->name);
    int64_t m = x->sizes[x->ndim - 2];
    if (y->sizes[y->ndim - 2] != m)
        return a->op == TD_OP_LINALG_SOLVE
                   ? td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                   "%s: Incompatible shapes of A and B for the equation AX = B (%lldx%lld and "
                                   "%lldx%lld)",
                                   li->name, (long long)m, (long long)m, (long long)y->sizes[y->ndim - 2],
                                   (long long)y->sizes[y->ndim - 1])
                   : td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: input.size(-2) should match other.size(-2)",
                                   li->name);
    return TD_CODE_OK;
}

enum td_code td__la_batch_out(const struct td_meta *x, enum td_dtype dt, int n_tail, int64_t t0, int64_t t1,
                              struct td_meta *out, struct td_status *st)
{
    int64_t sizes[TD_MAX_DIMS];
    int nb = x->ndim - 2;
    memcpy(sizes, x->sizes, sizeof(int64_t) * (size_t)nb);
    if (n_tail > 0)
        sizes[nb] = t0;
    if (n_tail > 1)
        sizes[nb + 1] = t1;
    return td_meta_contiguous(out, dt, nb + n_tail, sizes, st);
}

/* A 1-D empty tensor: the placeholder for an output an op was asked not to compute. */
static enum td_code empty_out(enum td_dtype dt, struct td_meta *out, struct td_status *st)
{
    int64_t zero = 0;
    return td_meta_contiguous(out, dt, 1, &zero, st);
}

static enum td_code bool_attr(const struct td_op_args *a, uint32_t i, const char *what, struct td_status *st)
{
    if (a->attrs[i] != 0 && a->attrs[i] != 1)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: %s must be 0 or 1, got %lld", td_op_name(a->op),
                             what, (long long)a->attrs[i]);
    return TD_CODE_OK;
}

static enum td_code infer_outputs(const struct td_op_args *a, struct td_meta *out, struct td_status *st)
{
    const struct td_meta *x = a->in[0];
    enum td_dtype dt = (enum td_dtype)x->dtype, rt = td_dtype_to_real(dt);
    int64_t m = x->sizes[x->ndim - 2], n = x->sizes[x->ndim - 1], k = m < n ? m : n;
    switch (a->op) {
    case TD_OP_LINALG_INV:
    case TD_OP_LINALG_CHOLESKY:
        return td__la_batch_out(x, dt, 2, n, n, &out[0], st) || td__la_batch_out(x, TD_DTYPE_INT32, 0, 0, 0, &out[1], st);
    case TD_OP_LINALG_SOLVE: {
        const struct td_meta *y = a->in[1];
        return td__la_batch_out(x, dt, 2, n, y->sizes[y->ndim - 1], &out[0], st) ||
               td__la_batch_out(x, TD_DTYPE_INT32, 0, 0, 0, &out[1], st);
    }
    case TD_OP_LINALG_DET: return td__la_batch_out(x, dt, 0, 0, 0, &out[0], st);
    case TD_OP_LINALG_SLOGDET:
        return td__la_batch_out(x, dt, 0, 0, 0, &out[0], st) || td__la_batch_out(x, rt, 0, 0, 0, &out[1], st);
    case TD_OP_LINALG_QR: {
        int64_t mode = a->attrs[TD_A_LINALG_QR_MODE];
        int64_t rr = mode == 1 ? m : k;
        if (mode == 2 ? empty_out(dt, &out[0], st) : td__la_batch_out(x, dt, 2, m, rr, &out[0], st))
            return st->code;
        return td__la_batch_out(x, dt, 2, rr, n, &out[1], st);
    }
    case TD_OP_LINALG_SVD: {
        bool full = a->attrs[TD_A_LINALG_SVD_FULL_MATRICES], uv = a->attrs[TD_A_LINALG_SVD_COMPUTE_UV];
        if (uv ? td__la_batch_out(x, dt, 2, m, full ? m : k, &out[0], st) : empty_out(dt, &out[0], st))
            return st->code;
        if (td__la_batch_out(x, rt, 1, k, 0, &out[1], st))
            return st->code;
        return uv ? td__la_batch_out(x, dt, 2, full ? n : k, n, &out[2], st) : empty_out(dt, &out[2], st);
    }
    case TD_OP_LINALG_EIGH:
        if (td__la_batch_out(x, rt, 1, n, 0, &out[0], st))
            return st->code;
        if (a->attrs[TD_A_LINALG_EIGH_COMPUTE_V] ? td__la_batch_out(x, dt, 2, n, n, &out[1], st)
                                                 : empty_out(dt, &out[1], st))
            return st->code;
        return td__la_batch_out(x, TD_DTYPE_INT32, 0, 0, 0, &out[2], st);
    case TD_OP_LINALG_EIG:
        if (td__la_batch_out(x, dt, 1, n, 0, &out[0], st) ||
            (dt != rt ? empty_out(dt, &out[1], st) : td__la_batch_out(x, dt, 1, n, 0, &out[1], st)))
            return st->code;
        return td__la_batch_out(x, dt, 2, n, n, &out[2], st);
    case TD_OP_LINALG_LSTSQ: {
        const struct td_meta *y = a->in[1];
        return td__la_batch_out(x, dt, 2, m > n ? m : n, y->sizes[y->ndim - 1], &out[0], st) ||
               td__la_batch_out(x, TD_DTYPE_INT64, 0, 0, 0, &out[1], st) || td__la_batch_out(x, rt, 1, k, 0, &out[2], st);
    }
    }
    return td_status_set(st, TD_CODE_INTERNAL, "op %u is not a linalg op", a->op);
}

enum td_code td__infer_linalg(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st)
{
    const struct la_info *li = la_info_of(a->op);
    if (!li)
        return td_status_set(st, TD_CODE_INTERNAL, "op %u is not a linalg op", a->op);
    int n_in = td_op_table[a->op].n_in;
    if (td__need_inputs(a, n_in, n_in, st))
        return st->code;
    static const uint8_t n_attrs[] = {
        [TD_OP_LINALG_CHOLESKY - TD_OP_LINALG_INV] = TD_N_LINALG_CHOLESKY,
        [TD_OP_LINALG_QR - TD_OP_LINALG_INV] = TD_N_LINALG_QR,
        [TD_OP_LINALG_SVD - TD_OP_LINALG_INV] = TD_N_LINALG_SVD,
        [TD_OP_LINALG_EIGH - TD_OP_LINALG_INV] = TD_N_LINALG_EIGH,
        [TD_OP_LINALG_LSTSQ - TD_OP_LINALG_INV] = TD_N_LINALG_LSTSQ,
    };
    if (td__need_attrs(a, n_attrs[a->op - TD_OP_LINALG_INV], st) || check_a(a, li, st))
        return st->code;
    if (n_in == 2 && a->in[1]->ndim < 2)
        return a->op == TD_OP_LINALG_SOLVE
                   ? td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                   "%s: The input tensor B must have at least 2 dimensions.", li->name)
                   : td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: other must have at least 1 dimension.",
                                   li->name);
    if (n_in == 2 && check_b(a, li, st))
        return st->code;
    switch (a->op) {
    case TD_OP_LINALG_CHOLESKY:
        if (bool_attr(a, TD_A_LINALG_CHOLESKY_UPPER, "upper", st))
            return st->code;
        break;
    case TD_OP_LINALG_QR:
        if (a->attrs[TD_A_LINALG_QR_MODE] < 0 || a->attrs[TD_A_LINALG_QR_MODE] > 2)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "qr received unrecognized mode %lld but expected one of 'reduced' (default), "
                                 "'r', or 'complete'", (long long)a->attrs[TD_A_LINALG_QR_MODE]);
        break;
    case TD_OP_LINALG_SVD:
        if (bool_attr(a, TD_A_LINALG_SVD_FULL_MATRICES, "full_matrices", st) ||
            bool_attr(a, TD_A_LINALG_SVD_COMPUTE_UV, "compute_uv", st))
            return st->code;
        break;
    case TD_OP_LINALG_EIGH:
        if (bool_attr(a, TD_A_LINALG_EIGH_UPPER, "upper", st) ||
            bool_attr(a, TD_A_LINALG_EIGH_COMPUTE_V, "compute_v", st))
            return st->code;
        break;
    case TD_OP_LINALG_LSTSQ:
        if (a->attrs[TD_A_LINALG_LSTSQ_DRIVER] < 0 || a->attrs[TD_A_LINALG_LSTSQ_DRIVER] > 3)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "%s: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)", li->name);
        break;
    }
    inf->n_out = td_op_table[a->op].n_out;
    inf->compute_dtype = a->in[0]->dtype;
    return infer_outputs(a, out, st);
}
