"""affine_grid and grid_sample (2-d and 3-d), as torch.nn.functional's: composed from
ops, so both are differentiable with respect to the input and the grid (the corner
weights carry the grid's gradient; gather carries the input's).  Modes bilinear (trilinear
on 5-D input), nearest and bicubic (4-D input, torch's cubic convolution with A = -0.75);
padding zeros, border and reflection."""
from .. import _records as F

__all__ = ["affine_grid", "grid_sample"]


def _pkg():
    from ._activation import _pkg as p
    return p()


def _base_coords(n, align_corners, dtype):
    """The n normalized sample positions along a dim, in [-1, 1]."""
    T = _pkg()
    if n <= 1:
        return T.zeros(max(n, 1), dtype=dtype)
    c = T.linspace(-1.0, 1.0, n, dtype=dtype)
    return c if align_corners else F.mul(c, (n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    """(N, 2, 3) affine matrices -> (N, H, W, 2) sampling grid for an (N, C, H, W) output;
    (N, 3, 4) -> (N, D, H, W, 3) for an (N, C, D, H, W) one."""
    T = _pkg()
    if align_corners is None:
        align_corners = False
    if len(size) == 4:
        k = 2
    elif len(size) == 5:
        k = 3
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  "respectively. Got size {}.".format(size))
    n, spatial = size[0], list(size[2:])
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (k, k + 1) or theta.shape[0] != n:
        raise ValueError("Expected a batch of {}D affine matrices of shape Nx{}x{} for size {}. Got {}."
                         .format(k, k, k + 1, size, theta.shape))
    # base (*spatial, k + 1): x (the last dim's position), y, [z], 1
    ones = T.ones(*spatial, 1, dtype=theta.dtype)
    cols = []
    for d in range(k):            # coordinate d runs along spatial dim k - 1 - d
        shape = [1] * k + [1]
        shape[k - 1 - d] = spatial[k - 1 - d]
        cols.append(F.mul(ones, F.reshape(_base_coords(spatial[k - 1 - d], align_corners, theta.dtype), shape)))
    base = T.cat(cols + [ones], k)
    count = 1
    for v in spatial:
        count *= v
    grid = T.matmul(F.reshape(base, (1, count, k + 1)), F.transpose(theta, 1, 2))  # (N, count, k)
    return F.reshape(grid, tuple([n] + spatial + [k]))


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return F.mul(F.add(coord, 1), (size - 1) / 2)
    return F.div(F.sub(F.mul(F.add(coord, 1), size), 1), 2)


def _reflect(coord, twice_low, twice_high):
    """coord reflected into [twice_low / 2, twice_high / 2] (torch's reflect_coordinates)."""
    T = _pkg()
    if twice_low == twice_high:
        return F.mul(coord, 0)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    c = F.sub(coord, low).abs()
    extra = T.fmod(c, span)
    flips = T.floor(F.div(c, span))
    even = F.eq(T.fmod(flips, 2), 0)
    return T.where(even, F.add(extra, low), F.add(F.sub(span, extra), low))


def _clip(coord, size):
    """coord clamped to [0, size - 1], with no gradient on the bounds themselves (torch's
    clip_coordinates: a point on the border does not move with the grid)."""
    T = _pkg()
    inside = T.logical_and(F.gt(coord, 0), F.lt(coord, size - 1))
    return T.where(inside, coord, F.clamp(coord, 0, size - 1).detach())


def _padded(coord, size, padding_mode, align_corners):
    """A source coordinate moved inside the input as the padding mode says (zeros: as is)."""
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
        return _clip(coord, size)
    return coord


_A = -0.75  # torch's cubic convolution coefficient


def _cubic_weights(t):
    """The four tap weights of cubic convolution at fraction t (taps at -1, 0, 1, 2)."""
    def near(x):
        return F.add(F.mul(F.mul(F.sub(F.mul(x, _A + 2), _A + 3), x), x), 1)

    def far(x):
        return F.sub(F.mul(F.add(F.mul(F.sub(F.mul(x, _A), 5 * _A), x), 8 * _A), x), 4 * _A)
    return [far(F.add(t, 1)), near(t), near(F.sub(1, t)), far(F.sub(2, t))]


def _grid_checks(input, grid, mode, padding_mode):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         "but got: '{}'".format(mode))
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         "'reflection', but got: '{}'".format(padding_mode))
    if mode == "bicubic" and input.ndim != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    k = input.ndim - 2
    if grid.shape[-1] != k:
        raise RuntimeError("grid_sampler(): expected grid to have size %d in last dimension, but got grid with sizes "
                           "%s" % (k, list(grid.shape)))
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but got input with sizes "
                           "%s and grid with sizes %s" % (list(input.shape), list(grid.shape)))
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError("grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but got "
                           "input with sizes %s and grid with sizes %s" % (list(input.shape), list(grid.shape)))
    return k


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """input (N, C, H, W) sampled at grid (N, Ho, Wo, 2) of (x, y) in [-1, 1]; or input
    (N, C, D, H, W) at grid (N, Do, Ho, Wo, 3) of (x, y, z)."""
    T = _pkg()
    if align_corners is None:
        align_corners = False
    k = _grid_checks(input, grid, mode, padding_mode)
    n, c = input.shape[0], input.shape[1]
    sizes = list(input.shape[2:])            # (D,) H, W
    out_sp = tuple(grid.shape[1:-1])
    count = 1
    for v in out_sp:
        count *= v
    total = 1
    for v in sizes:
        total *= v
    flat = F.reshape(input, (n, c, total))
    # per spatial dim d (input dim 2 + d): its grid coordinate is grid[..., k - 1 - d]
    raw = [_unnormalize(grid[..., k - 1 - d], sizes[d], align_corners) for d in range(k)]

    def corner(idx):
        """input at integer positions idx[d] (N, *out), zero outside: (N, C, *out)."""
        inside = None
        flat_idx = None
        for d in range(k):
            ok = T.logical_and(F.ge(idx[d], 0), F.le(idx[d], sizes[d] - 1))
            inside = ok if inside is None else T.logical_and(inside, ok)
            stride = 1
            for v in sizes[d + 1:]:
                stride *= v
            term = F.mul(F.clamp(idx[d], 0, sizes[d] - 1), stride)
            flat_idx = term if flat_idx is None else F.add(flat_idx, term)
        gi = F.reshape(flat_idx.long(), (n, 1, count)).expand(n, c, count)
        vals = F.reshape(T.gather(flat, 2, gi), (n, c) + out_sp)
        return F.mul(vals, F.unsqueeze(inside, 1))

    if mode == "bicubic":
        # the taps are moved by the padding mode one by one (torch's get_value_bounded)
        base = [T.floor(r) for r in raw]
        wts = [_cubic_weights(F.sub(r, b)) for r, b in zip(raw, base)]
        out = None
        for i in range(4):
            for j in range(4):
                idx = [_padded(F.add(base[0], i - 1), sizes[0], padding_mode, align_corners),
                       _padded(F.add(base[1], j - 1), sizes[1], padding_mode, align_corners)]
                term = F.mul(corner(idx), F.unsqueeze(F.mul(wts[0][i], wts[1][j]), 1))
                out = term if out is None else F.add(out, term)
        return out
    src = [_padded(r, sizes[d], padding_mode, align_corners) for d, r in enumerate(raw)]
    if mode == "nearest":
        return corner([T.round(v) for v in src])
    lo = [T.floor(v) for v in src]
    frac = [F.sub(v, l) for v, l in zip(src, lo)]
    out = None
    for bits in range(1 << k):
        idx, wgt = [], None
        for d in range(k):
            up = (bits >> (k - 1 - d)) & 1
            idx.append(F.add(lo[d], up) if up else lo[d])
            w = frac[d] if up else F.sub(1, frac[d])
            wgt = w if wgt is None else F.mul(wgt, w)
        term = F.mul(corner(idx), F.unsqueeze(wgt, 1))
        out = term if out is None else F.add(out, term)
    return out
