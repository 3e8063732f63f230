"""Reductions against torch 1.13: all dims / given dims (negative, tuples), keepdim, dtype=."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import DTYPE_NAMES, assert_raises_like, assert_same, pair, rand_data, assert_same_outcome

RNG = np.random.default_rng(7)

SHAPES = [(), (5,), (3, 4), (2, 3, 4), (0,), (2, 0, 3), (1, 1)]
DIMS = [None, 0, -1, 1, (0, 1), (0, -1), [2, 0]]


def valid_dim(shape, dim):
    nd = max(len(shape), 1)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return all(-nd <= d < nd for d in dims)


def call(lib, name, x, dim, keepdim):
    f = getattr(lib, name)
    if dim is None:
        return f(x)
    return f(x, dim, keepdim)


def check(name, shape, dt, dim, keepdim):
    if dim is not None and not valid_dim(shape, dim):
        return
    x, tx = pair(rand_data(shape, dt, RNG, low=-3, high=3), dt)
    try:
        try:
            want = call(torch, name, tx, dim, keepdim)
        except RuntimeError as e:
            if "not implemented for 'Half'" not in str(e) and "not implemented for 'BFloat16'" not in str(e):
                raise
            want = call(torch, name, tx.float(), dim, keepdim).to(tx.dtype)  # torch 1.13 lacks the kernel
    except Exception:  # noqa: BLE001
        # exact types and messages are checked in test_errors.py
        with pytest.raises(Exception):
            call(td, name, x, dim, keepdim).tolist()
        return
    assert_same(call(td, name, x, dim, keepdim), want, rtol=1e-2 if dt in ("float16", "bfloat16") else None)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "all"])
def test_reduce_shapes(name, shape, dim, keepdim):
    if name == "all" and isinstance(dim, (tuple, list)):
        return  # torch 1.13's all() takes one dim only
    check(name, shape, "float32" if name != "all" else "bool", dim, keepdim)


@pytest.mark.parametrize("dt", DTYPE_NAMES)
@pytest.mark.parametrize("name", ["sum", "mean", "prod", "amax", "amin", "all", "any", "argmax", "argmin"])
def test_reduce_dtypes(name, dt):
    for dim in [None, 1]:
        if name in ("argmax", "argmin") and dt in ("bool",):
            continue
        check(name, (3, 4), dt, dim, False)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions(name):
    for shape in [(), (7,), (3, 4), (2, 3, 4)]:
        x, tx = pair(rand_data(shape, "float64", RNG), "float64")
        assert_same(getattr(td, name)(x), getattr(torch, name)(tx))
        assert_same(getattr(x, name)(), getattr(tx, name)())
        assert_same(getattr(td, name)(x, keepdim=True), getattr(torch, name)(tx, keepdim=True))
        for d in range(-max(len(shape), 1), max(len(shape), 1)):
            assert_same(getattr(td, name)(x, d), getattr(torch, name)(tx, d))
            assert_same(getattr(td, name)(x, dim=d, keepdim=True), getattr(torch, name)(tx, dim=d, keepdim=True))


@pytest.mark.parametrize("dt", ["float32", "int64", "int16", "uint8", "bfloat16"])
def test_max_min(dt):
    x, tx = pair(rand_data((3, 5), dt, RNG, low=0, high=100), dt)
    assert_same(td.max(x), torch.max(tx))
    assert_same(x.min(), tx.min())
    for d in [0, 1, -1]:
        for keep in [False, True]:
            r, tr = td.max(x, d, keep), torch.max(tx, d, keep)
            assert_same(r.values, tr.values)
            assert_same(r.indices, tr.indices)
            v, i = x.min(dim=d, keepdim=keep)
            tv, ti = tx.min(dim=d, keepdim=keep)
            assert_same(v, tv)
            assert_same(i, ti)
    y, ty = pair(rand_data((5,), dt, RNG, low=0, high=100), dt)
    assert_same(td.max(x, y), torch.max(tx, ty))
    assert_same(td.min(x, y), torch.min(tx, ty))
    r = td.max(x, 1)
    assert isinstance(r, tuple) and len(r) == 2
    assert type(r).__name__ == "max"


def test_return_types_repr():
    x, tx = pair([[1, 5, 2], [7, 0, 3]], "int64")
    assert repr(td.max(x, 1)) == repr(torch.max(tx, 1))
    assert repr(td.min(x, 0)) == repr(torch.min(tx, 0))


def test_sum_prod_dtype():
    x, tx = pair(rand_data((3, 4), "int32", RNG), "int32")
    assert_same(td.sum(x), torch.sum(tx))
    assert_same(td.sum(x, dtype=td.float64), torch.sum(tx, dtype=torch.float64))
    assert_same(x.sum(1, dtype=td.int16), tx.sum(1, dtype=torch.int16))
    assert_same(td.prod(x, 1, dtype=td.float32), torch.prod(tx, 1, dtype=torch.float32))
    assert_same(x.mean(dtype=td.float64), tx.mean(dtype=torch.float64))
    b, tb = pair(rand_data((10,), "bool", RNG), "bool")
    assert_same(b.sum(), tb.sum())
    assert_same(td.sum(x, dim=(0, 1), keepdim=True), torch.sum(tx, dim=(0, 1), keepdim=True))
    assert_same(td.sum(x, dim=[]), torch.sum(tx, dim=[]))


def test_reduce_noncontiguous():
    x, tx = pair(rand_data((4, 6, 5), "float32", RNG), "float32")
    for v, tv in [(x.transpose(0, 2), tx.transpose(0, 2)), (x[::2, 1:, ::3], tx[::2, 1:, ::3]),
                  (x.permute(1, 2, 0)[1], tx.permute(1, 2, 0)[1])]:
        for d in [None, 0, (0, -1)]:
            assert_same(v.sum() if d is None else v.sum(d), tv.sum() if d is None else tv.sum(d))
            assert_same(v.amax() if d is None else v.amax(d), tv.amax() if d is None else tv.amax(d))
        assert_same(v.argmax(), tv.argmax())


def test_reduce_accuracy_large():
    a = RNG.uniform(0, 1, 100000)
    x = td.tensor(a, dtype=td.float32)
    assert abs(x.sum().item() - a.astype(np.float32).astype(np.float64).sum()) < 1e-2
    assert abs(x.mean().item() - a.mean()) < 1e-5


def test_reduce_errors():
    x = td.zeros(2, 3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        x.sum(2)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.sum((0, 0))
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        td.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="max\\(\\): Expected reduction dim to be specified for input.numel\\(\\) == 0"):
        td.max(td.zeros(0))


@pytest.mark.parametrize("call", [
    lambda L: L.zeros(0).argmin(0, True), lambda L: L.zeros(0, 3).argmax(), lambda L: L.zeros(0, 3).amin(),
    lambda L: L.zeros(0, 3).amax((0, 1)), lambda L: L.zeros(0).min(0, True), lambda L: L.zeros(0, 2).kthvalue(1, 0),
], ids=["argmin-dim", "argmax-all", "amin-all", "amax-dims", "min-dim", "kthvalue-empty-dim"])
def test_empty_reduction_errors(call):
    # (differential tester) a dim given names the empty dim (IndexError); argmax without one words it shorter
    assert_raises_like(lambda: call(td), lambda: call(torch))


@pytest.mark.parametrize("dt,bounds", [("int64", (None, 0.5)), ("bool", (-1, 2)), ("uint8", (0.5, None)),
                                       ("int8", (None, 1.5)), ("int16", (0.5, 1)), ("int32", (0, 1))], ids=repr)
def test_clamp_inplace_scalar_result_type(dt, bounds):
    # (differential tester) torch's scalar clamp_ names the C++ output type in its cast error
    def run(L):
        return L.zeros(2, dtype=getattr(L, dt)).clamp_(*bounds)
    assert_same_outcome(run)


@pytest.mark.parametrize("call", [lambda L: L.zeros(2, 0).amax(-1), lambda L: L.zeros(2, 0).amin((0, -1)),
                                  lambda L: L.zeros(2, 0).amax(-1, True)], ids=["amax", "amin-list", "amax-keepdim"])
def test_amax_empty_dim_named_as_given(call):
    assert_raises_like(lambda: call(td), lambda: call(torch))


@pytest.mark.parametrize("dt", ["int64", "int32", "int8", "uint8", "bool", "float32"])
def test_median_of_an_empty_tensor_is_nan_cast(dt):
    # (differential tester) torch returns a float NaN cast to the dtype
    assert_same(td.zeros(0, dtype=getattr(td, dt)).median(), torch.zeros(0, dtype=getattr(torch, dt)).median())
