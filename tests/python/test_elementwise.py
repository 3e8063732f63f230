"""Element-wise ops against torch 1.13: values, result dtypes (type promotion incl. Python
scalars and 0-d tensors), broadcasting, non-contiguous inputs, in-place variants."""
import math

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import DTYPE_NAMES, FLOAT_NAMES, INT_NAMES, assert_raises_like, assert_same, pair, rand_data, tdt, tht

RNG = np.random.default_rng(1234)

# name -> (tensord fn, torch fn, needs nonzero rhs)
BINARY = {
    "add": (td.add, torch.add, False),
    "sub": (td.sub, torch.sub, False),
    "mul": (td.mul, torch.mul, False),
    "div": (td.div, torch.div, True),
    "div_trunc": (lambda a, b: td.div(a, b, rounding_mode="trunc"),
                  lambda a, b: torch.div(a, b, rounding_mode="trunc"), True),
    "div_floor": (lambda a, b: td.div(a, b, rounding_mode="floor"),
                  lambda a, b: torch.div(a, b, rounding_mode="floor"), True),
    "true_divide": (td.true_divide, torch.true_divide, True),
    "floor_divide": (td.floor_divide, torch.floor_divide, True),
    "remainder": (td.remainder, torch.remainder, True),
    "pow": (td.pow, torch.pow, False),
    "maximum": (td.maximum, torch.maximum, False),
    "minimum": (td.minimum, torch.minimum, False),
    "eq": (td.eq, torch.eq, False), "ne": (td.ne, torch.ne, False), "lt": (td.lt, torch.lt, False),
    "le": (td.le, torch.le, False), "gt": (td.gt, torch.gt, False), "ge": (td.ge, torch.ge, False),
    "logical_and": (td.logical_and, torch.logical_and, False),
    "logical_or": (td.logical_or, torch.logical_or, False),
    "logical_xor": (td.logical_xor, torch.logical_xor, False),
    "bitwise_and": (td.bitwise_and, torch.bitwise_and, False),
    "bitwise_or": (td.bitwise_or, torch.bitwise_or, False),
    "bitwise_xor": (td.bitwise_xor, torch.bitwise_xor, False),
}

UNARY = ["neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "floor",
         "ceil", "round", "trunc", "sign", "reciprocal", "logical_not", "bitwise_not"]


def ref(fn, *args):
    """torch result; a kernel torch 1.13 lacks for half/bfloat16 is computed in float32 and cast back."""
    try:
        return fn(*args), None
    except RuntimeError as e:
        if "not implemented for 'Half'" in str(e) or "not implemented for 'BFloat16'" in str(e):
            dt = [a.dtype for a in args if isinstance(a, torch.Tensor)][0]
            up = [a.float() if isinstance(a, torch.Tensor) and a.dtype == dt else a for a in args]
            try:
                return fn(*up).to(dt), None
            except Exception:  # noqa: BLE001
                return None, e
        return None, e
    except Exception as e:  # noqa: BLE001
        return None, e


def check(td_fn, th_fn, td_args, th_args, **tol):
    want, err = ref(th_fn, *th_args)
    if err is not None:
        # torch refuses: tensord must refuse too (at the call, or at the next sync point for
        # errors only the kernel detects, such as integer division by zero)
        with pytest.raises(Exception):
            td_fn(*td_args).tolist()
        return
    assert_same(td_fn(*td_args), want, **tol)


def operands(name, shape_a, shape_b, dt_a, dt_b=None, nonzero=False):
    dt_b = dt_b or dt_a
    a, ta = pair(rand_data(shape_a, dt_a, RNG), dt_a)
    hi = 3 if name == "pow" else 5
    lo = 0 if name == "pow" and dt_b not in FLOAT_NAMES else -5
    b, tb = pair(rand_data(shape_b, dt_b, RNG, low=lo, high=hi, nonzero=nonzero), dt_b)
    return a, ta, b, tb


@pytest.mark.parametrize("dt", DTYPE_NAMES)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_dtypes(name, dt):
    f, g, nz = BINARY[name]
    a, ta, b, tb = operands(name, (3, 4), (4,), dt, nonzero=nz)
    if name == "pow" and dt in FLOAT_NAMES:
        a, ta = pair(np.abs(rand_data((3, 4), dt, RNG)) + 0.5, dt)
    check(f, g, (a, b), (ta, tb))


SHAPES = [((), ()), ((5,), ()), ((), (5,)), ((0,), (0,)), ((2, 0), (1,)), ((4, 1), (1, 3)), ((2, 3, 4), (3, 1)),
          ((1,), (2, 3)), ((3, 1, 2), (4, 1))]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", ["add", "mul", "div", "remainder", "maximum", "lt", "bitwise_xor"])
def test_binary_broadcast(name, shapes):
    f, g, nz = BINARY[name]
    dt = "int32" if name == "bitwise_xor" else "float32"
    a, ta, b, tb = operands(name, shapes[0], shapes[1], dt, nonzero=nz)
    check(f, g, (a, b), (ta, tb))


PROMO = [("float32", "float64"), ("float16", "float32"), ("float16", "bfloat16"), ("int32", "int64"),
         ("uint8", "int8"), ("int8", "int16"), ("bool", "int32"), ("bool", "float16"), ("int64", "float32"),
         ("uint8", "bool"), ("int16", "bfloat16"), ("bool", "bool")]


@pytest.mark.parametrize("dts", PROMO, ids=str)
@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum", "eq", "floor_divide"])
def test_binary_promotion(name, dts):
    f, g, nz = BINARY[name]
    a, ta, b, tb = operands(name, (2, 3), (3,), dts[0], dts[1], nonzero=nz)
    check(f, g, (a, b), (ta, tb))
    # 0-d tensors rank below dimensioned ones
    a0, ta0 = pair(rand_data((), dts[0], RNG, nonzero=nz), dts[0])
    b1, tb1 = pair(rand_data((3,), dts[1], RNG, nonzero=nz), dts[1])
    check(f, g, (b1, a0), (tb1, ta0))


SCALARS = [2, -3, 2.5, True, 0.5]


@pytest.mark.parametrize("s", SCALARS, ids=repr)
@pytest.mark.parametrize("dt", DTYPE_NAMES)
@pytest.mark.parametrize("name", ["add", "mul", "div", "sub", "pow", "remainder", "eq", "maximum"])
def test_binary_scalar(name, dt, s):
    f, g, nz = BINARY[name]
    if name in ("maximum",):
        return  # maximum has no scalar overload in torch; covered by test_errors
    if name == "pow" and dt in INT_NAMES and isinstance(s, int) and s < 0:
        s = 2
    a, ta = pair(rand_data((2, 3), dt, RNG, nonzero=True), dt)
    if name == "pow" and dt in FLOAT_NAMES:
        a, ta = pair(np.abs(rand_data((2, 3), dt, RNG)) + 0.5, dt)
    check(f, g, (a, s), (ta, s))


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("e", [2, 3, -2, 0.5, -0.5, -1, 4, 1.5, 1, 0])
def test_pow_scalar_exponents_bitwise(e, dt):
    """torch computes x ** 2, 3, -2, 0.5, -0.5, -1 as products, sqrt and quotients: the
    same bits (the other exponents go through pow, within an ulp); signed zeros, infinities,
    NaN and negative bases included, strided too."""
    x = np.concatenate([RNG.uniform(-4, 4, 4093), [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e30]]).astype(dt)
    for a, ta in ((td.tensor(x), torch.tensor(x)), (td.tensor(x)[::3], torch.tensor(x)[::3])):
        got, want = td.pow(a, e).numpy(), torch.pow(ta, e).numpy()
        if e in (2, 3, -2, 0.5, -0.5, -1, 1, 0):
            np.testing.assert_array_equal(got.view(np.uint32 if dt == "float32" else np.uint64),
                                          want.view(np.uint32 if dt == "float32" else np.uint64))
        else:
            np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dt).eps, equal_nan=True)


@pytest.mark.parametrize("dt", ["float32", "int64", "int16", "bool", "float16"])
def test_python_operators(dt):
    x, tx = pair(rand_data((3, 4), dt, RNG, nonzero=True), dt)
    y, ty = pair(rand_data((4,), dt, RNG, nonzero=True), dt)
    ops = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a // b,
           lambda a, b: a % b, lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b,
           lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a < b, lambda a, b: a <= b,
           lambda a, b: a > b, lambda a, b: a >= b,
           lambda a, b: a + 2, lambda a, b: 2 + a, lambda a, b: 3 - a, lambda a, b: 2 * a, lambda a, b: 1 / b,
           lambda a, b: 7 // b, lambda a, b: 7 % b, lambda a, b: a * 1.5, lambda a, b: a > 0,
           lambda a, b: 2 ** a if a.dtype not in (torch.bool, td.bool) else a, lambda a, b: a ** 2,
           lambda a, b: -a, lambda a, b: ~a, lambda a, b: abs(a), lambda a, b: a & True, lambda a, b: 1 | a]
    for i, op in enumerate(ops):
        check(op, op, (x, y), (tx, ty))


@pytest.mark.parametrize("dt", DTYPE_NAMES)
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, dt):
    data = rand_data((2, 5), dt, RNG)
    if name in ("log", "sqrt", "rsqrt", "log1p") and dt in FLOAT_NAMES:
        data = np.concatenate([np.abs(data[:1]) + 0.1, data[1:]])  # a row of valid inputs, a row with NaNs
    if name == "round" and dt in FLOAT_NAMES:
        data = np.array([[0.5, 1.5, 2.5, -0.5, -1.5], [2.4, -2.6, 3.5, 0.49, 7.0]])
    x, tx = pair(data, dt)
    check(getattr(td, name), getattr(torch, name), (x,), (tx,))
    check(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(), (x,), (tx,))


@pytest.mark.parametrize("name", ["exp", "abs", "neg", "floor", "sigmoid"])
def test_unary_noncontiguous_and_shapes(name):
    for shape in [(), (0,), (3, 4), (2, 3, 4)]:
        x, tx = pair(rand_data(shape, "float64", RNG), "float64")
        check(getattr(td, name), getattr(torch, name), (x,), (tx,))
    x, tx = pair(rand_data((4, 6), "float32", RNG), "float32")
    check(getattr(td, name), getattr(torch, name), (x.t(),), (tx.t(),))
    check(getattr(td, name), getattr(torch, name), (x[::2, 1::3],), (tx[::2, 1::3],))


def test_noncontiguous_binary():
    x, tx = pair(rand_data((4, 6), "float32", RNG), "float32")
    y, ty = pair(rand_data((6, 4), "float32", RNG), "float32")
    assert_same(x + y.t(), tx + ty.t())
    assert_same(x[:, ::2] * y.t()[:, 1:4], tx[:, ::2] * ty.t()[:, 1:4])
    assert_same(td.maximum(x.t(), y), torch.maximum(tx.t(), ty))
    e, te = pair(rand_data((1, 6), "float32", RNG), "float32")
    assert_same(x + e.expand(4, 6), tx + te.expand(4, 6))


@pytest.mark.parametrize("dt", ["float32", "int64", "int32", "float16"])
def test_inplace(dt):
    x, tx = pair(rand_data((3, 4), dt, RNG, nonzero=True), dt)
    y, ty = pair(rand_data((4,), dt, RNG, nonzero=True), dt)
    for m in ["add_", "sub_", "mul_"]:
        r = getattr(x, m)(y)
        getattr(tx, m)(ty)
        assert r is x
        assert_same(x, tx)
    assert x.add_(2, alpha=3) is x
    tx.add_(2, alpha=3)
    assert_same(x, tx)
    x.sub_(y, alpha=2)
    tx.sub_(ty, alpha=2)
    assert_same(x, tx)
    if dt.startswith("float"):
        x.div_(y)
        tx.div_(ty)
        assert_same(x, tx)
        x.neg_().abs_()
        tx.neg_().abs_()
        if dt == "float32":
            x.exp_().sqrt_()
            tx.exp_().sqrt_()
        assert_same(x, tx)
    else:
        x.div_(y, rounding_mode="floor")
        tx.div_(ty, rounding_mode="floor")
        assert_same(x, tx)
        x.remainder_(3)
        tx.remainder_(3)
        assert_same(x, tx)
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            x.div_(y)
        with pytest.raises(RuntimeError):
            x.exp_()
    x += y
    tx += ty
    x *= 2
    tx *= 2
    x -= 1
    tx -= 1
    assert_same(x, tx)
    x //= 3
    tx //= 3
    assert_same(x, tx)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        y.add_(x)
    x.fill_(7)
    tx.fill_(7)
    assert_same(x, tx)
    x.zero_()
    assert_same(x, torch.zeros_like(tx))


def test_inplace_through_view_reaches_base():
    x, tx = pair(rand_data((4, 5), "float32", RNG), "float32")
    x[1:3].mul_(10)
    tx[1:3].mul_(10)
    x.t()[0].add_(100)
    tx.t()[0].add_(100)
    x[:, 4].clamp_(min=0, max=1)
    tx[:, 4].clamp_(min=0, max=1)
    assert_same(x, tx)


def test_alpha():
    x, tx = pair(rand_data((3,), "float32", RNG), "float32")
    y, ty = pair(rand_data((3,), "float32", RNG), "float32")
    assert_same(td.add(x, y, alpha=2.5), torch.add(tx, ty, alpha=2.5))
    assert_same(td.sub(x, y, alpha=-2), torch.sub(tx, ty, alpha=-2))
    assert_same(x.add(3, alpha=2), tx.add(3, alpha=2))
    i, ti = pair([1, 2, 3], "int64")
    with pytest.raises(RuntimeError, match="For integral input tensors, argument alpha must not be a floating"):
        td.add(i, i, alpha=1.5)
    assert_same(td.add(i, i, alpha=3), torch.add(ti, ti, alpha=3))


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32", "float16", "bfloat16"])
def test_where(dt):
    c, tc = pair(rand_data((3, 4), "bool", RNG), "bool")
    x, tx = pair(rand_data((3, 4), dt, RNG), dt)
    y, ty = pair(rand_data((4,), dt, RNG), dt)
    assert_same(td.where(c, x, y), torch.where(tc, tx, ty))
    assert_same(x.where(c, y), tx.where(tc, ty))
    assert_same(td.where(c, x, 0), torch.where(tc, tx, torch.tensor(0, dtype=tx.dtype)))
    assert_same(td.where(c, 1.0, 0.0), torch.where(tc, 1.0, 0.0))
    assert_same(td.where(c, 2, x), torch.where(tc, torch.tensor(2, dtype=tx.dtype), tx))
    i, ti = pair(rand_data((4,), "int32", RNG), "int32")
    assert_same(td.where(c, x, i), torch.where(tc, tx, ti))


@pytest.mark.parametrize("dt", ["bool", "int8", "int16", "float32", "float64", "complex128"])
def test_where_contiguous_runs_with_scalars(dt):
    """Runs long enough for the vector loops and their tails, each side an array or a
    broadcast 0-d tensor, every element size."""
    c, tc = pair(rand_data((1037,), "bool", RNG), "bool")
    x, tx = pair(rand_data((1037,), dt, RNG), dt)
    y, ty = pair(rand_data((1037,), dt, RNG), dt)
    s, ts = pair(rand_data((), dt, RNG), dt)
    for a, ta in ((x, tx), (s, ts)):
        for b, tb in ((y, ty), (s, ts)):
            assert_same(td.where(c, a, b), torch.where(tc, ta, tb))


@pytest.mark.parametrize("dt", ["float32", "int64", "int16", "bfloat16", "uint8"])
def test_clamp(dt):
    x, tx = pair(rand_data((3, 5), dt, RNG), dt)
    assert_same(td.clamp(x, -2, 3), torch.clamp(tx, -2, 3))
    assert_same(x.clamp(min=1), tx.clamp(min=1))
    assert_same(x.clip(max=0), tx.clip(max=0))
    assert_same(td.clamp(x, 0.5, 2.5), torch.clamp(tx, 0.5, 2.5))
    lo, tlo = pair(rand_data((5,), dt, RNG), dt)
    assert_same(td.clamp(x, min=lo), torch.clamp(tx, min=tlo))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        td.clamp(x)
    x.clamp_(-1, 1)
    tx.clamp_(-1, 1)
    assert_same(x, tx)


def test_nan_inf_handling():
    data = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e-30, 1e30]
    x, tx = pair(data, "float32")
    for name in ["exp", "log", "sqrt", "sigmoid", "tanh", "sign", "reciprocal", "relu", "abs"]:
        assert_same(getattr(td, name)(x), getattr(torch, name)(tx))
    assert_same(td.maximum(x, td.tensor(0.0)), torch.maximum(tx, torch.tensor(0.0)))
    assert_same(x == x, tx == tx)
    assert_same(td.div(x, 0.0), torch.div(tx, 0.0))


def test_integer_division_semantics():
    a, ta = pair([-7, -6, -1, 0, 1, 6, 7], "int64")
    for b in [2, -2, 3, -3]:
        assert_same(td.div(a, b, rounding_mode="trunc"), torch.div(ta, b, rounding_mode="trunc"))
        assert_same(td.div(a, b, rounding_mode="floor"), torch.div(ta, b, rounding_mode="floor"))
        assert_same(a // b, ta // b)
        assert_same(a % b, ta % b)
        assert_same(a / b, ta / b)
    f, tf = pair([-7.5, -6.0, -1.25, 0.0, 1.0, 6.5, 7.0], "float32")
    for b in [2.0, -2.0, 0.75]:
        assert_same(f % b, tf % b)
        assert_same(f // b, tf // b)
        assert_same(td.div(f, b, rounding_mode="trunc"), torch.div(tf, b, rounding_mode="trunc"))


def test_scalar_lhs_ops():
    x, tx = pair([1.0, 2.0, 3.0], "float32")
    assert_same(2 ** x, 2 ** tx)
    assert_same(10 - x, 10 - tx)
    assert_same(1 / x, 1 / tx)
    assert_same(td.pow(2, x), torch.pow(2, tx))
    assert_same(7 % x, 7 % tx)
    assert_same(7 // x, 7 // tx)


SHIFT_INTS = ["int64", "int32", "int16", "int8", "uint8"]


@pytest.mark.parametrize("dt", SHIFT_INTS)
@pytest.mark.parametrize("cdt", ["int64", "int8", "uint8"])
def test_bit_shifts_as_torch(dt, cdt):
    # counts past the width and negative ones: torch 1.13 shifts in C's promoted type
    # with the count masked (x86), then truncates
    vals = [1, -8, 100, -1, 0, 5, 127, -128] if dt != "uint8" else [1, 8, 100, 255, 0, 5, 127, 200]
    counts = [0, 1, 2, 7, 9, 31, 33, 63] if cdt != "uint8" else [0, 1, 2, 7, 9, 31, 33, 63]
    if cdt != "uint8":
        counts[3] = -1
    for x, tx in [pair(vals, dt)]:
        c, tc = pair(counts, cdt)
        assert_same(x << c, tx << tc)
        assert_same(x >> c, tx >> tc)
        assert_same(td.bitwise_left_shift(x, 3), torch.bitwise_left_shift(tx, 3))
        assert_same(td.bitwise_right_shift(x, 65), torch.bitwise_right_shift(tx, 65))
        assert_same(2 << c.abs() if cdt != "uint8" else 2 << c, 2 << (tc.abs() if cdt != "uint8" else tc))
        y, ty = x.clone(), tx.clone()
        y <<= 2
        ty <<= 2
        assert_same(y, ty)
        y.bitwise_right_shift_(1)
        ty.bitwise_right_shift_(1)
        assert_same(y, ty)


def test_bit_shift_errors_as_torch():
    f, tf = pair([1.5, 2.0], "float32")
    b, tb = pair([True, False], "bool")
    i, ti = pair([1, 2], "int64")
    assert_raises_like(lambda: f << 1, lambda: tf << 1)
    assert_raises_like(lambda: i >> f, lambda: ti >> tf)
    assert_raises_like(lambda: b << b, lambda: tb << tb)
    assert_raises_like(lambda: b >> True, lambda: tb >> True)
    assert_same(b << 1, tb << 1)  # bool with an int scalar promotes to int64


def test_function_and_method_spellings_match_torch():
    """torch.add/sub/mul/div and their methods (C fast paths in front of the Python
    functions) agree with torch in the common and the rare cases, errors included."""
    import numpy as _np
    import torch as _torch
    for mod in (td, _torch):
        a = mod.arange(6.0).reshape(2, 3) - 2
        i = mod.arange(6).reshape(2, 3)
        got = [mod.add(a, a), a.add(a), mod.add(a, 2, alpha=3), a.sub(1.5, alpha=2), mod.mul(a, a),
               a.div(2), mod.div(i, 4), a.div(a + 10, rounding_mode="floor"), mod.add(i, i, alpha=2),
               mod.add(a, _np.float64(1.5)), mod.sub(i, 1, alpha=2), a.clone().add_(a, alpha=0.5),
               a.clone().mul_(2), a.clone().div_(4), mod.add(a, a, out=mod.empty(2, 3))]
        if mod is td:
            mine = [g.tolist() for g in got]
        else:
            assert mine == [g.tolist() for g in got]
    for fn in (lambda m: m.add(m.arange(3), m.arange(3), alpha=1.5), lambda m: m.sub(m.ones(2), True),
               lambda m: m.arange(3).add("x"), lambda m: m.add(m.ones(2), m.ones(3))):
        with pytest.raises(Exception) as got_e:
            fn(td)
        with pytest.raises(Exception) as want_e:
            fn(_torch)
        assert type(got_e.value) is type(want_e.value) and str(got_e.value) == str(want_e.value)


def test_fmod_of_an_empty_integer_tensor_by_zero():
    # (differential tester) nothing is divided, so torch raises no ZeroDivisionError
    assert_same(td.fmod(td.zeros(0, 2, dtype=td.int64), 0), torch.fmod(torch.zeros(0, 2, dtype=torch.int64), 0))
