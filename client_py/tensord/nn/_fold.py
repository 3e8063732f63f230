"""unfold (im2col) and fold (col2im), as torch.nn.functional's, for 4-d (batched) and 3-d
inputs: unfold is one strided view of the padded input (its gradient adds over the
overlapping windows) made contiguous; fold adds every column into its place with one
accumulating INDEX_PUT, positions computed here from the shapes alone."""
import numpy as np

from .. import _records as F

__all__ = ["unfold", "fold"]


def _pair(name, x):
    v = tuple(x) if isinstance(x, (tuple, list)) else (x, x)
    if len(v) != 2:
        raise ValueError("%s must be an int or a pair of ints" % name)
    return v


def _blocks(size, k, d, p, s):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C, H, W) -> (N, C * kh * kw, L): every kernel-sized block as a column."""
    if input.ndim not in (3, 4):
        raise NotImplementedError("Input Error: Only 3D or 4D input Tensors are supported (got %dD)" % input.ndim)
    k, d, p, s = (_pair("kernel_size", kernel_size), _pair("dilation", dilation), _pair("padding", padding),
                  _pair("stride", stride))
    x = input if input.ndim == 4 else F.unsqueeze(input, 0)
    n, c, h, w = x.shape
    oh, ow = _blocks(h, k[0], d[0], p[0], s[0]), _blocks(w, k[1], d[1], p[1], s[1])
    if oh < 1 or ow < 1:
        raise RuntimeError("Given input with spatial size (%d, %d), kernel_size=%s, dilation=%s, padding=%s, "
                           "calculated shape of the array of sliding blocks as (%d, %d), but its components must "
                           "be at least one." % (h, w, k, d, p, oh, ow))
    if p != (0, 0):
        from ._activation import _pkg
        x = _pkg().nn.functional.pad(x, (p[1], p[1], p[0], p[0]))
    x = F.contiguous(x)
    hp, wp = h + 2 * p[0], w + 2 * p[1]
    win = F.as_strided(x, (n, c, k[0], k[1], oh, ow),
                       (c * hp * wp, hp * wp, d[0] * wp, d[1], s[0] * wp, s[1]), x._offset)
    out = F.reshape(win, (n, c * k[0] * k[1], oh * ow))
    return out if input.ndim == 4 else F.squeeze(out, 0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C * kh * kw, L) -> (N, C, H, W): the columns added back into their blocks."""
    from ._activation import _pkg
    T = _pkg()
    if input.ndim not in (2, 3):
        raise NotImplementedError("Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  "(got %dD)" % input.ndim)
    o, k, d, p, s = (_pair("output_size", output_size), _pair("kernel_size", kernel_size),
                     _pair("dilation", dilation), _pair("padding", padding), _pair("stride", stride))
    x = input if input.ndim == 3 else F.unsqueeze(input, 0)
    n, ckk, L = x.shape
    kk = k[0] * k[1]
    if ckk % kk:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           "but got input.size(1)=%d and kernel_size=%s" % (ckk, k))
    oh, ow = _blocks(o[0], k[0], d[0], p[0], s[0]), _blocks(o[1], k[1], d[1], p[1], s[1])
    if oh * ow != L:
        raise RuntimeError("Given output_size=%s, kernel_size=%s, dilation=%s, padding=%s, stride=%s, expected "
                           "size of input's dimension 2 to match the calculated number of sliding blocks %d * %d = "
                           "%d, but got input.size(2)=%d." % (o, k, d, p, s, oh, ow, oh * ow, L))
    c = ckk // kk
    hp, wp = o[0] + 2 * p[0], o[1] + 2 * p[1]
    ki, kj, bi, bj = np.meshgrid(np.arange(k[0]), np.arange(k[1]), np.arange(oh), np.arange(ow), indexing="ij")
    pos = ((ki * d[0] + bi * s[0]) * wp + kj * d[1] + bj * s[1]).reshape(-1)  # (kh, kw, L) order
    out = T.zeros((n, c, hp * wp), dtype=x.dtype)
    vals = F.reshape(x, (n, c, kk * L))
    out = T.index_put(out, (T.arange(n)[:, None, None], T.arange(c)[None, :, None], T.tensor(pos)[None, None, :]),
                      vals, accumulate=True)
    out = F.reshape(out, (n, c, hp, wp))
    out = out[:, :, p[0]:p[0] + o[0], p[1]:p[1] + o[1]]
    return out if input.ndim == 3 else F.squeeze(out, 0)
