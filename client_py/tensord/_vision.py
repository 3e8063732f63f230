"""torch's top-level constant_pad_nd, grid_sampler (+ _2d, _3d) and affine_grid_generator
(ATen's forms of nn.functional's pad(mode='constant'), grid_sample and affine_grid: torch's
pad-length messages, the modes as ints)."""
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


def _grid_sampler_nd(name, n):
    def fn(input, grid, interpolation_mode, padding_mode, align_corners):
        F._check_tensor(input, name)
        F._check_tensor(grid, name, "grid", 2)
        if input.ndim != n + 2 or grid.ndim != n + 2:
            raise RuntimeError("grid_sampler(): expected %dD input and grid with same number of dimensions, but got "
                               "input with sizes %s and grid with sizes %s"
                               % (n + 2, list(input.shape), list(grid.shape)))
        if n == 3 and interpolation_mode == 2:
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
        return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)
    fn.__name__ = fn.__qualname__ = name
    return fn


grid_sampler_2d = _grid_sampler_nd("grid_sampler_2d", 2)
grid_sampler_3d = _grid_sampler_nd("grid_sampler_3d", 3)


def affine_grid_generator(theta, size, align_corners):
    F._check_tensor(theta, "affine_grid_generator", "theta")
    k = len(size) - 2
    if theta.ndim == 3 and theta.shape[2] != k + 1:  # torch's batched product of the base grid and theta
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: [%d, %d] but got: [%d, %d]."
                           % (theta.shape[0], k + 1, theta.shape[0], theta.shape[2]))
    return NF.affine_grid(theta, list(size), align_corners)


_export("constant_pad_nd", constant_pad_nd)
_export("grid_sampler", grid_sampler)
_export("grid_sampler_2d", grid_sampler_2d)
_export("grid_sampler_3d", grid_sampler_3d)
_export("affine_grid_generator", affine_grid_generator)
