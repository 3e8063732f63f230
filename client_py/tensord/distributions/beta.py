"""torch.distributions.Beta: density x^(a-1) (1-x)^(b-1) / B(a, b) on [0, 1].

As torch, a Beta holds the Dirichlet of (concentration1, concentration0) (its argument
checks and messages are the Dirichlet's); the formulas here use the two concentrations
directly, so gradients reach them without going through the stacked copy, and rsample
is g1 / (g1 + g0) for reparameterized Gamma draws."""
from numbers import Real

import tensord as torch
from . import constraints
from ._standard_gamma import standard_gamma
from .dirichlet import Dirichlet
from .exp_family import ExponentialFamily
from .utils import _clamp_values, broadcast_all

__all__ = ["Beta"]


class Beta(ExponentialFamily):
    """Beta(concentration1, concentration0)."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        if isinstance(concentration1, Real) and isinstance(concentration0, Real):
            c1_c0 = torch.tensor([float(concentration1), float(concentration0)])
            self._c1, self._c0 = c1_c0[0], c1_c0[1]
        else:
            self._c1, self._c0 = broadcast_all(concentration1, concentration0)
            c1_c0 = torch.stack([self._c1, self._c0], -1)
        self._dirichlet = Dirichlet(c1_c0, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = torch.Size(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        new._c1, new._c0 = self._c1.expand(batch_shape), self._c0.expand(batch_shape)
        ExponentialFamily.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def concentration1(self):
        return self._c1

    @property
    def concentration0(self):
        return self._c0

    @property
    def mean(self):
        return self._c1 / (self._c1 + self._c0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self._c1 + self._c0
        return self._c1 * self._c0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        g1 = standard_gamma(self._c1.expand(shape))
        g0 = standard_gamma(self._c0.expand(shape))
        x = g1 / (g1 + g0)
        finfo = torch.finfo(x.dtype)
        return _clamp_values(x, min=finfo.tiny, max=1 - finfo.eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self._c1, self._c0
        return (torch.log(value) * (a - 1.0) + torch.log(1.0 - value) * (b - 1.0)
                + torch.lgamma(a + b) - (torch.lgamma(a) + torch.lgamma(b)))

    def entropy(self):
        a, b = self._c1, self._c0
        a0 = a + b
        return (torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a0) - (2 - a0) * torch.digamma(a0)
                - ((a - 1.0) * torch.digamma(a) + (b - 1.0) * torch.digamma(b)))

    @property
    def _natural_params(self):
        return (self._c1, self._c0)

    def _log_normalizer(self, x, y):
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)
