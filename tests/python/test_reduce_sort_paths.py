"""The fast paths of amax/amin (lane blocks of 1024 with a NaN re-fold) and of sort (runs of
16 merged as value-index pairs) against torch 1.13: NaN and infinities anywhere in a
block, lengths around the block and run sizes, ties, descending, strided slices."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_same

RNG = np.random.default_rng(5)


def both(a):
    return td.tensor(a), torch.from_numpy(a)


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("n", [1023, 1024, 1025, 3000, 4096])
def test_amax_amin_nan_inf_in_blocks(dt, n):
    a = RNG.standard_normal((6, n)).astype(dt)
    a[1, n // 2] = np.nan            # one NaN in the middle of a block
    a[2, n - 1] = np.nan             # in the tail
    a[3, 5] = np.inf
    a[3, 7] = -np.inf
    a[4, :] = -np.inf                # all -inf: max is -inf
    a[5, 0] = np.nan                 # NaN first, then larger values
    a[5, 1:] = 1e30
    ta, pa = both(a)
    for name in ("amax", "amin"):
        assert_same(getattr(ta, name)(dim=1), getattr(pa, name)(dim=1))
        assert_same(getattr(ta.t(), name)(dim=0), getattr(pa.t(), name)(dim=0))
    assert_same(ta.amax(), pa.amax())
    assert_same(ta[0].amax(), pa[0].amax())
    assert_same(ta.max(dim=1)[0], pa.max(dim=1)[0])
    assert_same(ta.argmax(dim=1), pa.argmax(dim=1))


@pytest.mark.parametrize("dt", ["int64", "int32", "int8", "uint8"])
def test_amax_amin_integers_long_rows(dt):
    a = RNG.integers(0 if dt == "uint8" else -100, 100, (3, 2500)).astype(dt)
    ta, pa = both(a)
    assert_same(ta.amax(dim=1), pa.amax(dim=1))
    assert_same(ta.amin(dim=1), pa.amin(dim=1))


def test_sum_long_float32_rows():
    a = RNG.random((4, 5000)).astype(np.float32)
    a[1, 2000] = np.nan
    a[2, 10] = np.inf
    ta, pa = both(a)
    assert_same(ta.sum(dim=1), pa.sum(dim=1))
    assert_same(ta.sum(), pa.sum())


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int16", "uint8"])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 33, 100, 257, 1000])
@pytest.mark.parametrize("desc", [False, True])
def test_sort_lengths_ties_nan(dt, n, desc):
    if dt.startswith("float"):
        a = RNG.integers(-5, 5, (3, n)).astype(dt)  # many ties
        a[0, RNG.random(n) < 0.1] = np.nan
        a[1, RNG.random(n) < 0.05] = np.inf
        a[1, RNG.random(n) < 0.05] = -np.inf
    else:
        a = RNG.integers(0, 7, (3, n)).astype(dt)
    ta, pa = both(a)
    tv, ti = ta.sort(dim=1, descending=desc, stable=True)
    pv, pi = pa.sort(dim=1, descending=desc, stable=True)
    assert_same(tv, pv)
    assert_same(ti, pi)
    tv, ti = ta.t().sort(dim=0, descending=desc, stable=True)  # strided slices
    pv, pi = pa.t().sort(dim=0, descending=desc, stable=True)
    assert_same(tv, pv)
    assert_same(ti, pi)


def test_sort_bool_and_topk_nan():
    b = RNG.random((2, 70)) < 0.5
    tb, pb = both(b)
    assert_same(tb.sort(dim=1, stable=True)[1], pb.sort(dim=1, stable=True)[1])
    a = RNG.random((4, 300)).astype(np.float32)
    a[0, 17] = np.nan
    a[1, [3, 200]] = np.nan
    ta, pa = both(a)
    for largest in (True, False):
        tv, ti = ta.topk(5, dim=1, largest=largest)
        pv, pi = pa.topk(5, dim=1, largest=largest)
        assert_same(tv, pv)
        assert_same(ti, pi)
