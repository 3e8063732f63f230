"""torch.distributions.MultivariateNormal: N(loc, Sigma) given by exactly one of
covariance_matrix, precision_matrix or scale_tril (the lower Cholesky factor L of Sigma,
which every other quantity derives from: rsample is loc + L eps).

tensord's linalg ops have no derivatives.def rows yet (they are not DIFF); the lower
triangular solve and the Cholesky factorization used here are wrapped in autograd
Functions with their standard backward formulas, so log_prob, entropy, rsample and KL
differentiate with respect to loc, scale_tril and covariance_matrix.  The precision
parameterization (flip, Cholesky, inverse) differentiates through the same pieces."""
import math

import tensord as torch
from . import constraints
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


class _SolveTril(torch.autograd.Function):
    """X = L^-1 B for lower-triangular L (same batch shape); gB = L^-T G, gL = -tril(gB X^T)."""

    @staticmethod
    def forward(ctx, L, B):
        X = torch.linalg.solve_triangular(L, B, upper=False)
        ctx.save_for_backward(L, X)
        return X

    @staticmethod
    def backward(ctx, G):
        L, X = ctx.saved_tensors
        gB = torch.linalg.solve_triangular(L.mT, G, upper=True)
        return -(gB @ X.mT).tril(), gB


class _Cholesky(torch.autograd.Function):
    """L = cholesky(A); gA = sym(L^-T Phi(L^T gL) L^-1), Phi: the lower triangle, diagonal halved."""

    @staticmethod
    def forward(ctx, A):
        L = torch.linalg.cholesky(A)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, gL):
        L, = ctx.saved_tensors
        P = L.mT @ gL
        phi = P.tril() - 0.5 * torch.diag_embed(P.diagonal(dim1=-2, dim2=-1))
        X = torch.linalg.solve_triangular(L.mT, phi, upper=True)
        gA = torch.linalg.solve_triangular(L.mT, X.mT, upper=True).mT
        return 0.5 * (gA + gA.mT)


def _needs_grad(*ts):
    return torch.is_grad_enabled() and any(t.requires_grad for t in ts)


def _solve_tril(L, B):
    """solve_triangular(L, B, upper=False) with gradients, over broadcast batch dimensions."""
    batch = tuple(torch.broadcast_shapes(tuple(L.shape[:-2]), tuple(B.shape[:-2])))
    L, B = L.expand(batch + tuple(L.shape[-2:])), B.expand(batch + tuple(B.shape[-2:]))
    if _needs_grad(L, B):
        return _SolveTril.apply(L, B)
    return torch.linalg.solve_triangular(L, B, upper=False)


def _cholesky(A):
    if _needs_grad(A):
        return _Cholesky.apply(A)
    return torch.linalg.cholesky(A)


def _batch_mv(bmat, bvec):
    """Matrix-vector products over broadcast batch dimensions."""
    return torch.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL, bx):
    """The squared Mahalanobis distance x^T (L L^T)^-1 x = |L^-1 x|^2, batched."""
    n = bx.size(-1)
    batch = tuple(torch.broadcast_shapes(tuple(bL.shape[:-2]), tuple(bx.shape[:-1])))
    L = bL.expand(batch + (n, n))
    x = bx.expand(batch + (n,)).unsqueeze(-1)
    return _solve_tril(L, x).squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(P):
    # the lower factor of P^-1 from the Cholesky factor of P with rows and columns reversed
    Lf = _cholesky(torch.flip(P, (-2, -1)))
    L_inv = torch.transpose(torch.flip(Lf, (-2, -1)), -2, -1)
    Id = torch.eye(P.shape[-1], dtype=P.dtype).expand(L_inv.shape)
    return _solve_tril(L_inv, Id)


class MultivariateNormal(Distribution):
    """MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None)."""
    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        for name, m in (("scale_tril matrix", scale_tril), ("covariance_matrix", covariance_matrix),
                        ("precision_matrix", precision_matrix)):
            if m is not None:
                if m.dim() < 2:
                    raise ValueError(f"{name} must be at least two-dimensional, "
                                     "with optional leading batch dimensions")
                batch_shape = torch.broadcast_shapes(tuple(m.shape[:-2]), tuple(loc.shape[:-1]))
                setattr(self, name.split()[0], m.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = torch.Size(batch_shape)
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        cov_shape = loc_shape + tuple(self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape) + tuple(self._event_shape)

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return torch.matmul(L, L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        return torch.cholesky_inverse(self._unbroadcasted_scale_tril).expand(self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(
            tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        if len(self._batch_shape) == 0:
            return H
        return H.expand(self._batch_shape)
