"""The loss functions of torch.nn.functional (l1 ... multilabel_soft_margin), composed from
tensord ops the way torch 1.13 defines them (its formulas, its reductions, its argument
checks and warnings), so autograd differentiates them through those ops.  The legacy
size_average/reduce arguments map to `reduction` as torch's _Reduction does.
ctc_loss, a recursion over time, is the daemon's CTC_LOSS row (kernels/cpu/loss.c) with
torch's alpha-beta gradient as its backward row."""
import math
import sys
import warnings

from .. import _grad_mode
from .._math import nan_to_num
from .. import _records as F
from .._C import ops

_T = sys.modules[__name__.rpartition(".")[0].rpartition(".")[0]]  # tensord (attributes read at call time)

__all__ = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "nll_loss", "cross_entropy", "poisson_nll_loss",
           "gaussian_nll_loss", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "ctc_loss"]


# ---------------------------------------------------------------- reductions (torch.nn._reduction)

def _legacy_get_string(size_average, reduce, emit_warning=True):
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='%s' instead." % ret)
    return ret


def _reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return _legacy_get_string(size_average, reduce)
    return reduction


def _check_reduction(reduction):
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated, please use reduction='mean' instead.")
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError("%s is not a valid value for reduction" % reduction)
    return reduction


def _reduce(loss, reduction):
    reduction = _check_reduction(reduction)
    if reduction == "mean":
        return F.mean(loss)
    if reduction == "sum":
        return F.sum(loss)
    return loss


def _warn_size(input, target, stacklevel=3):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn("Using a target size (%s) that is different to the input size (%s). This will likely lead to "
                      "incorrect results due to broadcasting. Please ensure they have the same size."
                      % (target.size(), input.size()), stacklevel=stacklevel)


# ---------------------------------------------------------------- regression

def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(F.abs(F.sub(input, target)), reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    d = F.sub(input, target)
    return F.torch_node(_reduce(F.mul(d, d), reduction), "MseLossBackward0")


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    z = F.abs(F.sub(input, target))
    if beta == 0:
        return F.torch_node(_reduce(z, reduction), "SmoothL1LossBackward0")
    loss = F.where(F.lt(z, beta), F.div(F.mul(F.mul(z, z), 0.5), beta), F.sub(z, 0.5 * beta))
    return F.torch_node(_reduce(loss, reduction), "SmoothL1LossBackward0")


def huber_loss(input, target, reduction="mean", delta=1.0):
    _warn_size(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    z = F.abs(F.sub(input, target))
    loss = F.where(F.lt(z, delta), F.mul(F.mul(z, z), 0.5), F.mul(F.sub(z, 0.5 * delta), delta))
    return F.torch_node(_reduce(loss, reduction), "HuberLossBackward0")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = F.unsqueeze(var, -1)  # homoscedastic: one variance per sample
        elif tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
            pass  # heteroscedastic with a trailing 1
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if F.any(F.lt(var, 0)).item():
        raise ValueError("var has negative entry/entries")
    var = F.clone(var)
    with _grad_mode.no_grad():  # clamped for stability, the gradient passing as if it were not
        F.clamp_(var, min=eps)
    d = F.sub(input, target)
    loss = F.mul(F.add(F.log(var), F.div(F.mul(d, d), var)), 0.5)
    if full:
        loss = F.add(loss, 0.5 * math.log(2 * math.pi))
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = F.sub(F.exp(input), F.mul(target, input))
    else:
        loss = F.sub(input, F.mul(target, F.log(F.add(input, eps))))
    if full:
        # Stirling's approximation of log(target!), for targets above 1
        t = target
        stirling = F.add(F.sub(F.mul(t, F.log(t)), t), F.mul(F.log(F.mul(t, 2 * math.pi)), 0.5))
        loss = F.add(loss, F.where(F.le(t, 1), _T.zeros_like(stirling), stirling))
    return _reduce(loss, _check_reduction(reduction))


# ---------------------------------------------------------------- probabilities and classes

def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError("Using a target size (%s) that is different to the input size (%s) is deprecated. Please "
                         "ensure they have the same size." % (target.size(), input.size()))
    if weight is not None and weight.requires_grad and _grad_mode.is_grad_enabled():
        raise RuntimeError("The function 'binary_cross_entropy' is not differentiable with respect to argument "
                           "'weight'. This input cannot have requires_grad True.")
    if input._device_index == 0:  # torch's kernel checks the input's range (a device kernel asserts)
        ops.loss_input_check(input)
    x = F.detach(input)
    # torch clamps the logs at -100, so a 0 or 1 input gives a finite loss
    log_x = F.clamp(F.log(x), min=-100.0)
    log_1mx = F.clamp(F.log(F.sub(1, x)), min=-100.0)
    loss = F.neg(F.add(F.mul(target, log_x), F.mul(F.sub(1, target), log_1mx)))
    if input.requires_grad and _grad_mode.is_grad_enabled():
        # torch's derivatives through terms worth 0: with u = input - x (value 0, derivative
        # 1) and everything else detached, u g + u^2/2 g' has derivative g and second
        # derivative g', where g = (x - t) / max(x (1 - x), 1e-12) is torch's gradient (finite
        # where a sigmoid saturated to exactly 0 or 1; its 1e-12 is a float) and
        # g' = (x^2 - 2xt + t) / ((x + eps)^2 (1 - x + eps)^2) torch's double backward; a
        # target requiring grad adds u (target - t) dg/dt, dg/dt = -1 / max(x (1 - x), 1e-12)
        # as torch's, for the mixed derivative
        t = F.detach(target)
        u = F.sub(input, x)
        g = F.div(F.sub(x, t), F.clamp(F.mul(x, F.sub(1, x)), min=9.999999960041972e-13))
        den = F.mul(F.add(x, 1e-12), F.add(F.sub(1, x), 1e-12))
        dg = F.div(F.add(F.sub(F.mul(x, x), F.mul(F.mul(x, t), 2)), t), F.mul(den, den))
        # 0/0 where eps rounds to 0 (16-bit): 0 * dg must stay 0
        zero_terms = F.add(F.mul(u, g), F.mul(F.mul(F.mul(u, u), 0.5), nan_to_num(dg, 0.0, 0.0, 0.0)))
        if target.requires_grad:
            ut = F.sub(target, t)
            dg_dt = F.div(-1.0, F.clamp(F.mul(x, F.sub(1, x)), min=1e-12))
            zero_terms = F.add(zero_terms, F.mul(F.mul(u, ut), dg_dt))
            # torch's target gradient is log(1 - x) - log(x) unclamped: +inf at x = 0, -inf
            # at x = 1, where the clamped logs above give +-100.  sqrt(ut) is 0 with an
            # infinite derivative there; elsewhere it reads 1 + ut (a finite derivative,
            # which the outer where then drops), so no 0 * inf reaches other elements
            edge = F.logical_or(F.eq(x, 0), F.eq(x, 1))
            steep = F.sqrt(F.where(edge, ut, F.add(ut, 1)))
            sign = F.sub(1, F.mul(F.cast(F.eq(x, 1), x.dtype), 2))
            zero_terms = F.add(zero_terms, F.where(edge, F.mul(steep, sign), F.mul(ut, 0)))
        loss = F.add(loss, zero_terms)
    if weight is not None:
        loss = F.mul(loss, weight)
    return F.torch_node(_reduce(loss, reduction), "BinaryCrossEntropyBackward0")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError("Target size (%s) must be the same as input size (%s)" % (target.size(), input.size()))
    return F.torch_node(_reduce(_bce_with_logits(input, target, weight, pos_weight), reduction),
                        "BinaryCrossEntropyWithLogitsBackward0")


def _bce_with_logits(input, target, weight, pos_weight):
    """The unreduced loss, input and target broadcast (torch's top-level form: the result
    takes target's shape, so target cannot be the smaller one)."""
    # (1 - t) x + w_t log(1 + exp(-x)), with log(1 + exp(-x)) = log1p(exp(-|x|)) + max(-x, 0)
    linear = F.mul(F.sub(1, target), input)
    if list(linear.shape) != list(target.shape):
        raise RuntimeError("output with shape %s doesn't match the broadcast shape %s"
                           % (list(target.shape), list(linear.shape)))
    softplus_neg = F.add(F.log1p(F.exp(F.neg(F.abs(input)))), F.clamp(F.neg(input), min=0))
    if pos_weight is not None:
        softplus_neg = F.mul(F.add(F.mul(F.sub(pos_weight, 1), target), 1), softplus_neg)
    loss = F.add(linear, softplus_neg)
    return loss if weight is None else F.mul(loss, weight)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.")
    if log_target:
        loss = F.mul(F.exp(target), F.sub(target, input))
    else:
        loss = F.sub(_T.xlogy(target, target), F.mul(target, input))
    if reduction == "batchmean":
        s = F.sum(loss)
        return F.div(s, input.shape[0]) if input.ndim else s
    return _reduce(loss, reduction)


def _class_weight(weight, target, ignore_index, C):
    """Per-element weight of each target: weight[target] (1 without weights), 0 where ignored."""
    keep = F.ne(target, ignore_index)
    safe = F.where(keep, target, F.mul(target, 0))
    w = F.cast(keep, weight.dtype if weight is not None else _T.get_default_dtype())
    if weight is not None:
        if weight.ndim != 1 or weight.shape[0] != C:
            raise RuntimeError("weight tensor should be defined either for all %d classes or no classes but got "
                               "weight tensor of shape: %s" % (C, list(weight.shape)))
        w = F.mul(w, F.reshape(_T.index_select(weight, 0, F.reshape(safe, [-1])), list(target.shape)))
    return safe, w


def _check_nll_shapes(input, target):
    """torch 1.13's checks of nll_loss_nd and the kernels it dispatches to, in its order:
    the batch sizes, then per input rank the target's rank and sizes, then its dtype."""
    if input.ndim < 1:
        raise ValueError("Expected 1 or more dimensions (got %d)" % input.ndim)
    if input.ndim != 1 and input.shape[0] != (target.shape[0] if target.ndim else 0):
        raise ValueError("Expected input batch_size (%d) to match target batch_size (%d)."
                         % (input.shape[0], target.shape[0] if target.ndim else 0))
    if input.ndim <= 2:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if not (input.ndim == 1 and target.ndim == 0) and input.shape[0] != (target.shape[0] if target.ndim else 1):
            raise RuntimeError("size mismatch (got input: %s, target: %s)" % (list(input.shape), list(target.shape)))
    elif input.ndim == 4:
        if target.ndim != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets of "
                               "dimension: %d" % target.ndim)
        if tuple(target.shape[1:]) != tuple(input.shape[2:]):
            raise RuntimeError("size mismatch (got input: %s , target: %s" % (list(input.shape), list(target.shape)))
    elif tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError("Expected target size %s, got %s"
                           % ([input.shape[0]] + list(input.shape[2:]), list(target.shape)))
    if target.dtype._name not in ("int64", "uint8"):
        raise RuntimeError("expected scalar type Long but found %s" % target.dtype._torch_name)


def _pick_targets(input, target):
    """input[n, target[n, ...], ...]: each sample's score of its class, as one INDEX over
    (sample, class) pairs in the mode that reports a bad class as torch's nll_loss does
    ("Target 3 is out of bounds.", an IndexError at the next sync)."""
    if input.device.type != "cpu":  # the GPU kernels know no such mode (torch's CUDA error is an assert)
        return F.squeeze(_T.gather(input, 1, F.unsqueeze(target, 1)), 1)
    C = input.shape[1]
    x = input if input.ndim == 2 else F.reshape(_T.movedim(input, 1, -1), [-1, C])
    t = F.reshape(target, [-1])
    rows = _T.arange(x.shape[0], device=input.device)
    return F.reshape(ops.index(x, rows, t, dim=0, mode=_M_TARGET), list(target.shape))


_M_TARGET = 6  # INDEX's nll_loss mode (proto/ops.args)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    reduction = _check_reduction(_reduction(size_average, reduce, reduction))
    _check_nll_shapes(input, target)
    if target.dtype._name == "uint8":  # taken as torch's CPU kernel takes it
        target = F.cast(target, _T.int64)
    # torch's kernel: nll_loss up to 2-d input, else nll_loss2d (other ranks as 4-d, its
    # unreduced result viewed back)
    node = ("NllLossBackward0" if input.ndim <= 2 else "NllLoss2DBackward0" if input.ndim == 4 or reduction != "none"
            else "ViewBackward0")
    if input.ndim == 1:  # one sample, no batch dim
        input, target = F.unsqueeze(input, 0), F.unsqueeze(target, 0)
        r = nll_loss(input, target, weight, None, ignore_index, None, reduction)
        return F.torch_node(F.squeeze(r, 0), node) if reduction == "none" else r
    safe, w = _class_weight(weight, target, ignore_index, input.shape[1])
    loss = F.neg(F.mul(_pick_targets(input, safe), w))
    if reduction == "sum":
        loss = F.sum(loss)
    elif reduction == "mean":
        loss = F.div(F.sum(loss), F.sum(w))
    return F.torch_node(loss, node)


def _class_dim_shape(input, C):
    shape = [1] * input.ndim
    shape[0 if input.ndim == 1 else 1] = C
    return shape


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    reduction = _check_reduction(_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError("label_smoothing must be between 0.0 and 1.0. Got: %s" % label_smoothing)
    cdim = 0 if input.ndim == 1 else 1
    C = input.shape[cdim]
    logp = _T.log_softmax(input, cdim)
    if tuple(target.shape) == tuple(input.shape):  # class probabilities (torch decides by the shape)
        if not target.dtype.is_floating_point:
            raise RuntimeError("Expected floating point type for target with class probabilities, got %s"
                               % target.dtype._torch_name)
        t = target if label_smoothing == 0 else F.add(F.mul(target, 1 - label_smoothing), label_smoothing / C)
        prod = F.mul(logp, t)
        if weight is not None:
            prod = F.mul(prod, F.reshape(weight, _class_dim_shape(input, C)))
        if reduction == "none":
            return F.neg(F.sum(prod, cdim))
        total = F.neg(F.sum(prod))
        if reduction == "mean":  # torch's division by a number: div.Scalar's node
            return F.torch_node(F.div(total, input.numel() // C if input.numel() else float("nan")), "DivBackward1")
        return total
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0:
        return nll
    # torch's label smoothing: a uniform target's loss, mixed in
    keep = F.ne(target, ignore_index)
    lp = logp if weight is None else F.mul(logp, F.reshape(weight, _class_dim_shape(input, C)))
    smooth = F.neg(F.sum(lp, cdim))
    smooth = F.where(keep, smooth, F.mul(smooth, 0))
    if reduction == "mean":
        if weight is not None:
            _, w = _class_weight(weight, target, ignore_index, C)
            smooth = F.div(F.sum(smooth), F.sum(w))
        else:
            smooth = F.div(F.sum(smooth), F.sum(keep))
    elif reduction == "sum":
        smooth = F.sum(smooth)
    return F.add(F.mul(nll, 1 - label_smoothing), F.mul(smooth, label_smoothing / C))


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    from ._activation import logsigmoid
    loss = F.neg(F.add(F.mul(target, logsigmoid(input)), F.mul(F.sub(1, target), logsigmoid(F.neg(input)))))
    if weight is not None:
        loss = F.mul(loss, weight)
    class_dim = input.ndim - 1
    loss = F.div(F.sum(loss, class_dim), input.shape[class_dim])
    return _reduce(loss, reduction)


def _ctc_lengths(x, what):
    """input_lengths / target_lengths as a list of ints: a tensor (any shape) or a sequence."""
    if isinstance(x, _T.Tensor):
        return [int(v) for v in x.detach().cpu().reshape(-1).tolist()]
    if isinstance(x, (list, tuple)):
        return [int(v) for v in x]
    raise TypeError("ctc_loss(): argument '%s' must be tuple of ints or Tensor, not %s" % (what, type(x).__name__))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist temporal classification: each sequence's negative log likelihood
    (CTC_LOSS checks the arguments with torch's messages), zero_infinity's zeros, and
    'mean' dividing each loss by its target length (at least 1) before the batch mean."""
    reduction = _check_reduction(reduction)
    il = _ctc_lengths(input_lengths, "input_lengths")
    tl = _ctc_lengths(target_lengths, "target_lengths")
    lp = log_probs if log_probs.ndim != 2 else F.unsqueeze(log_probs, 1)  # unbatched: (T, C)
    res = ops.ctc_loss(lp, targets, blank=blank, zero_infinity=bool(zero_infinity), input_lengths=il,
                       target_lengths=tl)[0]
    if zero_infinity:
        res = F.where(F.eq(res, math.inf), _T.zeros_like(res), res)
    if reduction == "mean":
        return F.mean(F.div(res, _T.tensor([max(v, 1) for v in tl], dtype=res.dtype, device=res.device)))
    if reduction == "sum":
        return F.sum(res)
    return res if log_probs.ndim != 2 else F.squeeze(res, 0)


# ---------------------------------------------------------------- margins and embeddings

def _check_margin_input(input):
    if not ((input.ndim == 2 and input.shape[1] != 0) or (input.ndim == 1 and input.shape[0] != 0)
            or input.ndim == 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch size, but got: %s"
                           % list(input.shape))


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """sum over j != y of max(0, margin - x[y] + x[j])^p (times weight[y]), over C."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    _check_margin_input(input)
    rows = input.shape[0] if input.ndim == 2 else 1
    if target.ndim > 1 or target.numel() != rows:
        raise RuntimeError("inconsistent target size, got: %s" % list(target.shape))
    x = F.reshape(input, [rows, -1])
    y = F.reshape(target, [rows])
    C = x.shape[1]
    if rows and F.any(F.logical_or(F.lt(y, 0), F.ge(y, C))).item():
        raise RuntimeError("target out of range")
    xy = _T.gather(x, 1, F.unsqueeze(y, 1))
    z = F.clamp(F.add(F.sub(x, xy), margin), min=0)
    if p == 2:
        z = F.mul(z, z)
    if weight is not None:
        z = F.mul(z, F.unsqueeze(_T.index_select(weight, 0, y), 1))
    others = F.ne(F.unsqueeze(_T.arange(C), 0), F.unsqueeze(y, 1))
    loss = F.div(F.sum(F.mul(z, others), 1), C)
    if input.ndim <= 1 and target.ndim == 0 and _check_reduction(reduction) == "none":
        loss = F.reshape(loss, ())  # torch: an unbatched loss has the target's shape
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """For the target classes j (the leading non-negative entries of each target row) and
    every other class k: max(0, 1 - (x[j] - x[k])), summed, over C."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_margin_input(input)
    flat = input.ndim <= 1
    if (target.ndim > 1 or target.numel() != input.numel()) if flat else \
            (target.ndim != 2 or tuple(target.shape) != tuple(input.shape)):
        raise RuntimeError("inconsistent size %s for argument #2 'target'" % list(target.shape))
    x, t = (F.reshape(input, [1, -1]), F.reshape(target, [1, -1])) if flat else (input, target)
    C = x.shape[1]
    valid = _T.cumprod(F.ne(t, -1).long(), 1)  # 1 up to the first -1
    hits = _T.scatter_add(_T.zeros_like(t), 1, F.clamp(t, min=0), valid)
    is_target = F.gt(hits, 0)
    pair = F.clamp(F.sub(1, F.sub(F.unsqueeze(x, 2), F.unsqueeze(x, 1))), min=0)  # [n, j, k]
    mask = F.logical_and(F.unsqueeze(is_target, 2), F.logical_not(F.unsqueeze(is_target, 1)))
    loss = F.div(F.sum(F.mul(pair, mask), (1, 2)), C)
    if flat and _check_reduction(reduction) == "none":
        loss = F.reshape(loss, ())
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           "input1: %s, input2: %s, target: %s " % (input1.size(), input2.size(), target.size()))
    return _reduce(_margin_ranking(input1, input2, target, margin), reduction)


def _margin_ranking(input1, input2, target, margin):
    return F.clamp(F.add(F.mul(F.neg(target), F.sub(input1, input2)), margin), min=0)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    zeros = F.mul(input, 0)
    margin_clamp = F.clamp(F.sub(margin, input), min=0)
    loss = F.add(F.where(F.ne(target, 1), margin_clamp, zeros), F.where(F.ne(target, -1), input, zeros))
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(F.log1p(F.exp(F.mul(F.neg(target), input))), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim:
        raise RuntimeError("cosine_embedding_loss : All input tensors should have same dimension but got sizes: "
                           "input1: %s, input2: %s, target: %s " % (input1.size(), input2.size(), target.size()))
    return _reduce(_cosine_embedding(input1, input2, target, margin), reduction)


def _cosine_embedding(input1, input2, target, margin):
    d = target.ndim
    eps = 1e-12
    prod = F.sum(F.mul(input1, input2), d)
    m1 = F.add(F.sum(F.mul(input1, input1), d), eps)
    m2 = F.add(F.sum(F.mul(input2, input2), d), eps)
    cos = F.div(prod, F.sqrt(F.mul(m1, m2)))
    zeros = F.mul(cos, 0)
    pos = F.where(F.eq(target, 1), F.sub(1, cos), zeros)
    neg = F.where(F.eq(target, -1), F.clamp(F.sub(cos, margin), min=0), zeros)
    return F.add(pos, neg)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    a, pd, nd = anchor.ndim, positive.ndim, negative.ndim
    if not (a == pd == nd):
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same number of "
                           "dimensions, but got: anchor %dD, positive %dD, and negative %dD inputs" % (a, pd, nd))
    return _reduce(_triplet_margin(anchor, positive, negative, margin, p, eps, swap), reduction)


def _triplet_margin(anchor, positive, negative, margin, p, eps, swap):
    d_pos = _T.pairwise_distance(anchor, positive, p, eps)
    d_neg = _T.pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _T.minimum(d_neg, _T.pairwise_distance(positive, negative, p, eps))
    return F.clamp(F.sub(F.add(d_pos, margin), d_neg), min=0)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    if margin <= 0:
        raise ValueError("TripletMarginWithDistanceLoss: expected margin to be greater than 0, got %s instead"
                         % margin)
    dist = distance_function if distance_function is not None else _T.pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = _T.minimum(d_neg, dist(positive, negative))
    return _reduce(F.clamp(F.sub(F.add(d_pos, margin), d_neg), min=0), reduction)

