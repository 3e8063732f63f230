"""Compositions against torch 1.13: unique / unique_consecutive with dim,
nanmedian (global and per dim), nuclear norms (torch.norm(p='nuc'), linalg.matrix_norm /
linalg.norm with ord='nuc', 2, -2)."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, from_torch, pair

RNG = np.random.default_rng(23)
NAN = float("nan")


def _outs(g, w):
    if isinstance(w, tuple):
        assert isinstance(g, tuple) and len(g) == len(w)
        for a, b in zip(g, w):
            assert_same(a, b)
    else:
        assert_same(g, w)


# ---------------------------------------------------------------- unique(dim=)

def _dup_rows(shape, dim, dt):
    """Values with repeated slices along dim (few distinct values, so rows collide)."""
    v = RNG.integers(0, 2, size=shape)
    if shape and shape[dim] > 2:
        idx = [slice(None)] * len(shape)
        src = list(idx)
        idx[dim], src[dim] = -1, 0
        v[tuple(idx)] = v[tuple(src)]
    return pair(v, dt)


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32", "uint8", "bool", "bfloat16"])
@pytest.mark.parametrize("shape,dim", [((6,), 0), ((5, 3), 0), ((5, 3), 1), ((4, 3, 2), -1), ((3, 4, 2), 1),
                                       ((7, 1), 0), ((1, 4), -2)])
def test_unique_dim(dt, shape, dim):
    a, b = _dup_rows(shape, dim, dt)
    for inv in (False, True):
        for cnt in (False, True):
            for srt in (True, False):
                _outs(td.unique(a, sorted=srt, return_inverse=inv, return_counts=cnt, dim=dim),
                      torch.unique(b, sorted=srt, return_inverse=inv, return_counts=cnt, dim=dim))
            _outs(td.unique_consecutive(a, return_inverse=inv, return_counts=cnt, dim=dim),
                  torch.unique_consecutive(b, return_inverse=inv, return_counts=cnt, dim=dim))
    _outs(a.unique(dim=dim), b.unique(dim=dim))
    _outs(a.unique_consecutive(dim=dim), b.unique_consecutive(dim=dim))


def test_unique_dim_values_and_noncontig():
    b = torch.tensor([[1, 2], [0, 5], [1, 2], [0, 3], [0, 5], [0, 5]])
    a = from_torch(b)
    _outs(td.unique(a, dim=0, return_inverse=True, return_counts=True),
          torch.unique(b, dim=0, return_inverse=True, return_counts=True))
    _outs(td.unique_consecutive(a, dim=0, return_inverse=True, return_counts=True),
          torch.unique_consecutive(b, dim=0, return_inverse=True, return_counts=True))
    # non-contiguous: transposed and strided views
    bt = torch.tensor(RNG.integers(-2, 2, size=(4, 9)), dtype=torch.float64)
    at = from_torch(bt)
    for g, w in ((at.t(), bt.t()), (at[:, ::2], bt[:, ::2]), (at.t()[1::2], bt.t()[1::2])):
        for d in (0, 1):
            _outs(td.unique(g, dim=d, return_inverse=True, return_counts=True),
                  torch.unique(w, dim=d, return_inverse=True, return_counts=True))
            _outs(td.unique_consecutive(g, dim=d, return_inverse=True, return_counts=True),
                  torch.unique_consecutive(w, dim=d, return_inverse=True, return_counts=True))
    # many columns, wide value range (lexicographic order over all of them)
    bw = torch.tensor(RNG.integers(0, 3, size=(12, 5)))
    bw = torch.cat([bw, bw[:4]])
    _outs(td.unique(from_torch(bw), dim=0, return_inverse=True, return_counts=True),
          torch.unique(bw, dim=0, return_inverse=True, return_counts=True))


@pytest.mark.parametrize("fn", ["unique", "unique_consecutive"])
def test_unique_dim_empty_and_errors(fn):
    def both(shape, dim, **kw):
        b = torch.ones(shape)
        return (lambda: getattr(td, fn)(from_torch(b), dim=dim, **kw)), (lambda: getattr(torch, fn)(b, dim=dim, **kw))
    for shape, dim in (((0, 3), 0), ((2, 0, 3), 1), ((0,), 0), ((0,), -1)):
        g, w = both(shape, dim, return_inverse=True, return_counts=True)
        _outs(g(), w())
        g, w = both(shape, dim)
        _outs(g(), w())
    for shape, dim in (((0, 3), 1), ((0, 0), 1), ((2, 3), 2), ((2, 3), -3), ((), 0), ((), -1), ((), 1)):
        assert_raises_like(*both(shape, dim))
    for bad in (True, 1.0):
        assert_raises_like(*both((2, 3), bad))


# ---------------------------------------------------------------- nanmedian

def _nan_data(shape, dt, frac=0.3):
    v = RNG.permutation(1000)[:int(np.prod(shape))].astype(np.float64) / 4 - 50
    v = v.reshape(shape)
    if dt.startswith("float"):
        v[RNG.random(shape) < frac] = NAN
    return pair(v, dt)


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32"])
@pytest.mark.parametrize("shape", [(7,), (4, 6), (3, 4, 5), (), (1,), (2, 1, 3)])
def test_nanmedian(dt, shape):
    a, b = _nan_data(shape, dt)
    assert_same(td.nanmedian(a), torch.nanmedian(b))
    assert_same(a.nanmedian(), b.nanmedian())
    for d in range(-max(len(shape), 1), max(len(shape), 1)):
        for keep in (False, True):
            g, w = td.nanmedian(a, d, keep), torch.nanmedian(b, d, keep)
            assert type(g).__name__ == "nanmedian"
            _same_nm(g, w)
            _same_nm(a.nanmedian(dim=d, keepdim=keep), w)


def _same_nm(g, w):
    """values equal; indices equal except for all-NaN slices (torch's is nth_element's: any)."""
    assert_same(g[0], w[0])
    gi = torch.tensor(np.asarray(g[1].tolist()), dtype=torch.int64)
    assert gi.shape == w[1].shape
    ok = ~torch.isnan(w[0])
    assert torch.equal(gi[ok], w[1][ok])


def test_nanmedian_all_nan_ties_noncontig_empty():
    b = torch.tensor([[1., NAN, 3., 2.], [NAN, NAN, NAN, NAN], [4., 0., NAN, 5.], [NAN, 7., NAN, NAN]])
    a = from_torch(b)
    assert_same(td.nanmedian(a), torch.nanmedian(b))
    for d in (0, 1):
        g, w = td.nanmedian(a, d), torch.nanmedian(b, d)
        assert_same(g.values, w.values)
        # an all-NaN slice: torch's index is nth_element's (any NaN); check it points at a NaN
        picked = torch.gather(b, d, torch.tensor(np.asarray(g.indices.tolist())).unsqueeze(d)).squeeze(d)
        assert torch.equal(torch.isnan(picked), torch.isnan(w.values))
        ok = ~torch.isnan(w.values)
        assert torch.equal(torch.tensor(g.indices.tolist())[ok], w.indices[ok])
    assert_same(td.nanmedian(from_torch(torch.tensor([NAN, NAN]))), torch.nanmedian(torch.tensor([NAN, NAN])))
    # ties: values match, indices point at an equal value
    bt = torch.tensor([[1., 1., 2., 2.], [3., NAN, 3., 3.]])
    g, w = td.nanmedian(from_torch(bt), 1), torch.nanmedian(bt, 1)
    assert_same(g.values, w.values)
    assert torch.equal(torch.gather(bt, 1, torch.tensor(g.indices.tolist()).unsqueeze(1)).squeeze(1), w.values)
    # non-contiguous
    bn = torch.tensor(RNG.permutation(60).reshape(6, 10) / 3.0)
    bn[bn > 15] = NAN
    an = from_torch(bn)
    for g0, w0 in ((an.t(), bn.t()), (an[:, 1::3], bn[:, 1::3])):
        assert_same(td.nanmedian(g0), torch.nanmedian(w0))
        for d in (0, 1):
            g, w = td.nanmedian(g0, d, True), torch.nanmedian(w0, d, True)
            assert_same(g.values, w.values)
            assert_same(g.indices, w.indices)
    # empty
    e = torch.ones(0, 3)
    assert_same(td.nanmedian(from_torch(e)), torch.nanmedian(e))
    for keep in (False, True):
        g, w = td.nanmedian(from_torch(e), 1, keep), torch.nanmedian(e, 1, keep)
        assert_same(g.values, w.values)
        assert_same(g.indices, w.indices)
    assert_raises_like(lambda: td.nanmedian(from_torch(e), 0), lambda: torch.nanmedian(e, 0))
    assert_raises_like(lambda: td.nanmedian(from_torch(e), 2), lambda: torch.nanmedian(e, 2))
    bb = torch.tensor([True, False])
    assert_raises_like(lambda: td.nanmedian(from_torch(bb)), lambda: torch.nanmedian(bb))
    assert_raises_like(lambda: td.nanmedian([1.0]), lambda: torch.nanmedian([1.0]))


# ---------------------------------------------------------------- nuclear / spectral norms

@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", [((3, 4), None), ((5, 2), (0, 1)), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, -2)),
                                       ((3, 4), (1, 0)), ((0, 4), None), ((2, 0, 3), (1, 2))])
def test_norm_nuc(dt, shape, dim):
    a, b = pair(RNG.standard_normal(shape), dt)
    for keep in (False, True):
        kw = {} if dim is None else {"dim": dim}
        assert_same(td.norm(a, "nuc", keepdim=keep, **kw), torch.norm(b, "nuc", keepdim=keep, **kw))
        assert_same(a.norm(p="nuc", keepdim=keep, **kw), b.norm(p="nuc", keepdim=keep, **kw))
        d = (-2, -1) if dim is None else dim
        for ord in ("nuc", 2, -2):
            if ord != "nuc" and 0 in shape:
                assert_raises_like(lambda: td.linalg.matrix_norm(a, ord, d, keep),
                                   lambda: torch.linalg.matrix_norm(b, ord, d, keep))
                continue
            assert_same(td.linalg.matrix_norm(a, ord, d, keep), torch.linalg.matrix_norm(b, ord, d, keep))
            assert_same(td.linalg.norm(a, ord, d, keep), torch.linalg.norm(b, ord, d, keep))
            if len(shape) == 2:
                assert_same(td.linalg.norm(a, ord, keepdim=keep), torch.linalg.norm(b, ord, keepdim=keep))


def test_norm_nuc_noncontig_and_errors():
    b = torch.tensor(RNG.standard_normal((4, 6)))
    a = from_torch(b)
    for g, w in ((a.t(), b.t()), (a[:, ::2], b[:, ::2])):
        assert_same(td.norm(g, "nuc"), torch.norm(w, "nuc"))
        assert_same(td.linalg.matrix_norm(g, "nuc"), torch.linalg.matrix_norm(w, "nuc"))
        assert_same(td.linalg.matrix_norm(g, 2), torch.linalg.matrix_norm(w, 2))
        assert_same(td.linalg.norm(g, -2), torch.linalg.norm(w, -2))
    b3, b1 = torch.randn(2, 3, 4), torch.randn(4)
    bi = torch.ones(3, 4, dtype=torch.int64)
    cases = [(b3, dict(p="nuc")), (b1, dict(p="nuc")), (b3, dict(p="nuc", dim=0)), (b3, dict(p="nuc", dim=(0, 0))),
             (b3, dict(p="nuc", dim=(0, 1, 2))), (b, dict(p="nuc", dtype=torch.float64)), (b, dict(p="abc")),
             (b, dict(p="abc", dim=1)), (bi, dict(p="nuc")), (b, dict(p="nuc", dim=(0, 5)))]
    for t, kw in cases:
        kt = dict(kw)
        if "dtype" in kt:
            kt["dtype"] = td.float64
        assert_raises_like(lambda: td.norm(from_torch(t), **kt), lambda: torch.norm(t, **kw))
    for t, ord, dim in ((b1, "nuc", (-2, -1)), (b3, "nuc", (0, 0)), (b3, 3, (0, 1)), (bi, "nuc", (0, 1)),
                        (b, "abc", (0, 1))):
        assert_raises_like(lambda: td.linalg.matrix_norm(from_torch(t), ord, dim),
                           lambda: torch.linalg.matrix_norm(t, ord, dim))
    for t, ord in ((b3, "nuc"), (b3, 2), (b1, "nuc")):
        assert_raises_like(lambda: td.linalg.norm(from_torch(t), ord), lambda: torch.linalg.norm(t, ord))
