"""tensord.distributions: torch.distributions (torch 1.13) over tensord's ops and autograd.

Parameterizable probability distributions with sample/rsample, log_prob, entropy,
mean/mode/variance, cdf/icdf where torch has them, argument validation, KL divergences
(kl.py) and transforms (transforms.py).  rsample is differentiable through tensord's
autograd; Gamma, Beta and Dirichlet use the implicit reparameterization gradient of
_standard_gamma.py.  Samples come from tensord's generator: tensord.manual_seed makes
them repeat, though they are not torch's numbers."""
from . import constraints, transforms  # noqa: F401
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F401,F403
from .uniform import Uniform

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Dirichlet", "Distribution", "Exponential",
    "ExponentialFamily", "Gamma", "Geometric", "Independent", "Laplace", "LogNormal", "MultivariateNormal",
    "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson", "TransformedDistribution",
    "Uniform", "kl_divergence", "register_kl",
]
__all__.extend(transforms.__all__)
