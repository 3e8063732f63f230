"""Dtype control: promote_types, result_type, can_cast over every dtype pair
against torch 1.13; integer division and overflow semantics; out= on common ops."""
import itertools

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import DTYPE_NAMES, assert_raises_like, assert_same, pair

PAIRS = list(itertools.product(DTYPE_NAMES, DTYPE_NAMES))


def test_promote_types_and_can_cast_all_pairs():
    for a, b in PAIRS:
        got = td.promote_types(getattr(td, a), getattr(td, b))
        assert str(got) == str(torch.promote_types(getattr(torch, a), getattr(torch, b))), (a, b)
        assert td.can_cast(getattr(td, a), getattr(td, b)) == torch.can_cast(getattr(torch, a), getattr(torch, b)), \
            (a, b)


SCALARS = [True, 3, 2.5]


def test_result_type_tensors_0d_and_scalars():
    for a, b in PAIRS:
        for sa, sb in (((2,), (2,)), ((), (2,)), ((2,), ())):
            x, y = td.zeros(sa, dtype=getattr(td, a)), td.zeros(sb, dtype=getattr(td, b))
            tx, ty = torch.zeros(sa, dtype=getattr(torch, a)), torch.zeros(sb, dtype=getattr(torch, b))
            assert str(td.result_type(x, y)) == str(torch.result_type(tx, ty)), (a, b, sa, sb)
        for s in SCALARS:
            x = td.zeros(2, dtype=getattr(td, a))
            tx = torch.zeros(2, dtype=getattr(torch, a))
            assert str(td.result_type(x, s)) == str(torch.result_type(tx, s)), (a, s)
            assert str(td.result_type(s, x)) == str(torch.result_type(s, tx)), (a, s)
            # and the daemon's binary ops agree with the rule
            assert str((x + s).dtype) == str(td.result_type(x, s)), (a, s)


def test_result_type_follows_default_dtype():
    td.set_default_dtype(td.float64)
    try:
        assert td.result_type(td.zeros(2, dtype=td.int32), 1.5) is td.float64
        assert td.result_type(2, 1.5) is td.float64
    finally:
        td.set_default_dtype(td.float32)
    assert td.result_type(td.zeros(2, dtype=td.int32), 1.5) is td.float32


def test_set_default_dtype_reaches_the_daemon():
    i, ti = td.arange(4, dtype=td.int32), torch.arange(4, dtype=torch.int32)
    td.set_default_dtype(td.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for f in (lambda m, x: x * 2.5, lambda m, x: x / 3, lambda m, x: m.exp(x), lambda m, x: m.sqrt(x) + 1,
                  lambda m, x: m.tensor(1.5) + x, lambda m, x: m.rand(3).dtype and x / 7):
            assert_same(f(td, i), f(torch, ti))
        assert td.rand(2).dtype is td.float64 and td.tensor([1.5]).dtype is td.float64
    finally:
        td.set_default_dtype(td.float32)
        torch.set_default_dtype(torch.float32)
    assert_same(i / 3, ti / 3)
    with pytest.raises(TypeError):
        td.set_default_dtype(td.int64)


@pytest.mark.parametrize("fn", [
    lambda m: m.promote_types(1, m.int8),
    lambda m: m.can_cast(m.int8, "a"),
])
def test_errors(fn):
    assert_raises_like(lambda: fn(td), lambda: fn(torch))


@pytest.mark.parametrize("dt", ["int8", "int16", "int32", "int64", "uint8"])
def test_integer_overflow_wraps_like_torch(dt):
    info = np.iinfo(dt)
    data = [info.max, info.min, info.max - 1, 0, 1]
    a, b = pair(data, dt)
    assert_same(a + 1, b + 1)
    assert_same(a * 3, b * 3)
    assert_same(a - a.flip(0), b - b.flip(0))
    assert_same(-a if dt != "uint8" else a, -b if dt != "uint8" else b)


@pytest.mark.parametrize("dt", ["int8", "int32", "int64"])
def test_integer_division_semantics(dt):
    a, b = pair([7, -7, 7, -7, 0, 5], dt)
    c, d = pair([2, 2, -2, -2, 3, 5], dt)
    assert_same(a // c, b // d)
    assert_same(td.div(a, c, rounding_mode="trunc"), torch.div(b, d, rounding_mode="trunc"))
    assert_same(td.div(a, c, rounding_mode="floor"), torch.div(b, d, rounding_mode="floor"))
    assert_same(a / c, b / d)
    assert_same(a % c, b % d)
    assert_same(td.remainder(a, -3), torch.remainder(b, -3))


def test_out_argument():
    a, b = pair([[1.0, 2.0], [3.0, 4.0]], "float32")
    o, to = td.empty(2, 2), torch.empty(2, 2)
    r = td.add(a, 1, out=o)
    torch.add(b, 1, out=to)
    assert r is o
    assert_same(o, to)
    td.mul(a, a, out=o)
    torch.mul(b, b, out=to)
    assert_same(o, to)
    td.exp(a, out=o)
    torch.exp(b, out=to)
    assert_same(o, to)
    ov = td.zeros(4, 4)[::2, ::2]  # a strided out= target
    td.sub(a, 1, out=ov)
    assert_same(ov, b - 1)
    o2 = td.empty(2, 2, dtype=td.float64)  # out= casts to its own dtype
    td.tril(a, out=o2)
    assert_same(o2, torch.tril(b).double())
    with pytest.raises(TypeError):
        td.add(a, 1, out=[1])


@pytest.mark.parametrize("src", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("dst", ["int64", "int32", "int16", "int8", "uint8", "bool"])
def test_float_to_int_edge_values_as_torch(src, dst):
    # NaN, infinities and out-of-range values: torch (x86) gives the "integer indefinite"
    # value of the conversion width, truncated for the narrow types
    vals = [float("nan"), float("inf"), -float("inf"), 1e10, -1e10, 3e9, -3e9, 2.0**31, -2.0**31, 300.7, -1.5,
            1e30, -1e30, 65504.0, 0.0, -0.0]
    t = torch.tensor(vals, dtype=getattr(torch, src))
    want = t.to(getattr(torch, dst))
    got = td.tensor(t.float().tolist(), dtype=getattr(td, src)).to(getattr(td, dst))
    assert got.tolist() == want.tolist(), (got.tolist(), want.tolist())


@pytest.mark.parametrize("scalar", [0, 2, 0.5, True], ids=repr)
@pytest.mark.parametrize("dt", DTYPE_NAMES)
def test_where_with_a_python_scalar_promotes_as_a_wrapped_number(scalar, dt):
    # (differential tester) where(mask, 0, int16 tensor) is int16, not int64
    def run(L, swap):
        m = L.tensor([True, False, True])
        t = L.tensor([1, 0, 1]).to(getattr(L, dt))
        return L.where(m, t, scalar) if swap else L.where(m, scalar, t)
    for swap in (False, True):
        assert_same(run(td, swap), run(torch, swap))


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
@pytest.mark.parametrize("op", ["div", "mul", "sub", "pow", "lt", "maximum", "fmod"])
def test_operands_are_rounded_to_a_16_bit_common_dtype(half, op):
    # (differential tester) torch casts an int64 operand to the common float16 first:
    # 2049 is 2048 and 70000 is inf before the op, not after it
    def run(L):
        a = L.tensor([2049, 4097, 70000, -3, 257])
        h = L.tensor(3.0, dtype=getattr(L, half))
        return getattr(L, op)(a, h), getattr(L, op)(h, a) if op != "pow" else L.pow(a, h)
    for g, w in zip(run(td), run(torch)):
        assert_same(g, w)
