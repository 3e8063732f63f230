"""tensord.distributions against torch.distributions (PyTorch 1.13) on the same
parameters (numpy arrays): log_prob, entropy, mean, mode, variance, stddev, cdf/icdf,
shapes, enumerate_support, expand, KL divergences, validation errors and reprs; sample
statistics against the analytic moments; rsample gradients against analytic values and
finite differences (tensord's samples are not torch's numbers, so only their laws are
compared)."""
import math
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td
from tensord.distributions._standard_gamma import _standard_gamma_grad

RNG = np.random.default_rng(0)


def _pos(*shape, lo=0.5, hi=3.0):
    return RNG.uniform(lo, hi, shape)


LOC = RNG.standard_normal((3, 2))
SCALE = _pos(3, 2)
PROB = RNG.uniform(0.1, 0.9, (3, 2))
PROBS = RNG.uniform(0.1, 1.0, (2, 4))
CONC = _pos(3, 2, lo=0.3, hi=4.0)
CONC_V = _pos(2, 3, lo=0.5, hi=4.0)
COV_L = np.array([[1.5, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 1.1]])
COV = COV_L @ COV_L.T
# degrees of freedom on both sides of 1, 2 and 4, where moments become infinite or undefined
DF = np.array([[0.7, 1.5], [2.5, 3.5], [5.0, 9.0]])
# ContinuousBernoulli's probs, two inside the Taylor region around 1/2
CB_PROB = np.array([[0.1, 0.4995], [0.5, 0.7], [0.93, 0.3]])


def _wishart_values(n, batch, p=3):
    a = RNG.standard_normal((n,) + batch + (p, p + 2))
    return a @ np.swapaxes(a, -1, -2) / (p + 2)


def _corr_cholesky_values(n, batch, p=3):
    a = RNG.standard_normal((n,) + batch + (p, p + 2))
    c = a @ np.swapaxes(a, -1, -2)
    d = np.sqrt(np.einsum("...ii->...i", c))
    return np.linalg.cholesky(c / d[..., :, None] / d[..., None, :])


def _multinomial_values(n, batch, k=4, total=5):
    return RNG.multinomial(total, np.ones(k) / k, (n,) + batch).astype(np.float64)

# name: (constructor(mod, *params), params, values for log_prob, cdf/icdf?)
SPECS = {
    "Normal": (lambda m, a, b: m.distributions.Normal(a, b), (LOC, SCALE), RNG.standard_normal((4, 3, 2)), True),
    "Laplace": (lambda m, a, b: m.distributions.Laplace(a, b), (LOC, SCALE), RNG.standard_normal((4, 3, 2)), True),
    "Cauchy": (lambda m, a, b: m.distributions.Cauchy(a, b), (LOC, SCALE), RNG.standard_normal((4, 3, 2)), True),
    "Uniform": (lambda m, a, b: m.distributions.Uniform(a, a + b), (LOC, SCALE), LOC + SCALE * 0.3, True),
    "Exponential": (lambda m, a: m.distributions.Exponential(a), (SCALE,), _pos(4, 3, 2), True),
    "LogNormal": (lambda m, a, b: m.distributions.LogNormal(a, b), (LOC, SCALE), _pos(4, 3, 2), True),
    "Gamma": (lambda m, a, b: m.distributions.Gamma(a, b), (CONC, SCALE), _pos(4, 3, 2), False),
    "Beta": (lambda m, a, b: m.distributions.Beta(a, b), (CONC, SCALE), RNG.uniform(0.05, 0.95, (4, 3, 2)), False),
    "Dirichlet": (lambda m, a: m.distributions.Dirichlet(a), (CONC_V,),
                  RNG.dirichlet([1.0, 2.0, 3.0], (4, 2)), False),
    "Bernoulli": (lambda m, p: m.distributions.Bernoulli(p), (PROB,), RNG.integers(0, 2, (4, 3, 2)) * 1.0, False),
    "BernoulliLogits": (lambda m, p: m.distributions.Bernoulli(logits=p), (LOC,),
                        RNG.integers(0, 2, (4, 3, 2)) * 1.0, False),
    "Geometric": (lambda m, p: m.distributions.Geometric(p), (PROB,), RNG.integers(0, 6, (4, 3, 2)) * 1.0, False),
    "Poisson": (lambda m, r: m.distributions.Poisson(r), (SCALE,), RNG.integers(0, 6, (4, 3, 2)) * 1.0, False),
    "Binomial": (lambda m, p: m.distributions.Binomial(7, p), (PROB,), RNG.integers(0, 8, (4, 3, 2)) * 1.0, False),
    "BinomialLogits": (lambda m, p: m.distributions.Binomial(5, logits=p), (LOC,),
                       RNG.integers(0, 6, (4, 3, 2)) * 1.0, False),
    "Categorical": (lambda m, p: m.distributions.Categorical(p), (PROBS,), RNG.integers(0, 4, (5, 2)), False),
    "CategoricalLogits": (lambda m, p: m.distributions.Categorical(logits=p), (RNG.standard_normal((2, 4)),),
                          RNG.integers(0, 4, (5, 2)), False),
    "OneHotCategorical": (lambda m, p: m.distributions.OneHotCategorical(p), (PROBS,),
                          np.eye(4)[RNG.integers(0, 4, (5, 2))], False),
    "MultivariateNormal": (lambda m, a, L: m.distributions.MultivariateNormal(a, scale_tril=L),
                           (RNG.standard_normal((2, 3)), COV_L), RNG.standard_normal((4, 2, 3)), False),
    "Independent": (lambda m, a, b: m.distributions.Independent(m.distributions.Normal(a, b), 1), (LOC, SCALE),
                    RNG.standard_normal((4, 3, 2)), False),
    "Chi2": (lambda m, a: m.distributions.Chi2(a), (DF,), _pos(4, 3, 2), False),
    "StudentT": (lambda m, a, b, c: m.distributions.StudentT(a, b, c), (DF, LOC, SCALE),
                 RNG.standard_normal((4, 3, 2)) * 3, False),
    "HalfNormal": (lambda m, a: m.distributions.HalfNormal(a), (SCALE,), _pos(4, 3, 2, lo=0.0), True),
    "HalfCauchy": (lambda m, a: m.distributions.HalfCauchy(a), (SCALE,), _pos(4, 3, 2, lo=0.0), True),
    "Gumbel": (lambda m, a, b: m.distributions.Gumbel(a, b), (LOC, SCALE),
               LOC + SCALE * RNG.uniform(-1.5, 3.0, (4, 3, 2)), True),
    "Pareto": (lambda m, a, b: m.distributions.Pareto(a, b), (SCALE, DF), SCALE + _pos(4, 3, 2, lo=0.0), True),
    "Weibull": (lambda m, a, b: m.distributions.Weibull(a, b), (SCALE, CONC), _pos(4, 3, 2, lo=0.05), True),
    "Kumaraswamy": (lambda m, a, b: m.distributions.Kumaraswamy(a, b), (CONC, DF),
                    RNG.uniform(0.05, 0.95, (4, 3, 2)), True),
    "LogisticNormal": (lambda m, a, b: m.distributions.LogisticNormal(a, b), (LOC, SCALE),
                       RNG.dirichlet([1.0, 2.0, 3.0], (4, 3)), False),
    "FisherSnedecor": (lambda m, a, b: m.distributions.FisherSnedecor(a, b), (CONC * 3, DF * 2),
                       _pos(4, 3, 2, lo=0.05), False),
    "ContinuousBernoulli": (lambda m, p: m.distributions.ContinuousBernoulli(p), (CB_PROB,),
                            RNG.uniform(0.0, 1.0, (4, 3, 2)), True),
    "ContinuousBernoulliLogits": (lambda m, p: m.distributions.ContinuousBernoulli(logits=p), (LOC,),
                                  RNG.uniform(0.0, 1.0, (4, 3, 2)), True),
    "VonMises": (lambda m, a, b: m.distributions.VonMises(a, b), (LOC, CONC * 2),
                 RNG.uniform(-4.0, 4.0, (4, 3, 2)), False),
    "NegativeBinomial": (lambda m, p: m.distributions.NegativeBinomial(3.5, p), (PROB,),
                         RNG.integers(0, 9, (4, 3, 2)) * 1.0, False),
    "NegativeBinomialLogits": (lambda m, p, n: m.distributions.NegativeBinomial(n, logits=p), (LOC, DF),
                               RNG.integers(0, 9, (4, 3, 2)) * 1.0, False),
    "Multinomial": (lambda m, p: m.distributions.Multinomial(5, p), (PROBS,), _multinomial_values(4, (2,)), False),
    "RelaxedBernoulli": (lambda m, t, p: m.distributions.RelaxedBernoulli(t, p), (np.array(0.7), PROB),
                         RNG.uniform(0.05, 0.95, (4, 3, 2)), False),
    "RelaxedOneHotCategorical": (lambda m, t, p: m.distributions.RelaxedOneHotCategorical(t, logits=p),
                                 (np.array(0.6), PROBS),
                                 RNG.dirichlet([1.0, 2.0, 1.0, 0.5], (4, 2)), False),
    "MixtureSameFamily": (lambda m, w, a, b: m.distributions.MixtureSameFamily(
        m.distributions.Categorical(w), m.distributions.Normal(a, b)), (PROBS[[0, 1, 0]], LOC[:, :1] + PROBS[:1] * 3,
                                                                         SCALE[:, :1] * PROBS[1:]),
        RNG.standard_normal((4, 3)) * 2, True),
    "LowRankMultivariateNormal": (lambda m, a, w, d: m.distributions.LowRankMultivariateNormal(a, w, d),
                                  (RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2)), _pos(3)),
                                  RNG.standard_normal((4, 2, 3)), False),
    "Wishart": (lambda m, df, L: m.distributions.Wishart(df, scale_tril=L), (np.array([3.5, 6.0]), COV_L),
                _wishart_values(4, (2,)), False),
    "LKJCholesky": (lambda m, c: m.distributions.LKJCholesky(3, c), (np.array([0.5, 2.0]),),
                    _corr_cholesky_values(4, (2,)), False),
}
DISCRETE_LONG = {"Categorical", "CategoricalLogits"}


def _make(mod, name):
    ctor, params, _, _ = SPECS[name]
    return ctor(mod, *[mod.tensor(p, dtype=mod.float64) for p in params])


def _value(mod, name):
    v = SPECS[name][2]
    return mod.tensor(v) if name in DISCRETE_LONG else mod.tensor(v, dtype=mod.float64)


def _close(ours, theirs, rtol=1e-6, atol=1e-8):
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True)


def _both(name):
    return _make(td, name), _make(T, name)


def _same(ours, theirs, **tol):
    """ours() close to theirs(), or NotImplementedError from both (what torch leaves out,
    tensord leaves out too)."""
    try:
        expected = theirs()
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours()
        return
    _close(ours(), expected, **tol)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_moments_and_shapes(name):
    d, e = _both(name)
    assert tuple(d.batch_shape) == tuple(e.batch_shape) and tuple(d.event_shape) == tuple(e.event_shape)
    for attr in ("mean", "variance", "stddev", "mode"):
        _same(lambda: getattr(d, attr), lambda: getattr(e, attr))
    assert d.has_rsample == e.has_rsample and d.has_enumerate_support == e.has_enumerate_support


@pytest.mark.parametrize("name", sorted(SPECS))
def test_log_prob_and_entropy(name):
    d, e = _both(name)
    _close(d.log_prob(_value(td, name)), e.log_prob(_value(T, name)))
    _same(d.entropy, e.entropy)
    _same(d.perplexity, e.perplexity)


@pytest.mark.parametrize("name", sorted(n for n in SPECS if SPECS[n][3]))
def test_cdf_icdf(name):
    d, e = _both(name)
    v = SPECS[name][2]
    _close(d.cdf(td.tensor(v)), e.cdf(T.tensor(v)))
    q = RNG.uniform(0.02, 0.98, v.shape)
    _same(lambda: d.icdf(td.tensor(q)), lambda: e.icdf(T.tensor(q)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_sample_shapes_and_support(name):
    d, e = _both(name)
    for shape in ((), (5,), (2, 3)):
        s = d.sample(shape)
        assert tuple(s.shape) == tuple(e.sample(shape).shape)
        assert s.dtype == td.int64 if name in DISCRETE_LONG else s.dtype == td.float64
        assert not s.requires_grad
    if name != "Independent":
        assert bool(d.support.check(d.sample((50,))).all())


@pytest.mark.parametrize("name", sorted(SPECS))
def test_expand(name):
    d, e = _both(name)
    shape = (SPECS[name][2].shape[0],) + tuple(d.batch_shape)
    de, ee = d.expand(shape), e.expand(shape)
    assert tuple(de.batch_shape) == tuple(ee.batch_shape) and type(de) is type(d)
    _close(de.log_prob(_value(td, name)), ee.log_prob(_value(T, name)))
    _same(lambda: de.mean, lambda: ee.mean)


ENUMERABLE = ["Bernoulli", "Binomial", "Categorical", "OneHotCategorical"]


@pytest.mark.parametrize("name", ENUMERABLE)
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support(name, expand):
    d, e = _both(name)
    ours, theirs = d.enumerate_support(expand), e.enumerate_support(expand)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- sample statistics: 20k draws against the analytic mean and variance

STATS = {
    "Normal": lambda m: m.distributions.Normal(m.tensor([0.5, -2.0]), m.tensor([1.0, 3.0])),
    "Laplace": lambda m: m.distributions.Laplace(m.tensor([0.5, -2.0]), m.tensor([1.0, 0.3])),
    "Uniform": lambda m: m.distributions.Uniform(m.tensor([0.0, -2.0]), m.tensor([1.0, 5.0])),
    "Exponential": lambda m: m.distributions.Exponential(m.tensor([0.5, 4.0])),
    "LogNormal": lambda m: m.distributions.LogNormal(m.tensor([0.0, -1.0]), m.tensor([0.5, 0.25])),
    "Gamma": lambda m: m.distributions.Gamma(m.tensor([0.1, 0.7, 1.0, 3.0, 40.0]), m.tensor([1.0, 2.0, 0.5, 1.0, 3.0])),
    "Beta": lambda m: m.distributions.Beta(m.tensor([0.3, 2.0, 5.0]), m.tensor([0.6, 2.0, 1.5])),
    "Dirichlet": lambda m: m.distributions.Dirichlet(m.tensor([[0.4, 1.0, 3.0], [2.0, 2.0, 2.0]])),
    "Bernoulli": lambda m: m.distributions.Bernoulli(m.tensor([0.1, 0.5, 0.8])),
    "Geometric": lambda m: m.distributions.Geometric(m.tensor([0.2, 0.7])),
    "Poisson": lambda m: m.distributions.Poisson(m.tensor([0.5, 4.0, 30.0])),
    "Binomial": lambda m: m.distributions.Binomial(m.tensor([10.0, 3.0]), m.tensor([0.3, 0.9])),
    "OneHotCategorical": lambda m: m.distributions.OneHotCategorical(m.tensor([0.1, 0.2, 0.7])),
    "MultivariateNormal": lambda m: m.distributions.MultivariateNormal(
        m.tensor([1.0, -1.0, 0.0]), covariance_matrix=m.tensor(COV, dtype=m.float32)),
    "Chi2": lambda m: m.distributions.Chi2(m.tensor([0.6, 3.0, 20.0])),
    "StudentT": lambda m: m.distributions.StudentT(m.tensor([8.0, 30.0]), m.tensor([1.0, -2.0]), m.tensor([0.5, 2.0])),
    "HalfNormal": lambda m: m.distributions.HalfNormal(m.tensor([0.5, 3.0])),
    "Gumbel": lambda m: m.distributions.Gumbel(m.tensor([0.5, -2.0]), m.tensor([1.0, 0.3])),
    "Pareto": lambda m: m.distributions.Pareto(m.tensor([1.0, 0.5]), m.tensor([20.0, 30.0])),
    "Weibull": lambda m: m.distributions.Weibull(m.tensor([1.0, 2.0]), m.tensor([0.8, 3.0])),
    "Kumaraswamy": lambda m: m.distributions.Kumaraswamy(m.tensor([0.5, 2.0]), m.tensor([0.7, 3.0])),
    "FisherSnedecor": lambda m: m.distributions.FisherSnedecor(m.tensor([3.0, 10.0]), m.tensor([40.0, 60.0])),
    "ContinuousBernoulli": lambda m: m.distributions.ContinuousBernoulli(m.tensor([0.1, 0.5, 0.8])),
    "NegativeBinomial": lambda m: m.distributions.NegativeBinomial(m.tensor([2.0, 7.5]), m.tensor([0.3, 0.6])),
    "Multinomial": lambda m: m.distributions.Multinomial(6, m.tensor([0.1, 0.2, 0.7])),
    "MixtureSameFamily": lambda m: m.distributions.MixtureSameFamily(
        m.distributions.Categorical(m.tensor([0.3, 0.7])), m.distributions.Normal(m.tensor([-1.0, 2.0]),
                                                                                  m.tensor([0.5, 1.0]))),
    "LowRankMultivariateNormal": lambda m: m.distributions.LowRankMultivariateNormal(
        m.tensor([1.0, -1.0, 0.0]), m.tensor(COV_L[:, :2], dtype=m.float32), m.tensor([0.5, 1.0, 0.2])),
}


@pytest.mark.parametrize("name", sorted(STATS))
def test_sample_statistics(name):
    td.manual_seed(1234)
    d, e = STATS[name](td), STATS[name](T)
    n = 20000
    s = d.sample((n,)).double().numpy()
    mean, var = e.mean.double().numpy(), e.variance.double().numpy()
    # 5 standard errors of the mean; the variance within 5 of its standard errors (normal approximation,
    # the fourth moment bounded by 10 var^2 or estimated from the sample: Gamma(0.1)'s is 62 var^2) or 3%
    np.testing.assert_array_less(np.abs(s.mean(0) - mean), 5 * np.sqrt(var / n) + 1e-12)
    m4 = ((s - s.mean(0)) ** 4).mean(0)
    se_var = np.sqrt(np.maximum(10.0 * var ** 2, m4 - s.var(0) ** 2) / n)
    np.testing.assert_array_less(np.abs(s.var(0) - var), np.maximum(5 * se_var, 0.03 * var) + 1e-12)


def test_multivariate_normal_sample_covariance():
    td.manual_seed(7)
    d = td.distributions.MultivariateNormal(td.zeros(3, dtype=td.float64),
                                            covariance_matrix=td.tensor(COV))
    s = d.sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(s.T), COV, atol=0.08)


def test_von_mises_lkj_wishart_samples():
    td.manual_seed(17)
    loc, conc = np.array([0.5, -2.5, 3.0]), np.array([0.3, 2.0, 40.0])
    d = td.distributions.VonMises(td.tensor(loc), td.tensor(conc))
    s = d.sample((20000,)).numpy()
    assert s.min() >= -np.pi and s.max() <= np.pi
    # E[cos(x - loc)] = I1(k) / I0(k) = 1 - the circular variance; E[sin(x - loc)] = 0
    np.testing.assert_allclose(np.cos(s - loc).mean(0), 1 - d.variance.numpy(), atol=0.02)
    np.testing.assert_allclose(np.sin(s - loc).mean(0), 0, atol=0.02)
    # LKJ(eta) in dimension 3: each correlation is Beta(eta + 1/2, eta + 1/2) on (-1, 1), variance 1 / (2 eta + 2)
    eta = np.array([0.5, 4.0])
    L = td.distributions.LKJCholesky(3, td.tensor(eta)).sample((20000,)).numpy()
    C = L @ np.swapaxes(L, -1, -2)
    np.testing.assert_allclose(np.einsum("...ii->...i", C), 1, atol=1e-12)
    # (every pair: torch 1.13's sampler gets 0.37 and 0.137 for the pairs of the last row)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        np.testing.assert_allclose(C[..., i, j].var(0), 1 / (2 * eta + 2), rtol=0.05, err_msg=str((i, j)))
    np.testing.assert_allclose(C[..., 0, 1].mean(0), 0, atol=0.02)
    W = td.distributions.Wishart(td.tensor([4.0, 9.0]), covariance_matrix=td.tensor(COV))
    X = W.sample((20000,)).numpy()
    np.testing.assert_allclose(X.mean(0), W.mean.numpy(), atol=0.05 * np.abs(W.mean.numpy()).max())
    np.testing.assert_allclose(X.var(0), W.variance.numpy(), rtol=0.12)


def test_mixture_with_unbatched_weights():
    # torch's gather fails here; tensord draws one component per batch element
    td.manual_seed(2)
    m = td.distributions.MixtureSameFamily(td.distributions.Categorical(td.tensor([0.25, 0.75])),
                                           td.distributions.Normal(td.tensor([[-100.0, 100.0]] * 3), 1e-3))
    s = m.sample((4000,)).numpy()
    assert s.shape == (4000, 3)
    np.testing.assert_allclose((s > 0).mean(0), 0.75, atol=0.03)


def test_mixture_of_multivariate_normals():
    w, locs = np.array([0.2, 0.5, 0.3]), RNG.standard_normal((2, 3, 3)) * 3

    def make(m):
        comp = m.distributions.MultivariateNormal(m.tensor(locs), scale_tril=m.tensor(COV_L))
        return m.distributions.MixtureSameFamily(m.distributions.Categorical(m.tensor(w)), comp)

    d, e = make(td), make(T)
    assert tuple(d.batch_shape) == (2,) and tuple(d.event_shape) == (3,)
    v = RNG.standard_normal((4, 2, 3))
    _close(d.log_prob(td.tensor(v)), e.log_prob(T.tensor(v)))
    _close(d.mean, e.mean)
    _close(d.variance, e.variance)
    _close(d.expand((5, 2)).log_prob(td.tensor(v[:1])), e.expand((5, 2)).log_prob(T.tensor(v[:1])))
    td.manual_seed(12)
    s = d.sample((20000,)).numpy()
    assert s.shape == (20000, 2, 3)
    np.testing.assert_allclose(s.mean(0), e.mean.numpy(), atol=0.1)
    np.testing.assert_allclose(s.var(0), e.variance.numpy(), rtol=0.06)
    assert repr(d) == repr(e)


def test_wishart_low_df_and_parameterizations():
    with pytest.warns(UserWarning, match="Low df values detected"):
        d = td.distributions.Wishart(td.tensor(2.3), covariance_matrix=td.tensor(COV))
    td.manual_seed(5)
    s = d.rsample((200,))
    assert bool(d.support.check(s).all())
    for param in ("covariance_matrix", "precision_matrix", "scale_tril"):
        mat = {"scale_tril": COV_L, "covariance_matrix": COV, "precision_matrix": np.linalg.inv(COV)}[param]
        ours = td.distributions.Wishart(td.tensor([4.0, 6.5]), **{param: td.tensor(mat)})
        theirs = T.distributions.Wishart(T.tensor([4.0, 6.5]), **{param: T.tensor(mat)})
        for attr in ("scale_tril", "covariance_matrix", "precision_matrix", "mean", "mode", "variance"):
            _close(getattr(ours, attr), getattr(theirs, attr), rtol=1e-6, atol=1e-9)
        v = _wishart_values(3, (2,))
        _close(ours.log_prob(td.tensor(v)), theirs.log_prob(T.tensor(v)))
        _close(ours.expand((3, 2)).log_prob(td.tensor(v)), theirs.expand((3, 2)).log_prob(T.tensor(v)))


def test_lowrank_multivariate_normal_matrices():
    loc, W, D = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3, 2)), _pos(3)
    d = td.distributions.LowRankMultivariateNormal(td.tensor(loc), td.tensor(W), td.tensor(D))
    e = T.distributions.LowRankMultivariateNormal(T.tensor(loc), T.tensor(W), T.tensor(D))
    for attr in ("scale_tril", "covariance_matrix", "precision_matrix", "variance"):
        _close(getattr(d, attr), getattr(e, attr), rtol=1e-6, atol=1e-9)
    td.manual_seed(9)
    s = d.sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(s[:, 1].T), e.covariance_matrix[1].numpy(), atol=0.1)


def test_multinomial_sample_and_expand():
    td.manual_seed(8)
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    d = td.distributions.Multinomial(9, td.tensor(p))
    s = d.sample((3000,)).numpy()
    assert (s.sum(-1) == 9).all()
    np.testing.assert_allclose(s.mean(0), 9 * p, atol=0.12)
    e = T.distributions.Multinomial(9, T.tensor(p))
    # torch's expand drops the Binomial that entropy needs; tensord keeps it
    _close(d.expand((4, 2)).entropy(), e.entropy().expand(4, 2))


def test_categorical_sample_frequencies():
    td.manual_seed(3)
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    s = td.distributions.Categorical(td.tensor(p)).sample((20000,)).numpy()
    freq = np.stack([(s == k).mean(0) for k in range(3)], -1)
    np.testing.assert_allclose(freq, p, atol=0.015)


def test_manual_seed_repeats_samples():
    d = td.distributions.Gamma(td.tensor([0.5, 2.0]), td.tensor([1.0, 1.0]))
    td.manual_seed(5)
    a = d.sample((100,))
    td.manual_seed(5)
    b = d.sample((100,))
    assert bool((a == b).all())


# ---- rsample gradients

def _mc_grad(make, params, f, n=20000, seed=11):
    """Gradient of the Monte Carlo estimate of E[f(x)], x = rsample, w.r.t. params."""
    td.manual_seed(seed)
    ps = [td.tensor(p, dtype=td.float64, requires_grad=True) for p in params]
    f(make(*ps).rsample((n,))).mean(0).sum().backward()
    return [p.grad.numpy() for p in ps]


def test_rsample_grad_normal():
    loc, scale = np.array([0.5, -1.0]), np.array([1.0, 2.0])
    gl, gs = _mc_grad(td.distributions.Normal, (loc, scale), lambda x: x * x)
    np.testing.assert_allclose(gl, 2 * loc, atol=0.06)
    np.testing.assert_allclose(gs, 2 * scale, atol=0.1)


def test_rsample_gradcheck_with_fixed_seed():
    # with the seed fixed, rsample is a deterministic function of its parameters
    def f(loc, scale):
        td.manual_seed(3)
        return td.distributions.Normal(loc, scale).rsample((3,))

    def g(low, high):
        td.manual_seed(4)
        return td.distributions.Uniform(low, high).rsample((3,))

    def h(rate):
        td.manual_seed(5)
        return td.distributions.Exponential(rate).rsample((3,))

    def k(loc, scale):
        td.manual_seed(6)
        return td.distributions.Laplace(loc, scale).rsample((3,))

    def mvn(loc, L):
        td.manual_seed(7)
        # gradcheck perturbs the zeros above the diagonal too
        return td.distributions.MultivariateNormal(loc, scale_tril=L, validate_args=False).rsample((2,))

    a = td.tensor([0.3, -0.2], dtype=td.float64, requires_grad=True)
    b = td.tensor([1.5, 0.7], dtype=td.float64, requires_grad=True)
    assert td.autograd.gradcheck(f, (a, b))
    assert td.autograd.gradcheck(g, (a, b + 2))
    assert td.autograd.gradcheck(h, (b,))
    assert td.autograd.gradcheck(k, (a, b))
    L = td.tensor(COV_L, dtype=td.float64, requires_grad=True)
    assert td.autograd.gradcheck(mvn, (td.tensor([0.1, 0.2, 0.3], dtype=td.float64, requires_grad=True), L))


# The implicit gradient costs four incomplete gamma evaluations (~1500 ops each) per
# element, so these use 3000 draws: the Monte Carlo error stays under about 7% (the
# formula itself is checked to 1e-3 against torch's in test_standard_gamma_grad_matches_torch).
def test_rsample_grad_gamma():
    conc, rate = np.array([0.4, 1.0, 3.0, 500.0]), np.array([1.0, 2.0, 0.5, 1.0])
    gc, gr = _mc_grad(td.distributions.Gamma, (conc, rate), lambda x: x, n=3000)
    # E[x] = c / r
    np.testing.assert_allclose(gc, 1 / rate, rtol=0.1)
    np.testing.assert_allclose(gr, -conc / rate ** 2, rtol=0.1)
    gc2, _ = _mc_grad(td.distributions.Gamma, (conc[:3], rate[:3]), lambda x: x * x, n=3000)
    # E[x^2] = c (c + 1) / r^2
    np.testing.assert_allclose(gc2, (2 * conc[:3] + 1) / rate[:3] ** 2, rtol=0.1)


def test_rsample_grad_beta_dirichlet():
    a, b = np.array([0.5, 2.0]), np.array([1.5, 3.0])
    ga, gb = _mc_grad(td.distributions.Beta, (a, b), lambda x: x, n=3000)
    np.testing.assert_allclose(ga, b / (a + b) ** 2, rtol=0.1)
    np.testing.assert_allclose(gb, -a / (a + b) ** 2, rtol=0.1)
    c = np.array([0.7, 1.5, 3.0])
    (gc,) = _mc_grad(td.distributions.Dirichlet, (c,), lambda x: x[..., 0:1] * 1.0, n=3000)
    c0 = c.sum()
    np.testing.assert_allclose(gc, np.array([(c0 - c[0]) / c0 ** 2, -c[0] / c0 ** 2, -c[0] / c0 ** 2]), rtol=0.1)


def test_standard_gamma_grad_matches_torch():
    from scipy.special import gammaincinv
    for a in (0.05, 0.3, 1.0, 2.5, 10.0, 50.0, 200.0, 1000.0):
        q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
        x = gammaincinv(a, q)
        ours = _standard_gamma_grad(td.tensor(x), td.tensor(np.full_like(x, a))).numpy()
        theirs = T._standard_gamma_grad(T.tensor(np.full_like(x, a)), T.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-3)


def test_log_prob_gradients_match_torch():
    def grads(mod, name, n_params):
        ctor, params, v, _ = SPECS[name]
        ps = [mod.tensor(p, dtype=mod.float64, requires_grad=True) for p in params[:n_params]]
        rest = [mod.tensor(p, dtype=mod.float64) for p in params[n_params:]]
        d = ctor(mod, *ps, *rest)
        (d.log_prob(mod.tensor(v, dtype=mod.float64)).sum() + d.entropy().sum() * 0.5).backward()
        return [p.grad.numpy() for p in ps]

    for name, k in (("Normal", 2), ("Laplace", 2), ("Cauchy", 2), ("Exponential", 1), ("Gamma", 2),
                    ("Beta", 2), ("Dirichlet", 1), ("Bernoulli", 1), ("BernoulliLogits", 1), ("Geometric", 1),
                    ("LogNormal", 2), ("Binomial", 1), ("MultivariateNormal", 1), ("Uniform", 2)):
        for ours, theirs in zip(grads(td, name, k), grads(T, name, k)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9, err_msg=name)
    # Poisson has no entropy
    r = [m.tensor(SCALE, requires_grad=True) for m in (td, T)]
    for m, x in zip((td, T), r):
        m.distributions.Poisson(x).log_prob(m.tensor(SPECS["Poisson"][2])).sum().backward()
    np.testing.assert_allclose(r[0].grad.numpy(), r[1].grad.numpy(), rtol=1e-6)


NEW_FAMILIES = ["Chi2", "StudentT", "HalfNormal", "HalfCauchy", "Gumbel", "Pareto", "Weibull", "Kumaraswamy",
                "LogisticNormal", "FisherSnedecor", "ContinuousBernoulli", "ContinuousBernoulliLogits", "VonMises",
                "NegativeBinomial", "NegativeBinomialLogits", "Multinomial", "RelaxedBernoulli",
                "RelaxedOneHotCategorical", "MixtureSameFamily", "LowRankMultivariateNormal", "Wishart",
                "LKJCholesky"]


@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_new_family_gradients_match_torch(name):
    """Gradients of log_prob + entropy + mean + variance (the ones torch has) w.r.t. every parameter."""
    def grads(mod):
        ctor, params, v, _ = SPECS[name]
        ps = [mod.tensor(p, dtype=mod.float64, requires_grad=True) for p in params]
        d = ctor(mod, *ps)
        loss = d.log_prob(_value(mod, name)).sum()
        for f in (d.entropy, lambda: d.mean, lambda: d.variance):
            try:
                term = f()
            except NotImplementedError:
                continue
            if bool(term.isfinite().all()):  # an infinite moment has no gradient to compare
                loss = loss + term.sum() * 0.5
        loss.backward()
        return [p.grad.numpy() for p in ps]

    ours, theirs = grads(td), grads(T)
    if name == "Wishart":
        # torch's cholesky_solve also differentiates the entries above scale_tril's diagonal,
        # which the distribution never reads; compare the lower triangle
        ours[1], theirs[1] = np.tril(ours[1]), np.tril(theirs[1])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def _seeded(make, seed, shape=(3,)):
    """rsample as a deterministic function of the parameters (the seed fixed)."""
    def f(*params):
        td.manual_seed(seed)
        return make(*params).rsample(shape)
    return f


RSAMPLE_GRADCHECK = {
    # the reparameterization is a smooth function of parameters and noise: finite differences apply
    "HalfNormal": (lambda s: td.distributions.HalfNormal(s), [[0.7, 2.0]]),
    "HalfCauchy": (lambda s: td.distributions.HalfCauchy(s), [[0.7, 2.0]]),
    "Gumbel": (lambda a, b: td.distributions.Gumbel(a, b), [[0.3, -1.0], [0.7, 2.0]]),
    "Pareto": (lambda a, b: td.distributions.Pareto(a, b), [[0.7, 2.0], [1.5, 3.0]]),
    "Weibull": (lambda a, b: td.distributions.Weibull(a, b), [[0.7, 2.0], [1.5, 0.6]]),
    "Kumaraswamy": (lambda a, b: td.distributions.Kumaraswamy(a, b), [[0.7, 2.0], [1.5, 0.6]]),
    "LogisticNormal": (lambda a, b: td.distributions.LogisticNormal(a, b), [[0.3, -1.0], [0.7, 2.0]]),
    "ContinuousBernoulli": (lambda p: td.distributions.ContinuousBernoulli(p), [[0.2, 0.8]]),
    "RelaxedBernoulli": (lambda t, p: td.distributions.RelaxedBernoulli(t, p), [0.6, [0.2, 0.7]]),
    "RelaxedOneHotCategorical": (lambda t, p: td.distributions.RelaxedOneHotCategorical(t, logits=p),
                                 [0.6, [0.2, -0.7, 1.0]]),
    "LowRankMultivariateNormal": (lambda a, w, d: td.distributions.LowRankMultivariateNormal(a, w, d),
                                  [[0.3, -1.0, 0.0], [[0.5], [1.0], [-0.3]], [0.7, 2.0, 1.0]]),
}


@pytest.mark.parametrize("name", sorted(RSAMPLE_GRADCHECK))
def test_rsample_gradcheck_new_families(name):
    make, params = RSAMPLE_GRADCHECK[name]
    ps = [td.tensor(p, dtype=td.float64, requires_grad=True) for p in params]
    assert td.autograd.gradcheck(_seeded(make, 21), ps)


@pytest.mark.parametrize("name", ["Gumbel", "Pareto", "Weibull", "Kumaraswamy"])
def test_rsample_transform_gradients_match_torch(name):
    # the same base draw through the same transforms: the pathwise gradient is torch's
    make, params = RSAMPLE_GRADCHECK[name]
    base = RNG.uniform(0.05, 0.95, (4, 2)) if name in ("Gumbel", "Kumaraswamy") else _pos(4, 2)

    def grads(mod):
        ps = [mod.tensor(p, dtype=mod.float64, requires_grad=True) for p in params]
        d = getattr(mod.distributions, name)(*ps)
        y = mod.tensor(base)
        for t in d.transforms:
            y = t(y)
        (y * y).sum().backward()
        # Pareto's alpha acts through the base Exponential, not the transforms
        return [y.detach().numpy()] + [p.grad.numpy() for p in ps if p.grad is not None]

    for ours, theirs in zip(grads(td), grads(T)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_continuous_bernoulli_icdf_gradient_matches_torch():
    # ContinuousBernoulli.rsample is icdf(u): compare d icdf(u) / d probs for the same u
    u = RNG.uniform(0.01, 0.99, (5, 3, 2))

    def grad(mod):
        p = mod.tensor(CB_PROB, requires_grad=True)
        mod.distributions.ContinuousBernoulli(p).icdf(mod.tensor(u)).sum().backward()
        return p.grad.numpy()

    np.testing.assert_allclose(grad(td), grad(T), rtol=1e-6, atol=1e-9)


def test_rsample_grad_gamma_based():
    # Chi2, StudentT, FisherSnedecor and Wishart sample through the implicit Gamma gradient:
    # the Monte Carlo gradient of E[x] is the gradient of torch's analytic mean
    def mean_grad(name, params):
        ps = [T.tensor(p, dtype=T.float64, requires_grad=True) for p in params]
        getattr(T.distributions, name)(*ps).mean.sum().backward()
        return [p.grad.numpy() for p in ps]

    cases = [("Chi2", (np.array([0.8, 3.0, 12.0]),), lambda x: x),
             ("StudentT", (np.array([6.0, 9.0]), np.array([0.5, -1.0]), np.array([1.0, 2.0])), lambda x: x * x),
             ("FisherSnedecor", (np.array([3.0, 8.0]), np.array([12.0, 20.0])), lambda x: x)]
    for name, params, f in cases:
        ours = _mc_grad(getattr(td.distributions, name), params, f, n=3000)
        ps = [T.tensor(p, dtype=T.float64, requires_grad=True) for p in params]
        d = getattr(T.distributions, name)(*ps)
        (d.variance + d.mean ** 2 if f(2.0) == 4.0 else d.mean).sum().backward()
        # (FisherSnedecor's mean does not depend on df1: no gradient there)
        theirs = [np.zeros_like(p) if q.grad is None else q.grad.numpy() for p, q in zip(params, ps)]
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=0.15, atol=0.03, err_msg=name)
    # Wishart: E[X] = df * Sigma
    td.manual_seed(4)
    df = td.tensor([4.0, 7.0], dtype=td.float64, requires_grad=True)
    L = td.tensor(COV_L, dtype=td.float64, requires_grad=True)
    td.distributions.Wishart(df, scale_tril=L).rsample((1000,)).mean(0).sum().backward()
    np.testing.assert_allclose(df.grad.numpy(), np.full(2, COV.sum()), rtol=0.1)
    # d/dL sum(df L L^T) = df (1 1^T + 1 1^T) L, summed over the batch
    np.testing.assert_allclose(np.tril(L.grad.numpy()), np.tril(2 * 11.0 * np.ones((3, 3)) @ COV_L), rtol=0.1)


@pytest.mark.parametrize("kind", ["Gamma", "Beta"])
def test_kl_gradients_match_torch(kind):
    def grads(m):
        a = m.tensor(A, requires_grad=True)
        b = m.tensor(B, requires_grad=True)
        D = getattr(m.distributions, kind)
        m.distributions.kl_divergence(D(a, b), D(b * 1.5, a + 0.5)).sum().backward()
        return a.grad.numpy(), b.grad.numpy()

    for ours, theirs in zip(grads(td), grads(T)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_icdf_gradient():
    loc = td.tensor([0.2, -0.4], dtype=td.float64, requires_grad=True)
    q = td.tensor([0.3, 0.8], dtype=td.float64, requires_grad=True)
    assert td.autograd.gradcheck(lambda l, p: td.distributions.Normal(l, 2.0).icdf(p), (loc, q))


# ---- KL divergences

def _d(m, kind, *args):
    return getattr(m.distributions, kind)(*[m.tensor(a, dtype=m.float64) if isinstance(a, np.ndarray) else a
                                            for a in args])


A, B = _pos(3), _pos(3)
KL_PAIRS = {
    "normal-normal": (("Normal", LOC[:, 0], SCALE[:, 0]), ("Normal", LOC[:, 1], SCALE[:, 1])),
    "bernoulli-bernoulli": (("Bernoulli", PROB[:, 0]), ("Bernoulli", PROB[:, 1])),
    "beta-beta": (("Beta", A, B), ("Beta", B, A)),
    "binomial-binomial": (("Binomial", 6, PROB[:, 0]), ("Binomial", 6, PROB[:, 1])),
    "categorical-categorical": (("Categorical", PROBS), ("Categorical", PROBS[::-1].copy())),
    "onehot-onehot": (("OneHotCategorical", PROBS), ("OneHotCategorical", PROBS[::-1].copy())),
    "dirichlet-dirichlet": (("Dirichlet", CONC_V), ("Dirichlet", CONC_V[::-1].copy())),
    "exponential-exponential": (("Exponential", A), ("Exponential", B)),
    "gamma-gamma": (("Gamma", A, B), ("Gamma", B, A)),
    "geometric-geometric": (("Geometric", PROB[:, 0]), ("Geometric", PROB[:, 1])),
    "laplace-laplace": (("Laplace", LOC[:, 0], A), ("Laplace", LOC[:, 1], B)),
    "poisson-poisson": (("Poisson", A), ("Poisson", B)),
    "uniform-uniform": (("Uniform", -A, A), ("Uniform", -A - 1, B + A)),
    "uniform-uniform-inf": (("Uniform", -A, A), ("Uniform", -A + 0.1, A)),
    "cauchy-cauchy": (("Cauchy", LOC[:, 0], A), ("Cauchy", LOC[:, 1], B)),
    "lognormal-lognormal": (("LogNormal", LOC[:, 0], A), ("LogNormal", LOC[:, 1], B)),
    "bernoulli-poisson": (("Bernoulli", PROB[:, 0]), ("Poisson", A)),
    "beta-exponential": (("Beta", A, B), ("Exponential", A)),
    "beta-gamma": (("Beta", A, B), ("Gamma", A, B)),
    "beta-normal": (("Beta", A, B), ("Normal", LOC[:, 0], A)),
    "beta-uniform": (("Beta", A, B), ("Uniform", -A, A + 1)),
    "exponential-gamma": (("Exponential", A), ("Gamma", B, A)),
    "exponential-normal": (("Exponential", A), ("Normal", LOC[:, 0], B)),
    "exponential-uniform": (("Exponential", A), ("Uniform", -A, A)),
    "gamma-exponential": (("Gamma", A, B), ("Exponential", A)),
    "gamma-normal": (("Gamma", A, B), ("Normal", LOC[:, 0], B)),
    "gamma-beta": (("Gamma", A, B), ("Beta", A, B)),
    "laplace-normal": (("Laplace", LOC[:, 0], A), ("Normal", LOC[:, 1], B)),
    "laplace-gamma": (("Laplace", LOC[:, 0], A), ("Gamma", A, B)),
    "normal-laplace": (("Normal", LOC[:, 0], A), ("Laplace", LOC[:, 1], B)),
    "normal-uniform": (("Normal", LOC[:, 0], A), ("Uniform", -A, A)),
    "poisson-binomial": (("Poisson", A), ("Binomial", 4, PROB[:, 0])),
    "uniform-beta": (("Uniform", A * 0.1, A * 0.2), ("Beta", A, B)),
    "uniform-exponential": (("Uniform", A * 0.1, A), ("Exponential", B)),
    "uniform-gamma": (("Uniform", A * 0.1, A), ("Gamma", A, B)),
    "uniform-normal": (("Uniform", -A, A), ("Normal", LOC[:, 0], B)),
    "mvn-mvn": (("MultivariateNormal", LOC[:, :1].repeat(3, 1), None, None, COV_L),
                ("MultivariateNormal", np.zeros(3), COV)),
    "cb-cb": (("ContinuousBernoulli", CB_PROB[:, 0]), ("ContinuousBernoulli", CB_PROB[:, 1])),
    "gumbel-gumbel": (("Gumbel", LOC[:, 0], A), ("Gumbel", LOC[:, 1], B)),
    "halfnormal-halfnormal": (("HalfNormal", A), ("HalfNormal", B)),
    "pareto-pareto": (("Pareto", A, B), ("Pareto", B, A)),
    "lowrank-lowrank": (("LowRankMultivariateNormal", LOC[:, 0], COV_L[:, :2], A),
                        ("LowRankMultivariateNormal", LOC[:, 1], COV_L[:, 1:], B)),
    "mvn-lowrank": (("MultivariateNormal", LOC[:, 0], COV), ("LowRankMultivariateNormal", LOC[:, 1], COV_L[:, :2], B)),
    "lowrank-mvn": (("LowRankMultivariateNormal", LOC[:, 0], COV_L[:, :2], A), ("MultivariateNormal", LOC[:, 1], COV)),
    "beta-cb": (("Beta", A, B), ("ContinuousBernoulli", CB_PROB[:, 0])),
    "beta-pareto": (("Beta", A, B), ("Pareto", A, B)),
    "cb-exponential": (("ContinuousBernoulli", CB_PROB[:, 0]), ("Exponential", A)),
    "cb-normal": (("ContinuousBernoulli", CB_PROB[:, 1]), ("Normal", LOC[:, 0], A)),
    "cb-pareto": (("ContinuousBernoulli", CB_PROB[:, 1]), ("Pareto", A, B)),
    "cb-uniform": (("ContinuousBernoulli", CB_PROB[:, 0]), ("Uniform", np.array([-1.0, 0.1, 0.0]),
                                                            np.array([2.0, 0.9, 1.0]))),
    "exponential-cb": (("Exponential", A), ("ContinuousBernoulli", CB_PROB[:, 0])),
    "exponential-gumbel": (("Exponential", A), ("Gumbel", LOC[:, 0], B)),
    "exponential-pareto": (("Exponential", A), ("Pareto", A, B)),
    "gamma-gumbel": (("Gamma", A, B), ("Gumbel", LOC[:, 0], B)),
    "gamma-pareto": (("Gamma", A, B), ("Pareto", A, B)),
    "gumbel-normal": (("Gumbel", LOC[:, 0], A), ("Normal", LOC[:, 1], B)),
    "gumbel-beta": (("Gumbel", LOC[:, 0], A), ("Beta", A, B)),
    "gumbel-exponential": (("Gumbel", LOC[:, 0], A), ("Exponential", B)),
    "laplace-pareto": (("Laplace", LOC[:, 0], A), ("Pareto", A, B)),
    "normal-cb": (("Normal", LOC[:, 0], A), ("ContinuousBernoulli", CB_PROB[:, 0])),
    "normal-gumbel": (("Normal", LOC[:, 0], A), ("Gumbel", LOC[:, 1], B)),
    "pareto-uniform": (("Pareto", A, B), ("Uniform", -A, A)),
    "pareto-exponential": (("Pareto", A, DF[:, 0]), ("Exponential", B)),
    "pareto-gamma": (("Pareto", A, DF[:, 0]), ("Gamma", A, B)),
    "pareto-normal": (("Pareto", A, DF[:, 1]), ("Normal", LOC[:, 0], B)),
    "uniform-cb": (("Uniform", np.array([0.1, 0.0, 0.3]), np.array([0.6, 0.5, 1.0])),
                   ("ContinuousBernoulli", CB_PROB[:, 0])),
    "uniform-gumbel": (("Uniform", -A, A), ("Gumbel", LOC[:, 0], B)),
    "uniform-pareto": (("Uniform", A * 0.1 + 1, A + 2), ("Pareto", np.array([1.0, 1.5, 2.0]), B)),
}


@pytest.mark.parametrize("pair", sorted(KL_PAIRS))
def test_kl_divergence(pair):
    p, q = KL_PAIRS[pair]
    ours = td.distributions.kl_divergence(_d(td, *p), _d(td, *q))
    theirs = T.distributions.kl_divergence(_d(T, *p), _d(T, *q))
    _close(ours, theirs, rtol=1e-6, atol=1e-9)


def test_kl_registry_is_torchs():
    # every (p, q) pair torch 1.13 registers, and no other
    from tensord.distributions.kl import _KL_REGISTRY

    def names(registry):  # the library's pairs (not those a test registers for its own classes)
        return {(p.__name__, q.__name__) for p, q in registry if ".distributions." in p.__module__}

    assert names(_KL_REGISTRY) == names(T.distributions.kl._KL_REGISTRY)


def test_kl_independent_and_expfamily():
    def ind(m, a, b):
        return m.distributions.Independent(m.distributions.Normal(m.tensor(a), m.tensor(b)), 1)
    _close(td.distributions.kl_divergence(ind(td, LOC, SCALE), ind(td, SCALE, LOC * LOC + 1)),
           T.distributions.kl_divergence(ind(T, LOC, SCALE), ind(T, SCALE, LOC * LOC + 1)))
    # ExponentialFamily's Bregman divergence (autograd.grad of the log normalizer) equals the closed form
    from tensord.distributions.kl import _kl_expfamily_expfamily
    p, q = _d(td, "Gamma", A, B), _d(td, "Gamma", B, A)
    _close(_kl_expfamily_expfamily(p, q), td.distributions.kl_divergence(p, q))
    _close(td.distributions.ExponentialFamily.entropy(p), p.entropy())
    # the log normalizers of the later exponential families against their closed-form entropies
    for d in (_d(td, "ContinuousBernoulli", CB_PROB[:, 0]), _d(td, "ContinuousBernoulli", None, LOC[:, 0]),
              td.distributions.Wishart(td.tensor([4.0, 6.5], dtype=td.float64), scale_tril=td.tensor(COV_L))):
        _close(td.distributions.ExponentialFamily.entropy(d), d.entropy())


def test_kl_errors_and_register():
    D = td.distributions
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Cauchy and q "
                                                  "type Normal"):
        D.kl_divergence(D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0))

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return td.tensor(42.0)

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 0.0


# ---- MultivariateNormal's three parameterizations

@pytest.mark.parametrize("param", ["scale_tril", "covariance_matrix", "precision_matrix"])
def test_multivariate_normal_parameterizations(param):
    loc = RNG.standard_normal((2, 3))
    mat = {"scale_tril": COV_L, "covariance_matrix": COV, "precision_matrix": np.linalg.inv(COV)}[param]
    d = td.distributions.MultivariateNormal(td.tensor(loc), **{param: td.tensor(mat)})
    e = T.distributions.MultivariateNormal(T.tensor(loc), **{param: T.tensor(mat)})
    assert str(d) == str(e)
    for attr in ("scale_tril", "covariance_matrix", "precision_matrix", "mean", "variance", "stddev"):
        _close(getattr(d, attr), getattr(e, attr), rtol=1e-6, atol=1e-9)
    v = RNG.standard_normal((5, 2, 3))
    _close(d.log_prob(td.tensor(v)), e.log_prob(T.tensor(v)))
    _close(d.entropy(), e.entropy())
    _close(d.expand((4, 2)).log_prob(td.tensor(v[:4])), e.expand((4, 2)).log_prob(T.tensor(v[:4])))


def test_multivariate_normal_errors():
    for mod in (td, T):
        with pytest.raises(ValueError, match="loc must be at least one-dimensional."):
            mod.distributions.MultivariateNormal(mod.tensor(0.0), mod.eye(1))
        with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
            mod.distributions.MultivariateNormal(mod.zeros(2), mod.eye(2), scale_tril=mod.eye(2))
        with pytest.raises(ValueError, match="covariance_matrix must be at least two-dimensional"):
            mod.distributions.MultivariateNormal(mod.zeros(2), mod.ones(2))


# ---- validation: torch's exceptions and messages

def _message(mod, fn):
    with pytest.raises(Exception) as info:
        fn(mod)
    return type(info.value).__name__, str(info.value).replace("tensord.", "torch.")


INVALID = {
    "normal-scale": lambda m: m.distributions.Normal(m.tensor([0.0, 1.0]), m.tensor([1.0, -1.0])),
    "gamma-conc": lambda m: m.distributions.Gamma(m.tensor([-1.0]), m.tensor([1.0])),
    "beta": lambda m: m.distributions.Beta(m.tensor([0.5]), m.tensor([-2.0])),
    "dirichlet": lambda m: m.distributions.Dirichlet(m.tensor([[1.0, -2.0], [1.0, 1.0]])),
    "bernoulli": lambda m: m.distributions.Bernoulli(m.tensor([1.5])),
    "bernoulli-both": lambda m: m.distributions.Bernoulli(probs=m.tensor([0.5]), logits=m.tensor([0.5])),
    "categorical": lambda m: m.distributions.Categorical(m.tensor([0.5, -0.5])),
    "categorical-0d": lambda m: m.distributions.Categorical(m.tensor(0.5)),
    "uniform": lambda m: m.distributions.Uniform(m.tensor([1.0]), m.tensor([0.0])),
    "geometric-zero": lambda m: m.distributions.Geometric(m.tensor([0.0, 0.5])),
    "poisson": lambda m: m.distributions.Poisson(m.tensor([-1.0])),
    "binomial-count": lambda m: m.distributions.Binomial(m.tensor([2.5]), m.tensor([0.5])),
    "mvn-cov": lambda m: m.distributions.MultivariateNormal(m.zeros(2), m.tensor([[1.0, 2.0], [2.0, 1.0]])),
    "mvn-tril": lambda m: m.distributions.MultivariateNormal(m.zeros(2), scale_tril=m.tensor([[1.0, 1.0],
                                                                                             [0.0, 1.0]])),
    "log_prob-support": lambda m: m.distributions.Exponential(m.tensor([1.0])).log_prob(m.tensor([-1.0])),
    "log_prob-event": lambda m: m.distributions.Dirichlet(m.ones(3)).log_prob(m.ones(2) / 2),
    "log_prob-broadcast": lambda m: m.distributions.Normal(m.zeros(3), 1.0).log_prob(m.zeros(2)),
    "log_prob-not-tensor": lambda m: m.distributions.Normal(0.0, 1.0).log_prob(0.5),
    "bernoulli-support": lambda m: m.distributions.Bernoulli(0.3).log_prob(m.tensor([0.5])),
    "categorical-support": lambda m: m.distributions.Categorical(m.ones(3)).log_prob(m.tensor([3])),
    "independent-ndims": lambda m: m.distributions.Independent(m.distributions.Normal(m.zeros(2), 1.0), 2),
    "binomial-entropy": lambda m: m.distributions.Binomial(m.tensor([2.0, 3.0]), m.tensor([0.5, 0.5])).entropy(),
    "mode": lambda m: m.distributions.Distribution().mode,
    "studentT-df": lambda m: m.distributions.StudentT(m.tensor([-1.0, 2.0])),
    "chi2": lambda m: m.distributions.Chi2(m.tensor([-1.0])),
    "halfnormal": lambda m: m.distributions.HalfNormal(m.tensor([-1.0])),
    "halfcauchy-support": lambda m: m.distributions.HalfCauchy(1.0).log_prob(m.tensor([-1.0])),
    "gumbel-scale": lambda m: m.distributions.Gumbel(m.tensor([0.0]), m.tensor([0.0])),
    "pareto-support": lambda m: m.distributions.Pareto(m.tensor(2.0), m.tensor(1.0)).log_prob(m.tensor([1.0])),
    "weibull": lambda m: m.distributions.Weibull(m.tensor([1.0]), m.tensor([-1.0])),
    "kumaraswamy": lambda m: m.distributions.Kumaraswamy(m.tensor([-1.0]), m.tensor([1.0])),
    "fisher": lambda m: m.distributions.FisherSnedecor(m.tensor([1.0]), m.tensor([0.0])),
    "cb-probs": lambda m: m.distributions.ContinuousBernoulli(m.tensor([1.5]), validate_args=True),
    "cb-both": lambda m: m.distributions.ContinuousBernoulli(m.tensor([0.5]), m.tensor([0.5])),
    "vonmises": lambda m: m.distributions.VonMises(m.tensor([0.0]), m.tensor([-1.0])),
    "negbin-probs": lambda m: m.distributions.NegativeBinomial(2.0, m.tensor([1.0])),
    "negbin-support": lambda m: m.distributions.NegativeBinomial(2.0, m.tensor([0.5])).log_prob(m.tensor([0.5])),
    "multinomial-count": lambda m: m.distributions.Multinomial(2.5, m.tensor([0.5, 0.5])),
    "multinomial-support": lambda m: m.distributions.Multinomial(2, m.tensor([0.5, 0.5])).log_prob(
        m.tensor([2.0, 1.0])),
    "relaxed-both": lambda m: m.distributions.RelaxedBernoulli(m.tensor(1.0), m.tensor([0.5]), m.tensor([0.5])),
    "relaxed-onehot": lambda m: m.distributions.RelaxedOneHotCategorical(m.tensor(1.0), m.tensor([0.5, -0.5])),
    "mixture-type": lambda m: m.distributions.MixtureSameFamily(m.distributions.Normal(0.0, 1.0),
                                                                m.distributions.Normal(m.zeros(2), 1.0)),
    "mixture-k": lambda m: m.distributions.MixtureSameFamily(m.distributions.Categorical(m.ones(3)),
                                                             m.distributions.Normal(m.zeros(2), 1.0)),
    "mixture-batch": lambda m: m.distributions.MixtureSameFamily(m.distributions.Categorical(m.ones(3, 2)),
                                                                 m.distributions.Normal(m.zeros(4, 2), 1.0)),
    "lowrank-factor": lambda m: m.distributions.LowRankMultivariateNormal(m.zeros(3), m.ones(2, 1), m.ones(3)),
    "lowrank-diag": lambda m: m.distributions.LowRankMultivariateNormal(m.zeros(3), m.ones(3, 1), m.ones(2)),
    "lowrank-loc": lambda m: m.distributions.LowRankMultivariateNormal(m.tensor(0.0), m.ones(3, 1), m.ones(3)),
    "lowrank-batch": lambda m: m.distributions.LowRankMultivariateNormal(m.zeros(2, 3), m.ones(4, 3, 1),
                                                                         m.ones(3)),
    "lowrank-diag-positive": lambda m: m.distributions.LowRankMultivariateNormal(m.zeros(2), m.ones(2, 1),
                                                                                 m.tensor([1.0, -1.0])),
    "wishart-df": lambda m: m.distributions.Wishart(m.tensor(1.5), covariance_matrix=m.eye(3)),
    "wishart-dim": lambda m: m.distributions.Wishart(3.0, covariance_matrix=m.ones(3)),
    "wishart-cov": lambda m: m.distributions.Wishart(4.0, covariance_matrix=-m.eye(2)),
    "lkj-dim": lambda m: m.distributions.LKJCholesky(1),
    "lkj-conc": lambda m: m.distributions.LKJCholesky(3, m.tensor([-1.0])),
    "lkj-support": lambda m: m.distributions.LKJCholesky(2).log_prob(m.eye(2) * 2),
    "biject-lower-cholesky": lambda m: m.distributions.biject_to(m.distributions.constraints.lower_cholesky),
    "register-type": lambda m: m.distributions.biject_to.register(3, lambda c: None),
    "broadcast_all": lambda m: m.distributions.Normal("a", 1.0),
}


# same exception type, a different message: tensord names the distribution given the bad parameter
TYPE_ONLY = {"lkj-conc"}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_validation_errors(case):
    ours, theirs = _message(td, INVALID[case]), _message(T, INVALID[case])
    if case in TYPE_ONLY:
        assert ours[0] == theirs[0] and "LKJCholesky" in ours[1]
    else:
        assert ours == theirs


def test_validate_args_off_and_default():
    D = td.distributions
    D.Normal(td.tensor([0.0]), td.tensor([-1.0]), validate_args=False)  # no check
    try:
        D.Distribution.set_default_validate_args(False)
        D.Normal(td.tensor([0.0]), td.tensor([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(td.tensor([0.0]), td.tensor([-1.0]))


REPRS = [
    lambda m: m.distributions.Normal(m.tensor([0.0, 1.0]), m.tensor([1.0, 2.0])),
    lambda m: m.distributions.Normal(0.0, 1.0),
    lambda m: m.distributions.Gamma(m.tensor(2.0), m.tensor(3.0)),
    lambda m: m.distributions.Bernoulli(logits=m.tensor([0.3, 0.1])),
    lambda m: m.distributions.Categorical(m.ones(2, 3)),
    lambda m: m.distributions.Beta(2.0, 3.0),
    lambda m: m.distributions.Independent(m.distributions.Normal(m.zeros(2, 3), 1.0), 1),
    lambda m: m.distributions.LogNormal(0.0, 1.0),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), m.eye(2)),
    lambda m: m.distributions.Dirichlet(m.ones(3)).support,
    lambda m: m.distributions.Uniform(0.0, 1.0).support,
    lambda m: m.distributions.Binomial(5, m.tensor([0.5])).support,
    lambda m: m.distributions.constraints.independent(m.distributions.constraints.positive, 1),
    lambda m: m.distributions.transforms.ComposeTransform([m.distributions.transforms.ExpTransform(),
                                                           m.distributions.transforms.AffineTransform(1.0, 2.0)]),
    lambda m: m.distributions.transforms.ExpTransform().inv,
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr(i):
    assert repr(REPRS[i](td)) == repr(REPRS[i](T))


# ---- constraints

CONSTRAINT_VALUES = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, 3.0], [0.25, 0.25, 0.5, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize("name", ["boolean", "nonnegative_integer", "positive_integer", "real", "positive",
                                  "nonnegative", "unit_interval", "simplex", "real_vector", "one_hot"])
def test_constraint_checks(name):
    ours = getattr(td.distributions.constraints, name).check(td.tensor(CONSTRAINT_VALUES))
    theirs = getattr(T.distributions.constraints, name).check(T.tensor(CONSTRAINT_VALUES))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_matrix_constraints():
    C = td.distributions.constraints
    mats = np.stack([COV, COV_L, -COV, np.array([[1.0, 2.0, 0], [2.0, 1.0, 0], [0, 0, 1.0]])])
    for name in ("lower_triangular", "lower_cholesky", "positive_definite", "positive_semidefinite", "symmetric",
                 "square"):
        ours = getattr(C, name).check(td.tensor(mats)).numpy()
        theirs = getattr(T.distributions.constraints, name).check(T.tensor(mats)).numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    assert C.interval(0, 1).check(td.tensor([0.5, 1.5])).tolist() == [True, False]
    assert C.half_open_interval(0, 1).check(td.tensor([0.0, 1.0])).tolist() == [True, False]
    assert C.greater_than_eq(1).check(td.tensor([1.0])).tolist() == [True]
    assert C.less_than(1).check(td.tensor([1.0])).tolist() == [False]
    assert C.integer_interval(0, 3).check(td.tensor([3.0, 3.5])).tolist() == [True, False]
    assert C.multinomial(3).check(td.tensor([[1.0, 2.0], [2.0, 2.0]])).tolist() == [True, False]


# ---- transforms

TRANSFORMS = {
    "exp": lambda m: m.distributions.transforms.ExpTransform(),
    "affine": lambda m: m.distributions.transforms.AffineTransform(0.5, -2.0),
    "affine-tensor": lambda m: m.distributions.transforms.AffineTransform(m.tensor([0.5, 1.0]),
                                                                          m.tensor([2.0, 3.0]), event_dim=1),
    "sigmoid": lambda m: m.distributions.transforms.SigmoidTransform(),
    "tanh": lambda m: m.distributions.transforms.TanhTransform(),
    "softplus": lambda m: m.distributions.transforms.SoftplusTransform(),
    "power": lambda m: m.distributions.transforms.PowerTransform(m.tensor(2.5)),
    "compose": lambda m: m.distributions.transforms.ComposeTransform([
        m.distributions.transforms.AffineTransform(0.5, 2.0), m.distributions.transforms.ExpTransform()]),
    "inverse": lambda m: m.distributions.transforms.SigmoidTransform().inv,
    "stick-breaking": lambda m: m.distributions.transforms.StickBreakingTransform(),
    "independent": lambda m: m.distributions.transforms.IndependentTransform(
        m.distributions.transforms.ExpTransform(), 1),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transforms(name):
    x = RNG.uniform(0.1, 0.9, (3, 2))
    t, u = TRANSFORMS[name](td), TRANSFORMS[name](T)
    y_ours, y_theirs = t(td.tensor(x)), u(T.tensor(x))
    _close(y_ours, y_theirs)
    _close(t.inv(y_ours), u.inv(y_theirs), rtol=1e-6, atol=1e-9)
    if name != "inverse" or True:
        _close(t.log_abs_det_jacobian(td.tensor(x), y_ours), u.log_abs_det_jacobian(T.tensor(x), y_theirs))
    assert t.domain.event_dim == u.domain.event_dim and t.codomain.event_dim == u.codomain.event_dim
    assert t.bijective == u.bijective


def _forward_inverse_logdet(t, u, x):
    """t(x), t.inv(t(x)) and log|det J| from tensord and torch transforms built alike."""
    y_ours, y_theirs = t(td.tensor(x)), u(T.tensor(x))
    _close(y_ours, y_theirs)
    _close(t.inv(y_ours), u.inv(y_theirs), rtol=1e-6, atol=1e-9)
    _close(t.log_abs_det_jacobian(td.tensor(x), y_ours), u.log_abs_det_jacobian(T.tensor(x), y_theirs))
    assert t.domain.event_dim == u.domain.event_dim and t.codomain.event_dim == u.codomain.event_dim
    assert t.bijective == u.bijective
    return y_ours


MORE_TRANSFORMS = {
    # name: (build(transforms module, distributions module), input)
    "corr-cholesky": (lambda tr, m: tr.CorrCholeskyTransform(), RNG.standard_normal((4, 6))),
    "cat": (lambda tr, m: tr.CatTransform([tr.ExpTransform(), tr.AffineTransform(1.0, 3.0), tr.SigmoidTransform()],
                                          dim=-1, lengths=[2, 1, 3]), RNG.standard_normal((4, 6))),
    "cat-event": (lambda tr, m: tr.CatTransform([tr.IndependentTransform(tr.ExpTransform(), 1),
                                                 tr.AffineTransform(0.5, 2.0)], dim=0, lengths=[2, 3]),
                  RNG.standard_normal((5, 3))),
    "stack": (lambda tr, m: tr.StackTransform([tr.ExpTransform(), tr.TanhTransform(), tr.SoftplusTransform()],
                                              dim=1), RNG.standard_normal((4, 3, 2))),
    "cdf": (lambda tr, m: tr.CumulativeDistributionTransform(m.Normal(m.Normal(0.0, 1.0).loc + 0.5, 2.0)),
            RNG.standard_normal((4, 3))),
}


@pytest.mark.parametrize("name", sorted(MORE_TRANSFORMS))
def test_more_transforms(name):
    build, x = MORE_TRANSFORMS[name]
    t = build(td.distributions.transforms, td.distributions)
    u = build(T.distributions.transforms, T.distributions)
    y = _forward_inverse_logdet(t, u, x)
    if name != "cat-event":  # cat's check cannot join parts of different event_dim (torch's neither)
        assert bool(t.codomain.check(y).all())
    assert tuple(t.forward_shape(x.shape)) == tuple(u.forward_shape(x.shape))
    assert tuple(t.inverse_shape(y.shape)) == tuple(u.inverse_shape(tuple(y.shape)))
    c = t.with_cache(1)
    xt = td.tensor(x)
    assert c.inv(c(xt)) is xt


def test_corr_cholesky_transform_gradient():
    x = td.tensor(RNG.standard_normal(3), requires_grad=True)
    t = td.distributions.transforms.CorrCholeskyTransform()
    assert td.autograd.gradcheck(lambda v: t(v), (x,))
    assert td.autograd.gradcheck(lambda v: t.log_abs_det_jacobian(v, t(v)), (x,))
    with pytest.raises(ValueError, match="Input is not a flattend lower-diagonal number"):
        t.forward_shape((4,))


REGISTRY_CONSTRAINTS = {
    "real": lambda c: c.real, "positive": lambda c: c.positive, "nonnegative": lambda c: c.nonnegative,
    "greater_than": lambda c: c.greater_than(1.5), "greater_than_eq": lambda c: c.greater_than_eq(-1.0),
    "less_than": lambda c: c.less_than(2.0), "unit_interval": lambda c: c.unit_interval,
    "interval": lambda c: c.interval(-1.0, 3.0), "half_open_interval": lambda c: c.half_open_interval(0.0, 2.0),
    "simplex": lambda c: c.simplex, "corr_cholesky": lambda c: c.corr_cholesky,
    "real_vector": lambda c: c.real_vector, "independent": lambda c: c.independent(c.positive, 1),
    "cat": lambda c: c.cat([c.positive, c.interval(0.0, 2.0)], dim=-1, lengths=[3, 3]),
    "stack": lambda c: c.stack([c.positive, c.real, c.unit_interval], dim=-1),
    "lower_cholesky": lambda c: c.lower_cholesky,
}
REGISTRY_INPUTS = {"corr_cholesky": RNG.standard_normal((2, 3)), "stack": RNG.standard_normal((2, 3)),
                   "lower_cholesky": RNG.standard_normal((2, 3, 3))}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(REGISTRY_CONSTRAINTS))
def test_constraint_registries(registry, name):
    ours = getattr(td.distributions, registry)
    theirs = getattr(T.distributions, registry)
    c_ours = REGISTRY_CONSTRAINTS[name](td.distributions.constraints)
    c_theirs = REGISTRY_CONSTRAINTS[name](T.distributions.constraints)
    try:
        u = theirs(c_theirs)
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError, match=str(e)):
            ours(c_ours)
        return
    t = ours(c_ours)
    assert repr(t) == repr(u)
    x = REGISTRY_INPUTS.get(name, RNG.standard_normal((2, 6)))
    if name == "simplex" and registry == "biject_to":
        x = x[:, :5]
    y = _forward_inverse_logdet(t, u, x) if t.bijective else t(td.tensor(x))
    _close(y, u(T.tensor(x)))
    assert bool(c_ours.check(y).all())


def test_constraint_registry_register():
    reg = td.distributions.constraint_registry.ConstraintRegistry()
    C = td.distributions.constraints
    reg.register(C.positive, lambda c: td.distributions.transforms.SoftplusTransform())

    @reg.register(C.interval)
    def _factory(c):
        return td.distributions.transforms.AffineTransform(c.lower_bound, c.upper_bound - c.lower_bound)

    assert isinstance(reg(C.positive), td.distributions.transforms.SoftplusTransform)
    assert reg(C.interval(1.0, 3.0))(td.tensor(0.5)).item() == 2.0
    with pytest.raises(NotImplementedError, match="Cannot transform _Real constraints"):
        reg(C.real)


def test_transform_cache_and_shapes():
    t = td.distributions.transforms.ExpTransform(cache_size=1)
    x = td.tensor([1.0])
    y = t(x)
    assert t.inv(y) is x
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        td.distributions.transforms.ExpTransform(cache_size=2)
    r = td.distributions.transforms.ReshapeTransform((2, 3), (6,))
    assert tuple(r(td.zeros(4, 2, 3)).shape) == (4, 6)
    assert tuple(r.forward_shape((4, 2, 3))) == (4, 6) and tuple(r.inverse_shape((4, 6))) == (4, 2, 3)
    sb = td.distributions.transforms.StickBreakingTransform()
    assert tuple(sb.forward_shape((3,))) == (4,)
    assert abs(sb(td.tensor([0.3, -0.2, 1.0])).sum().item() - 1) < 1e-6


def test_transformed_distribution():
    D, DT = td.distributions, T.distributions
    loc, scale = LOC[:, 0], SCALE[:, 0]

    def make(m):
        base = m.distributions.Normal(m.tensor(loc), m.tensor(scale))
        tr = m.distributions.transforms
        return m.distributions.TransformedDistribution(base, [tr.AffineTransform(1.0, -2.0), tr.ExpTransform()])

    d, e = make(td), make(T)
    v = _pos(4, 3)
    _close(d.log_prob(td.tensor(v)), e.log_prob(T.tensor(v)))
    _close(d.cdf(td.tensor(v)), e.cdf(T.tensor(v)))
    q = RNG.uniform(0.1, 0.9, (4, 3))
    _close(d.icdf(td.tensor(q)), e.icdf(T.tensor(q)))
    assert tuple(d.rsample((5,)).shape) == (5, 3) and d.has_rsample
    assert repr(d.support) == repr(e.support)
    # a transform with event_dim 1 makes an Independent base
    sb = D.TransformedDistribution(D.Normal(td.zeros(2, 3), 1.0), D.transforms.StickBreakingTransform())
    sbt = DT.TransformedDistribution(DT.Normal(T.zeros(2, 3), 1.0), DT.transforms.StickBreakingTransform())
    assert tuple(sb.event_shape) == tuple(sbt.event_shape) and tuple(sb.batch_shape) == tuple(sbt.batch_shape)
    s = RNG.dirichlet([1.0, 1.0, 1.0, 1.0], 2)
    _close(sb.log_prob(td.tensor(s)), sbt.log_prob(T.tensor(s)), rtol=1e-5)


def test_straight_through_and_misc():
    D = td.distributions
    p = td.tensor([0.2, 0.3, 0.5], dtype=td.float64, requires_grad=True)
    s = D.OneHotCategoricalStraightThrough(p).rsample((4,))
    (s * td.tensor([1.0, 2.0, 3.0], dtype=td.float64)).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), 4 * np.array([1.0, 2.0, 3.0]) - 4 * np.dot(p.detach().numpy(),
                                                                                           [1.0, 2.0, 3.0]) / 1.0,
                               atol=1e-12)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert tuple(D.Normal(0.0, 1.0).sample_n(3).shape) == (3,)
    assert "sample_n will be deprecated" in str(w[0].message)
    u = D.Uniform(0.0, 1.0)
    assert math.isnan(u.mode.item())
    with pytest.raises(NotImplementedError):
        D.Gamma(1.0, 1.0).cdf(td.tensor(1.0))


@pytest.mark.parametrize("param", ["scale_tril", "covariance_matrix"])
def test_multivariate_normal_gradients_match_torch(param):
    mat = COV_L if param == "scale_tril" else COV
    v = RNG.standard_normal((5, 3))

    def grads(m):
        loc = m.tensor(LOC[:, 0], requires_grad=True)
        M = m.tensor(mat, requires_grad=True)
        d = m.distributions.MultivariateNormal(loc, **{param: M})
        q = m.distributions.MultivariateNormal(m.zeros(3, dtype=m.float64), covariance_matrix=m.tensor(COV * 2))
        (d.log_prob(m.tensor(v)).sum() + d.entropy() + m.distributions.kl_divergence(d, q)).backward()
        return loc.grad.numpy(), M.grad.numpy()

    for ours, theirs in zip(grads(td), grads(T)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
