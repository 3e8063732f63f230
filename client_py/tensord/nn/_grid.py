"""affine_grid and grid_sample (2-d), as torch.nn.functional's: composed from ops, so both
are differentiable with respect to the input and the grid (the corner weights carry the
grid's gradient; gather carries the input's).  Modes bilinear and nearest, padding zeros
and border."""
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
    """(N, 2, 3) affine matrices -> (N, H, W, 2) sampling grid for an (N, C, H, W) output."""
    T = _pkg()
    if align_corners is None:
        align_corners = False
    if len(size) != 4:
        raise NotImplementedError("affine_grid only supports 4D sizes, for 2D affine transformations")
    n, _, h, w = size
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3) or theta.shape[0] != n:
        raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size %s. Got %s."
                         % (list(size), list(theta.shape)))
    xs = F.reshape(_base_coords(w, align_corners, theta.dtype), (1, w, 1))
    ys = F.reshape(_base_coords(h, align_corners, theta.dtype), (h, 1, 1))
    ones = T.ones(h, w, 1, dtype=theta.dtype)
    base = T.cat([F.mul(ones, xs), F.mul(ones, ys), ones], 2)  # (H, W, 3): x, y, 1
    grid = T.matmul(F.reshape(base, (1, h * w, 3)), F.transpose(theta, 1, 2))  # (N, H*W, 2)
    return F.reshape(grid, (n, h, w, 2))


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return F.mul(F.add(coord, 1), (size - 1) / 2)
    return F.div(F.sub(F.mul(F.add(coord, 1), size), 1), 2)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """input (N, C, H, W) sampled at grid (N, Ho, Wo, 2) of (x, y) in [-1, 1]."""
    T = _pkg()
    if align_corners is None:
        align_corners = False
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError("tensord: grid_sample mode %r is not supported yet" % mode)
    if padding_mode not in ("zeros", "border"):
        raise NotImplementedError("tensord: grid_sample padding_mode %r is not supported yet" % padding_mode)
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError("grid_sampler(): expected 4D input and grid with same batch size and grid of shape "
                           "(N, H, W, 2), but got input with sizes %s and grid with sizes %s"
                           % (list(input.shape), list(grid.shape)))
    n, c, h, w = input.shape
    ho, wo = grid.shape[1], grid.shape[2]
    ix = _unnormalize(grid[..., 0], w, align_corners)
    iy = _unnormalize(grid[..., 1], h, align_corners)
    if padding_mode == "border":
        ix, iy = F.clamp(ix, 0, w - 1), F.clamp(iy, 0, h - 1)
    flat = F.reshape(input, (n, c, h * w))

    def corner(xc, yc):
        """input at integer positions (xc, yc) (N, Ho, Wo), zero outside: (N, C, Ho, Wo)."""
        inside = T.logical_and(T.logical_and(F.ge(xc, 0), F.le(xc, w - 1)),
                               T.logical_and(F.ge(yc, 0), F.le(yc, h - 1)))
        idx = F.add(F.mul(F.clamp(yc, 0, h - 1), w), F.clamp(xc, 0, w - 1)).long()
        idx = F.reshape(idx, (n, 1, ho * wo)).expand(n, c, ho * wo)
        vals = F.reshape(T.gather(flat, 2, idx), (n, c, ho, wo))
        return F.mul(vals, F.unsqueeze(inside, 1))

    if mode == "nearest":
        return corner(T.round(ix), T.round(iy))
    x0, y0 = T.floor(ix), T.floor(iy)
    wx1, wy1 = F.sub(ix, x0), F.sub(iy, y0)
    wx0, wy0 = F.sub(1, wx1), F.sub(1, wy1)
    out = None
    for xc, yc, wgt in ((x0, y0, F.mul(wx0, wy0)), (F.add(x0, 1), y0, F.mul(wx1, wy0)),
                        (x0, F.add(y0, 1), F.mul(wx0, wy1)), (F.add(x0, 1), F.add(y0, 1), F.mul(wx1, wy1))):
        term = F.mul(corner(xc, yc), F.unsqueeze(wgt, 1))
        out = term if out is None else F.add(out, term)
    return out
