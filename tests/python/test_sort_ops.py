"""Sorting and searching against torch 1.13: sort/argsort/msort/topk/kthvalue, unique,
unique_consecutive, bincount, histc, searchsorted, bucketize."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, pair, rand_data

RNG = np.random.default_rng(11)


def distinct(shape, dt):
    """Values without ties (so every sort order is unique)."""
    n = int(np.prod(shape))
    hi = 120 if dt in ("int8",) else 250 if dt == "uint8" else 1000
    v = RNG.permutation(hi)[:n]
    if dt == "int8":
        v = v - 60
    if dt in ("float32", "float64", "float16", "bfloat16"):
        v = v / 8.0 - 20
    return pair(v.reshape(shape), dt)


@pytest.mark.parametrize("dt", ["float32", "float64", "bfloat16", "int64", "int8", "uint8"])
@pytest.mark.parametrize("shape,dim", [((7,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2), ((), 0), ((0, 3), 1)])
def test_sort_family(dt, shape, dim):
    a, b = distinct(shape, dt)
    for desc in (False, True):
        g, w = td.sort(a, dim=dim, descending=desc), torch.sort(b, dim=dim, descending=desc)
        assert_same(g.values, w.values)
        assert_same(g.indices, w.indices)
        assert_same(a.argsort(dim, desc), b.argsort(dim, desc))
    if len(shape):
        assert_same(td.msort(a), torch.msort(b))
        n = b.shape[dim]
        for k in {0, 1, n}:
            for largest in (True, False):
                g, w = td.topk(a, k, dim, largest), torch.topk(b, k, dim, largest)
                assert_same(g.values, w.values)
                assert_same(g.indices, w.indices)
        if n:
            for keep in (False, True):
                g, w = td.kthvalue(a, n, dim, keep), torch.kthvalue(b, n, dim, keep)
                assert_same(g[0], w[0])
                assert_same(g[1], w[1])


# McIlroy's adversary against libstdc++'s std::sort (64 elements): its introsort runs out
# of depth and finishes part of the range with its heap sort
_INTROSORT_KILLER = [46, 1, 53, 3, 61, 5, 51, 7, 57, 9, 49, 11, 63, 13, 47, 15, 55, 17, 45, 19, 59, 21, 24, 23, 62,
                     60, 58, 56, 54, 52, 50, 48, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 44, 41, 42, 39, 40, 37,
                     38, 35, 36, 33, 34, 31, 32, 29, 30, 27, 28, 25, 26, 43]


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_unstable_sort_leaves_ties_where_torch_does(dt):
    """torch.sort(stable=False) (the default, also argsort's and pack_padded_sequence's) is
    std::sort on the CPU: equal keys come out in its order, which scripts see in indices."""
    rng = np.random.default_rng(5)
    for trial in range(40):
        n = int(rng.integers(1, 200))
        v = rng.integers(0, int(rng.choice([2, 3, 7, 60])), (3, n)).astype(dt)
        if dt.startswith("float") and trial % 3 == 0:
            v[rng.random((3, n)) < 0.1] = np.nan
        a, b = td.from_numpy(v), torch.from_numpy(v)
        dim = 0 if trial % 4 == 0 else -1
        if dim == 0:
            a, b = a.t(), b.t()
        desc = trial % 2 == 1
        g, w = td.sort(a, dim=dim, descending=desc), torch.sort(b, dim=dim, descending=desc)
        assert_same(g.indices, w.indices)
        assert_same(g.values, w.values)
        assert_same(td.argsort(a, dim, desc), torch.argsort(b, dim, desc))
        assert_same(a.sort(dim=dim, descending=desc, stable=True).indices,
                    b.sort(dim=dim, descending=desc, stable=True).indices)
    for v in (_INTROSORT_KILLER, [-x for x in _INTROSORT_KILLER]):
        for desc in (False, True):
            assert_same(td.tensor(v).sort(descending=desc).indices, torch.tensor(v).sort(descending=desc).indices)
    # an expanded input is sorted like any other (all keys equal)
    assert_same(td.zeros(1).expand(40).sort().indices, torch.zeros(1).expand(40).sort().indices)


def test_sort_stable_nan_bool_noncontig():
    v = torch.tensor([3., float("nan"), 1., 3., float("nan"), -1., 1.])
    a = td.tensor(v.numpy())
    for desc in (False, True):
        g, w = td.sort(a, descending=desc, stable=True), torch.sort(v, descending=desc, stable=True)
        assert_same(g.values, w.values)
        assert_same(g.indices, w.indices)
    g, w = td.topk(a, 3), torch.topk(v, 3)
    assert_same(g.values, w.values)
    bb = torch.tensor([True, False, True, False])
    g, w = td.sort(td.tensor(bb.numpy()), stable=True), torch.sort(bb, stable=True)
    assert_same(g.values, w.values)
    assert_same(g.indices, w.indices)
    a, b = distinct((4, 6), "float32")
    g, w = a.t().sort(1), b.t().sort(1)
    assert_same(g.values, w.values)
    assert_same(g.indices, w.indices)
    assert_same(a.t().sort(dim=1, stable=True)[1], b.t().sort(dim=1, stable=True)[1])


def test_sort_errors():
    a, b = distinct((3, 4), "float32")
    assert_raises_like(lambda: td.topk(a, 5), lambda: torch.topk(b, 5))
    assert_raises_like(lambda: td.kthvalue(a, 5), lambda: torch.kthvalue(b, 5))
    assert_raises_like(lambda: td.sort(a, 2), lambda: torch.sort(b, 2))


@pytest.mark.parametrize("dt", ["int64", "float32", "bool", "int16"])
@pytest.mark.parametrize("shape", [(0,), (9,), (3, 4)])
def test_unique(dt, shape):
    a, b = pair(rand_data(shape, dt, RNG, low=-3, high=3), dt)
    assert_same(td.unique(a), torch.unique(b))
    g = td.unique(a, return_inverse=True, return_counts=True)
    w = torch.unique(b, return_inverse=True, return_counts=True)
    for x, y in zip(g, w):
        assert_same(x, y)
    g = a.unique_consecutive(return_inverse=True, return_counts=True)
    w = b.unique_consecutive(return_inverse=True, return_counts=True)
    for x, y in zip(g, w):
        assert_same(x, y)
    assert_same(td.unique_consecutive(a), torch.unique_consecutive(b))
    g, w = td.unique(a, return_counts=True), torch.unique(b, return_counts=True)
    assert_same(g[1], w[1])


def test_bincount_histc():
    x, rx = pair(RNG.integers(0, 6, 20), "int64")
    assert_same(td.bincount(x), torch.bincount(rx))
    assert_same(x.bincount(minlength=10), rx.bincount(minlength=10))
    for wdt in ("float32", "float64", "int64"):
        w, rw = pair(rand_data((20,), wdt, RNG), wdt)
        assert_same(td.bincount(x, w), torch.bincount(rx, rw))
    e, re = pair(np.zeros(0, np.int64), "int64")
    assert_same(td.bincount(e), torch.bincount(re))
    assert_same(td.bincount(e, minlength=3), torch.bincount(re, minlength=3))
    assert_raises_like(lambda: td.bincount(td.tensor([-1, 2])), lambda: torch.bincount(torch.tensor([-1, 2])))
    assert_raises_like(lambda: td.bincount(td.tensor([[1]])), lambda: torch.bincount(torch.tensor([[1]])))
    for dt in ("float32", "float64"):
        a, b = pair(rand_data((4, 5), dt, RNG), dt)
        assert_same(td.histc(a), torch.histc(b))
        assert_same(a.histc(bins=7, min=-3, max=3), b.histc(bins=7, min=-3, max=3))
        assert_same(td.histc(a, bins=4, min=-1, max=1), torch.histc(b, bins=4, min=-1, max=1))
    c, rc = pair(np.full(3, 2.0), "float32")
    assert_same(td.histc(c, bins=4), torch.histc(rc, bins=4))
    assert_raises_like(lambda: td.histc(td.tensor([1, 2])), lambda: torch.histc(torch.tensor([1, 2])))


@pytest.mark.parametrize("dt", ["float32", "int64", "int32"])
def test_searchsorted_bucketize(dt):
    s, rs = pair(np.sort(rand_data((10,), dt, RNG, low=-20, high=20)), dt)
    v, rv = pair(rand_data((3, 4), dt, RNG, low=-25, high=25), dt)
    for right in (False, True):
        assert_same(td.searchsorted(s, v, right=right), torch.searchsorted(rs, rv, right=right))
        assert_same(td.bucketize(v, s, right=right), torch.bucketize(rv, rs, right=right))
        assert_same(td.searchsorted(s, v, side="right" if right else "left", out_int32=True),
                    torch.searchsorted(rs, rv, side="right" if right else "left", out_int32=True))
    assert_same(td.searchsorted(s, 3), torch.searchsorted(rs, 3))
    b2, rb2 = pair(np.sort(rand_data((3, 6), dt, RNG), axis=1), dt)
    assert_same(td.searchsorted(b2, v), torch.searchsorted(rb2, rv))
    u, ru = pair(rand_data((8,), dt, RNG), dt)
    order = torch.argsort(ru)
    assert_same(td.searchsorted(u, v, sorter=td.tensor(order.numpy())), torch.searchsorted(ru, rv, sorter=order))
    assert_raises_like(lambda: td.searchsorted(b2, s), lambda: torch.searchsorted(rb2, rs))
    assert_raises_like(lambda: td.bucketize(v, b2), lambda: torch.bucketize(rv, rb2))


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int16", "uint8"])
def test_topk_kthvalue_partial_vs_stable_sort(dt):
    """topk/kthvalue select with SORT's k attribute (a bounded heap when k is small): values
    match torch; on ties the indices follow the stable sort (lowest index first), NaN is
    the largest value."""
    rng = np.random.default_rng(5)
    data = rand_data((5, 700), dt, rng, -20, 20)  # many ties
    if dt.startswith("float"):
        data[rng.random(data.shape) < 0.03] = np.nan
        data[0, ::7] = np.inf
        data[1, ::5] = -np.inf
    a, b = pair(data, dt)
    for dim in (1, 0):  # dim 0: strided slices
        n = b.shape[dim]
        for k in sorted(k for k in {0, 1, 5, 16, n // 8, n // 8 + 1, n // 2, n} if k <= n):
            for largest in (True, False):
                g, w = td.topk(a, k, dim, largest), torch.topk(b, k, dim, largest)
                assert_same(g.values, w.values)
                s = torch.sort(b, dim=dim, descending=largest, stable=True).indices.narrow(dim, 0, k)
                assert_same(g.indices, s)
        s = torch.sort(b, dim=dim, stable=True)
        for k in sorted({1, 3, n // 2, n}):
            for keep in (False, True):
                g, w = td.kthvalue(a, k, dim, keep), torch.kthvalue(b, k, dim, keep)
                assert_same(g[0], w[0])
                want_i = s.indices.narrow(dim, k - 1, 1)
                assert_same(g[1], want_i if keep else want_i.squeeze(dim))


def test_topk_sorted_inputs_and_views():
    x = torch.arange(3000, dtype=torch.float32)
    for t in (x, x.flip(0)):
        a = td.tensor(t.numpy())
        for largest in (True, False):
            g, w = td.topk(a, 10, largest=largest), torch.topk(t, 10, largest=largest)
            assert_same(g.values, w.values)
            assert_same(g.indices, w.indices)
    a, b = distinct((40, 25), "float64")
    g, w = a.t()[:, ::2].topk(3, 1), b.t()[:, ::2].topk(3, 1)
    assert_same(g.values, w.values)
    assert_same(g.indices, w.indices)
    g, w = td.topk(td.tensor(2.5), 1), torch.topk(torch.tensor(2.5), 1)
    assert_same(g.values, w.values)
    assert_same(g.indices, w.indices)
