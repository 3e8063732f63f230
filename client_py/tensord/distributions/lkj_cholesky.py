"""torch.distributions.LKJCholesky: Cholesky factors of correlation matrices whose law is
LKJ(concentration) (Lewandowski, Kurowicka and Joe, 2009), sampled by the onion method
(Ghosh and Henderson, 2003): row i is a uniform direction on the sphere scaled by the
square root of a Beta draw.  log_prob is torch's; sample corrects torch 1.13's Beta
parameters (see __init__), so every correlation has the LKJ marginal
Beta(eta - 1 + dim/2, eta - 1 + dim/2) on (-1, 1)."""
import math

import tensord as torch
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJCholesky(dim, concentration=1.): dim >= 2; no rsample."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1., validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        self.concentration, = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = torch.Size((dim, dim))
        # the squared norm of row i's off-diagonal part is Beta(i / 2, eta + (dim - 1 - i) / 2)
        # (row 0 has none: its parameters are placeholders).  torch 1.13 draws Beta(i / 2 + 1/2, ...)
        # for i >= 2, which makes the correlations of the later rows too wide.
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = torch.arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = torch.cat([offset.new_zeros((1,)), offset])
        beta_conc1 = 0.5 * (offset + 1)
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        # a bad concentration is reported as this distribution's (torch reports the Beta's Dirichlet)
        self._beta = Beta(beta_conc1, beta_conc0, validate_args=False)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(LKJCholesky, batch_shape, _instance, ("concentration",))
        new.dim = self.dim
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        return new

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = torch.randn(self._extended_shape(sample_shape), dtype=y.dtype).tril(-1)
            # row 0 has no off-diagonal part (its norm is 0): zeros, not 0/0
            first_row = (torch.arange(self.dim) == 0).unsqueeze(-1)
            norm = u_normal.norm(dim=-1, keepdim=True)
            u_hypersphere = torch.where(first_row, torch.zeros_like(u_normal), u_normal / norm)
            w = torch.sqrt(y) * u_hypersphere
            eps = torch.finfo(w.dtype).tiny
            diag_elems = torch.clamp(1 - torch.sum(w ** 2, dim=-1), min=eps).sqrt()
            return w + torch.diag_embed(diag_elems)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = torch.arange(2, self.dim + 1)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = torch.sum(order * diag_elems.log(), dim=-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = torch.lgamma(alpha) * dm1
        numerator = torch.mvlgamma(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
