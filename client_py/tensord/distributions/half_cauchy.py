"""torch.distributions.HalfCauchy: |X| for X ~ Cauchy(0, scale) (infinite mean)."""
import math

import tensord as torch
from ._folded import _Folded
from .cauchy import Cauchy

__all__ = ["HalfCauchy"]


class HalfCauchy(_Folded):
    """HalfCauchy(scale)."""
    _base = Cauchy

    @property
    def mean(self):
        return torch.full(self._extended_shape(), math.inf, dtype=self.scale.dtype)

    @property
    def variance(self):
        return self.base_dist.variance
