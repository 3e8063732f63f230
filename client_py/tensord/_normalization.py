"""torch's top-level normalizations in ATen's argument order (weight and bias before the
running statistics, the cudnn flags accepted and ignored): batch_norm, instance_norm,
layer_norm, group_norm, and the native_* forms that also return the statistics they used
(mean and 1/sqrt(var + eps)).  The arithmetic is nn.functional's."""
import builtins

from . import _records as F
from .nn import functional as NF

__all__ = []

_check = F._check_tensor
_export = F.exporter(globals(), __all__)


def _running_stats_given(training, running_mean, running_var):
    if not training and (running_mean is None or running_var is None):
        which = "mean" if running_mean is None else "var"
        raise RuntimeError("running_%s must be defined in evaluation mode" % which)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    _check(input, "batch_norm")
    _running_stats_given(training, running_mean, running_var)
    return NF._batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)[0]


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    _check(input, "instance_norm")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    return NF.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    _check(input, "layer_norm")
    return NF._layer_norm(input, normalized_shape, weight, bias, eps)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    _check(input, "group_norm")
    if input.ndim == 0:  # torch reads the batch and channel sizes first
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    F.wrap_dim(1, input.ndim)
    return NF.group_norm(input, num_groups, weight, bias, eps)


def _invstd(var, eps):
    return F.rsqrt(F.add(var, eps))


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, *, out=None):
    """(output, save_mean, save_invstd): the batch's statistics per channel in training,
    empty tensors in evaluation (which needs the running statistics)."""
    _check(input, "native_batch_norm")
    _running_stats_given(training, running_mean, running_var)  # torch 1.13 crashes here: batch_norm's message
    y, mean, var = NF._batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    C = input.shape[1]
    if training:
        r = (y, F.reshape(mean, [C]), F.reshape(_invstd(var, eps), [C]))
    else:
        from ._creation import empty
        r = (y, empty((0,), dtype=input.dtype), empty((0,), dtype=input.dtype))
    return F._outs(r, out, "native_batch_norm")


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(output, mean, rstd): the statistics over the normalized dims, kept as size-1 dims."""
    _check(input, "native_layer_norm")
    y, mean, var = NF._layer_norm(input, normalized_shape, weight, bias, eps)
    return y, mean, _invstd(var, eps)


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """(output, mean, rstd): the statistics per (sample, group), shaped (N, group)."""
    _check(input, "native_group_norm")
    if input.numel() != N * C * HxW:
        raise RuntimeError("Expected X.numel() == N * C * HxW to be true, but got false.  (Could this error message "
                           "be improved?  If so, please report an enhancement request to PyTorch.)")
    y, mean, var = NF._group_norm(F.reshape(input, [N, C, builtins.max(HxW, 1)]) if input.ndim < 2 else input,
                                  group, weight, bias, eps)
    return F.reshape(y, list(input.shape)), F.reshape(mean, [N, group]), F.reshape(_invstd(var, eps), [N, group])


for _f in (batch_norm, instance_norm, layer_norm, group_norm, native_batch_norm, native_layer_norm, native_group_norm):
    _export(_f.__name__, _f)
