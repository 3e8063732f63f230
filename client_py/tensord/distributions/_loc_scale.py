"""What the location-scale families Normal, Laplace and Cauchy share (torch writes it
out in each of them)."""
from . import constraints
from .utils import _broadcast_params

__all__ = []


class _LocScale:
    """Mixed in before a family's distribution base: loc (real) and scale (positive)
    broadcast together and give the batch shape; real support; reparameterized samples;
    mean and mode loc (Cauchy overrides the mean)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        (self.loc, self.scale), batch_shape = _broadcast_params(loc, scale)
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc
