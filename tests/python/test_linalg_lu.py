"""The LINALG_LU rows (LU_FACTOR, LU_SOLVE, TRIANGULAR_SOLVE, MATRIX_EXP) against torch 1.13:
every LAPACK dtype, batched, strided and broadcast operands, singular and non-square
input, empty matrices, the info outputs, and torch's exception types and messages (those
the client words and those only the kernel can find, raised at the next sync)."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, from_torch

warnings.filterwarnings("ignore", message="torch.(lu|lu_solve|triangular_solve) is deprecated")

RNG = np.random.default_rng(23)
DTS = ["float32", "float64", "complex64", "complex128"]
TOL = {"float32": 2e-4, "float64": 1e-10, "complex64": 2e-4, "complex128": 1e-10}


def mk(shape, dt, strided=False, scale=1.0):
    """(tensord, torch) tensors with the same values; strided: column-major matrices."""
    a = RNG.standard_normal(shape)
    if dt.startswith("complex"):
        a = a + 1j * RNG.standard_normal(shape)
    t = torch.tensor(a * scale).to(getattr(torch, dt))
    if strided and t.ndim >= 2:
        t = t.mT.contiguous().mT
        return from_torch(t.mT.contiguous()).mT, t
    return from_torch(t), t


def npy(x):
    return x.numpy() if isinstance(x, td.Tensor) else x.resolve_conj().numpy()


def close(got, want, dt, scale=1.0):
    assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
    tol = TOL[dt] * scale
    np.testing.assert_allclose(npy(got), npy(want), rtol=tol, atol=tol)


def same(got, want):
    assert str(got.dtype) == str(want.dtype) and got.tolist() == want.tolist(), (got, want)


# ---------------------------------------------------------------- LU_FACTOR

@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("shape", [(4, 4), (3, 5, 5), (2, 3, 4, 2), (2, 2, 5), (1, 1), (0, 0), (2, 0, 3), (3, 0)],
                         ids=str)
def test_lu_factor(dt, shape):
    a, ta = mk(shape, dt, strided=True)
    r, tr = td.linalg.lu_factor_ex(a), torch.linalg.lu_factor_ex(ta)
    close(r.LU, tr.LU, dt, 10)
    same(r.pivots, tr.pivots)
    same(r.info, tr.info)
    p, l, u = td.linalg.lu(a)
    for got, want in zip((p, l, u), torch.linalg.lu(ta)):
        close(got, want, dt, 10)
    lu, piv, info = td.lu(a, get_infos=True)
    tlu, tpiv, tinfo = torch.lu(ta, get_infos=True)
    close(lu, tlu, dt, 10)
    same(piv, tpiv)
    same(info, tinfo)


@pytest.mark.parametrize("dt", DTS)
def test_lu_factor_expanded_and_out(dt):
    a, ta = mk((3, 3), dt)
    a, ta = a.expand(2, 3, 3), ta.expand(2, 3, 3)
    r, tr = td.linalg.lu_factor(a), torch.linalg.lu_factor(ta)
    close(r.LU, tr.LU, dt, 10)
    same(r.pivots, tr.pivots)
    o = (td.empty(0, dtype=a.dtype), td.empty(0, dtype=td.int32))
    td.linalg.lu_factor(a, out=o)
    close(o[0], tr.LU, dt, 10)
    same(o[1], tr.pivots)


@pytest.mark.parametrize("dt", DTS)
def test_lu_factor_singular(dt):
    a, ta = mk((3, 4, 4), dt)
    a[1, :, 2] = 0
    ta[1, :, 2] = 0
    a[2] = 0
    ta[2] = 0
    r, tr = td.linalg.lu_factor_ex(a), torch.linalg.lu_factor_ex(ta)
    same(r.info, tr.info)
    same(r.pivots, tr.pivots)
    close(r.LU, tr.LU, dt, 10)
    for fn in (lambda m, x: m.linalg.lu_factor(x), lambda m, x: m.linalg.lu_factor_ex(x, check_errors=True)):
        assert_raises_like(lambda: fn(td, a), lambda: fn(torch, ta))
        assert_raises_like(lambda: fn(td, a[2]), lambda: fn(torch, ta[2]))
    lu, piv, info = td.lu(a, get_infos=True)
    same(info, torch.lu(ta, get_infos=True)[2])
    close(td.lu(a)[0], torch.lu(ta)[0], dt, 10)  # torch.lu does not raise for a singular A
    sing = torch.tensor([[1., 2.], [2., 4.]])
    r, tr = td.linalg.lu_factor_ex(from_torch(sing)), torch.linalg.lu_factor_ex(sing)
    same(r.info, tr.info)
    same(r.pivots, tr.pivots)


def test_lu_factor_errors():
    cases = [torch.ones(3), torch.ones(3, 3, dtype=torch.int64), torch.ones(3, 3, dtype=torch.float16),
             torch.ones(2, 3, 3, dtype=torch.bfloat16), torch.ones(3, 3, dtype=torch.int32)]
    for t in cases:
        x = from_torch(t)
        assert_raises_like(lambda: td.linalg.lu_factor(x), lambda: torch.linalg.lu_factor(t))
        assert_raises_like(lambda: td.linalg.lu_factor_ex(x), lambda: torch.linalg.lu_factor_ex(t))
        assert_raises_like(lambda: td.linalg.lu(x), lambda: torch.linalg.lu(t))
        assert_raises_like(lambda: td.lu(x), lambda: torch.lu(t))
    t = torch.ones(3, 3)
    x = from_torch(t)
    assert_raises_like(lambda: td.linalg.lu_factor(x, pivot=False), lambda: torch.linalg.lu_factor(t, pivot=False))
    assert_raises_like(lambda: td.linalg.lu(x, pivot=False), lambda: torch.linalg.lu(t, pivot=False))
    assert_raises_like(lambda: td.lu(x, pivot=False), lambda: torch.lu(t, pivot=False))
    assert_raises_like(lambda: td.linalg.lu_factor([1.0]), lambda: torch.linalg.lu_factor([1.0]))


# ---------------------------------------------------------------- LU_SOLVE

@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("lu_batch,b_batch", [((), ()), ((3,), (3,)), ((2, 1), (4,)), ((), (2, 3)), ((2,), ())],
                         ids=str)
def test_lu_solve(dt, lu_batch, b_batch):
    n = 4
    a, ta = mk(lu_batch + (n, n), dt, strided=True)
    lu, piv = td.linalg.lu_factor(a)
    tlu, tpiv = torch.linalg.lu_factor(ta)
    b, tb = mk(b_batch + (n, 3), dt)
    c, tc = mk(b_batch + (2, n), dt, strided=True)
    for adjoint in (False, True):
        close(td.linalg.lu_solve(lu, piv, b, adjoint=adjoint), torch.linalg.lu_solve(tlu, tpiv, tb, adjoint=adjoint),
              dt, 100)
        close(td.linalg.lu_solve(lu, piv, c, left=False, adjoint=adjoint),
              torch.linalg.lu_solve(tlu, tpiv, tc, left=False, adjoint=adjoint), dt, 100)
    close(td.lu_solve(b, lu, piv), torch.lu_solve(tb, tlu, tpiv), dt, 100)
    close(b.lu_solve(lu, piv), tb.lu_solve(tlu, tpiv), dt, 100)


def test_lu_solve_empty_and_singular():
    lu, piv = td.linalg.lu_factor(td.zeros(2, 0, 0))
    assert tuple(td.linalg.lu_solve(lu, piv, td.zeros(2, 0, 3)).shape) == (2, 0, 3)
    s = torch.tensor([[1., 2.], [2., 4.]])
    tlu, tpiv, _ = torch.linalg.lu_factor_ex(s)
    lu, piv, _ = td.linalg.lu_factor_ex(from_torch(s))
    b = torch.tensor([[1.], [1.]])
    want = torch.linalg.lu_solve(tlu, tpiv, b)
    got = td.linalg.lu_solve(lu, piv, from_torch(b))
    np.testing.assert_array_equal(np.isfinite(got.numpy()), np.isfinite(want.numpy()))


def test_lu_solve_errors():
    tlu, tpiv = torch.linalg.lu_factor(torch.randn(2, 3, 3))
    lu, piv = from_torch(tlu), from_torch(tpiv)
    B = torch.randn(2, 3, 2)
    bad = [
        (tlu, tpiv, torch.randn(3)), (tlu, tpiv, torch.randn(2, 4, 2)), (tlu, tpiv.long(), B),
        (tlu, tpiv[..., :2], B), (tlu, tpiv[0], B), (tlu, tpiv, B.double()), (tlu[..., :2], tpiv, B),
        (tlu.int(), tpiv, B.int()), (tlu[0, 0], tpiv, B), (tlu.half(), tpiv, B.half()),
        (tlu, tpiv, B.to(torch.complex64)), (tlu, tpiv[..., :2], torch.randn(2, 4, 2)),
        (tlu, tpiv.long()[..., :2], B),
    ]
    for tl, tp, tb in bad:
        assert_raises_like(lambda: td.linalg.lu_solve(from_torch(tl), from_torch(tp), from_torch(tb)),
                           lambda: torch.linalg.lu_solve(tl, tp, tb))
    assert_raises_like(lambda: td.linalg.lu_solve(lu, piv, td.ones(2, 2, 4), left=False),
                       lambda: torch.linalg.lu_solve(tlu, tpiv, torch.ones(2, 2, 4), left=False))
    # out-of-range pivots: found by the kernel, raised at the next sync with torch's message
    for p in (tpiv * 0, tpiv * 0 + 7):
        assert_raises_like(lambda: td.linalg.lu_solve(lu, from_torch(p), from_torch(B)).tolist(),
                           lambda: torch.linalg.lu_solve(tlu, p, B))
    close(td.linalg.lu_solve(lu, piv, from_torch(B)), torch.linalg.lu_solve(tlu, tpiv, B), "float32", 100)


# ---------------------------------------------------------------- TRIANGULAR_SOLVE

def tri_pair(shape, dt):
    a, ta = mk(shape, dt, strided=True)
    n = shape[-1]
    return a + 3 * td.eye(n, dtype=a.dtype), ta + 3 * torch.eye(n, dtype=ta.dtype)


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("a_batch,b_batch", [((), ()), ((2,), (2,)), ((2, 1), (3,)), ((), (2,)), ((3,), ())],
                         ids=str)
def test_solve_triangular(dt, a_batch, b_batch):
    n = 4
    a, ta = tri_pair(a_batch + (n, n), dt)
    b, tb = mk(b_batch + (n, 3), dt)
    c, tc = mk(b_batch + (2, n), dt, strided=True)
    for upper in (False, True):
        for unit in (False, True):
            close(td.linalg.solve_triangular(a, b, upper=upper, unitriangular=unit),
                  torch.linalg.solve_triangular(ta, tb, upper=upper, unitriangular=unit), dt, 100)
            close(td.linalg.solve_triangular(a, c, upper=upper, left=False, unitriangular=unit),
                  torch.linalg.solve_triangular(ta, tc, upper=upper, left=False, unitriangular=unit), dt, 100)
            for tr in (False, True):
                x, tx = td.triangular_solve(b, a, upper, tr, unit), torch.triangular_solve(tb, ta, upper, tr, unit)
                close(x.solution, tx.solution, dt, 100)
                close(x.cloned_coefficient, tx.cloned_coefficient, dt)


def test_solve_triangular_promotion_singular_empty():
    # torch 1.13 solves in A's dtype, whatever B's (a complex B loses its imaginary part)
    for da, db in (("float64", "complex64"), ("float32", "float64"), ("complex64", "float64"),
                   ("float64", "float32")):
        a, ta = tri_pair((3, 3), da)
        b, tb = mk((3, 2), db)
        for left in (True, False):
            bb, tbb = (b, tb) if left else (b.mT, tb.mT)
            close(td.linalg.solve_triangular(a, bb, upper=True, left=left),
                  torch.linalg.solve_triangular(ta, tbb, upper=True, left=left), da, 100)
    z = torch.triu(torch.randn(3, 3))
    z[1, 1] = 0
    bz = torch.randn(3, 2)
    want = torch.linalg.solve_triangular(z, bz, upper=True)
    got = td.linalg.solve_triangular(from_torch(z), from_torch(bz), upper=True)
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # inf/-inf/finite as BLAS leaves them
    want = torch.triangular_solve(bz, z).solution
    np.testing.assert_array_equal(td.triangular_solve(from_torch(bz), from_torch(z)).solution.numpy(), want.numpy())
    e = td.linalg.solve_triangular(td.zeros(2, 0, 0), td.zeros(2, 0, 3), upper=False)
    assert tuple(e.shape) == (2, 0, 3)
    out = td.empty(0)
    td.linalg.solve_triangular(from_torch(z), from_torch(bz), upper=True, out=out)
    np.testing.assert_array_equal(out.numpy(), want.numpy())


def test_triangular_errors():
    A, B = torch.randn(3, 3), torch.randn(3, 2)
    cases = [(A, torch.randn(3)), (torch.randn(3), B), (A.long(), B.long()), (A.int(), B), (A.half(), B.half()),
             (torch.randn(3, 4), B), (A, torch.randn(4, 2)), (torch.randn(2, 3), torch.randn(3, 2).int()),
             (torch.randn(2, 3, 3), torch.randn(5, 3, 2))]
    for ta, tb in cases:
        assert_raises_like(lambda: td.linalg.solve_triangular(from_torch(ta), from_torch(tb), upper=True),
                           lambda: torch.linalg.solve_triangular(ta, tb, upper=True))
        assert_raises_like(lambda: td.triangular_solve(from_torch(tb), from_torch(ta)),
                           lambda: torch.triangular_solve(tb, ta))
    assert_raises_like(lambda: td.linalg.solve_triangular(from_torch(A), td.ones(2, 4), upper=True, left=False),
                       lambda: torch.linalg.solve_triangular(A, torch.ones(2, 4), upper=True, left=False))
    assert_raises_like(lambda: td.triangular_solve(from_torch(B), from_torch(A.double())),
                       lambda: torch.triangular_solve(B, A.double()))


# ---------------------------------------------------------------- MATRIX_EXP

# norms that pick each Pade degree (3, 5, 7, 9, 13) and the scaled path
@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("scale", [0.001, 0.05, 0.3, 0.8, 1.5, 4.0], ids=str)
def test_matrix_exp(dt, scale):
    a, ta = mk((2, 3, 5, 5), dt, strided=True, scale=scale)
    want = torch.matrix_exp(ta.to(torch.complex128 if dt.startswith("complex") else torch.float64))
    want = want.to(ta.dtype)  # the float64 result: torch's float32 one is less accurate than ours
    close(td.matrix_exp(a), want, dt, 10)
    close(td.linalg.matrix_exp(a[0, 1]), want[0, 1], dt, 10)
    close(a.matrix_exp(), torch.linalg.matrix_exp(ta), dt, 1e3 if scale > 1 else 10)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 17])
def test_matrix_exp_sizes(n):
    a, ta = mk((n, n), "float64", scale=2.0)
    close(td.matrix_exp(a), torch.matrix_exp(ta), "float64", 100)
    close(td.matrix_exp(a.expand(3, n, n)), torch.matrix_exp(ta.expand(3, n, n)), "float64", 100)


def test_matrix_exp_special():
    for shape in ((0, 0), (2, 0, 0), (3, 1, 1)):
        a, ta = mk(shape, "float32")
        close(td.matrix_exp(a), torch.matrix_exp(ta), "float32")
    d = torch.diag(torch.tensor([1.0, -2.0, 30.0], dtype=torch.float64))
    close(td.matrix_exp(from_torch(d)), torch.matrix_exp(d), "float64")
    nil = torch.tensor([[0., 1., 0.], [0., 0., 1.], [0., 0., 0.]])  # nilpotent: I + N + N^2/2 exactly
    close(td.matrix_exp(from_torch(nil)), torch.matrix_exp(nil), "float32")
    inf = torch.tensor([[float("inf"), 1.], [0., 1.]])
    np.testing.assert_array_equal(td.matrix_exp(from_torch(inf)).numpy(), torch.matrix_exp(inf).numpy())
    for t in (torch.ones(2, 2, dtype=torch.int64), torch.ones(2, 3), torch.ones(3), torch.ones(2, 3).long(),
              torch.ones(3, 3, dtype=torch.int32)):
        assert_raises_like(lambda: td.matrix_exp(from_torch(t)), lambda: torch.matrix_exp(t))
        assert_raises_like(lambda: td.linalg.matrix_exp(from_torch(t)), lambda: torch.linalg.matrix_exp(t))
    assert_raises_like(lambda: td.matrix_exp([1.0]), lambda: torch.matrix_exp([1.0]))
