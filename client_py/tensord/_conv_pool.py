"""torch's top-level convolution (ATen's one entry for every convolution: the spatial rank
from weight, transposed or not, every size a list) and adaptive_max_pool1d (always with
its indices).  The kernels are nn.functional's conv / conv_transpose / adaptive pooling."""
from . import _records as F
from .nn import functional as NF

__all__ = []

_export = F.exporter(globals(), __all__)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    F._check_tensor(input, "convolution")
    F._check_tensor(weight, "convolution", "weight", 2)
    for pos, name, v in ((4, "stride", stride), (5, "padding", padding), (6, "dilation", dilation),
                         (8, "output_padding", output_padding)):
        if not isinstance(v, (list, tuple)):
            raise TypeError("convolution(): argument '%s' (position %d) must be tuple of ints, not %s"
                            % (name, pos, type(v).__name__))
    n = weight.ndim - 2
    if input.ndim != weight.ndim:
        raise RuntimeError("Expected %d-dimensional input for %d-dimensional weight %s, but got %d-dimensional input "
                           "of size %s instead" % (weight.ndim, weight.ndim, list(weight.shape), input.ndim,
                                                   list(input.shape)))
    if transposed:
        return NF._conv_transpose(n, input, weight, bias, stride, padding, output_padding, groups, dilation)
    NF._conv_list(output_padding, n, "output_padding")
    return NF._conv(n, input, weight, bias, stride, padding, dilation, groups)


def adaptive_max_pool1d(input, output_size):
    """(values, indices) over the last dim of a (C, L) or (N, C, L) input."""
    F._check_tensor(input, "adaptive_max_pool1d")
    if input.ndim not in (2, 3):
        raise RuntimeError("Expected 2 to 3 dimensions, but got %d-dimensional tensor for argument #1 'self' (while "
                           "checking arguments for adaptive_max_pool1d)" % input.ndim)
    if isinstance(output_size, (list, tuple)) and len(output_size) != 1:
        raise RuntimeError("adaptive_max_pool1d() argument 'output_size' should contain one int (got %d)"
                           % len(output_size))
    return NF._adaptive(1, "max", input, output_size, True)


_export("convolution", convolution)
_export("adaptive_max_pool1d", adaptive_max_pool1d)
