"""tensord.special: torch.special's functions (implemented in _special.py or aliases of the
top-level ones)."""
from . import _special as _S
import sys as _sys

_T = _sys.modules[__name__.rpartition(".")[0]]

expit = _T.sigmoid
logit = _T.logit
erf, erfc, erfinv = _T.erf, _T.erfc, _T.erfinv
gammaln = _T.lgamma
digamma = psi = _T.digamma
exp2, expm1, log1p = _T.exp2, _T.expm1, _T.log1p
xlogy = _T.xlogy
logsumexp = _T.logsumexp
polygamma, multigammaln = _S.polygamma, _S.multigammaln
i0, i0e, i1, i1e = _S.i0, _S.i0e, _S.i1, _S.i1e
ndtr, ndtri, log_ndtr = _S.ndtr, _S.ndtri, _S.log_ndtr
erfcx, entr, xlog1py, zeta = _S.erfcx, _S.entr, _S.xlog1py, _S.zeta
gammainc, gammaincc = _S.igamma, _S.igammac
bessel_j0, bessel_j1 = _S.bessel_j0, _S.bessel_j1
modified_bessel_i0, modified_bessel_i1 = _S.modified_bessel_i0, _S.modified_bessel_i1
bessel_y0, bessel_y1, airy_ai, spherical_bessel_j0 = _S.bessel_y0, _S.bessel_y1, _S.airy_ai, _S.spherical_bessel_j0
modified_bessel_k0, modified_bessel_k1 = _S.modified_bessel_k0, _S.modified_bessel_k1
scaled_modified_bessel_k0, scaled_modified_bessel_k1 = _S.scaled_modified_bessel_k0, _S.scaled_modified_bessel_k1
chebyshev_polynomial_t, chebyshev_polynomial_u = _S.chebyshev_polynomial_t, _S.chebyshev_polynomial_u
chebyshev_polynomial_v, chebyshev_polynomial_w = _S.chebyshev_polynomial_v, _S.chebyshev_polynomial_w
shifted_chebyshev_polynomial_t = _S.shifted_chebyshev_polynomial_t
shifted_chebyshev_polynomial_u = _S.shifted_chebyshev_polynomial_u
shifted_chebyshev_polynomial_v = _S.shifted_chebyshev_polynomial_v
shifted_chebyshev_polynomial_w = _S.shifted_chebyshev_polynomial_w
hermite_polynomial_h, hermite_polynomial_he = _S.hermite_polynomial_h, _S.hermite_polynomial_he
laguerre_polynomial_l, legendre_polynomial_p = _S.laguerre_polynomial_l, _S.legendre_polynomial_p
sinc = _T.sinc


def round(input, *, decimals=0, out=None):  # noqa: A001  (torch.special.round)
    return _T.round(input, decimals=decimals, out=out)


def softmax(input, dim, *, dtype=None):
    return _T.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return _T.log_softmax(input, dim, dtype=dtype)


__all__ = ["expit", "logit", "erf", "erfc", "erfinv", "gammaln", "digamma", "psi", "exp2", "expm1", "log1p",
           "xlogy", "logsumexp", "polygamma", "multigammaln", "i0", "i0e", "i1", "i1e", "ndtr", "ndtri",
           "log_ndtr", "erfcx", "entr", "xlog1py", "zeta", "gammainc", "gammaincc", "bessel_j0", "bessel_j1",
           "modified_bessel_i0", "modified_bessel_i1", "sinc", "round", "softmax", "log_softmax",
           "bessel_y0", "bessel_y1", "airy_ai", "spherical_bessel_j0", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
           "legendre_polynomial_p"]
