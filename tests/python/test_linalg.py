"""BLAS-level products (dot, mv, outer, addmm family, kron, tensordot, cross) and einsum
against torch 1.13: values, dtypes, shapes, strided operands, error types and messages."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, pair, rand_data

RNG = np.random.default_rng(11)
TOL = {"float32": dict(rtol=1e-4, atol=1e-4), "float64": {}, "int64": {}, "int32": {}}


def mk(shape, dt="float64", lo=-3, hi=3):
    return pair(rand_data(shape, dt, RNG, lo, hi), dt)


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32"])
def test_dot_vdot_inner_outer_mv(dt):
    (a, ta), (b, tb) = mk((5,), dt), mk((5,), dt)
    (m, tm), (c, tc) = mk((3, 5), dt), mk((4, 5), dt)
    tol = TOL[dt]
    assert_same(td.dot(a, b), torch.dot(ta, tb), **tol)
    assert_same(a.dot(b), ta.dot(tb), **tol)
    assert_same(td.vdot(a, b), torch.vdot(ta, tb), **tol)
    assert_same(td.inner(m, c), torch.inner(tm, tc), **tol)
    assert_same(td.inner(a, m), torch.inner(ta, tm), **tol)
    assert_same(td.outer(a, b[:3]), torch.outer(ta, tb[:3]), **tol)
    assert_same(a.ger(b), ta.ger(tb), **tol)
    assert_same(td.mv(m, a), torch.mv(tm, ta), **tol)
    assert_same(m.t().mv(b[:3]), tm.t().mv(tb[:3]), **tol)  # strided matrix
    assert_same(td.dot(a[::2], b[:3]), torch.dot(ta[::2], tb[:3]), **tol)


def test_inner_outer_scalars_and_promotion():
    (a, ta), (s, ts) = mk((4, 2)), mk(())
    assert_same(td.inner(s, a), torch.inner(ts, ta))
    (i, ti) = mk((3,), "int64")
    assert_same(td.outer(a[:, 0], i), torch.outer(ta[:, 0], ti))
    assert_same(td.dot(td.zeros(0), td.zeros(0)), torch.dot(torch.zeros(0), torch.zeros(0)))


@pytest.mark.parametrize("dt", ["float32", "float64", "int64"])
def test_addmm_family(dt):
    tol = TOL[dt]
    fl = dt != "int64"
    beta, alpha = (0.5, -2.0) if fl else (2, 3)
    (inp, ti), (m1, t1), (m2, t2) = mk((4,), dt), mk((3, 5), dt), mk((5, 4), dt)
    assert_same(td.addmm(inp, m1, m2), torch.addmm(ti, t1, t2), **tol)
    assert_same(td.addmm(inp, m1, m2, beta=beta, alpha=alpha), torch.addmm(ti, t1, t2, beta=beta, alpha=alpha), **tol)
    (full, tf) = mk((3, 4), dt)
    assert_same(full.addmm(m1, m2, alpha=alpha), tf.addmm(t1, t2, alpha=alpha), **tol)
    assert_same(td.addmm(full, m1[:, ::1], m2), torch.addmm(tf, t1, t2), **tol)
    (v, tv) = mk((5,), dt)
    (i3, ti3) = mk((3,), dt)
    assert_same(td.addmv(i3, m1, v, beta=beta, alpha=alpha), torch.addmv(ti3, t1, tv, beta=beta, alpha=alpha), **tol)
    (b1, tb1), (b2, tb2) = mk((2, 3, 5), dt), mk((2, 5, 4), dt)
    assert_same(td.addbmm(inp, b1, b2, beta=beta, alpha=alpha), torch.addbmm(ti, tb1, tb2, beta=beta, alpha=alpha),
                **tol)
    assert_same(td.baddbmm(inp, b1, b2, beta=beta, alpha=alpha), torch.baddbmm(ti, tb1, tb2, beta=beta, alpha=alpha),
                **tol)
    assert_same(td.baddbmm(inp, b1.transpose(1, 2).transpose(1, 2), b2), torch.baddbmm(ti, tb1, tb2), **tol)
    (w, tw) = mk((4,), dt)
    assert_same(td.addr(full, i3, w, beta=beta), torch.addr(tf, ti3, tw, beta=beta), **tol)


def test_beta_zero_ignores_nan_and_inplace():
    nan = td.full((2, 2), float("nan"))
    m1, t1 = mk((2, 3))
    m2, t2 = mk((3, 2))
    tnan = torch.full((2, 2), float("nan"), dtype=torch.float64)
    assert_same(td.addmm(nan.double(), m1, m2, beta=0), torch.addmm(tnan, t1, t2, beta=0))
    x, tx = mk((2, 2))
    r = x.addmm_(m1, m2, beta=2)
    assert r is x
    tx.addmm_(t1, t2, beta=2)
    assert_same(x, tx)
    b, tb = mk((2, 2, 2))
    b.baddbmm_(b, b)
    tb.baddbmm_(tb.clone(), tb.clone())
    assert_same(b, tb)
    y, ty = mk((2,))
    y.addmv_(m1, m1[0])
    ty.addmv_(t1, t1[0])
    assert_same(y, ty)
    assert_raises_like(lambda: td.zeros(4).addmm_(td.zeros(2, 3), td.zeros(3, 4)),
                       lambda: torch.zeros(4).addmm_(torch.zeros(2, 3), torch.zeros(3, 4)))


@pytest.mark.parametrize("shapes", [((2, 3), (4,)), ((2,), (3, 2)), ((2, 1, 3), (2, 2)), ((), (3,)), ((2, 2), ())],
                         ids=str)
def test_kron(shapes):
    (a, ta), (b, tb) = mk(shapes[0]), mk(shapes[1])
    assert_same(td.kron(a, b), torch.kron(ta, tb))
    assert_same(a.kron(b), ta.kron(tb))


TENSORDOT = [(0, (2, 3), (4,)), (1, (3, 2, 4), (4, 5)), (2, (3, 2, 4), (2, 4, 5)),
             (([1, 0], [0, 1]), (3, 2, 4), (2, 3, 5)), (([2], [1]), (3, 2, 4), (5, 4)),
             ([[-1], [-1]], (3, 2, 4), (5, 4)), (([0, 2], [2, 0]), (3, 2, 4), (4, 5, 3))]


@pytest.mark.parametrize("dims,sa,sb", TENSORDOT, ids=str)
def test_tensordot(dims, sa, sb):
    (a, ta), (b, tb) = mk(sa), mk(sb)
    assert_same(td.tensordot(a, b, dims=dims), torch.tensordot(ta, tb, dims=dims))
    assert_same(td.tensordot(a.t().t() if a.ndim == 2 else a, b, dims), torch.tensordot(ta, tb, dims))


@pytest.mark.parametrize("case", [((3,), (3,), None), ((4, 3), (4, 3), None), ((3, 2), (3, 1), 0), ((2, 3), (1, 3), -1),
                                  ((2, 3, 3), (2, 3, 3), 1), ((3, 3), (3, 3), None)], ids=str)
def test_cross(case):
    sa, sb, dim = case
    (a, ta), (b, tb) = mk(sa), mk(sb)
    if dim is None:
        assert_same(td.cross(a, b), torch.cross(ta, tb))
        assert_same(td.linalg.cross(a, b), torch.linalg.cross(ta, tb))
    else:
        assert_same(td.cross(a, b, dim=dim), torch.cross(ta, tb, dim=dim))
        assert_same(a.cross(b, dim), ta.cross(tb, dim))
        assert_same(td.linalg.cross(a, b, dim=dim), torch.linalg.cross(ta, tb, dim=dim))
    (i, ti), (j, tj) = mk((2, 3), "int64"), mk((2, 3), "int64")
    assert_same(td.linalg.cross(i, j), torch.linalg.cross(ti, tj))


def _err(fn):
    """(td call, torch call) of the same expression over zeros of the given shapes/dtypes."""
    return (lambda: fn(td, lambda *s, dt="float32": td.zeros(*s, dtype=getattr(td, dt))),
            lambda: fn(torch, lambda *s, dt="float32": torch.zeros(*s, dtype=getattr(torch, dt))))


ERRORS = [
    lambda T, z: T.dot(z(2, 2), z(2, 2)), lambda T, z: T.dot(z(2), z(2, dt="float64")), lambda T, z: T.dot(z(2), z(3)),
    lambda T, z: T.dot(z(2, dt="bool"), z(2, dt="bool")), lambda T, z: T.vdot(z(2), z(3)),
    lambda T, z: T.inner(z(2, 3), z(4)), lambda T, z: T.outer(z(2, 2), z(2)), lambda T, z: T.outer(z(2), z(2, 2)),
    lambda T, z: T.mv(z(3), z(3)), lambda T, z: T.mv(z(2, 3), z(4)), lambda T, z: T.mv(z(2, 3), z(3, dt="float64")),
    lambda T, z: T.addmm(z(3), z(2, 3), z(3, 4)), lambda T, z: T.addmm(z(4), z(3), z(3, 4)),
    lambda T, z: T.addmm(z(4), z(2, 3), z(2, 4)), lambda T, z: T.addmm(z(4, dt="float64"), z(2, 3), z(3, 4)),
    lambda T, z: T.addmm(z(4), z(2, 3, dt="float64"), z(3, 4)), lambda T, z: T.addmv(z(2), z(2, 3), z(4)),
    lambda T, z: T.addbmm(z(4), z(5, 2, 3), z(4, 3, 4)), lambda T, z: T.addbmm(z(4), z(2, 3), z(4, 3, 4)),
    lambda T, z: T.baddbmm(z(3), z(5, 2, 3), z(5, 3, 4)), lambda T, z: T.baddbmm(z(4), z(5, 2, 3), z(5, 4, 4)),
    lambda T, z: T.tensordot(z(2, 3), z(4, 5), dims=1), lambda T, z: T.tensordot(z(2, 3), z(3, 5), dims=-1),
    lambda T, z: T.tensordot(z(2, 3), z(3, 5), dims=([1], [0, 1])), lambda T, z: T.cross(z(2, 2), z(2, 2)),
    lambda T, z: T.cross(z(3, 2), z(1, 3, 2)), lambda T, z: T.cross(z(2, 3), z(2, 3), dim=0),
    lambda T, z: T.linalg.cross(z(3, 2), z(3, 2)), lambda T, z: T.kron(z(2), 3),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    assert_raises_like(*_err(ERRORS[i]))


EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("ii->i", [(4, 4)]), ("ii", [(4, 4)]),
    ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("ij", [(3, 4)]), ("ba", [(3, 4)]), ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,...jk", [(2, 3, 4), (4, 2)]), ("ij,ij->ij", [(3, 4), (3, 4)]), ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("iij->j", [(3, 3, 2)]), ("iji->j", [(3, 2, 3)]),
    ("a...,a->...", [(3, 2, 4), (3,)]), ("...->...", [(2, 3)]), ("i...->...", [(3, 2, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]), ("ij,j->i", [(3, 4), (1,)]), ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]), ("ijk,ikl->ijl", [(2, 3, 4), (2, 4, 5)]), ("ij,ji->", [(3, 4), (4, 3)]),
    ("ijkl->lkji", [(1, 2, 3, 4)]), ("ij,ik->jk", [(0, 2), (0, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes):
    ops = [mk(s) for s in shapes]
    assert_same(td.einsum(eq, *[o[0] for o in ops]), torch.einsum(eq, *[o[1] for o in ops]))


def test_einsum_forms_and_dtypes():
    (a, ta), (b, tb) = mk((3, 4), "int64"), mk((4, 2), "int64")
    assert_same(td.einsum("ij,jk->ik", [a, b]), torch.einsum("ij,jk->ik", [ta, tb]))
    assert_same(td.einsum(a, [0, 1], b, [1, 2], [0, 2]), torch.einsum(ta, [0, 1], tb, [1, 2], [0, 2]))
    assert_same(td.einsum("ij->j", a), torch.einsum("ij->j", ta))
    (c, tc) = mk((4, 4), "float32")
    assert_same(td.einsum("ij,jk", c.t(), c[:, ::1]), torch.einsum("ij,jk", tc.t(), tc), rtol=1e-5, atol=1e-5)
    assert_same(td.einsum("i i -> i", c), torch.einsum("i i -> i", tc))


EINSUM_ERRORS = [
    ("ij,jk", [(2, 3), (4, 4)]), ("ij,jk->x", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3)]), ("ijk,jk", [(2, 3), (3, 4)]),
    ("ii", [(2, 3)]), ("ij->ii", [(2, 3)]), ("i,i", [(2,), (2,), (2,)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_ERRORS, ids=[e for e, _ in EINSUM_ERRORS])
def test_einsum_errors(eq, shapes):
    assert_raises_like(lambda: td.einsum(eq, *[td.zeros(s) for s in shapes]),
                       lambda: torch.einsum(eq, *[torch.zeros(s) for s in shapes]))
    assert_raises_like(lambda: td.einsum("ij,jk", td.zeros(2, 3), td.zeros(3, 4, dtype=td.float64)),
                       lambda: torch.einsum("ij,jk", torch.zeros(2, 3), torch.zeros(3, 4, dtype=torch.float64)))


def test_multi_dot_and_chain():
    shapes = [(3, 4), (4, 6), (6, 2), (2, 5)]
    ops = [mk(s) for s in shapes]
    assert_same(td.linalg.multi_dot([o[0] for o in ops]), torch.linalg.multi_dot([o[1] for o in ops]))
    (v, tv), (w, tw) = mk((3,)), mk((5,))
    mids = [o[0] for o in ops]
    tmids = [o[1] for o in ops]
    assert_same(td.linalg.multi_dot([v] + mids + [w]), torch.linalg.multi_dot([tv] + tmids + [tw]))
    assert_same(td.linalg.multi_dot([v] + mids), torch.linalg.multi_dot([tv] + tmids))
    assert_same(td.chain_matmul(*mids), torch.linalg.multi_dot(tmids))
    for f in (lambda T, z: T.linalg.multi_dot([z(2)]), lambda T, z: T.linalg.multi_dot([z(2, 3), z(4, 5)]),
              lambda T, z: T.linalg.multi_dot([z(2, 3), z(3, 5, dt="float64")]),
              lambda T, z: T.linalg.multi_dot([z(2, 3, 1), z(3, 5)])):
        assert_raises_like(*_err(f))


@pytest.mark.parametrize("shape,q", [((40, 30), 7), ((20, 50), 5), ((3, 25, 12), 4)])
def test_svd_and_pca_lowrank_like_torch(shape, q):
    """Randomized low-rank SVD and PCA: with the same seed, torch's sketch and therefore its
    result; the factors reconstruct the (centered) matrix of a low-rank input."""
    rng = np.random.default_rng(1)
    A = (rng.standard_normal(shape[:-1] + (3,)) @ rng.standard_normal((3, shape[-1]))).astype(np.float64)
    res = []
    for m in (torch, td):
        m.manual_seed(5)
        a = m.tensor(A)
        res.append([x.numpy() for x in m.svd_lowrank(a, q=q)] + [x.numpy() for x in m.pca_lowrank(a)])
    for k, (got, want) in enumerate(zip(res[1], res[0])):
        if k % 3 != 1:  # U, V: the rank's 3 columns (the rest span a numerically zero part)
            got, want = got[..., :3], want[..., :3]
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-9)
    U, S, V = res[1][:3]
    np.testing.assert_allclose(U @ (S[..., :, None] * np.swapaxes(V, -1, -2)), A, atol=1e-9)
    M = A.mean(-2, keepdims=True)
    U, S, V = (td.tensor(x) for x in res[1][:3])
    td.manual_seed(5)
    Um, Sm, Vm = td.svd_lowrank(td.tensor(A), q=q, M=td.tensor(M))
    np.testing.assert_allclose((Um @ td.diag_embed(Sm) @ Vm.transpose(-2, -1)).numpy(), A - M, atol=1e-9)
    with pytest.raises(ValueError, match="must be non-negative integer and not greater than"):
        td.pca_lowrank(td.tensor(A), q=100)
