"""torch.testing.make_tensor: a tensor of the given shape filled with random values in
[low, high) (torch 1.13's defaults: -9..9 for signed and floating dtypes, 0..9 for uint8,
False/True for bool)."""
import builtins
import math

from .. import _creation as C
from .._dtype import bool_, uint8


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False):
    """A random tensor for tests (torch.testing.make_tensor)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for v, what in ((low, "low"), (high, "high")):
        if v is not None and isinstance(v, builtins.float) and math.isnan(v):
            raise ValueError("%s cannot be NaN, but got %s=nan" % (what, what))
    if dtype is bool_:
        t = C.randint(0, 2, shape, device=device).to(bool_)
    elif not (dtype.is_floating_point or dtype.is_complex):
        lo = builtins.max(0 if dtype is uint8 else -9, low if low is not None else -9)
        hi = high if high is not None else 10
        if lo >= hi:
            raise ValueError("low must be smaller than high")
        t = C.randint(math.ceil(lo), math.ceil(hi), shape, dtype=dtype, device=device)
    else:
        lo = -9.0 if low is None else low
        hi = 9.0 if high is None else high
        if lo > hi:
            raise ValueError("low must be less than or equal to high")
        real = dtype.to_real()
        t = C.rand(shape, dtype=real, device=device) * (hi - lo) + lo
        if dtype.is_complex:
            from .. import complex as _complex
            t = _complex(t, C.rand(shape, dtype=real, device=device) * (hi - lo) + lo)
    if exclude_zero:
        eps = 1 if not (dtype.is_floating_point or dtype.is_complex) else 1e-3
        t = t.masked_fill(t == 0, eps) if dtype is not bool_ else C.ones(shape, dtype=bool_)
    if noncontiguous and t.numel() > 1:
        t = t.repeat_interleave(2, dim=-1)[..., ::2]
    if requires_grad:
        t.requires_grad_(True)
    return t
