"""torch's top-level embedding and embedding_bag, in ATen's form: weight first, a negative
padding_idx meaning none, embedding_bag's mode as an int (0 sum, 1 mean, 2 max) and its four
results (output, offset2bag, bag_size, max_indices) with the values torch 1.13's CPU kernel
gives them.  The lookups are nn.functional's."""
import builtins

from . import _dtype, _records as F
from .nn import functional as NF

__all__ = []

_export = F.exporter(globals(), __all__)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    F._check_tensor(weight, "embedding", "weight", 1)
    F._check_tensor(indices, "embedding", "indices", 2)
    return NF.embedding(indices, weight, padding_idx if padding_idx >= 0 else None, None, 2.0, scale_grad_by_freq,
                        sparse)


_MODES = ("sum", "mean", "max")


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """offset2bag is each index's bag (empty for a float32/float16 sum without padding_idx:
    torch's fast path), bag_size the count of non-padding indices per bag (zeros for sum), max_indices
    the row each maximum came from (mode max), bag_size again (mean) or zeros (sum)."""
    import numpy as np
    from . import _creation
    F._check_tensor(weight, "embedding_bag", "weight", 1)
    F._check_tensor(indices, "embedding_bag", "indices", 2)
    F._check_tensor(offsets, "embedding_bag", "offsets", 3)
    if not 0 <= mode < len(_MODES):
        raise RuntimeError("embedding_bag(): unknown mode %d" % mode)
    name = _MODES[mode]
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    out = NF.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, name, sparse, per_sample_weights,
                           include_last_offset, pad)
    idx = np.asarray(indices.tolist(), dtype=np.int64).reshape(-1)
    starts = [builtins.int(v) for v in offsets.tolist()]
    ends = starts[1:] if include_last_offset else starts[1:] + [idx.size]
    starts = starts[:len(ends)]
    B = len(starts)
    keep = idx != (-1 if pad is None else pad)
    bag_of = np.zeros(idx.size, dtype=np.int64)
    for b, s in enumerate(starts):
        bag_of[s:] = b  # a later bag's start overrides: empty bags own nothing
    counts = np.array([keep[s:e].sum() for s, e in zip(starts, ends)], dtype=np.int64)
    zeros = np.zeros(B, dtype=np.int64)
    if name == "sum":
        fast = pad is None and weight.dtype in (_dtype.float32, _dtype.float16)
        offset2bag = np.zeros(0, dtype=np.int64) if fast else bag_of
        bag_size, max_indices = zeros, zeros
    else:
        offset2bag, bag_size = bag_of, counts
        max_indices = counts
        if name == "max":
            w = np.asarray(weight.detach().tolist(), dtype=np.float64).reshape(weight.shape[0], -1)
            max_indices = np.zeros((B, w.shape[1]), dtype=np.int64)
            for b, (s, e) in enumerate(zip(starts, ends)):
                rows = idx[s:e][keep[s:e]]
                if rows.size:
                    max_indices[b] = rows[np.argmax(w[rows], axis=0)]
    t = _creation.tensor
    return out, t(offset2bag), t(bag_size), t(max_indices)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """The rows of input (an embedding weight) that indices name, rescaled in place to
    norm at most max_norm; returns input."""
    F._check_tensor(input, "embedding_renorm_")
    F._check_tensor(indices, "embedding_renorm_", "indices", 2)
    if not (indices.dtype is _dtype.int64 or indices.dtype is _dtype.int32):
        raise RuntimeError("Expected tensor for argument #2 'indices' to have one of the following scalar types: "
                           "Long, Int; but got torch.%sTensor instead (while checking arguments for "
                           "embedding_renorm_)" % indices.dtype._torch_name)
    NF._embedding_renorm_(input, indices, max_norm, norm_type)
    return input


_export("embedding", embedding)
_export("embedding_renorm_", embedding_renorm_)
_export("embedding_bag", embedding_bag)
