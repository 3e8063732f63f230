"""tensord.nn.functional: pad (constant, reflect, replicate, circular), the dropouts,
bilinear, embedding, the normalizations (batch, instance, layer, group), the activations
of _activation.py (softmax, relu ... glu, one_hot, normalize, linear), the losses of
_loss.py, and the top-level functions torch also exposes here (threshold, hardshrink,
pdist, pairwise_distance, cosine_similarity; from _distance), and
multi_head_attention_forward (_attention.py), interpolate and the upsample functions
(_interpolate.py), embedding_bag.

All are compositions of existing ops (no kernels of their own), differentiable through
them.  Convolution and pooling are not here."""
import builtins
import warnings

from .. import _C
from .. import _op_numbers as O  # noqa: F401  (unused, but a public name in tests/python/surface_baseline.txt)
from .. import _records as F
from .._C import ops
from .. import _distance as D
from .._distance import hardshrink, pdist, pairwise_distance, cosine_similarity  # noqa: F401  (torch's top-level ones)
from ._activation import _pkg

TB = _C.TensorBase

__all__ = ["pad", "dropout", "threshold", "threshold_", "hardshrink", "pdist", "pairwise_distance",
           "cosine_similarity", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d",
           "bilinear", "embedding", "embedding_bag", "batch_norm", "instance_norm", "layer_norm", "rms_norm", "group_norm",
           "local_response_norm"]

from ._activation import *  # noqa: E402,F401,F403
from ._activation import __all__ as _activation_all  # noqa: E402
from ._loss import *  # noqa: E402,F401,F403
from ._loss import __all__ as _loss_all  # noqa: E402
from ._attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402,F401
from ._attention import _scaled_dot_product_attention  # noqa: E402,F401  (torch 1.13's private form)
from ._interpolate import interpolate, upsample, upsample_nearest, upsample_bilinear  # noqa: E402,F401
from ._fold import fold, unfold  # noqa: E402,F401
from ._grid import affine_grid, grid_sample  # noqa: E402,F401
from ._shuffle import *  # noqa: E402,F401,F403
from ._shuffle import __all__ as _shuffle_all  # noqa: E402
from ._pooling import *  # noqa: E402,F401,F403
from ._pooling import __all__ as _pooling_all  # noqa: E402

__all__ += _activation_all + _loss_all + ["multi_head_attention_forward", "scaled_dot_product_attention", "interpolate", "upsample",
                                          "upsample_nearest", "upsample_bilinear", "fold", "unfold",
                                          "affine_grid", "grid_sample"] + _shuffle_all + _pooling_all


def _slice(x, d, start, end):
    return ops.slice(x, d, start, end)


def _pad_constant_joined(x, pads, value):
    """Constant padding as crops and joins (SLICE, CAT): differentiable, for inputs in a
    graph (writing into a view of the output is not)."""
    from .._creation import full
    y = x
    for i in range(len(pads) // 2):
        d = x.ndim - 1 - i
        lo, hi = pads[2 * i], pads[2 * i + 1]
        n = y.shape[d]
        y = _slice(y, d, builtins.max(-lo, 0), builtins.max(n - builtins.max(-hi, 0), builtins.max(-lo, 0)))
        parts = []
        for k in (lo, hi):
            if k > 0:
                shape = list(y.shape)
                shape[d] = k
                parts.append(full(shape, value, dtype=x.dtype))
        if parts:
            parts.insert(1 if lo > 0 else 0, y)
            y = ops.cat(*parts, dim=d)
    return y


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
    if x.requires_grad and _C.is_grad_enabled():
        return _pad_constant_joined(x, pads, 0 if value is None else value)
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
        r = _pad_constant(input, pads, value)
        return r if r is input else F.torch_node(r, "ConstantPadNdBackward0")
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError("Unrecognised padding mode %s" % mode)
    if value is not None and value != 0:
        raise RuntimeError('Padding mode "%s" doesn\'t take in value argument.' % mode)
    x = input
    for i in range(len(pads) // 2):
        x = _pad_dim(x, input.ndim - 1 - i, pads[2 * i], pads[2 * i + 1], mode)
    return F.clone(x) if x is input else x


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError("dropout probability has to be between 0 and 1, but got %s" % p)


def _keep_mask(input, p, shape):
    """Bernoulli(1 - p) draws of shape from tensord's generator, in input's dtype."""
    from .._random import bernoulli_
    from .._tensor_new import placed
    with placed(input._device_index):  # on input's device: drawn by its generator
        return bernoulli_(ops.empty(input.dtype, list(shape)), 1 - p)


def _float_noise(input, p, alpha=False):
    """torch scales its noise in input's dtype: an integer or bool input cannot hold 1/(1-p)
    (alpha dropout's noise - 1 has turned a bool one into Long by then)."""
    if p != 1.0 and not (input.dtype.is_floating_point or input.dtype.is_complex):
        name = "Long" if alpha and input.dtype._torch_name == "Bool" else input.dtype._torch_name
        raise RuntimeError("result type Float can't be cast to the desired output type %s" % name)


def _dropout_shaped(input, p, training, inplace, shape):
    """Dropout with one keep draw per element of shape, broadcast over input (p checked)."""
    if not training or p == 0.0:
        return input
    _float_noise(input, p)
    if p == 1.0:
        r = F.mul(input, 0)
    else:
        r = F.mul(F.mul(input, _keep_mask(input, p, shape)), 1.0 / (1 - p))
    return F.copy_(input, r) if inplace else r


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    return _dropout_shaped(input, p, training, inplace, input.shape)


def _feature_dropout(input, p, training, inplace, batched):
    """Whole channels zeroed: one draw per (N, C), broadcast over the feature dims
    (batched False: the input has no batch dim)."""
    _check_p(p)
    lead = 2 if batched else 1
    shape = list(input.shape[:lead]) + [1] * (input.ndim - lead)
    return _dropout_shaped(input, p, training, inplace, shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    if input.ndim not in (2, 3):
        raise RuntimeError("dropout1d: Expected 2D or 3D input, but received a %dD input. Note that dropout1d exists "
                           "to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, "
                           "and an optional batch dimension (i.e. 2D or 3D inputs)." % input.ndim)
    return _feature_dropout(input, p, training, inplace, input.ndim == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    if input.ndim not in (3, 4):
        warnings.warn("dropout2d: Received a %d-D input to dropout2d, which is deprecated and will result in an error "
                      "in a future release. To retain the behavior and silence this warning, please use dropout "
                      "instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs)."
                      % input.ndim)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This "
                      "behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.")
    return _feature_dropout(input, p, training, inplace, True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    if input.ndim not in (4, 5):
        warnings.warn("dropout3d: Received a %d-D input to dropout3d, which is deprecated and will result in an error "
                      "in a future release. To retain the behavior and silence this warning, please use dropout "
                      "instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs)."
                      % input.ndim)
    return _feature_dropout(input, p, training, inplace, input.ndim == 5)


_ALPHA_DROP = 1.7580993408473766  # SELU's -scale * alpha, negated: where a dropped unit lands


def _alpha_dropout(input, p, training, inplace, shape):
    """Dropped units set to SELU's saturation value, then an affine map a*x + b that keeps
    the mean and variance (torch's alpha dropout)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    _float_noise(input, p, alpha=True)
    if p == 1.0:
        r = F.mul(input, 0)
    else:
        keep = _keep_mask(input, p, shape)
        a = 1.0 / ((_ALPHA_DROP ** 2 * p + 1) * (1 - p)) ** 0.5
        b = F.add(F.mul(F.sub(keep, 1), _ALPHA_DROP * a), _ALPHA_DROP * a * p)
        r = F.add(F.mul(input, F.mul(keep, a)), b)
    return F.copy_(input, r) if inplace else r


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha_dropout(input, p, training, inplace, input.shape)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    shape = list(input.shape[:2]) + [1] * (input.ndim - 2)
    return _alpha_dropout(input, p, training, inplace, shape)


# ---------------------------------------------------------------- linear and sparse layers

def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o], as one matmul and a sum."""
    if input1.ndim != input2.ndim:
        raise RuntimeError("bilinear(): input dimensions do not match: got %d and %d" % (input1.ndim, input2.ndim))
    for i in range(input1.ndim - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError("bilinear(): input batch dimensions do not match at dim %d: got %d and %d"
                               % (i, input1.shape[i], input2.shape[i]))
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError("bilinear(): input%d size does not match weight size: got %d but expected %d"
                           % ((1, input1.shape[-1], in1) if input1.shape[-1] != in1 else (2, input2.shape[-1], in2)))
    if bias is not None and bias.numel() != out_f:
        raise RuntimeError("bilinear(): bias size does not match weight size: got %d but expected %d"
                           % (bias.numel(), out_f))
    lead = list(input1.shape[:-1])
    x1, x2 = F.reshape(input1, [-1, in1]), F.reshape(input2, [-1, in2])
    w = F.reshape(F.permute(weight, [1, 0, 2]), [in1, out_f * in2])
    t = F.reshape(F.matmul(x1, w), [-1, out_f, in2])
    y = F.sum(F.mul(t, F.unsqueeze(x2, 1)), -1)
    if bias is not None:
        y = F.add(y, bias)
    return F.reshape(y, lead + [out_f])


def _embedding_renorm_(weight, input, max_norm, norm_type):
    """Rows of weight that input names rescaled in place to norm at most max_norm (torch's
    embedding_renorm_: scale max_norm / (norm + 1e-7)), outside autograd."""
    from .. import _grad_mode
    from .._advindex import unique, index_select
    with _grad_mode.no_grad():
        rows = unique(F.reshape(input, [-1]))
        sel = index_select(weight, 0, rows)
        norms = _pkg().norm(sel, norm_type, 1, True)
        scale = F.where(F.gt(norms, max_norm), F.div(max_norm, F.add(norms, 1e-7)), F.add(F.mul(norms, 0), 1))
        weight.index_copy_(0, rows, F.mul(sel, scale))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """weight's rows named by input (int64); the row padding_idx takes no gradient."""
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < weight.size(0), "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -weight.size(0), "Padding_idx must be within num_embeddings"
            padding_idx = weight.size(0) + padding_idx
    if input.dtype.is_floating_point or input.dtype.is_complex:
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           "Long, Int; but got torch.%sTensor instead (while checking arguments for embedding)"
                           % {"float32": "Float", "float64": "Double"}.get(input.dtype._name, input.dtype._name))
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    from .._advindex import index_select
    idx = F.reshape(input if input.dtype._name == "int64" else F.cast(input, _int64()), [-1])
    out = F.reshape(index_select(weight, 0, idx), list(input.shape) + [weight.shape[1]])
    if padding_idx is not None or scale_grad_by_freq:
        out = _embedding_grad_shaping(out, input, padding_idx, scale_grad_by_freq)
    return F.torch_node(out, "EmbeddingBackward0")


def _int64():
    return _pkg().int64


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embedding rows: input (B, N) is B bags of N, or
    input (N,) is cut into bags at offsets.  Entries equal to padding_idx are left out
    (of the count too); an empty bag gives zeros.  sum/mean are one matmul of a (B, N)
    bag matrix (built here from the indices) by the looked-up rows; max pads every bag
    to the longest with -inf rows and takes amax.  scale_grad_by_freq divides each row's
    gradient by its index's count in input, as embedding does (torch 1.13's CPU
    embedding_bag backward looks the counts up at the wrong positions)."""
    import numpy as np
    t = _pkg()
    if weight.dtype == t.int64 and input.is_floating_point():
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, input, "
                      "...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.")
        weight, input = input, weight
    if per_sample_weights is not None and input.size() != per_sample_weights.size():
        raise ValueError("embedding_bag: If per_sample_weights ({}) is not None, then it must have the same shape as "
                         "the input ({})".format(per_sample_weights.shape, input.shape))
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed "
                             "length sequences. However, found offsets of type {}".format(
                                 "<class 'tensord.Tensor'>" if isinstance(offsets, TB) else type(offsets)))
        starts = list(range(0, input.numel(), input.size(1))) if input.size(1) else [0] * input.size(0)
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = [int(v) for v in offsets.tolist()]
    else:
        raise ValueError("input has to be 1D or 2D Tensor, but got Tensor of dimension {}".format(input.dim()))
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ValueError("mode has to be one of sum, mean or max")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  "supported for mode='sum' (got mode='{}'). Please open a feature request on "
                                  "GitHub.".format(mode))
    if starts and starts[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           "position 0. However, got %d" % starts[0])
    n = input.numel()
    ends = starts[1:] if include_last_offset else starts[1:] + [n]
    starts = starts[:len(ends)]
    idx = np.asarray(input.tolist(), dtype=np.int64).reshape(-1)
    keep = idx != (-1 if padding_idx is None else padding_idx % weight.shape[0])
    rows = embedding(input, weight, None, None, norm_type, scale_grad_by_freq and mode != "max")
    D = weight.shape[1]
    if mode == "max":
        longest = builtins.max([e - s for s, e in zip(starts, ends)] + [1])
        pick = np.full((len(starts), longest), n, dtype=np.int64)
        for b, (s, e) in enumerate(zip(starts, ends)):
            members = np.arange(s, e)[keep[s:e]]
            pick[b, :len(members)] = members
        table = ops.cat(rows, F.expand(t.tensor(float("-inf"), dtype=weight.dtype), [1, D]), dim=0)
        out = F.amax(F.reshape(t.index_select(table, 0, t.tensor(pick.reshape(-1))), [len(starts), longest, D]), 1)
        empty = F.unsqueeze(t.tensor((pick == n).all(1)), 1)
        return F.where(empty, t.zeros((), dtype=weight.dtype), out)
    bags = np.zeros((len(starts), n))
    for b, (s, e) in enumerate(zip(starts, ends)):
        bags[b, s:e] = keep[s:e]
        if mode == "mean" and bags[b].sum() > 0:
            bags[b] /= bags[b].sum()
    if per_sample_weights is not None:
        rows = F.mul(rows, F.unsqueeze(per_sample_weights, 1))
    return F.matmul(t.tensor(bags, dtype=weight.dtype), rows)


def _embedding_grad_shaping(out, input, padding_idx, scale_grad_by_freq):
    """Same values; the gradient zero at padding_idx and, with scale_grad_by_freq, divided by
    how often each index occurs in input (torch's embedding_backward)."""
    t = _pkg()
    g = F.unsqueeze(F.cast(F.ne(input, -1 if padding_idx is None else padding_idx), out.dtype), -1)
    if scale_grad_by_freq:
        flat = F.reshape(input, [-1])
        _, inverse, counts = t.unique(flat, return_inverse=True, return_counts=True)
        freq = F.reshape(t.index_select(counts, 0, F.reshape(inverse, [-1])), list(input.shape))
        g = F.div(g, F.unsqueeze(F.cast(freq, out.dtype), -1))
    # out * g + out.detach() * (1 - g): the values of out, the gradient scaled by g
    return F.add(F.mul(out, g), F.mul(F.detach(out), F.sub(1, g)))


# ---------------------------------------------------------------- normalization

def _stats(input, dims):
    """Mean and biased variance over dims, kept for broadcasting."""
    mean = F.mean(input, dims, True)
    d = F.sub(input, mean)
    return mean, F.mean(F.mul(d, d), dims, True)


def _verify_batch_size(size):
    n = size[0]
    for s in size[2:]:
        n *= s
    if n == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size %s" % (size,))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalized over every dim but the channels (dim 1); in training the running stats
    move by momentum towards the batch's mean and unbiased variance."""
    if training:
        _verify_batch_size(input.size())
    return F.torch_node(_batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)[0],
                        "NativeBatchNormBackward0")


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
    """(output, mean, variance): the statistics used, shaped (1, C, 1, ...)."""
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != C:
            raise RuntimeError("%s should contain %d elements not %d" % (name, C, t.numel()))
    shape = [1, C] + [1] * (input.ndim - 2)
    dims = [0] + list(range(2, input.ndim))
    if training or running_mean is None or running_var is None:
        mean, var = _stats(input, dims)
        if training and running_mean is not None and running_var is not None:
            from .. import _grad_mode
            n = input.numel() // C
            with _grad_mode.no_grad():
                F.copy_(running_mean, F.add(F.mul(running_mean, 1 - momentum),
                                            F.mul(F.reshape(mean, [C]), momentum)))
                unbiased = F.mul(F.reshape(var, [C]), n / builtins.max(n - 1, 1))
                F.copy_(running_var, F.add(F.mul(running_var, 1 - momentum), F.mul(unbiased, momentum)))
    else:
        mean, var = F.reshape(running_mean, shape), F.reshape(running_var, shape)
    out = F.mul(F.sub(input, mean), F.rsqrt(F.add(var, eps)))
    if weight is not None:
        out = F.mul(out, F.reshape(weight, shape))
    if bias is not None:
        out = F.add(out, F.reshape(bias, shape))
    return out, mean, var


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Each (sample, channel) normalized over its own feature dims."""
    if not use_input_stats:
        return _batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)[0]
    N, C = input.shape[0], input.shape[1]
    mean, var = _stats(input, list(range(2, input.ndim)))
    if running_mean is not None and running_var is not None:
        from .. import _grad_mode
        n = input.numel() // (N * C)
        with _grad_mode.no_grad():
            m = F.mean(F.reshape(mean, [N, C]), 0)
            v = F.mul(F.mean(F.reshape(var, [N, C]), 0), n / builtins.max(n - 1, 1))
            F.copy_(running_mean, F.add(F.mul(running_mean, 1 - momentum), F.mul(m, momentum)))
            F.copy_(running_var, F.add(F.mul(running_var, 1 - momentum), F.mul(v, momentum)))
    out = F.mul(F.sub(input, mean), F.rsqrt(F.add(var, eps)))
    shape = [1, C] + [1] * (input.ndim - 2)
    if weight is not None:
        out = F.mul(out, F.reshape(weight, shape))
    if bias is not None:
        out = F.add(out, F.reshape(bias, shape))
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalized over the last len(normalized_shape) dims."""
    return F.torch_node(_layer_norm(input, normalized_shape, weight, bias, eps)[0], "NativeLayerNormBackward0")


def _layer_norm(input, normalized_shape, weight, bias, eps):
    """(output, mean, variance), the statistics kept for broadcasting."""
    ns = [normalized_shape] if isinstance(normalized_shape, builtins.int) else list(normalized_shape)
    k = len(ns)
    if not input.dtype.is_floating_point:
        raise RuntimeError("\"LayerNormKernelImpl\" not implemented for '%s'" % input.dtype._torch_name)
    if k == 0 or input.ndim < k or list(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError("Given normalized_shape=%s, expected input with shape [*, %s], but got input of size%s"
                           % (ns, ", ".join(str(n) for n in ns), list(input.shape)))
    mean, var = _stats(input, list(range(input.ndim - k, input.ndim)))
    # torch normalizes input.contiguous(): the result is row-major whatever input's layout
    out = F.mul(F.sub(F.contiguous(input), mean), F.rsqrt(F.add(var, eps)))
    if weight is not None:
        out = F.mul(out, weight)
    if bias is not None:
        out = F.add(out, bias)
    return out, mean, var


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """torch 2.4's: input / sqrt(mean(input^2 over the last len(normalized_shape) dims) + eps)
    (eps None: the dtype's machine epsilon), times weight; float16/bfloat16 computed in
    float32 and cast back, as torch's."""
    ns = [normalized_shape] if isinstance(normalized_shape, builtins.int) else list(normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or list(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError("Given normalized_shape=%s, expected input with shape [*, %s], but got input of size%s"
                           % (ns, ", ".join(str(n) for n in ns), list(input.shape)))
    from .._dtype import bfloat16, float16, float32
    from .._dtype import finfo
    if eps is None:
        eps = finfo(input.dtype).eps
    x = F.cast(input, float32) if input.dtype in (float16, bfloat16) else input
    ms = F.mean(F.mul(x, x), list(range(input.ndim - k, input.ndim)), True)
    out = F.cast(F.mul(x, F.rsqrt(F.add(ms, eps))), input.dtype)
    return out if weight is None else F.mul(out, weight)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """The channels split into num_groups groups, each normalized over its channels and features."""
    if input.ndim < 2:
        raise RuntimeError("Expected at least 2 dimensions for input tensor but received %d" % input.ndim)
    return F.torch_node(_group_norm(input, num_groups, weight, bias, eps)[0], "NativeGroupNormBackward0")


def _group_norm(input, num_groups, weight, bias, eps):
    """(output, mean, variance), the statistics of shape (N, num_groups, 1)."""
    N, C = input.shape[0], input.shape[1]
    if C % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got input of "
                           "shape %s and num_groups=%d" % (list(input.shape), num_groups))
    x = F.reshape(input, [N, num_groups, -1])
    mean, var = _stats(x, [2])
    out = F.reshape(F.mul(F.sub(x, mean), F.rsqrt(F.add(var, eps))), list(input.shape))
    shape = [1, C] + [1] * (input.ndim - 2)
    if weight is not None:
        out = F.mul(out, F.reshape(weight, shape))
    if bias is not None:
        out = F.add(out, F.reshape(bias, shape))
    return out, mean, var


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """input / (k + alpha * mean of squares over `size` neighbouring channels) ** beta; the
    window runs from size // 2 channels before to (size - 1) // 2 after, zero-padded."""
    if input.ndim < 3:
        raise ValueError("Expected 3D or higher dimensionality                          input (got %d dimensions)"
                         % input.ndim)
    if input.numel() == 0:
        return input
    n, c = input.shape[0], input.shape[1]
    sq = F.reshape(input.mul(input), (n, 1, c, -1))   # channels as the pooled height
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = F.reshape(avg_pool2d(sq, (size, 1), stride=1), tuple(input.shape))
    return input / div.mul(alpha).add(k).pow(beta)


def threshold(input, threshold, value, inplace=False):
    return D.threshold_(input, threshold, value) if inplace else D.threshold(input, threshold, value)


def threshold_(input, threshold, value):
    return D.threshold_(input, threshold, value)




# ---------------------------------------------------------------- convolution and pooling
# conv1d/2d/3d, conv_transpose1d/2d/3d, max/avg/adaptive pooling: one CONV-family record each
# (kernels/shape_conv.c; the backward rows in proto/derivatives.def).  Here only what the
# record does not carry: torch's argument spellings (an int or a tuple per spatial dim,
# padding='same'/'valid', stride=None), unbatched input (a batch of one), padding_mode via
# pad, conv_transpose as the convolution's input gradient, and the argument errors torch
# raises before its kernels run.

__all__ += ["conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
            "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
            "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
            "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
            "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
            "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d"]


def _conv_list(v, n, what):
    """An int or a sequence of n ints -> a list of n ints (torch's convolution message)."""
    if isinstance(v, (list, tuple)):
        vals = [F.index_int(x) for x in v]
        if len(vals) == 1:
            vals = vals * n
        if len(vals) != n:
            raise RuntimeError("expected %s to be a single integer value or a list of %d values to match the "
                               "convolution dimensions, but got %s=%s" % (what, n, what, vals))
        return vals
    return [F.index_int(v)] * n


def _batched(input, n, name, msg):
    """input as (N, C, *spatial) with n spatial dims, and whether it was unbatched; msg is
    torch's error for another rank ({shape}: input's sizes)."""
    if not isinstance(input, TB):
        raise TypeError("%s(): argument 'input' (position 1) must be Tensor, not %s" % (name, type(input).__name__))
    if input.ndim == n + 1:
        return ops.unsqueeze(input, 0), True
    if input.ndim != n + 2:
        raise RuntimeError(msg.replace("{shape}", str(list(input.shape))))
    return input, False


def _unbatch(x, was):
    return ops.squeeze(x, 0) if was else x


def _conv(n, input, weight, bias, stride, padding, dilation, groups):
    name = "conv%dd" % n
    x, was = _batched(input, n, name, "Expected %dD (unbatched) or %dD (batched) input to %s, but got input of size: "
                      "{shape}" % (n + 1, n + 2, name))
    if not isinstance(weight, TB):
        raise TypeError("%s(): argument 'weight' (position 2) must be Tensor, not %s" % (name, type(weight).__name__))
    stride = _conv_list(stride, n, "stride")
    dilation = _conv_list(dilation, n, "dilation")
    trim = [0] * n
    if isinstance(padding, str):
        if padding == "valid":
            padding = [0] * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            if weight.ndim != n + 2:
                raise RuntimeError("Expected %d-dimensional weight for %d-dimensional input %s, but got "
                                   "%d-dimensional weight of size %s instead"
                                   % (n + 2, n + 2, list(x.shape), weight.ndim, list(weight.shape)))
            # total padding dil * (k - 1) per dim; an odd total has its extra element on the
            # right: padded by the larger half on both sides, the output's first row is extra
            total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            padding = [(t + 1) // 2 for t in total]
            trim = [t % 2 for t in total]
            if any(trim):
                import warnings
                warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a "
                              "zero-padded copy of the input be created", UserWarning, stacklevel=3)
        else:
            raise RuntimeError("Invalid padding string: '%s'" % padding)
    else:
        padding = _conv_list(padding, n, "padding")
    ins = (x, weight) if bias is None else (x, weight, bias)
    y = ops.conv(*ins, groups=F.index_int(groups), stride=stride, padding=padding, dilation=dilation)
    for i, t in enumerate(trim):
        if t:
            y = _slice(y, 2 + i, 1, y.shape[2 + i])
    return _unbatch(y, was)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(n, input, weight, bias, stride, padding, output_padding, groups, dilation):
    name = "conv_transpose%dd" % n
    x, was = _batched(input, n, name, "Expected %dD (unbatched) or %dD (batched) input to %s, but got input of "
                      "size: {shape}" % (n + 1, n + 2, name))
    stride, padding = _conv_list(stride, n, "stride"), _conv_list(padding, n, "padding")
    dilation, output_padding = _conv_list(dilation, n, "dilation"), _conv_list(output_padding, n, "output_padding")
    groups = F.index_int(groups)
    if weight.ndim != n + 2:
        raise RuntimeError("Expected %d-dimensional weight for %d-dimensional input %s, but got %d-dimensional "
                           "weight of size %s instead" % (n + 2, n + 2, list(x.shape), weight.ndim, list(weight.shape)))
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got %s"
                           % " ".join("%s: %d" % kv for kv in zip(("output_padding", "stride", "dilation"),
                                                                  (output_padding[0], stride[0], dilation[0]))))
    if groups > 0 and x.shape[1] != weight.shape[0]:
        raise RuntimeError("Given transposed=1, weight of size %s, expected input%s to have %d channels, but got %d "
                           "channels instead" % (list(weight.shape), list(x.shape), weight.shape[0], x.shape[1]))
    # the transposed convolution is the gradient of a convolution by its input: x plays
    # grad_output, and a stand-in (no storage of its own) carries the output's shape
    size = [x.shape[0], weight.shape[1] * groups]
    size += [(i - 1) * s - 2 * p + d * (k - 1) + op + 1
             for i, s, p, d, k, op in zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding)]
    from .._tensor_new import placed
    with placed(x._device_index):
        shape = F.expand(ops.empty(x.dtype, [1] * (n + 2)), size)
    y = ops.conv_backward_input(x, weight, shape, groups=groups, stride=stride, padding=padding, dilation=dilation)
    if bias is not None:
        y = F.add(y, ops.view(bias, [1, bias.numel()] + [1] * n))
    return _unbatch(y, was)


def conv_tbc(input, weight, bias, pad=0):
    """1-d convolution of time-batch-channel input (T, B, C_in) with a (K, C_in, C_out) weight
    and a (C_out,) bias, zero-padded by pad steps at both ends: a conv1d in torch's layout."""
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must have 1 dims: out_channels")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    y = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=F.index_int(pad))
    return y.permute(2, 0, 1)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups, dilation)


_NUMBER_WORDS = {1: "a single int", 2: "a tuple of two ints", 3: "a tuple of three ints"}


def _pool_list(v, n, name, what, default=None):
    """torch's pooling spellings: an int, or a tuple of 1 or n ints (None/() for stride)."""
    if default is not None and (v is None or (isinstance(v, (list, tuple)) and len(v) == 0)):
        return list(default)
    if isinstance(v, (list, tuple)):
        vals = [F.index_int(x) for x in v]
        if len(vals) == 1:
            return vals * n
        if len(vals) == n:
            return vals
        if n == 1:
            raise RuntimeError("%s() %s must be an int, list of ints or tuple of ints of size 1 but got size %d"
                               % (name, what, len(vals)))
        how = {"stride": "must either be omitted, a single int, or %s",
               "kernel_size": "must either be a single int, or %s"}.get(what, "must be either be a single int, or %s")
        raise RuntimeError("%s: %s %s" % (name, what, how % _NUMBER_WORDS[n]))
    return [F.index_int(v)] * n


def _pool_input(input, n, name):
    if n == 1:
        msg = "%s: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:{shape}" % name
    else:
        msg = "non-empty %dD or %dD (batch mode) tensor expected for input" % (n + 1, n + 2)
    return _batched(input, n, name, msg)


def _max_pool(n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    name = "max_pool%dd" % n
    x, was = _pool_input(input, n, name)
    k = _pool_list(kernel_size, n, name, "kernel_size")
    s = _pool_list(stride, n, name, "stride", default=k)
    p = _pool_list(padding, n, name, "padding")
    d = _pool_list(dilation, n, name, "dilation")
    y, i = ops.max_pool(x, ceil_mode=bool(ceil_mode), kernel_size=k, stride=s, padding=p, dilation=d)
    y, i = _unbatch(y, was), _unbatch(i, was)
    y = F.torch_node(y, _pool_node(n, "MaxPool%dDWithIndicesBackward0" % n))
    return (y, i) if return_indices else y


def _pool_node(n, name):
    """torch's grad_fn name for a pooling result: its 1-d pooling runs the 2-d kernel on an
    unsqueezed input and squeezes the result back"""
    return "SqueezeBackward1" if n == 1 else name


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    name = "avg_pool%dd" % n
    if n == 1 and isinstance(input, TB) and input.ndim not in (2, 3):
        raise RuntimeError("Expected 2 to 3 dimensions, but got %d-dimensional tensor for argument #1 'self' (while "
                           "checking arguments for avg_pool1d)" % input.ndim)
    x, was = _pool_input(input, n, name)
    k = _pool_list(kernel_size, n, name, "kernel_size")
    s = _pool_list(stride, n, name, "stride", default=k)
    p = _pool_list(padding, n, name, "padding")
    if divisor_override is not None and F.index_int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    y = ops.avg_pool(x, ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                     divisor_override=0 if divisor_override is None else F.index_int(divisor_override),
                     kernel_size=k, stride=s, padding=p)
    return F.torch_node(_unbatch(y, was), _pool_node(n, "AvgPool%dDBackward0" % n))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def _lp_pool(n, input, norm_type, kernel_size, stride, ceil_mode):
    """(sum over each window of x**p) ** (1/p), as avg_pool of x**p times the window's area."""
    k = _pool_list(kernel_size, n, "lp_pool%dd" % n, "kernel_size")
    out = _avg_pool(n, input.pow(norm_type), k, stride, 0, ceil_mode, True, None)
    area = 1
    for v in k:
        area *= v
    # the sign keeps odd powers' negative averages negative, so pow gives NaN as torch does
    return _pkg().sign(out).mul(relu(out.abs())).mul(area).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def _adaptive_size(output_size, x, n, name):
    """torch's output_size: an int or n entries, None keeping the input's size."""
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != n:
            raise RuntimeError("%s: output_size must be %d" % (name, n))
        size = [x.shape[2 + i] if v is None else F.index_int(v) for i, v in enumerate(output_size)]
    else:
        size = [F.index_int(output_size)] * n
    if any(v < 0 for v in size):
        raise RuntimeError("%s: elements of output_size must be greater than or equal to 0 but received {%s}"
                           % (name, ", ".join(str(v) for v in size)))
    return size


def _adaptive(n, kind, input, output_size, return_indices=False):
    name = "adaptive_%s_pool%dd" % (kind, n)
    x, was = _batched(input, n, name, "%s(): Expected %dD or %dD tensor, but got {shape}" % (name, n + 1, n + 2))
    size = _adaptive_size(output_size, x, n, name)
    if kind == "avg":
        # torch's adaptive_avg_pool2d to 1x1 is a mean over the last two dims
        node = "MeanBackward1" if n == 2 and size == [1, 1] else "AdaptiveAvgPool%dDBackward0" % n
        return F.torch_node(_unbatch(ops.adaptive_avg_pool(x, output_size=size), was), _pool_node(n, node))
    y, i = ops.adaptive_max_pool(x, output_size=size)
    y, i = _unbatch(y, was), _unbatch(i, was)
    y = F.torch_node(y, _pool_node(n, "AdaptiveMaxPool%dDBackward0" % n))
    return (y, i) if return_indices else y


def adaptive_avg_pool1d(input, output_size):
    return _adaptive(1, "avg", input, output_size)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive(2, "avg", input, output_size)


def adaptive_avg_pool3d(input, output_size):
    return _adaptive(3, "avg", input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive(1, "max", input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive(2, "max", input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive(3, "max", input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return _adaptive(1, "max", input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return _adaptive(2, "max", input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return _adaptive(3, "max", input, output_size, True)
