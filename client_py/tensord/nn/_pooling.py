"""The pooling functions composed from other ops, as torch.nn.functional's:
max_unpool1d/2d/3d (a scatter into zeros) and fractional_max_pool2d/3d (the pseudo-random
windows of Graham's fractional max-pooling, gathered and maxed).  Differentiable through
those ops; the max/avg/adaptive pools with rows of their own, and lp_pool (an average
pool of x**p), are in functional.py."""
from .. import _records as F
from ._activation import _pkg

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d", "fractional_max_pool2d",
           "fractional_max_pool3d", "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]


def _tuple(v, n):
    return [F.index_int(x) for x in v] if isinstance(v, (list, tuple)) else [F.index_int(v)] * n


def _unpool_size(input, k, s, p, output_size):
    n = len(k)
    default = [(input.shape[input.ndim - n + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(n)]
    if output_size is None:
        return default
    size = [F.index_int(v) for v in output_size]
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ValueError("output_size should be a sequence containing %d or %d elements, but it has a length of '%d'"
                         % (n, n + 2, len(size)))
    for d in range(n):
        lo, hi = default[d] - s[d], default[d] + s[d]
        if not lo < size[d] < hi:
            raise ValueError('invalid output_size "%s" (dim %d must be between %d and %d)'
                             % (tuple(output_size) if isinstance(output_size, list) else output_size, d, lo, hi))
    return size


def _max_unpool(n, input, indices, kernel_size, stride, padding, output_size):
    T = _pkg()
    k = _tuple(kernel_size, n)
    s = k if stride is None else _tuple(stride, n)
    p = _tuple(padding, n)
    if indices.dtype != T.int64:
        raise RuntimeError("elements in indices should be type int64 but got: %s" % _scalar_name(indices.dtype))
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError("Expected shape of indices to be same as that of the input tensor (%s) but got indices "
                           "tensor with shape: %s" % (list(input.shape), list(indices.shape)))
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError("max_unpool%dd: Expected %dD or %dD tensor, but got %s"
                           % (n, n + 1, n + 2, list(input.shape)))
    size = _unpool_size(input, k, s, p, output_size)
    plane = 1
    for v in size:
        plane *= v
    lead = tuple(input.shape[:input.ndim - n])
    flat_i = F.reshape(indices, lead + (-1,))
    if flat_i.numel() and (int(flat_i.min()) < 0 or int(flat_i.max()) >= plane):
        bad = int(flat_i.max()) if int(flat_i.max()) >= plane else int(flat_i.min())
        raise RuntimeError("Found an invalid max index: %d (output volumes are of size %s"
                           % (bad, "x".join(str(v) for v in size)))
    out = T.zeros(lead + (plane,), dtype=input.dtype, device=input.device)
    out = out.scatter(-1, flat_i, F.reshape(input, lead + (-1,)))
    return F.reshape(out, lead + tuple(size))


def _scalar_name(dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}.get(str(dtype).split(".")[-1],
                                                                                    str(dtype))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


def _intervals(sample, size_in, size_out, pool):
    """Window starts along one dim: torch's pseudo-random sequence for one sample in [0, 1)."""
    seq = [0] * size_out
    if size_out > 1:
        alpha = (size_in - pool) / (size_out - 1)
        for i in range(size_out - 1):
            seq[i] = int((i + sample) * alpha) - int(sample * alpha)
    if size_out > 0:
        seq[size_out - 1] = size_in - pool
    return seq


def _fractional(n, input, kernel_size, output_size, output_ratio, random_samples):
    import numpy as np
    T = _pkg()
    name = "fractional_max_pool%dd" % n
    if output_size is None and output_ratio is None:
        raise ValueError("%s requires specifying either an output_size or an output_ratio" % name)
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError("%s(): Expected %dD or %dD tensor, but got: %s" % (name, n + 1, n + 2, list(input.shape)))
    was = input.ndim == n + 1
    x = input.unsqueeze(0) if was else input
    k = _tuple(kernel_size, n)
    spatial = list(x.shape[2:])
    if output_size is None:
        ratio = list(output_ratio) if isinstance(output_ratio, (list, tuple)) else [output_ratio] * n
        out = [int(spatial[d] * float(ratio[d])) for d in range(n)]
    else:
        out = _tuple(output_size, n)
    words = ["time", "height", "width"][3 - n:] if n == 3 else ["height", "width"]
    for d in range(n):
        if out[d] + k[d] - 1 > spatial[d]:
            raise RuntimeError("%s(): pool %s %d too large relative to input %s %d"
                               % (name, words[d], k[d], words[d], spatial[d]))
    nb, c = x.shape[0], x.shape[1]
    if random_samples is None:
        random_samples = T.rand(nb, c, n, dtype=x.dtype, device=x.device)
    samples = np.asarray(random_samples.detach().cpu().numpy(), dtype=np.float64)
    if samples.shape != (nb, c, n):
        raise RuntimeError("%s(): Expected _random_samples to be of shape (%d, %d, %d), but got %s"
                           % (name, nb, c, n, list(samples.shape)))
    if x.dtype == T.float32:  # torch computes the window starts in the input's precision
        samples = samples.astype(np.float32)
    # one window of flat input offsets per output element, planes in the leading dims;
    # torch's 2-d pool reads a plane's samples as (width, height), its 3-d one as (t, h, w)
    order = [1, 0] if n == 2 else [0, 1, 2]
    strides = [int(np.prod(spatial[d + 1:])) for d in range(n)]
    win = np.zeros(out + list(k), dtype=np.int64)
    grids = np.meshgrid(*[np.arange(v) for v in out + list(k)], indexing="ij")
    idx = np.empty((nb, c) + tuple(out) + tuple(k), dtype=np.int64)
    for b in range(nb):
        for ch in range(c):
            win[...] = 0
            for d in range(n):
                start = np.asarray(_intervals(samples[b, ch, order[d]].item(), spatial[d], out[d], k[d]))
                win += (start[grids[d]] + grids[n + d]) * strides[d]
            idx[b, ch] = win
    idx_t = T.from_numpy(idx.reshape(nb, c, -1)).to(x.device)
    vals = x.reshape(nb, c, -1).gather(2, idx_t).reshape((nb, c) + tuple(out) + (-1,))
    y, arg = vals.max(-1)
    flat = idx_t.reshape((nb, c) + tuple(out) + (-1,)).gather(-1, arg.unsqueeze(-1)).squeeze(-1)
    if was:
        y, flat = y.squeeze(0), flat.squeeze(0)
    return y, flat


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    y, i = _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, i) if return_indices else y


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    y, i = _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, i) if return_indices else y

