"""tensord.linalg (LAPACK-backed ops and their compositions) against torch 1.13: batched
shapes, empty matrices, strided and expanded operands, float32/float64, result types,
singular-input LinAlgErrors raised at the call, and shape/dtype error messages."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, from_torch

RNG = np.random.default_rng(5)
TOL = {"float32": dict(rtol=2e-4, atol=2e-4), "float64": dict(rtol=1e-9, atol=1e-9)}
BATCHES = [(), (2,), (2, 3)]


def mk(shape, dt="float64", kind="general"):
    """(tensord, torch) matrices: general, spd (positive definite) or sym (symmetric)."""
    a = RNG.standard_normal(shape)
    if kind in ("spd", "sym") and len(shape) >= 2:
        a = a + np.swapaxes(a, -1, -2)
        if kind == "spd":
            a = a + 2 * shape[-1] * np.eye(shape[-1])
    t = torch.tensor(a).to(getattr(torch, dt))
    return from_torch(t), t


def close(got, want, dt, scale=1.0):
    r = TOL[dt]
    assert_same(got, want, rtol=r["rtol"] * scale, atol=r["atol"] * scale)


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("batch", BATCHES, ids=str)
@pytest.mark.parametrize("n", [0, 1, 4])
def test_inv_det_slogdet_solve(dt, batch, n):
    a, ta = mk(batch + (n, n), dt)
    b, tb = mk(batch + (n, 2), dt)
    close(td.linalg.inv(a), torch.linalg.inv(ta), dt, 10)
    close(td.inverse(a), torch.inverse(ta), dt, 10)
    close(td.linalg.det(a), torch.linalg.det(ta), dt, 10)
    close(a.det(), ta.det(), dt, 10)
    s, ts = td.linalg.slogdet(a), torch.linalg.slogdet(ta)
    close(s.sign, ts.sign, dt)
    close(s.logabsdet, ts.logabsdet, dt, 10)
    close(td.linalg.solve(a, b), torch.linalg.solve(ta, tb), dt, 10)
    close(td.linalg.solve(a.mT, b), torch.linalg.solve(ta.mT, tb), dt, 10)  # strided A
    x, tx = td.linalg.inv_ex(a), torch.linalg.inv_ex(ta)
    assert_same(x.info, tx.info)


def test_solve_broadcast_and_vectors():
    a, ta = mk((2, 3, 3))
    for shape in [(3,), (2, 3), (5, 1, 3, 2), (3, 4), (1, 3, 1)]:
        b, tb = mk(shape)
        close(td.linalg.solve(a, b), torch.linalg.solve(ta, tb), "float64")
    b, tb = mk((2, 4, 3))
    close(td.linalg.solve(a, b, left=False), torch.linalg.solve(ta, tb, left=False), "float64")
    e, te = mk((3, 3))
    close(td.linalg.solve(e.expand(4, 3, 3), td.ones(4, 3, 1, dtype=td.float64)),
          torch.linalg.solve(te.expand(4, 3, 3), torch.ones(4, 3, 1, dtype=torch.float64)), "float64")
    r = td.linalg.solve_ex(a, b[:, :3, :].mT)
    tr = torch.linalg.solve_ex(ta, tb[:, :3, :].mT)
    close(r.result, tr.result, "float64")
    assert_same(r.info, tr.info)


SING = [[1., 2, 3], [2, 4, 6], [1, 1, 1]]


def _raises_linalg(fn_td, fn_torch):
    """Same message; tensord raises its LinAlgError (a RuntimeError) like torch's."""
    with pytest.raises(RuntimeError) as want:
        fn_torch()
    with pytest.raises(td.linalg.LinAlgError) as got:
        fn_td()
    assert str(got.value) == str(want.value)
    td.synchronize()  # nothing sticky is left behind


def test_singular_errors_at_the_call():
    s, ts = td.tensor(SING), torch.tensor(SING)
    batch, tbatch = td.stack([td.eye(3), s]), torch.stack([torch.eye(3), ts])
    _raises_linalg(lambda: td.linalg.inv(s), lambda: torch.linalg.inv(ts))
    _raises_linalg(lambda: td.linalg.inv(batch), lambda: torch.linalg.inv(tbatch))
    _raises_linalg(lambda: td.inverse(s.double()), lambda: torch.inverse(ts.double()))
    _raises_linalg(lambda: td.linalg.matrix_power(s, -2), lambda: torch.linalg.matrix_power(ts, -2))
    _raises_linalg(lambda: td.linalg.solve(s, td.ones(3)), lambda: torch.linalg.solve(ts, torch.ones(3)))
    _raises_linalg(lambda: td.linalg.solve(batch, td.ones(2, 3)), lambda: torch.linalg.solve(tbatch, torch.ones(2, 3)))
    _raises_linalg(lambda: td.linalg.cholesky(s), lambda: torch.linalg.cholesky(ts))
    _raises_linalg(lambda: td.linalg.cholesky(batch), lambda: torch.linalg.cholesky(tbatch))
    _raises_linalg(lambda: td.cholesky(s), lambda: torch.cholesky(ts))
    _raises_linalg(lambda: td.linalg.inv_ex(s, check_errors=True), lambda: torch.linalg.inv_ex(ts, check_errors=True))
    r, tr = td.linalg.inv_ex(batch), torch.linalg.inv_ex(tbatch)
    assert_same(r.info, tr.info)
    c, tc = td.linalg.cholesky_ex(batch), torch.linalg.cholesky_ex(tbatch)
    assert_same(c.info, tc.info)
    nan = td.full((3, 3), float("nan"))
    _raises_linalg(lambda: td.linalg.svd(nan), lambda: torch.linalg.svd(torch.full((3, 3), float("nan"))))
    _raises_linalg(lambda: td.linalg.eigh(nan), lambda: torch.linalg.eigh(torch.full((3, 3), float("nan"))))
    assert torch.isnan(torch.from_numpy(td.linalg.inv(nan).numpy())).all()


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("batch", [(), (3,)], ids=str)
def test_cholesky(dt, batch):
    a, ta = mk(batch + (4, 4), dt, "spd")
    close(td.linalg.cholesky(a), torch.linalg.cholesky(ta), dt, 10)
    close(td.linalg.cholesky(a, upper=True), torch.linalg.cholesky(ta, upper=True), dt, 10)
    close(a.cholesky(), ta.cholesky(), dt, 10)
    close(td.cholesky(a, upper=True), torch.cholesky(ta, upper=True), dt, 10)
    b, tb = mk(batch + (4, 2), dt)
    L, tL = td.linalg.cholesky(a), torch.linalg.cholesky(ta)
    close(td.cholesky_solve(b, L), torch.cholesky_solve(tb, tL), dt, 100)
    close(td.cholesky_inverse(L[0] if batch else L), torch.cholesky_inverse(tL[0] if batch else tL), dt, 100)


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 5, 3), (0, 3), (3, 0)], ids=str)
def test_qr_svd(dt, shape):
    a, ta = mk(shape, dt)
    for mode in ("reduced", "complete", "r"):
        q, tq = td.linalg.qr(a, mode=mode), torch.linalg.qr(ta, mode=mode)
        close(q.R, tq.R, dt, 10)
        close(q.Q, tq.Q, dt, 10)
    q, tq = td.qr(a, some=False), torch.qr(ta, some=False)
    close(q.Q, tq.Q, dt, 10)
    for full in (False, True):
        u, s, vh = td.linalg.svd(a, full_matrices=full)
        tu, ts, tvh = torch.linalg.svd(ta, full_matrices=full)
        close(s, ts, dt, 10)
        assert u.shape == tu.shape and vh.shape == tvh.shape
        k = s.shape[-1]
        rec = (u[..., :k] * s.unsqueeze(-2)) @ vh[..., :k, :]
        close(rec, ta, dt, 10)
        eye_u = torch.eye(u.shape[-1], dtype=ta.dtype).expand(tu.shape[:-2] + (u.shape[-1], u.shape[-1]))
        close(u.mT @ u, eye_u, dt, 10)
    close(td.linalg.svdvals(a), torch.linalg.svdvals(ta), dt, 10)
    o, to = a.svd(), ta.svd()
    close(o.S, to.S, dt, 10)
    assert o.V.shape == to.V.shape
    o, to = td.svd(a, compute_uv=False), torch.svd(ta, compute_uv=False)
    assert_same(o.U, to.U)
    assert_same(o.V, to.V)


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("batch", [(), (2,)], ids=str)
def test_eigh_eig(dt, batch):
    a, ta = mk(batch + (4, 4), dt, "sym")
    for uplo in ("L", "U"):
        w, v = td.linalg.eigh(a, UPLO=uplo)
        tw, tv = torch.linalg.eigh(ta, UPLO=uplo)
        close(w, tw, dt, 10)
        close(v.abs(), tv.abs(), dt, 100)  # eigenvectors up to sign
        close(td.linalg.eigvalsh(a, UPLO=uplo), torch.linalg.eigvalsh(ta, UPLO=uplo), dt, 10)
    ttri = torch.triu(mk(batch + (3, 3), dt)[1])
    tri = from_torch(ttri)
    w, v = td.linalg.eig(tri)
    tw, tv = torch.linalg.eig(ttri)
    close_complex(w, tw, dt, 10)
    close_complex(v, tv, dt, 100)
    close_complex(td.linalg.eigvals(tri), torch.linalg.eigvals(ttri), dt, 10)


def close_complex(got, want, dt, scale=1.0):
    """complex results: same complex dtype and shape, values close (numpy compares complex)."""
    assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    r = TOL[dt]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=r["rtol"] * scale, atol=r["atol"] * scale)


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)], ids=str)
@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_eig_complex_spectrum(dt, batch, n):
    """General real matrices (complex conjugate pairs): complex64/complex128 results like torch's,
    A @ V == V @ diag(w), and the same eigenvalues as torch (LAPACK's order and vectors)."""
    a, ta = mk(batch + (n, n), dt)
    w, v = td.linalg.eig(a)
    tw, tv = torch.linalg.eig(ta)
    want = "torch.complex64" if dt == "float32" else "torch.complex128"
    assert str(w.dtype) == str(v.dtype) == want
    close_complex(w, tw, dt, 100)
    av = (a.to(w.dtype) @ v).numpy()
    np.testing.assert_allclose(av, (v * w.unsqueeze(-2)).numpy(), rtol=0, atol=TOL[dt]["atol"] * 100 * max(n, 1))
    key = lambda z: np.sort_complex(np.round(z, 3))  # noqa: E731
    np.testing.assert_allclose(key(td.linalg.eigvals(a).numpy()), key(torch.linalg.eigvals(ta).numpy()), atol=1e-2)
    close_complex(v, tv, dt, 1000)


def test_eig_rotation():
    w, v = td.linalg.eig(td.tensor([[0., 1], [-1, 0]]))
    tw, tv = torch.linalg.eig(torch.tensor([[0., 1], [-1, 0]]))
    assert repr(w) == repr(tw)
    close_complex(v, tv, "float32")


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
@pytest.mark.parametrize("shapes", [((5, 3), (5, 2)), ((3, 5), (3, 2)), ((2, 4, 3), (2, 4)), ((2, 4, 3), (1, 4, 1)),
                                    ((1, 4, 3), (3, 4, 2)), ((4, 3), (4,))], ids=str)
def test_lstsq(driver, shapes):
    if driver == "gels" and shapes[0][-2] < shapes[0][-1]:
        return  # gels needs full rank; underdetermined works but differs by design choice only
    (a, ta), (b, tb) = mk(shapes[0]), mk(shapes[1])
    r, tr = td.linalg.lstsq(a, b, driver=driver), torch.linalg.lstsq(ta, tb, driver=driver)
    close(r.solution, tr.solution, "float64", 1e3)
    close(r.residuals, tr.residuals, "float64", 1e3)
    assert_same(r.rank, tr.rank)
    close(r.singular_values, tr.singular_values, "float64", 1e3)


def test_lstsq_rank_deficient_and_rcond():
    a = td.tensor([[1., 2], [2, 4], [3, 6]])
    ta = torch.tensor([[1., 2], [2, 4], [3, 6]])
    b, tb = td.ones(3, 1), torch.ones(3, 1)
    for drv in ("gelsy", "gelsd", "gelss"):
        r, tr = td.linalg.lstsq(a, b, driver=drv), torch.linalg.lstsq(ta, tb, driver=drv)
        close(r.solution, tr.solution, "float32", 10)
        assert_same(r.rank, tr.rank)
        r, tr = td.linalg.lstsq(a, b, rcond=0.5, driver=drv), torch.linalg.lstsq(ta, tb, rcond=0.5, driver=drv)
        assert_same(r.rank, tr.rank)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_pinv_rank_norms_power(dt):
    a, ta = mk((2, 4, 3), dt)
    close(td.linalg.pinv(a), torch.linalg.pinv(ta), dt, 100)
    close(td.pinverse(a[0]), torch.pinverse(ta[0]), dt, 100)
    s, ts = mk((4, 4), dt, "sym")
    close(td.linalg.pinv(s, hermitian=True), torch.linalg.pinv(ts, hermitian=True), dt, 100)
    low = a[0] @ a[0].mT  # rank 3 of 4
    tlow = ta[0] @ ta[0].mT
    assert_same(td.linalg.matrix_rank(low), torch.linalg.matrix_rank(tlow))
    assert_same(td.linalg.matrix_rank(a), torch.linalg.matrix_rank(ta))
    assert_same(td.linalg.matrix_rank(low, hermitian=True), torch.linalg.matrix_rank(tlow, hermitian=True))
    assert_same(td.linalg.matrix_rank(low, atol=1.0, rtol=0.0), torch.linalg.matrix_rank(tlow, atol=1.0, rtol=0.0))
    for ord in ("fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")):
        close(td.linalg.matrix_norm(a, ord), torch.linalg.matrix_norm(ta, ord), dt, 10)
        close(td.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True),
              torch.linalg.matrix_norm(ta, ord, dim=(0, 2), keepdim=True), dt, 10)
        close(td.linalg.norm(a[0], ord), torch.linalg.norm(ta[0], ord), dt, 10)
    for ord in (2, 1, 0, 3.5, float("inf"), float("-inf"), -1):
        close(td.linalg.vector_norm(a, ord), torch.linalg.vector_norm(ta, ord), dt, 10)
        close(td.linalg.vector_norm(a, ord, dim=(0, 2), keepdim=True),
              torch.linalg.vector_norm(ta, ord, dim=(0, 2), keepdim=True), dt, 10)
        close(td.linalg.norm(a, ord, dim=1), torch.linalg.norm(ta, ord, dim=1), dt, 10)
    close(td.linalg.norm(a), torch.linalg.norm(ta), dt, 10)
    close(td.linalg.norm(a, dim=(1, 2)), torch.linalg.norm(ta, dim=(1, 2)), dt, 10)
    close(td.linalg.cond(a[0, :3]), torch.linalg.cond(ta[0, :3]), dt, 100)
    m, tm = mk((2, 3, 3), dt, "spd")
    for n in (0, 1, 2, 5, -1, -3):
        close(td.linalg.matrix_power(m, n), torch.linalg.matrix_power(tm, n), dt, 1e3)
    close(m.matrix_power(3), tm.matrix_power(3), dt, 1e3)
    i, ti = td.ones(2, 2, dtype=td.int64), torch.ones(2, 2, dtype=torch.int64)
    assert_same(td.linalg.matrix_power(i, 3), torch.linalg.matrix_power(ti, 3))
    close(td.linalg.vecdot(a, a), torch.linalg.vecdot(ta, ta), dt, 10)


def test_logdet_and_return_types():
    a, ta = mk((3, 3, 3))
    close(td.logdet(a), torch.logdet(ta), "float64")
    close(a.logdet(), ta.logdet(), "float64")
    s, ts = td.slogdet(a), torch.slogdet(ta)
    assert type(s).__name__ == type(ts).__name__ == "slogdet"
    close(s.logabsdet, ts.logabsdet, "float64")
    r = td.linalg.svd(td.eye(2))
    assert repr(r).startswith("torch.return_types.linalg_svd(\nU=tensor(")
    assert [type(x) for x in r] == [td.Tensor] * 3 and r.S is r[1] and r.Vh is r[2]
    u, s_, vh = r
    assert td.linalg.qr(td.eye(2)).Q.shape == (2, 2)
    assert td.linalg.eigh(td.eye(2)).eigenvectors.shape == (2, 2)
    assert isinstance(td.linalg.LinAlgError("x"), RuntimeError)


def _err(fn):
    return (lambda: fn(td, lambda *s, dt="float32": td.zeros(*s, dtype=getattr(td, dt))),
            lambda: fn(torch, lambda *s, dt="float32": torch.zeros(*s, dtype=getattr(torch, dt))))


ERRORS = [lambda T, z: T.linalg.inv(z(2, 3)), lambda T, z: T.linalg.inv(z(3)),
          lambda T, z: T.linalg.inv(z(3, 3, dt="int64")), lambda T, z: T.linalg.inv(z(3, 3, dt="float16")),
          lambda T, z: T.linalg.det(z(2, 3)), lambda T, z: T.det(z(3, 3, dt="int32")),
          lambda T, z: T.linalg.slogdet(z(3)), lambda T, z: T.logdet(z(2, 3)),
          lambda T, z: T.linalg.solve(z(3, 3), z(3, dt="float64")), lambda T, z: T.linalg.solve(z(3, 3), z(4)),
          lambda T, z: T.linalg.solve(z(3, 3), z(4, 2)), lambda T, z: T.linalg.solve(z(2, 3, 3), z(4, 3)),
          lambda T, z: T.linalg.solve(z(3), z(3)), lambda T, z: T.linalg.solve(z(2, 3), z(2)),
          lambda T, z: T.linalg.solve(z(3, 3, dt="int64"), z(3, dt="int64")),
          lambda T, z: T.linalg.solve(z(3, 3), z(3, 2), left=False),
          lambda T, z: T.linalg.cholesky(z(2, 3)), lambda T, z: T.linalg.cholesky(z(3)),
          lambda T, z: T.linalg.cholesky(z(3, 3, dt="float16")), lambda T, z: T.cholesky(z(3, 3, dt="int64")),
          lambda T, z: T.cholesky(z(2, 3)), lambda T, z: T.linalg.qr(z(3)),
          lambda T, z: T.linalg.qr(z(3, 2), mode="bad"), lambda T, z: T.linalg.qr(z(3, 3, dt="int64")),
          lambda T, z: T.linalg.svd(z(3)), lambda T, z: T.linalg.svd(z(3, 2, dt="int64")),
          lambda T, z: T.linalg.svdvals(z(3, 2, dt="float16")), lambda T, z: T.svd(z(3)),
          lambda T, z: T.linalg.eigh(z(3, 2)), lambda T, z: T.linalg.eigh(z(3, 3), UPLO="X"),
          lambda T, z: T.linalg.eigvalsh(z(3, 3, dt="int64")), lambda T, z: T.linalg.eig(z(2, 3)),
          lambda T, z: T.linalg.eigvals(z(3)),
          lambda T, z: T.linalg.lstsq(z(3, 2), z(4, 1)), lambda T, z: T.linalg.lstsq(z(5, 3, 2), z(3, 1)),
          lambda T, z: T.linalg.lstsq(z(3, 2), z(3, 1, dt="float64")), lambda T, z: T.linalg.lstsq(z(3), z(3)),
          lambda T, z: T.linalg.lstsq(z(3, 2), z(3, 1), driver="foo"),
          lambda T, z: T.linalg.lstsq(z(2, 3, 2), z(4, 3, 1)), lambda T, z: T.linalg.lstsq(z(3, 2), z(2, 3, 1)),
          lambda T, z: T.linalg.lstsq(z(3, 3, dt="int64"), z(3, 3, dt="int64")),
          lambda T, z: T.linalg.pinv(z(3, 3, dt="int64")), lambda T, z: T.linalg.pinv(z(3)),
          lambda T, z: T.linalg.matrix_rank(z(3)), lambda T, z: T.linalg.matrix_rank(z(3, 3, dt="int64")),
          lambda T, z: T.linalg.matrix_power(z(2, 3), 2), lambda T, z: T.linalg.matrix_power(z(3), 2),
          lambda T, z: T.linalg.matrix_power(z(2, 2, dt="int64"), -1),
          lambda T, z: T.linalg.matrix_norm(z(2, 3), ord=3), lambda T, z: T.linalg.matrix_norm(z(2, 3), dim=(0, 0)),
          lambda T, z: T.linalg.matrix_norm(z(3)), lambda T, z: T.linalg.matrix_norm(z(2, 3, dt="int64")),
          lambda T, z: T.linalg.vector_norm(z(3, dt="int64")),
          lambda T, z: T.linalg.vector_norm(z(0), ord=float("inf")),
          lambda T, z: T.linalg.norm(z(2, 3, 4), ord=2), lambda T, z: T.linalg.norm(z(2, 3), ord="fro", dim=1),
          ]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    assert_raises_like(*_err(ERRORS[i]))


@pytest.mark.parametrize("sa,sb", [((2, 2), (3, 2, 2)), ((4, 2, 2), (2,)), ((1, 2, 2), (5, 2, 1)), ((3, 1, 2, 2), (4, 2, 3))])
def test_solve_ex_info_has_a_batch_shape(sa, sb):
    for mod in (torch, td):
        A = mod.eye(2).expand(*sa) * 2
        if len(sa) > 2:
            A = A.clone()
            A[(0,) * (len(sa) - 2)] = 0  # one singular matrix
        r = mod.linalg.solve_ex(A, mod.ones(*sb))
        if mod is torch:
            want = (tuple(r.info.shape), r.info.tolist(), tuple(r.result.shape))
        else:
            assert (tuple(r.info.shape), r.info.tolist(), tuple(r.result.shape)) == want
