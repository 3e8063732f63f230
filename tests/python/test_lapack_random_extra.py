"""LAPACK family (geqrf, orgqr / linalg.householder_product, ormqr, linalg.ldl_factor(_ex),
linalg.ldl_solve) and the tensor-parameter samplers (poisson, binomial) against torch 1.13."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like

DTYPES = [(torch.float32, 1e-4), (torch.float64, 1e-10)]


def _td(x):
    return td.tensor(x.contiguous().numpy())


def _close(a, b, tol):
    np.testing.assert_allclose(b.numpy(), a.numpy(), atol=tol, rtol=tol)


def _inputs(dt):
    g = torch.Generator().manual_seed(7)
    yield torch.randn(3, 5, 4, generator=g, dtype=dt), lambda t: t
    yield torch.randn(6, 4, generator=g, dtype=dt), lambda t: t
    # non-contiguous on our side too: a transposed view
    yield torch.randn(2, 4, 6, generator=g, dtype=dt).transpose(-1, -2), lambda t: t.transpose(-1, -2)


@pytest.mark.parametrize("dt,tol", DTYPES)
def test_geqrf_orgqr_householder_product(dt, tol):
    for M, view in _inputs(dt):
        src = M.transpose(-1, -2).contiguous() if view(M) is not M else M
        tM = view(_td(src))
        assert not tM.is_contiguous() or view(M) is M
        a, tau = torch.geqrf(M)
        a2, tau2 = td.geqrf(tM)
        _close(a, a2, tol * 10)
        _close(tau, tau2, tol * 10)
        _close(torch.linalg.householder_product(a, tau), td.linalg.householder_product(a2, tau2), tol * 10)
        _close(torch.orgqr(a, tau), td.orgqr(a2, tau2), tol * 10)
        _close(torch.orgqr(a, tau[..., :2]), td.orgqr(a2, tau2[..., :2]), tol * 10)


@pytest.mark.parametrize("dt,tol", DTYPES)
def test_ormqr(dt, tol):
    g = torch.Generator().manual_seed(3)
    for M, _ in _inputs(dt):
        a, tau = torch.geqrf(M)
        a2, tau2 = td.geqrf(_td(M))
        C = torch.randn(*M.shape[:-2], M.shape[-2], 3, generator=g, dtype=dt)
        for left in (True, False):
            CC = C if left else C.transpose(-1, -2)
            for tr in (False, True):
                want = torch.ormqr(a, tau, CC, left=left, transpose=tr)
                got = td.ormqr(a2, tau2, _td(CC), left=left, transpose=tr)
                _close(want, got, tol * 10)


@pytest.mark.parametrize("dt,tol", DTYPES)
@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_factor_and_solve(dt, tol, hermitian):
    g = torch.Generator().manual_seed(11)
    B = torch.randn(3, 5, 5, generator=g, dtype=dt)
    S = B + B.transpose(-1, -2)
    LD, piv = torch.linalg.ldl_factor(S, hermitian=hermitian)
    LD2, piv2 = td.linalg.ldl_factor(_td(S), hermitian=hermitian)
    _close(LD, LD2, tol * 10)
    assert piv2.dtype == td.int32
    assert piv2.tolist() == piv.tolist()
    ex = td.linalg.ldl_factor_ex(_td(S), hermitian=hermitian)
    assert ex.info.tolist() == torch.linalg.ldl_factor_ex(S, hermitian=hermitian).info.tolist()
    rhs = torch.randn(3, 5, 2, generator=g, dtype=dt)
    X = td.linalg.ldl_solve(LD2, piv2, _td(rhs), hermitian=hermitian)
    _close(torch.linalg.ldl_solve(LD, piv, rhs, hermitian=hermitian), X, tol * 1000)
    np.testing.assert_allclose((S @ torch.from_numpy(X.numpy())).numpy(), rhs.numpy(), atol=tol * 1000)


def test_lapack_argument_errors():
    for fn in (lambda m: m.geqrf(m.ones(3)),
               lambda m: m.linalg.householder_product(m.ones(2, 3), m.ones(2)),
               lambda m: m.linalg.ldl_factor(m.ones(2, 3)),
               lambda m: m.linalg.ldl_factor(m.ones(2, 2, dtype=m.int64))):
        assert_raises_like(lambda: fn(td), lambda: fn(torch))


def test_poisson_seed_and_generator():
    lam = td.full((1000,), 3.5)
    td.manual_seed(5)
    a = td.poisson(lam).tolist()
    td.manual_seed(5)
    assert td.poisson(lam).tolist() == a
    g1 = td.Generator().manual_seed(9)
    g2 = td.Generator().manual_seed(9)
    assert td.poisson(lam, generator=g1).tolist() == td.poisson(lam, generator=g2).tolist()


@pytest.mark.parametrize("rate", [0.0, 0.7, 4.0, 25.0, 400.0])
def test_poisson_moments(rate):
    td.manual_seed(1)
    x = td.poisson(td.full((40000,), rate, dtype=td.float64)).numpy()
    assert x.dtype == np.float64 and (x == np.round(x)).all() and (x >= 0).all()
    se = np.sqrt(max(rate, 1e-9) / x.size)
    assert abs(x.mean() - rate) < 6 * se + 1e-12
    if rate > 0:
        assert abs(x.var() / rate - 1) < 0.06


@pytest.mark.parametrize("n,p", [(1.0, 0.5), (30.0, 0.3), (30.0, 0.9), (1000.0, 0.3), (5.0, 0.0), (5.0, 1.0)])
def test_binomial_moments_and_seed(n, p):
    count, prob = td.full((40000,), n), td.full((40000,), p)
    td.manual_seed(2)
    b = td.binomial(count, prob)
    td.manual_seed(2)
    assert td.binomial(count, prob).tolist() == b.tolist()
    g = td.Generator().manual_seed(4)
    g2 = td.Generator().manual_seed(4)
    assert td.binomial(count, prob, generator=g).tolist() == td.binomial(count, prob, generator=g2).tolist()
    x = b.numpy().astype(np.float64)
    assert b.dtype == td.float32 and (x >= 0).all() and (x <= n).all()
    mean, var = n * p, n * p * (1 - p)
    assert abs(x.mean() - mean) < 6 * np.sqrt(var / x.size) + 1e-9
    if var > 0:
        assert abs(x.var() / var - 1) < 0.06


def test_random_argument_errors():
    for fn in (lambda m: m.poisson(m.tensor([-1.0])),
               lambda m: m.poisson(m.tensor([1, 2])),
               lambda m: m.binomial(m.tensor([3]), m.tensor([0.5]))):
        assert_raises_like(lambda: fn(td), lambda: fn(torch))
