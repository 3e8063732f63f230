"""Gradients of the factorizations and the solvers built on them (autograd/formula_linalg.c):
each checked against finite differences (gradcheck, gradgradcheck in float64) and against
PyTorch 1.13's gradients for the same inputs.  Losses of singular vectors, eigenvectors
and Q, R use their squares, which do not depend on the sign LAPACK gives each column;
torch's errors for the cases it does not differentiate are compared too."""
import numpy as np
import pytest
import torch as T

import tensord as td


def _spd(m, a):
    n = a.shape[-1]
    return a @ a.mT + n * m.eye(n, dtype=a.dtype)


def _sym(m, a):
    return a + a.mT


def _tri(m, a, upper):
    n = a.shape[-1]
    return (m.triu(a) if upper else m.tril(a)) + 3 * m.eye(n, dtype=a.dtype)


# name -> (function of the module and the inputs, returning a tuple of tensors, input shapes)
CASES = {
    "cholesky": (lambda m, a: (m.linalg.cholesky(_spd(m, a)),), [(3, 3)]),
    "cholesky_upper_batched": (lambda m, a: (m.linalg.cholesky(_spd(m, a), upper=True),), [(2, 4, 4)]),
    "cholesky_ex": (lambda m, a: (m.linalg.cholesky_ex(_spd(m, a)).L,), [(2, 3, 3)]),
    "cholesky_solve": (lambda m, a, b: (m.cholesky_solve(b, m.linalg.cholesky(_spd(m, a))),), [(3, 3), (3, 2)]),
    "cholesky_inverse": (lambda m, a: (m.cholesky_inverse(m.linalg.cholesky(_spd(m, a))),), [(3, 3)]),
    "qr_tall": (lambda m, a: tuple(x ** 2 for x in m.linalg.qr(a)), [(2, 5, 3)]),
    "qr_square": (lambda m, a: tuple(x ** 2 for x in m.linalg.qr(a)), [(3, 3)]),
    "qr_wide": (lambda m, a: tuple(x ** 2 for x in m.linalg.qr(a)), [(2, 3, 5)]),
    "qr_wide_complete": (lambda m, a: tuple(x ** 2 for x in m.linalg.qr(a, mode="complete")), [(3, 4)]),
    "qr_r_only": (lambda m, a: (m.linalg.qr(a)[1] ** 2,), [(4, 3)]),
    "svd_square": (lambda m, a: _svd_loss(m, a, False), [(3, 3)]),
    "svd_tall": (lambda m, a: _svd_loss(m, a, False), [(2, 5, 3)]),
    "svd_wide": (lambda m, a: _svd_loss(m, a, False), [(2, 3, 5)]),
    "svd_full_matrices": (lambda m, a: _svd_loss(m, a, True), [(4, 3)]),
    "svd_legacy": (lambda m, a: (m.svd(a)[0] ** 2, m.svd(a)[1], m.svd(a)[2] ** 2), [(4, 3)]),
    "svdvals": (lambda m, a: (m.linalg.svdvals(a),), [(2, 3, 4)]),
    "svd_u_vh_product": (lambda m, a: (m.linalg.svd(a, full_matrices=False)[0]
                                       @ m.linalg.svd(a, full_matrices=False)[2],), [(4, 3)]),
    "pinv": (lambda m, a: (m.linalg.pinv(a),), [(2, 4, 3)]),
    "matrix_norm_nuc": (lambda m, a: (m.linalg.matrix_norm(a, "nuc"),), [(2, 3, 4)]),
    "matrix_norm_2": (lambda m, a: (m.linalg.matrix_norm(a, 2), m.linalg.norm(a, -2)), [(3, 4)]),
    "cond": (lambda m, a: (m.linalg.cond(a),), [(3, 3)]),
    "eigh": (lambda m, a: (m.linalg.eigh(_sym(m, a))[0], m.linalg.eigh(_sym(m, a))[1] ** 2), [(2, 4, 4)]),
    "eigh_upper": (lambda m, a: (m.linalg.eigh(_sym(m, a), UPLO="U")[1] ** 2,), [(3, 3)]),
    "eigh_vectors_product": (lambda m, a: (_eig_recompose(m, _sym(m, a)),), [(3, 3)]),
    "eigvalsh": (lambda m, a: (m.linalg.eigvalsh(_sym(m, a)),), [(2, 3, 3)]),
    "lstsq_tall": (lambda m, a, b: (m.linalg.lstsq(a, b).solution,), [(2, 5, 3), (2, 5, 2)]),
    "lstsq_wide": (lambda m, a, b: (m.linalg.lstsq(a, b).solution,), [(3, 5), (3, 2)]),
    "lstsq_broadcast": (lambda m, a, b: (m.linalg.lstsq(a, b).solution,), [(1, 4, 3), (2, 4, 2)]),
    "lstsq_gelsd": (lambda m, a, b: (m.linalg.lstsq(a, b, driver="gelsd").solution,), [(5, 3), (5, 2)]),
    "lu_factor": (lambda m, a: (m.linalg.lu_factor(a)[0],), [(2, 4, 4)]),
    "lu_factor_tall": (lambda m, a: (m.linalg.lu_factor(a)[0],), [(2, 5, 3)]),
    "lu_factor_wide": (lambda m, a: (m.linalg.lu_factor(a)[0],), [(2, 3, 5)]),
    "linalg_lu": (lambda m, a: m.linalg.lu(a)[1:], [(3, 3)]),
    "linalg_lu_tall": (lambda m, a: m.linalg.lu(a)[1:], [(5, 2)]),
    "linalg_lu_wide": (lambda m, a: m.linalg.lu(a)[1:], [(2, 4)]),
    "lu_unpack": (lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a))[1:], [(2, 3, 3)]),
    "lu_solve": (lambda m, a, b: (m.linalg.lu_solve(*m.linalg.lu_factor(a), b),), [(2, 3, 3), (2, 3, 2)]),
    "lu_solve_adjoint": (lambda m, a, b: (m.linalg.lu_solve(*m.linalg.lu_factor(a), b, adjoint=True),),
                         [(3, 3), (3, 2)]),
    "lu_solve_right": (lambda m, a, b: (m.linalg.lu_solve(*m.linalg.lu_factor(a), b, left=False),),
                       [(3, 3), (2, 3)]),
    "lu_solve_legacy": (lambda m, a, b: (m.lu_solve(b, *m.linalg.lu_factor(a)),), [(3, 3), (3, 2)]),
    "solve_triangular_upper": (lambda m, a, b: (m.linalg.solve_triangular(_tri(m, a, True), b, upper=True),),
                               [(2, 3, 3), (2, 3, 2)]),
    "solve_triangular_lower_right": (lambda m, a, b: (m.linalg.solve_triangular(_tri(m, a, False), b, upper=False,
                                                                                left=False),), [(3, 3), (2, 3)]),
    "solve_triangular_unit": (lambda m, a, b: (m.linalg.solve_triangular(a, b, upper=False, unitriangular=True),),
                              [(3, 3), (3, 2)]),
    "solve_triangular_dense": (lambda m, a, b: (m.linalg.solve_triangular(a + 3 * m.eye(3, dtype=a.dtype), b,
                                                                          upper=True),), [(3, 3), (3, 1)]),
    "triangular_solve_transpose": (lambda m, a, b: (m.triangular_solve(b, _tri(m, a, True), transpose=True)[0],),
                                   [(3, 3), (3, 2)]),
    "householder_product": (lambda m, a, t: (m.linalg.householder_product(a, t),), [(5, 3), (2,)]),
    "householder_product_batched": (lambda m, a, t: (m.orgqr(a, t),), [(2, 4, 4), (2, 4)]),
    # geqrf's reflectors (orthogonal: tau = 2 / |v|^2) perturbed
    "householder_product_of_geqrf": (lambda m, a: (m.linalg.householder_product(*_geqrf_of(m, a)),), [(4, 3)]),
    "matrix_exp": (lambda m, a: (m.matrix_exp(a),), [(3, 3)]),
    "matrix_exp_batched": (lambda m, a: (m.linalg.matrix_exp(a * 2),), [(2, 4, 4)]),
}


def _geqrf_of(m, a):
    q, tau = m.geqrf(m.tensor(np.arange(1.0, 13.0).reshape(4, 3) ** 0.5, dtype=m.float64))
    return q + a * 1e-3, tau


def _svd_loss(m, a, full):
    U, S, Vh = m.linalg.svd(a, full_matrices=full)
    k = S.shape[-1]
    return U[..., :, :k] ** 2, S, Vh[..., :k, :] ** 2


def _eig_recompose(m, a):
    w, V = m.linalg.eigh(a)
    return (V * m.exp(w).unsqueeze(-2)) @ V.mT


def _arrays(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    return [rng.standard_normal(s) for s in CASES[name][1]]


def _loss(m, name, xs):
    outs = CASES[name][0](m, *xs)
    rng = np.random.default_rng(5)
    total = 0
    for o in outs:
        w = m.tensor(rng.uniform(-1.0, 1.0, tuple(o.shape)), dtype=o.dtype)
        total = total + (o * w).sum()
    return total


def _grads(m, name, arrays):
    xs = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays]
    _loss(m, name, xs).backward()
    return [x.grad.numpy() for x in xs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_pytorch(name):
    arrays = _arrays(name)
    for g, r in zip(_grads(td, name, arrays), _grads(T, name, arrays)):
        np.testing.assert_allclose(g, r, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    xs = [td.tensor(a, dtype=td.float64, requires_grad=True) for a in _arrays(name)]
    assert td.autograd.gradcheck(lambda *a: _loss(td, name, a), xs)


GRADGRAD = ["cholesky", "qr_tall", "qr_wide", "svd_tall", "svdvals", "eigh", "lstsq_tall", "lu_factor", "lu_factor_tall",
            "lu_factor_wide", "lu_solve", "householder_product",
            "solve_triangular_upper", "matrix_exp"]


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    xs = [td.tensor(a, dtype=td.float64, requires_grad=True) for a in _arrays(name)]
    assert td.autograd.gradgradcheck(lambda *a: _loss(td, name, a), xs)


@pytest.mark.parametrize("name", GRADGRAD)
def test_second_derivatives_match_pytorch(name):
    arrays = _arrays(name)
    res = []
    for m in (td, T):
        xs = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays]
        gs = m.autograd.grad(_loss(m, name, xs), xs, create_graph=True)
        rng = np.random.default_rng(9)
        total = sum((g * m.tensor(rng.uniform(-1.0, 1.0, tuple(g.shape)), dtype=g.dtype)).sum() for g in gs)
        res.append([h.numpy() for h in m.autograd.grad(total, xs)])
    for g, r in zip(*res):
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-8)


def test_singular_values_of_repeated_values_have_finite_gradients():
    # only S is used: the singular vectors' terms (1 / (s_j^2 - s_i^2)) stay out, as in torch
    for m in (td, T):
        a = m.eye(3, dtype=m.float64, requires_grad=True)
        m.linalg.svdvals(a).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), np.eye(3))
        b = m.eye(3, dtype=m.float64, requires_grad=True)
        m.linalg.eigvalsh(b * 2).sum().backward()
        np.testing.assert_allclose(b.grad.numpy(), 2 * np.eye(3))


def test_float32_gradients_match_pytorch():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 4, 3)).astype(np.float32)
    ours, theirs = [], []
    for m, out in ((td, ours), (T, theirs)):
        x = m.tensor(a, requires_grad=True)
        U, S, Vh = m.linalg.svd(x, full_matrices=False)
        ((U @ Vh) * 2 + m.linalg.qr(x)[1].sum() + m.linalg.cholesky(x.mT @ x).sum()).sum().backward()
        out.append(x.grad.numpy())
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fn,shape", [
    (lambda m, a: m.linalg.qr(a, mode="r")[1], (4, 3)),
    (lambda m, a: m.linalg.qr(a, mode="complete")[0], (4, 3)),
    (lambda m, a: m.linalg.qr(a, mode="complete")[1], (4, 3)),
])
def test_errors_match_pytorch(fn, shape):
    a = np.random.default_rng(0).standard_normal(shape)
    msgs = []
    for m in (td, T):
        x = m.tensor(a, requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            fn(m, x).sum().backward()
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


def test_grad_fn_names_match_pytorch():
    fns = [lambda m, a: m.linalg.cholesky(a), lambda m, a: m.matrix_exp(a), lambda m, a: m.linalg.qr(a)[0],
           lambda m, a: m.linalg.svd(a)[1], lambda m, a: m.linalg.eigh(a)[1],
           lambda m, a: m.linalg.lu_factor(a)[0], lambda m, a: m.linalg.lu_solve(*m.linalg.lu_factor(a), a),
           lambda m, a: m.linalg.solve_triangular(a, a, upper=True),
           lambda m, a: m.linalg.householder_product(a, a[0])]
    for fn in fns:
        names = [fn(m, m.eye(3, dtype=m.float64, requires_grad=True) * 2).grad_fn.name() for m in (td, T)]
        assert names[0] == names[1]
