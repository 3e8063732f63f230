"""pixel_shuffle, pixel_unshuffle and channel_shuffle, as torch.nn.functional's: a reshape,
a permute and a copy into a new contiguous tensor (the permute's view is not what torch
returns), differentiable through them."""
from .. import _records as F

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"]


def _factor(name, what, r):
    r = F.index_int(r)
    if r <= 0:
        raise RuntimeError("%s expects a positive %s, but got %d" % (name, what, r))
    return r


def _rank3(name, input):
    if input.ndim < 3:
        raise RuntimeError("%s expects input to have at least 3 dimensions, but got input with %d dimension(s)"
                           % (name, input.ndim))


def _regroup(x, shape, order, out):
    """x reshaped to `shape`, permuted by `order` (over the trailing dims after the batch
    dims), copied out as `out`'s shape."""
    lead = x.ndim - 3
    y = F.reshape(x, tuple(x.shape[:lead]) + tuple(shape))
    y = y.permute(*(list(range(lead)) + [lead + i for i in order]))
    return F.reshape(y.contiguous(), tuple(x.shape[:lead]) + tuple(out))


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    _rank3("pixel_shuffle", input)
    c, h, w = input.shape[-3:]
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           "upscale_factor, but input.size(-3)=%d is not divisible by %d" % (c, r * r))
    oc = c // (r * r)
    return _regroup(input, (oc, r, r, h, w), (0, 3, 1, 4, 2), (oc, h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    _rank3("pixel_unshuffle", input)
    c, h, w = input.shape[-3:]
    for what, n, d in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError("pixel_unshuffle expects %s to be divisible by downscale_factor, but input.size(%d)=%d "
                               "is not divisible by %d" % (what, d, n, r))
    return _regroup(input, (c, h // r, r, w // r, r), (0, 2, 4, 1, 3), (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, C, *) with the channels split into `groups` groups and interleaved."""
    g = F.index_int(groups)
    if input.ndim <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with sizes %s"
                           % list(input.shape))
    if g <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. Value of groups:%d" % g)
    c = input.shape[1]
    if c % g:
        raise RuntimeError("Number of channels must be divisible by groups. Got %d channels and %d groups." % (c, g))
    n, rest = input.shape[0], tuple(input.shape[2:])
    y = F.reshape(input, (n, g, c // g) + rest).transpose(1, 2)
    return F.reshape(y.contiguous(), tuple(input.shape))


native_channel_shuffle = channel_shuffle
