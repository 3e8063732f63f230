"""tensord.nn.functional: pad (constant, reflect, replicate, circular), dropout, and the
stateless tensor functions of _activation.py (softmax, activations, one_hot, ...), and the
top-level functions torch also exposes here (threshold, hardshrink, pdist,
pairwise_distance, cosine_similarity; from _distance).

All are compositions of existing ops (no kernels of their own)."""
import builtins

from .. import _C
from .. import _op_numbers as O  # noqa: F401  (unused, but a public name in tests/python/surface_baseline.txt)
from .. import _records as F
from .._C import ops
from .. import _distance as D
from .._distance import hardshrink, pdist, pairwise_distance, cosine_similarity  # noqa: F401  (torch's top-level ones)

TB = _C.TensorBase

__all__ = ["pad", "dropout", "threshold", "threshold_", "hardshrink", "pdist", "pairwise_distance",
           "cosine_similarity"]

from ._activation import *  # noqa: E402,F401,F403
from ._activation import __all__ as _activation_all  # noqa: E402

__all__ += _activation_all


def _slice(x, d, start, end):
    return ops.slice(x, d, start, end)


def _pad_constant(x, pads, value):
    from .._creation import full
    nd = x.ndim
    shape = list(x.shape)
    src, dst = x, None
    out_shape = list(shape)
    for i in range(len(pads) // 2):
        d = nd - 1 - i
        lo, hi = pads[2 * i], pads[2 * i + 1]
        out_shape[d] = shape[d] + lo + hi
        if out_shape[d] < 0:
            raise RuntimeError("The input size %d, plus negative padding %d and %d resulted in a negative output "
                               "size, which is invalid. Check dimension %d of your input." % (shape[d], lo, hi, d))
    out = full(out_shape, 0 if value is None else value, dtype=x.dtype)
    dst = out
    for i in range(len(pads) // 2):
        d = nd - 1 - i
        lo, hi = pads[2 * i], pads[2 * i + 1]
        # input region [max(-lo,0), n - max(-hi,0)) lands at [max(lo,0), ...)
        s0, s1 = builtins.max(-lo, 0), shape[d] - builtins.max(-hi, 0)
        if s1 <= s0:
            return out
        src = _slice(src, d, s0, s1)
        dst = _slice(dst, d, builtins.max(lo, 0), builtins.max(lo, 0) + (s1 - s0))
    F.copy_(dst, src)
    return out


def _pad_dim(x, d, lo, hi, mode):
    n = x.shape[d]
    # negative padding crops first
    if lo < 0 or hi < 0:
        x = _slice(x, d, builtins.max(-lo, 0), n - builtins.max(-hi, 0))
        lo, hi = builtins.max(lo, 0), builtins.max(hi, 0)
        n = x.shape[d]
    if lo == 0 and hi == 0:
        return x
    parts = []
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise RuntimeError("Argument #4: Padding size should be less than the corresponding input dimension, "
                               "but got: padding (%d, %d) at dimension %d of input %s" % (lo, hi, d, list(x.shape)))
        if lo:
            parts.append(ops.flip(_slice(x, d, 1, lo + 1), d))
        parts.append(x)
        if hi:
            parts.append(ops.flip(_slice(x, d, n - 1 - hi, n - 1), d))
    elif mode == "replicate":
        if n == 0:
            raise RuntimeError("input tensor must be non-empty along the padded dimensions")
        for k, edge in ((lo, 0), (None, None), (hi, n - 1)):
            if edge is None:
                parts.append(x)
            elif k:
                sz = list(x.shape)
                sz[d] = k
                parts.append(F.expand(_slice(x, d, edge, edge + 1), sz))
    else:  # circular
        if lo > n or hi > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if lo:
            parts.append(_slice(x, d, n - lo, n))
        parts.append(x)
        if hi:
            parts.append(_slice(x, d, 0, hi))
    return ops.cat(*parts, dim=d)


def pad(input, pad, mode="constant", value=None):
    if not isinstance(input, TB):
        raise TypeError("pad(): argument 'input' (position 1) must be Tensor, not %s" % type(input).__name__)
    pads = [F.index_int(p) for p in pad]
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pads) // 2 > input.ndim:
        raise RuntimeError("Padding length too large")
    if mode == "constant":
        return _pad_constant(input, pads, value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError("Unrecognised padding mode %s" % mode)
    if value is not None and value != 0:
        raise RuntimeError('Padding mode "%s" doesn\'t take in value argument.' % mode)
    x = input
    for i in range(len(pads) // 2):
        x = _pad_dim(x, input.ndim - 1 - i, pads[2 * i], pads[2 * i + 1], mode)
    return F.clone(x) if x is input else x


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError("dropout probability has to be between 0 and 1, but got %s" % p)
    if not training or p == 0.0:
        return input
    from .._random import bernoulli_
    if p == 1.0:
        r = F.mul(input, 0)
    else:
        mask = bernoulli_(ops.empty(input.dtype, input.shape), 1 - p)
        r = F.mul(F.mul(input, mask), 1.0 / (1 - p))
    return F.copy_(input, r) if inplace else r


def threshold(input, threshold, value, inplace=False):
    return D.threshold_(input, threshold, value) if inplace else D.threshold(input, threshold, value)


def threshold_(input, threshold, value):
    return D.threshold_(input, threshold, value)


