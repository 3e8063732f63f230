"""torch's top-level loss functions in ATen's form: reduction is the int enum of
torch.nn._reduction (0 none, 1 mean, 2 sum; any other int reduces nothing, as in torch) and
defaults to 0 (ATen declares Mean, but torch 1.13's Python binding reads that default as 0), no
size_average/reduce, ATen's argument order (binary_cross_entropy_with_logits: pos_weight
before reduction), none of nn.functional's Python-level shape checks (inputs broadcast).
Each computes nn.functional's unreduced loss (nn/_loss.py), then reduces."""
import builtins

from . import _records as F
from .nn import _loss as NL
from .nn import functional as NF

__all__ = []

_export = F.exporter(globals(), __all__)


def _enum(reduction, fname, pos):
    if isinstance(reduction, builtins.bool) or not isinstance(reduction, builtins.int):
        raise TypeError("%s(): argument 'reduction' (position %d) must be int, not %s"
                        % (fname, pos, type(reduction).__name__))
    return {1: "mean", 2: "sum"}.get(reduction, "none")


def _reduced(loss, reduction, fname, pos):
    r = _enum(reduction, fname, pos)
    return F.mean(loss) if r == "mean" else F.sum(loss) if r == "sum" else loss


def _tensors(fname, *args):
    for i, (name, t) in enumerate(args):
        F._check_tensor(t, fname, name, i + 1)


def kl_div(input, target, reduction=0, *, log_target=False):
    _tensors("kl_div", ("input", input), ("target", target))
    return _reduced(NF.kl_div(input, target, reduction="none", log_target=log_target), reduction, "kl_div", 3)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    _tensors("binary_cross_entropy_with_logits", ("input", input), ("target", target))
    loss = NL._bce_with_logits(input, target, weight, pos_weight)
    return _reduced(loss, reduction, "binary_cross_entropy_with_logits", 5)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    _tensors("cosine_embedding_loss", ("input1", input1), ("input2", input2), ("target", target))
    loss = NL._cosine_embedding(input1, input2, target, margin)
    return _reduced(loss, reduction, "cosine_embedding_loss", 5)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    _tensors("margin_ranking_loss", ("input1", input1), ("input2", input2), ("target", target))
    loss = NL._margin_ranking(input1, input2, target, margin)
    return _reduced(loss, reduction, "margin_ranking_loss", 5)


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    _tensors("hinge_embedding_loss", ("input", input), ("target", target))
    loss = NF.hinge_embedding_loss(input, target, margin, reduction="none")
    return _reduced(loss, reduction, "hinge_embedding_loss", 4)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction=0):
    _tensors("triplet_margin_loss", ("anchor", anchor), ("positive", positive), ("negative", negative))
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError("All inputs should have same dimension but got %dD, %dD and %dD inputs." % dims)
    loss = NL._triplet_margin(anchor, positive, negative, margin, p, eps, swap)
    return _reduced(loss, reduction, "triplet_margin_loss", 8)


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    _tensors("poisson_nll_loss", ("input", input), ("target", target))
    loss = NF.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction="none")
    return _reduced(loss, reduction, "poisson_nll_loss", 6)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    """'mean' divides each sequence's loss by its target length first (nn.functional's)."""
    _tensors("ctc_loss", ("log_probs", log_probs), ("targets", targets))
    r = _enum(reduction, "ctc_loss", 6)
    return NF.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, r, zero_infinity)


for _f in (kl_div, binary_cross_entropy_with_logits, cosine_embedding_loss, margin_ranking_loss, hinge_embedding_loss,
           triplet_margin_loss, poisson_nll_loss, ctc_loss):
    _export(_f.__name__, _f)
