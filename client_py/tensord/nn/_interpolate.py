"""nn.functional.interpolate (and the deprecated upsample, upsample_nearest,
upsample_bilinear) with torch 1.13's argument rules and source-index formulas, for the
modes nearest, nearest-exact, linear, bilinear, trilinear and area.

Resampling is separable: one spatial dim at a time, nearest is one index_select and
(bi/tri)linear two index_selects blended by per-position weights, so autograd
differentiates it through index_select.  The source positions are computed here in
float64 as torch's kernels compute them (area_pixel_compute_source_index); area mode is
adaptive_avg_pool.  bicubic and antialias are not here."""
import math
import warnings

import numpy as np

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _pkg():
    import tensord
    return tensord


def _scale(in_size, out_size, align_corners, scale):
    """torch's area_pixel_compute_scale: source step per output position."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def _nearest_index(in_size, out_size, scale, exact):
    step = 1.0 / scale if scale is not None and scale > 0 else in_size / out_size
    dst = np.arange(out_size, dtype=np.float64)
    src = np.floor((dst + 0.5) * step if exact else dst * step).astype(np.int64)
    return np.minimum(src, in_size - 1)


def _resample_dim(x, d, out_size, mode, align_corners, scale):
    t = _pkg()
    in_size = x.shape[d]
    if mode in ("nearest", "nearest-exact"):
        idx = _nearest_index(in_size, out_size, scale, mode == "nearest-exact")
        return t.index_select(x, d, t.tensor(idx))
    step = _scale(in_size, out_size, align_corners, scale)
    dst = np.arange(out_size, dtype=np.float64)
    src = dst * step if align_corners else np.maximum(step * (dst + 0.5) - 0.5, 0.0)
    i0 = np.minimum(src.astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    w1 = src - i0
    shape = [1] * x.ndim
    shape[d] = out_size
    w1 = t.tensor(w1.reshape(shape), dtype=x.dtype)
    a, b = t.index_select(x, d, t.tensor(i0)), t.index_select(x, d, t.tensor(i1))
    return a + (b - a) * w1


def _sizes(input, size, scale_factor, recompute_scale_factor, dim):
    """(output sizes, the scale factors the kernels use or Nones)."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial dimensions, but got input "
                                 "with spatial dimensions of %s and output size of %s. Please provide input tensor in "
                                 "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
                                 % (list(input.shape[2:]), size))
            out = [int(s) for s in size]
        else:
            out = [int(size)] * dim
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return out, [None] * dim
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError("Input and scale_factor must have the same number of spatial dimensions, but got input "
                             "with spatial dimensions of %s and scale_factor of shape %s. Please provide input tensor "
                             "in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format."
                             % (list(input.shape[2:]), scale_factor))
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * dim
    out = [int(math.floor(float(input.shape[2 + i]) * scales[i])) for i in range(dim)]
    return out, ([None] * dim if recompute_scale_factor else scales)


def _wrong_rank(input, mode):
    need = _LINEAR.get(mode)
    if need is not None and input.dim() in (3, 4, 5):
        return NotImplementedError("Got %dD input, but %s mode needs %dD input" % (input.dim(), mode, need))
    return NotImplementedError("Input Error: Only 3D, 4D and 5D input Tensors supported (got {}D) for the modes: "
                               "nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got {})"
                               .format(input.dim(), mode))


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    r"""Resamples input (N, C, *spatial) to size or by scale_factor."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear "
                             "| bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    if mode == "area" and size is None:
        recompute_scale_factor = True
    out, scales = _sizes(input, size, scale_factor, recompute_scale_factor, dim)
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is only supported for bilinear and bicubic modes")
    if antialias or mode == "bicubic":
        raise NotImplementedError("interpolate: mode '%s'%s is not implemented by tensord yet"
                                  % (mode, " with antialias" if antialias else ""))
    if input.dim() not in (3, 4, 5):
        raise _wrong_rank(input, mode)
    if mode == "area":
        F = _pkg().nn.functional
        return (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[dim - 1](input, out)
    if mode in _LINEAR and _LINEAR[mode] != input.dim() or mode not in _LINEAR and mode not in ("nearest",
                                                                                                 "nearest-exact"):
        raise _wrong_rank(input, mode)
    x = input
    for i in range(dim):
        x = _resample_dim(x, 2 + i, out[i], mode, align_corners, scales[i])
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
