/*
 * shape_loss.c — meta inference for the LOSS family: losses with a kernel of their own.
 *
 * CTC_LOSS (log_probs, targets | blank, zero_infinity, N, N, input_lengths[N],
 * target_lengths[N]): log_probs float32/float64 (T, N, C); targets int64/int32, padded
 * (N, S) with S >= every target length, or 1-d holding the N targets one after another
 * (its size the sum of the lengths); input lengths in [0, T], target lengths >= 0; blank
 * in [0, C).  Outputs: the negative log likelihood (N,) and log_alpha (N, T, 2 * max
 * target length + 1), both in log_probs' dtype.  The checks and messages are torch's
 * ctc_loss_cpu's.
 * CTC_LOSS_BACKWARD (grad (N,), log_probs, targets, nll (N,), log_alpha | the same
 * words): the gradient (T, N, C) in log_probs' dtype.
 * Target values are checked by the kernel (they are data, not metadata).
 */
#include "meta.h"
#include "shape_internal.h"

#define WHERE " (while checking arguments for ctc_loss_cpu)"

static enum td_code bad(struct td_status *st, const char *msg)
{
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s", msg);
}

/* the lengths' words: N, then input_lengths, target_lengths; the max target length */
static enum td_code ctc_lengths(const struct td_op_args *a, int64_t T, int64_t N, int64_t *max_tl, int64_t *sum_tl,
                                struct td_status *st)
{
    const int64_t *w = a->attrs;
    if (td__need_attrs(a, TD_A_CTC_LOSS_INPUT_LENGTHS, st))
        return st->code;
    int64_t n_il = w[TD_A_CTC_LOSS_N_INPUT_LENGTHS], n_tl = w[TD_A_CTC_LOSS_N_TARGET_LENGTHS];
    if (n_il < 0 || n_tl < 0 || n_il > TD_MAX_NUMEL || n_tl > TD_MAX_NUMEL ||
        a->n_attr != (uint32_t)(TD_A_CTC_LOSS_INPUT_LENGTHS + n_il + n_tl))
        return bad(st, "ctc_loss: the length lists do not match their counts");
    if (n_il != N)
        return bad(st, "input_lengths must be of size batch_size");
    if (n_tl != N)
        return bad(st, "target_lengths must be of size batch_size");
    const int64_t *il = w + TD_A_CTC_LOSS_INPUT_LENGTHS, *tl = il + N;
    *max_tl = *sum_tl = 0;
    for (int64_t b = 0; b < N; b++) {
        if (il[b] > T)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Expected input_lengths to have value at most "
                                 "%lld, but got value %lld" WHERE, (long long)T, (long long)il[b]);
        if (il[b] < 0 || tl[b] < 0 || tl[b] > TD_MAX_NUMEL)
            return bad(st, "ctc_loss: lengths must be non-negative");
        *sum_tl += tl[b];
        if (*sum_tl > TD_MAX_NUMEL) /* (no wrap-around for the concatenated targets' size check) */
            return bad(st, "ctc_loss: target lengths too large");
        if (tl[b] > *max_tl)
            *max_tl = tl[b];
    }
    return TD_CODE_OK;
}

static enum td_code ctc_targets(const struct td_meta *tg, int64_t N, int64_t max_tl, int64_t sum_tl,
                                struct td_status *st)
{
    if (tg->dtype != TD_DTYPE_INT64 && tg->dtype != TD_DTYPE_INT32)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"ctc_loss_cpu\" not implemented for '%s'",
                             td_dtype_names[tg->dtype]);
    if (tg->ndim < 1 || tg->ndim > 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Expected 1 to 2 dimensions, but got %d-dimensional "
                             "tensor for argument #2 'targets'" WHERE, tg->ndim);
    int64_t want = tg->ndim == 1 ? sum_tl : N;
    if (tg->sizes[0] != want)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Expected tensor to have size %lld at dimension 0, but "
                             "got size %lld for argument #2 'targets'" WHERE, (long long)want,
                             (long long)tg->sizes[0]);
    if (tg->ndim == 2 && tg->sizes[1] < max_tl)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Expected tensor to have size at least %lld at "
                             "dimension 1, but got size %lld for argument #2 'targets'" WHERE,
                             (long long)max_tl, (long long)tg->sizes[1]);
    return TD_CODE_OK;
}

static bool same_sizes(const struct td_meta *m, int ndim, const int64_t *sizes)
{
    if (m->ndim != ndim)
        return false;
    for (int i = 0; i < ndim; i++)
        if (m->sizes[i] != sizes[i])
            return false;
    return true;
}

enum td_code td__infer_loss(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st)
{
    if (a->op == TD_OP_LOSS_INPUT_CHECK) {
        if (td__need_inputs(a, 1, 1, st))
            return st->code;
        if (!td_dtype_is_float(a->in[0]->dtype))
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"binary_cross_entropy\" not implemented for '%s'",
                                 td_dtype_names[a->in[0]->dtype]);
        inf->n_out = 0;
        inf->compute_dtype = td__compute_dtype(a->in[0]->dtype);
        return TD_CODE_OK;
    }
    bool fwd = a->op == TD_OP_CTC_LOSS;
    if (td__need_inputs(a, fwd ? 2 : 5, fwd ? 2 : 5, st))
        return st->code;
    const struct td_meta *lp = a->in[fwd ? 0 : 1], *tg = a->in[fwd ? 1 : 2];
    if (lp->dtype != TD_DTYPE_FLOAT32 && lp->dtype != TD_DTYPE_FLOAT64)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"ctc_loss_cpu\" not implemented for '%s'",
                             td_dtype_names[lp->dtype]);
    if (lp->ndim != 3)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Expected 3-dimensional tensor, but got %d-dimensional "
                             "tensor for argument #1 'log_probs'" WHERE, lp->ndim);
    int64_t T = lp->sizes[0], N = lp->sizes[1], C = lp->sizes[2], max_tl = 0, sum_tl = 0;
    if (ctc_lengths(a, T, N, &max_tl, &sum_tl, st) || ctc_targets(tg, N, max_tl, sum_tl, st))
        return st->code;
    int64_t blank = a->attrs[TD_A_CTC_LOSS_BLANK];
    if (blank < 0 || blank >= C)
        return bad(st, "blank must be in label range");
    int64_t L = 2 * max_tl + 1;
    if (T && N && L > TD_MAX_NUMEL / T / N)
        return bad(st, "ctc_loss: log_alpha would be too large");
    int64_t alpha[3] = {N, T, L}, nll[1] = {N};
    enum td_dtype dt = (enum td_dtype)lp->dtype;
    inf->compute_dtype = dt;
    if (fwd) {
        inf->n_out = 2;
        if (td_meta_contiguous(&out[0], dt, 1, nll, st))
            return st->code;
        return td_meta_contiguous(&out[1], dt, 3, alpha, st);
    }
    if (!same_sizes(a->in[0], 1, nll) || !same_sizes(a->in[3], 1, nll) || !same_sizes(a->in[4], 3, alpha))
        return bad(st, "ctc_loss_backward: grad, neg_log_likelihood or log_alpha do not match log_probs");
    inf->n_out = 1;
    return td_meta_contiguous(&out[0], dt, 3, lp->sizes, st);
}
