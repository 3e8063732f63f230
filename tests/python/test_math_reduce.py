"""softmax/log_softmax, cumulative ops and the statistics reductions against
torch 1.13: dims (negative, tuples), keepdim, dtype=, 0-d/empty/non-contiguous inputs,
errors."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, pair, rand_data

RNG = np.random.default_rng(23)
SHAPES = [(), (0,), (6,), (3, 4), (2, 0, 3), (2, 3, 4)]


def cases(shape):
    nd = max(len(shape), 1)
    return list(range(-nd, nd))


def both(name, x, tx, *a, **k):
    return getattr(td, name)(x, *a, **k), getattr(torch, name)(tx, *a, **k)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "cumsum", "cumprod", "logcumsumexp"])
def test_dim_ops(name):
    for shape in SHAPES:
        x, tx = pair(rand_data(shape, "float64", RNG, -3, 3), "float32")
        for d in cases(shape):
            assert_same(*both(name, x, tx, d))
        if len(shape) >= 2:
            xt, txt = x.transpose(0, 1), tx.transpose(0, 1)
            assert_same(*both(name, xt, txt, 1))
            assert_same(getattr(xt, name)(0), getattr(txt, name)(0))
    x, tx = pair(rand_data((3, 4), "float64", RNG), "float32")
    if name != "logcumsumexp":
        assert_same(getattr(td, name)(x, 1, dtype=td.float64), getattr(torch, name)(tx, 1, dtype=torch.float64))


def test_softmax_stable_and_errors():
    x, tx = pair(np.array([[1000.0, 1000.0, -1000.0], [-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf]]), "float32")
    for name in ("softmax", "log_softmax"):
        for d in (0, 1):
            assert_same(*both(name, x, tx, d))
        i, ti = pair(rand_data((2, 3), "int64", RNG), "int64")
        for d in (0, 1):
            assert_raises_like(lambda: getattr(td, name)(i, d), lambda: getattr(torch, name)(ti, d))
        assert_same(getattr(td, name)(i, 1, dtype=td.float64), getattr(torch, name)(ti, 1, dtype=torch.float64))
        assert_raises_like(lambda: getattr(td, name)(x, 2), lambda: getattr(torch, name)(tx, 2))
        h, th = pair(rand_data((2, 3), "float64", RNG), "float16")
        assert_same(getattr(td, name)(h, 1), getattr(torch, name)(th.float(), 1).half(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("dt", ["int64", "int32", "uint8", "bool", "float64", "float16"])
def test_cumulative_dtypes(dt):
    x, tx = pair(rand_data((3, 5), dt, RNG, -3, 3), dt)
    for name in ("cumsum", "cumprod"):
        for d in (0, -1):
            want = getattr(torch, name)(tx.float() if dt == "float16" else tx, d)
            assert_same(getattr(td, name)(x, d), want.half() if dt == "float16" else want, rtol=2e-2, atol=2e-2)
        assert_same(getattr(td, name)(x, 1, dtype=td.float64), getattr(torch, name)(tx, 1, dtype=torch.float64))
    for name in ("cummax", "cummin"):
        for d in (0, 1):
            g = getattr(td, name)(x, d)
            w = getattr(torch, name)(tx.float() if dt == "float16" else tx, d)
            assert_same(g.values, w.values.half() if dt == "float16" else w.values)
            assert_same(g.indices, w.indices)
            assert_same(g[1], w[1])
    if dt != "float64" and dt != "float16":
        assert_raises_like(lambda: td.logcumsumexp(x, 0), lambda: torch.logcumsumexp(tx, 0))


def test_cumulative_special():
    v = np.array([1.0, np.nan, 3.0, -np.inf, 5.0, 5.0, np.inf, 2.0])
    x, tx = pair(v, "float64")
    for name in ("cumsum", "cumprod", "logcumsumexp"):
        assert_same(*both(name, x, tx, 0))
    for name in ("cummax", "cummin"):
        g, w = both(name, x, tx, 0)
        assert_same(g.values, w.values)
        assert_same(g.indices, w.indices)
    y, ty = pair(np.array([3, 3, 1, 5, 5, 2]), "int64")
    for name in ("cummax", "cummin"):
        g, w = both(name, y, ty, 0)
        assert_same(g.indices, w.indices)
    y.cumsum_(0)
    ty.cumsum_(0)
    assert_same(y, ty)
    z, tz = pair(rand_data((3, 4), "float64", RNG), "float32")
    z.t().cumprod_(1)
    tz.t().cumprod_(1)
    assert_same(z, tz)


VAR_DIMS = [None, 0, -1, (0, 1), [-1, 0]]


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_var_std(name):
    for shape in [(), (1,), (5,), (3, 4), (2, 3, 4), (0, 3)]:
        x, tx = pair(rand_data(shape, "float64", RNG), "float32")
        assert_same_any(*both(name, x, tx))
        assert_same_any(*both(name, x, tx, unbiased=False))
        for d in VAR_DIMS:
            if d is not None and max(np.atleast_1d(d)) >= max(len(shape), 1):
                continue
            for kw in ({}, {"unbiased": False}, {"correction": 0}, {"correction": 2}, {"keepdim": True}):
                try:
                    want = getattr(torch, name)(tx, d, **kw)
                except RuntimeError:  # a dim repeated after wrapping
                    assert_raises_like(lambda: getattr(td, name)(x, d, **kw), lambda: getattr(torch, name)(tx, d, **kw))
                    continue
                assert_same_any(getattr(td, name)(x, d, **kw), want)
    x, tx = pair(rand_data((3, 4), "int64", RNG), "int64")
    assert_raises_like(lambda: getattr(td, name)(x), lambda: getattr(torch, name)(tx))
    h, th = pair(rand_data((3, 4), "float64", RNG), "float16")
    assert_same_any(*both(name, h, th, 1), rtol=2e-2, atol=2e-2)


def assert_same_any(got, want, **kw):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w, **kw)
    else:
        assert_same(got, want, **kw)


def test_logsumexp_norm_nan_reductions():
    v = np.array([[1.0, np.nan, -2.0, 0.0], [np.inf, 2.0, 3.0, -1.0], [-np.inf, -np.inf, -np.inf, -np.inf]])
    x, tx = pair(v, "float64")
    r, tr = pair(rand_data((2, 3, 4), "float64", RNG), "float32")
    for d in (0, 1, (0, 1), -1):
        assert_same(*both("logsumexp", x, tx, d))
        assert_same(*both("nansum", x, tx, d))
        assert_same(*both("nanmean", x, tx, d, keepdim=True))
        assert_same(*both("count_nonzero", x, tx, d))
        assert_same(*both("logsumexp", r, tr, d, keepdim=True))
    for p in (2, 1, 3, 0, float("inf"), float("-inf"), "fro", 0.5):
        assert_same(*both("norm", r, tr, p))
        assert_same(*both("norm", r, tr, p, dim=1))
        assert_same(*both("norm", r, tr, p, dim=(0, 2), keepdim=True))
        assert_same(r.norm(p, -1), tr.norm(p, -1))
    assert_same(td.norm(r, 2, dtype=td.float64), torch.norm(tr, 2, dtype=torch.float64))
    i, ti = pair(rand_data((3, 4), "int64", RNG), "int64")
    assert_same(*both("nansum", i, ti))
    assert_same(td.nansum(i, 1, dtype=td.float32), torch.nansum(ti, 1, dtype=torch.float32))
    assert_same(*both("count_nonzero", i, ti, (0, 1)))
    assert_same(*both("logsumexp", i, ti, 1))
    for name in ("norm", "nanmean"):
        assert_raises_like(lambda: getattr(td, name)(i), lambda: getattr(torch, name)(ti))
    e, te = pair(np.zeros((0, 3)), "float32")
    for name in ("nansum", "nanmean", "count_nonzero", "norm"):
        assert_same(*both(name, e, te))
    assert_same(*both("logsumexp", e, te, 0))


def test_aminmax_median_mode():
    x, tx = pair(RNG.permutation(24).reshape(2, 3, 4).astype(np.float64) - 10, "float32")
    g, w = td.aminmax(x), torch.aminmax(tx)
    assert_same(g.min, w.min)
    assert_same(g.max, w.max)
    for d in (0, -1, 1):
        for k in (False, True):
            g, w = td.aminmax(x, dim=d, keepdim=k), torch.aminmax(tx, dim=d, keepdim=k)
            assert_same(g[0], w[0])
            assert_same(g[1], w[1])
            g, w = x.median(d, k), tx.median(d, k)
            assert_same(g.values, w.values)
            assert_same(g.indices, w.indices)
    assert_same(td.median(x), torch.median(tx))
    assert_same(td.median(td.tensor([1.0, float("nan"), 0.0])), torch.median(torch.tensor([1.0, float("nan"), 0.0])))
    assert_same(td.median(td.tensor(3)), torch.median(torch.tensor(3)))
    m, tm = pair(np.array([[3, 1, 1, 3, 2, 5], [2, 2, 1, 1, 0, 0], [7, 7, 7, 1, 1, 1]]), "int64")
    for d in (0, 1, -1):
        g, w = td.mode(m, d), torch.mode(tm, d)
        assert_same(g.values, w.values)
        assert_same(g.indices, w.indices)
    g, w = m.float().mode(), tm.float().mode()
    assert_same(g.values, w.values)
    assert_same(g.indices, w.indices)
    e, te = pair(np.zeros((0, 3)), "float32")
    assert_raises_like(lambda: td.aminmax(e), lambda: torch.aminmax(te))
    assert_raises_like(lambda: td.aminmax(e, dim=0), lambda: torch.aminmax(te, dim=0))
    assert_raises_like(lambda: td.median(e, 0), lambda: torch.median(te, 0))
    assert_raises_like(lambda: td.mode(e, 0), lambda: torch.mode(te, 0))
    assert_same(td.median(e, 1).values, torch.median(te, 1).values)
    assert_same(td.median(e), torch.median(te))
    b, tb = pair(rand_data((4,), "bool", RNG), "bool")
    assert_raises_like(lambda: td.median(b), lambda: torch.median(tb))
    g, w = td.aminmax(b), torch.aminmax(tb)
    assert_same(g.max, w.max)
    assert "return_types.mode" in repr(td.mode(m))


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_softmax_fast_paths(dt):
    """The vectorized row and column paths: odd lengths, every dim, strided views, large
    magnitudes, NaN / inf lanes (which take the exact fallback)."""
    for shape in [(3, 37), (5, 16), (2, 7, 33), (4, 1), (1, 5), (3, 600, 2)]:
        x, tx = pair(rand_data(shape, "float64", RNG, -30, 30), dt)
        for name in ("softmax", "log_softmax"):
            for d in cases(shape):
                assert_same(*both(name, x, tx, d))
    x, tx = pair(rand_data((6, 40, 9), "float64", RNG, -5, 5), dt)
    for name in ("softmax", "log_softmax"):
        for xv, txv in [(x.transpose(0, 2), tx.transpose(0, 2)), (x[:, ::3, 1:], tx[:, ::3, 1:]),
                        (x.permute(1, 0, 2), tx.permute(1, 0, 2))]:
            for d in range(3):
                assert_same(*both(name, xv, txv, d))
    big = rand_data((4, 50), "float64", RNG, -1, 1) * (3e4 if dt == "float32" else 1e300)
    big[1, 3] = np.nan
    big[2, :] = -np.inf
    big[3, 7] = np.inf
    for v in (big, big.T.copy()):
        x, tx = pair(v, dt)
        for name in ("softmax", "log_softmax"):
            for d in (0, 1):
                assert_same(*both(name, x, tx, d))
