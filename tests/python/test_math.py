"""Math ops (elementwise functions, softmax, cumulative ops, statistics)
against torch 1.13: shapes (0-d, empty, non-contiguous, broadcast, negative dims), dtypes,
in-place variants, error types and messages."""
import math

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, pair, rand_data

RNG = np.random.default_rng(11)
SHAPES = [(), (0,), (7,), (3, 4), (2, 3, 4)]
SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -3.0, 1e-3, float("inf"), float("-inf"), float("nan")]


def ref(fn_torch, tx):
    """torch's result; for f16/bf16 where torch 1.13 has no CPU kernel, computed in float32."""
    try:
        return fn_torch(tx)
    except RuntimeError as e:
        if "Half" not in str(e) and "BFloat16" not in str(e):
            raise
        return fn_torch(tx.float()).to(tx.dtype)


def noncontig(x, tx):
    if x.ndim >= 2:
        return x.transpose(0, 1), tx.transpose(0, 1)
    return x, tx


UNARY = ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "expm1", "log2",
         "log10", "erf", "erfc", "erfinv", "lgamma", "digamma", "frac", "logit", "isnan", "isinf", "isposinf",
         "isneginf", "isfinite", "signbit", "nan_to_num", "square", "arcsin", "arctanh"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_shapes(name):
    for shape in SHAPES:
        lo, hi = (-0.99, 0.99) if name in ("asin", "acos", "atanh", "erfinv", "arcsin", "arctanh") else (-4, 4)
        if name == "logit":
            lo, hi = 0.01, 0.99
        x, tx = pair(rand_data(shape, "float64", RNG, lo, hi), "float32")
        x, tx = noncontig(x, tx)
        assert_same(getattr(td, name)(x), getattr(torch, name)(tx), rtol=1e-5, atol=1e-5)
        assert_same(getattr(x, name)(), getattr(tx, name)(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dt", ["float64", "float16", "bfloat16", "int64", "int16", "uint8", "bool"])
def test_unary_dtypes(dt):
    for name in UNARY:
        x, tx = pair(rand_data((3, 5), dt, RNG, -2, 3), dt)
        try:
            want = ref(getattr(torch, name), tx)
        except RuntimeError:
            assert_raises_like(lambda: getattr(td, name)(x), lambda: getattr(torch, name)(tx))
            continue
        tol = 2e-2 if dt in ("float16", "bfloat16") else None
        assert_same(getattr(td, name)(x), want, rtol=tol, atol=tol)


def test_unary_special_values():
    x, tx = pair(np.array(SPECIAL), "float64")
    for name in UNARY:
        assert_same(getattr(td, name)(x), getattr(torch, name)(tx))
    assert_same(td.logit(x, eps=0.1), torch.logit(tx, eps=0.1))
    assert_same(td.nan_to_num(x, nan=1.5, posinf=9.0), torch.nan_to_num(tx, nan=1.5, posinf=9.0))
    assert_same(td.nan_to_num(x, neginf=-7.0), torch.nan_to_num(tx, neginf=-7.0))
    for dt in ("float32", "float16"):
        y, ty = pair(np.array(SPECIAL), dt)
        assert_same(td.nan_to_num(y), torch.nan_to_num(ty))


def test_unary_inplace():
    for name in ["tan", "erf", "frac", "lgamma", "logit", "nan_to_num", "square", "expm1", "arcsin"]:
        x, tx = pair(rand_data((4, 3), "float64", RNG, 0.1, 0.9), "float32")
        x, tx = noncontig(x, tx)
        r = getattr(x, name + "_")()
        getattr(tx, name + "_")()
        assert r is x
        assert_same(x, tx)
        y, ty = pair(rand_data((4,), "float64", RNG, 0.1, 0.9), "float64")
        if hasattr(torch, name + "_"):
            getattr(td, name + "_")(y)
            getattr(torch, name + "_")(ty)
        else:
            assert not hasattr(td, name + "_")
            getattr(y, name + "_")()
            getattr(ty, name + "_")()
        assert_same(y, ty)
    x, tx = pair(rand_data((3,), "int64", RNG), "int64")
    assert_raises_like(lambda: x.tan_(), lambda: tx.tan_())
    assert_raises_like(lambda: td.frac(x), lambda: torch.frac(tx))


BINARY = ["atan2", "hypot", "copysign", "xlogy", "logaddexp", "logaddexp2", "fmod", "arctan2"]


@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcast(name):
    for sa, sb in [((), ()), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((0, 3), (3,)), ((5,), ())]:
        a, ta = pair(rand_data(sa, "float64", RNG), "float32")
        b, tb = pair(rand_data(sb, "float64", RNG, nonzero=True), "float32")
        assert_same(getattr(td, name)(a, b), getattr(torch, name)(ta, tb))
        assert_same(getattr(a, name)(b), getattr(ta, name)(tb))
    a, ta = pair(rand_data((4, 3), "float64", RNG), "float64")
    b, tb = pair(rand_data((3, 4), "float64", RNG, nonzero=True), "float64")
    a, ta = noncontig(a, ta)
    assert_same(getattr(td, name)(a, b), getattr(torch, name)(ta, tb))


@pytest.mark.parametrize("dt", ["int64", "int32", "uint8", "bool", "float16"])
def test_binary_dtypes(dt):
    for name in BINARY:
        a, ta = pair(rand_data((3, 4), dt, RNG), dt)
        b, tb = pair(rand_data((3, 4), dt, RNG, nonzero=True), dt)
        try:
            want = ref(lambda t: getattr(torch, name)(t, tb if t.dtype == tb.dtype else tb.to(t.dtype)), ta)
        except RuntimeError:
            assert_raises_like(lambda: getattr(td, name)(a, b), lambda: getattr(torch, name)(ta, tb))
            continue
        tol = 2e-2 if dt == "float16" else None
        assert_same(getattr(td, name)(a, b), want, rtol=tol, atol=tol)


def test_binary_special_and_scalars():
    v = np.array(SPECIAL)
    a, ta = pair(np.repeat(v, len(v)), "float64")
    b, tb = pair(np.tile(v, len(v)), "float64")
    for name in BINARY:
        assert_same(getattr(td, name)(a, b), getattr(torch, name)(ta, tb))
    x, tx = pair(rand_data((3, 4), "int64", RNG), "int64")
    f, tf = pair(rand_data((3, 4), "float64", RNG), "float32")
    for s in (2, -3, 2.5, True):
        assert_same(td.fmod(x, s), torch.fmod(tx, s))
        assert_same(td.fmod(f, s), torch.fmod(tf, s))
        assert_same(td.copysign(x, s), torch.copysign(tx, s))
        assert_same(td.xlogy(f, s), torch.xlogy(tf, s))
        assert_same(td.xlogy(s, f), torch.xlogy(s, tf))
    assert_raises_like(lambda: td.fmod(x, 0), lambda: torch.fmod(tx, 0))
    for name in ("atan2", "hypot", "logaddexp"):
        assert_raises_like(lambda: getattr(td, name)(f, 2), lambda: getattr(torch, name)(tf, 2))
        assert_raises_like(lambda: getattr(td, name)(2, f), lambda: getattr(torch, name)(2, tf))
    y, ty = f.clone(), tf.clone()
    for name, o in (("atan2_", f), ("hypot_", f), ("copysign_", -1.5), ("fmod_", 1.5), ("xlogy_", f)):
        getattr(y, name)(o)
        getattr(ty, name)(tf if isinstance(o, td.Tensor) else o)
        assert_same(y, ty)
    assert_raises_like(lambda: x.atan2_(x), lambda: tx.atan2_(tx))


def test_ternary():
    for sa, sb, sw in [((), (), ()), ((3, 4), (4,), (3, 1)), ((0, 2), (2,), ()), ((2, 3), (2, 3), (2, 3))]:
        a, ta = pair(rand_data(sa, "float64", RNG), "float32")
        b, tb = pair(rand_data(sb, "float64", RNG, nonzero=True), "float32")
        w, tw = pair(rand_data(sw, "float64", RNG, -1, 2, nonzero=True), "float32")
        assert_same(td.lerp(a, b, w), torch.lerp(ta, tb, tw))
        assert_same(td.addcmul(a, b, w, value=0.5), torch.addcmul(ta, tb, tw, value=0.5))
        assert_same(td.addcdiv(a, b, w, value=-2), torch.addcdiv(ta, tb, tw, value=-2))
        for s in (0.25, 0.75, 2):
            assert_same(td.lerp(a, b, s), torch.lerp(ta, tb, s))
    a, ta = pair(rand_data((3, 4), "float64", RNG), "float64")
    b, tb = pair(rand_data((4,), "float64", RNG, nonzero=True), "float64")
    a.lerp_(b, 0.3)
    ta.lerp_(tb, 0.3)
    assert_same(a, ta)
    a.addcmul_(b, b, value=3)
    ta.addcmul_(tb, tb, value=3)
    assert_same(a, ta)
    a.addcdiv_(b, b)
    ta.addcdiv_(tb, tb)
    assert_same(a, ta)
    i, ti = pair(rand_data((3, 4), "int64", RNG), "int64")
    j, tj = pair(rand_data((4,), "int32", RNG, nonzero=True), "int32")
    assert_same(td.addcmul(i, j, j, value=2), torch.addcmul(ti, tj, tj, value=2))
    f32, tf32 = pair(rand_data((4,), "float64", RNG), "float32")
    assert_raises_like(lambda: td.lerp(i, i, 0.5), lambda: torch.lerp(ti, ti, 0.5))
    assert_raises_like(lambda: td.lerp(f32, b, 0.5), lambda: torch.lerp(tf32, tb, 0.5))
    assert_raises_like(lambda: td.lerp(f32, f32, b), lambda: torch.lerp(tf32, tf32, tb))
    assert_raises_like(lambda: td.addcdiv(i, j, j), lambda: torch.addcdiv(ti, tj, tj))
    bb, tbb = pair(rand_data((4,), "bool", RNG), "bool")
    assert_raises_like(lambda: td.addcmul(bb, bb, bb), lambda: torch.addcmul(tbb, tbb, tbb))
    assert_raises_like(lambda: td.lerp(a, f32, 0.5), lambda: torch.lerp(ta, tf32, 0.5))


def test_isclose_allclose_equal():
    v = np.array(SPECIAL)
    a, ta = pair(np.repeat(v, len(v)), "float64")
    b, tb = pair(np.tile(v, len(v)) * (1 + 1e-7), "float64")
    for kw in ({}, {"equal_nan": True}, {"rtol": 0, "atol": 0}, {"rtol": 0.5, "atol": 0.1}):
        assert_same(td.isclose(a, b, **kw), torch.isclose(ta, tb, **kw))
        assert td.allclose(a, b, **kw) == torch.allclose(ta, tb, **kw)
        assert a.isclose(b, **kw).tolist() == ta.isclose(tb, **kw).tolist()
    for dt in ("int64", "uint8", "bool", "float16"):
        x, tx = pair(rand_data((3, 4), dt, RNG), dt)
        y, ty = pair(rand_data((4,), dt, RNG), dt)
        assert_same(td.isclose(x, y, rtol=0.3, atol=1), torch.isclose(tx, ty, rtol=0.3, atol=1))
        assert td.allclose(x, x) and td.equal(x, x)
    f, tf = pair(rand_data((3,), "float64", RNG), "float32")
    assert_raises_like(lambda: td.isclose(a, f), lambda: torch.isclose(ta, tf))
    assert_raises_like(lambda: td.isclose(a, b, rtol=-1), lambda: torch.isclose(ta, tb, rtol=-1))
    assert td.equal(a, b) == torch.equal(ta, tb)
    assert td.allclose(td.tensor([1.0, float("nan")]), td.tensor([1.0, float("nan")]), equal_nan=True)


def test_clamp_tensor_bounds():
    x, tx = pair(np.array([[-2.0, 0.5, float("nan"), 3.0], [1.0, -1.0, 0.0, 9.0]]), "float32")
    lo, tlo = pair(np.array([-1.0, 0.0, 0.0, float("nan")]), "float32")
    hi, thi = pair(np.array([[1.0], [-5.0]]), "float32")
    assert_same(td.clamp(x, lo, hi), torch.clamp(tx, tlo, thi))
    assert_same(td.clamp(x, min=lo), torch.clamp(tx, min=tlo))
    assert_same(x.clamp(max=hi), tx.clamp(max=thi))
    i, ti = pair(np.array([1, 5, -3]), "int64")
    assert_same(td.clamp(i, min=lo[:3]), torch.clamp(ti, min=tlo[:3]))
