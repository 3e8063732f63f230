"""ctc_loss (torch.nn.functional.ctc_loss, torch 1.13's CPU semantics): the negative log
likelihood of each target under connectionist temporal classification, by the forward
(alpha) recursion in log space, with torch's alpha-beta gradient in a custom Function.

The recursions run over the extended target l' (blanks around and between the labels,
length L = 2 * max target length + 1), batched: one step is a few (N, L) ops, so a
call records O(T) ops forward and O(T) backward.  Composition was measured against a
fused kernel's budget (tests/bench/bench.py "ctc_loss" rows, docs/performance.md): the
per-step records stay cheap next to torch's own per-call cost at typical sizes, and every
backend gets the loss without a kernel.  The targets and lengths are read on the client
(as torch's CPU kernel reads them) to build the extended labels and the masks.

The gradient with respect to log_probs is torch's: exp(log_probs) minus the posterior of
each class, per time step (the gradient through a log_softmax in front of it; not the
plain derivative with respect to log_probs), zero past each input length, NaN for an
impossible target unless zero_infinity."""
import math

import numpy as np

from .._C import ops
from ..autograd.function import Function, once_differentiable

__all__ = ["ctc_nll"]

_NEG_INF = -math.inf


def _lengths(x, what):
    """input_lengths / target_lengths as a list of ints: a tensor (any shape) or a sequence."""
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return [int(v) for v in x.detach().cpu().reshape(-1).tolist()]
    if isinstance(x, (list, tuple)):
        return [int(v) for v in x]
    raise TypeError("ctc_loss(): argument '%s' must be tuple of ints or Tensor, not %s" % (what, type(x).__name__))


def _extended(targets, T, N, C, il, tl, blank):
    """torch's checks, then numpy arrays: ext (N, L) labels of l', skip (N, L) 0 where
    the step from s - 2 is allowed else -inf, first (N, L) 0 at the two start states,
    last (T, N, L) 0 at the two final states at t = il - 1, before (T, N, 1) 0 where
    t < il - 1 else -inf, valid (T, N, 1) t < il."""
    where = " (while checking arguments for ctc_loss_cpu)"
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    if len(il) != N:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tl) != N:
        raise RuntimeError("target_lengths must be of size batch_size")
    if targets.ndim not in (1, 2):
        raise RuntimeError("Expected %d-dimensional tensor, but got %d-dimensional tensor for argument #2 'targets'"
                           "%s" % (2 if targets.ndim > 2 else 1, targets.ndim, where))
    tg = targets.detach().cpu().numpy().astype(np.int64)
    S = max(tl) if tl else 0
    if tg.ndim == 1:  # concatenated
        if tg.shape[0] != sum(tl):
            raise RuntimeError("Expected tensor to have size %d at dimension 0, but got size %d for argument #2 "
                               "'targets'%s" % (sum(tl), tg.shape[0], where))
        offsets = np.concatenate([[0], np.cumsum(tl)[:-1]]).astype(np.int64)
        labels = np.full((N, S), blank, np.int64)
        for n in range(N):
            labels[n, :tl[n]] = tg[offsets[n]:offsets[n] + tl[n]]
    else:
        if tg.shape[0] != N:
            raise RuntimeError("Expected tensor to have size %d at dimension 0, but got size %d for argument #2 "
                               "'targets'%s" % (N, tg.shape[0], where))
        if tg.shape[1] < S:
            raise RuntimeError("Expected tensor to have size at least %d at dimension 1, but got size %d for argument "
                               "#2 'targets'%s" % (S, tg.shape[1], where))
        labels = np.where(np.arange(S)[None, :] < np.array(tl)[:, None], tg[:, :S], blank)
    for v in il:
        if v > T:
            raise RuntimeError("Expected input_lengths to have value at most %d, but got value %d%s" % (T, v, where))
    L = 2 * S + 1
    ext = np.full((N, L), blank, np.int64)
    ext[:, 1::2] = labels
    skip = np.full((N, L), _NEG_INF)
    skip[:, 3::2] = np.where(labels[:, 1:] != labels[:, :-1], 0.0, _NEG_INF)
    first = np.full((N, L), _NEG_INF)
    first[:, :min(2, L)] = 0.0
    tl_arr, il_arr = np.array(tl, np.int64), np.array(il, np.int64)
    ends = np.full((N, L), _NEG_INF)
    for n in range(N):
        ends[n, 2 * tl_arr[n]] = 0.0
        if tl_arr[n] > 0:
            ends[n, 2 * tl_arr[n] - 1] = 0.0
    t = np.arange(T)[:, None, None]
    last = np.where(t == il_arr[None, :, None] - 1, ends[None], _NEG_INF)
    before = np.where(t < il_arr[None, :, None] - 1, 0.0, _NEG_INF)
    return ext, skip, first, ends, last, before, t < il_arr[None, :, None]


class CtcLoss(Function):
    """forward(log_probs (T, N, C), structure from _extended, input lengths, zero_infinity)
    -> nll (N,); backward is torch's alpha-beta gradient.  Per step the recursions are
    a handful of ops.* records on (N, L) (the masks enter as additive 0/-inf terms)."""

    _node_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, ext, skip, first, ends, last, before, valid, il, zero_infinity):
        from .. import full, stack
        T, N, _ = log_probs.shape
        L = ext.shape[1]
        e = ops.gather(log_probs, ops.expand(ops.unsqueeze(ext, 0), [T, N, L]), 2)  # log y_t(l'_s)
        pad2 = full((N, 2), _NEG_INF, dtype=log_probs.dtype, device=log_probs.device)
        alpha = ops.add(ops.select(e, 0, 0), first)
        alphas = [alpha]
        for t in range(1, T):
            shifted = ops.cat(pad2, alpha, dim=1)  # alpha_{t-1}(s - 2), (s - 1) at s, s + 1
            alpha = ops.add(ops.logaddexp(ops.logaddexp(alpha, ops.slice(shifted, 1, 1, L + 1)),
                                          ops.add(ops.slice(shifted, 1, 0, L), skip)), ops.select(e, 0, t))
            alphas.append(alpha)
        log_alpha = stack(alphas)
        at_end = log_alpha[[max(v - 1, 0) for v in il], list(range(N))]  # (N, L) at each t = il - 1
        nll = ops.neg(ops.logsumexp(ops.add(at_end, ends), 1))
        ctx.save_for_backward(log_probs, ext, skip, last, before, valid, e, log_alpha, nll)
        ctx.zero_infinity = zero_infinity
        return nll

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_nll):
        from .. import full, stack, where, zeros_like
        log_probs, ext, skip, last, before, valid, e, log_alpha, nll = ctx.saved_tensors
        T, N, C = log_probs.shape
        L = ext.shape[1]
        pad2 = full((N, 2), _NEG_INF, dtype=log_probs.dtype, device=log_probs.device)
        skip_next = ops.cat(ops.slice(skip, 1, 2, L), pad2, dim=1)  # may beta_{t+1}(s + 2) reach s
        # beta_t: the recursion where t < il - 1 (e + before), the final states at il - 1 (e + last)
        e_rec, e_last = ops.add(e, before), ops.add(e, last)
        beta = ops.select(e_last, 0, T - 1)
        betas = [beta]
        for t in range(T - 2, -1, -1):
            shifted = ops.cat(beta, pad2, dim=1)  # beta_{t+1}(s + 1), (s + 2) at s + 1, s + 2
            rec = ops.logaddexp(ops.logaddexp(beta, ops.slice(shifted, 1, 1, L + 1)),
                                ops.add(ops.slice(shifted, 1, 2, L + 2), skip_next))
            beta = ops.logaddexp(ops.add(rec, ops.select(e_rec, 0, t)), ops.select(e_last, 0, t))
            betas.append(beta)
        log_beta = stack(betas[::-1])
        # posterior of each state, summed per class: exp(log alpha + log beta - log y + nll)
        post = (log_alpha + log_beta - e + nll.view(1, N, 1)).exp()
        occ = zeros_like(log_probs).scatter_add(2, ext.unsqueeze(0).expand(T, N, L), post)
        grad = (log_probs.exp() - occ) * grad_nll.view(1, N, 1)
        grad = where(nll.isinf().view(1, N, 1), 0.0 if ctx.zero_infinity else math.nan, grad)
        grad = where(valid, grad, 0.0)
        return (grad,) + (None,) * 9


def ctc_nll(log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
    """Each sequence's negative log likelihood, (N,) ((1,) unbatched), torch's _ctc_loss
    with zero_infinity's zeros; and the target lengths (for the mean)."""
    from .. import tensor, where
    il = _lengths(input_lengths, "input_lengths")
    tl = _lengths(target_lengths, "target_lengths")
    lp = log_probs if log_probs.ndim == 3 else log_probs.unsqueeze(1)
    if lp.ndim != 3:
        raise RuntimeError("Expected 3-dimensional tensor, but got %d-dimensional tensor for argument #1 'log_probs' "
                           "(while checking arguments for ctc_loss_cpu)" % log_probs.ndim)
    T, N, C = lp.shape
    ext, skip, first, ends, last, before, valid = _extended(targets, T, N, C, il, tl, blank)
    dev, dt = lp.device, lp.dtype
    res = CtcLoss.apply(lp, tensor(ext, device=dev), tensor(skip, dtype=dt, device=dev),
                        tensor(first, dtype=dt, device=dev), tensor(ends, dtype=dt, device=dev),
                        tensor(last, dtype=dt, device=dev), tensor(before, dtype=dt, device=dev),
                        tensor(valid, device=dev),
                        il, bool(zero_infinity))
    if zero_infinity:
        res = where(res.isinf(), 0.0, res)
    return res, tl
