"""torch's top-level constant_pad_nd and grid_sampler (ATen's forms of nn.functional's
pad(mode='constant') and grid_sample: torch's pad-length messages, the modes as ints)."""
from . import _records as F
from .nn import functional as NF

__all__ = []

_export = F.exporter(globals(), __all__)


def constant_pad_nd(input, pad, value=0):
    """pad as nn.functional.pad's (last dim first, negative entries crop)."""
    F._check_tensor(input, "constant_pad_nd")
    pads = [F.index_int(p) for p in pad]
    if len(pads) % 2:
        raise RuntimeError("Length of pad must be even but instead it equals %d" % len(pads))
    if len(pads) // 2 > input.ndim:
        raise RuntimeError("Length of pad should be no more than twice the number of dimensions of the input. Pad "
                           "length is %dwhile the input has %ddimensions." % (len(pads), input.ndim))
    return NF._pad_constant(input, pads, value)


_INTERPOLATION = ("bilinear", "nearest", "bicubic")  # GridSamplerInterpolation's order
_PADDING = ("zeros", "border", "reflection")  # GridSamplerPadding's order


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    F._check_tensor(input, "grid_sampler")
    F._check_tensor(grid, "grid_sampler", "grid", 2)
    if not 0 <= interpolation_mode < len(_INTERPOLATION):
        raise RuntimeError("grid_sampler(): unknown interpolation_mode %d" % interpolation_mode)
    if not 0 <= padding_mode < len(_PADDING):
        raise RuntimeError("grid_sampler(): unknown padding_mode %d" % padding_mode)
    return NF.grid_sample(input, grid, _INTERPOLATION[interpolation_mode], _PADDING[padding_mode], align_corners)


_export("constant_pad_nd", constant_pad_nd)
_export("grid_sampler", grid_sampler)
