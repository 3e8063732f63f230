"""Complex dtypes (complex64/complex128) against torch 1.13: dtypes and promotion, creation,
numpy interop, casts (and the discard-imaginary warning), views, arithmetic with tensors and
Python complex scalars, elementwise functions, reductions, matmul, the gate's refusals and
their messages, and repr strings."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same_outcome

RNG = np.random.default_rng(11)
CDT = ["complex64", "complex128"]
TOL = {"complex64": dict(rtol=2e-5, atol=2e-5), "complex128": dict(rtol=1e-12, atol=1e-12)}


def cdata(shape, rng=RNG):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def cpair(shape, name="complex64"):
    a = cdata(shape).astype(name)
    return td.tensor(a), torch.tensor(a)


def same(got, want, tol=None):
    """dtype, shape and values (complex compared by numpy; bool exactly)."""
    assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
    g, w = got.numpy(), want.numpy()
    if w.dtype == np.bool_ or w.dtype.kind in "iu":
        np.testing.assert_array_equal(g, w)
    else:
        t = tol or TOL.get(str(want.dtype)[6:], dict(rtol=2e-5, atol=2e-5))
        np.testing.assert_allclose(g, w, equal_nan=True, **t)


# ---------------------------------------------------------------- dtypes and promotion

def test_dtype_objects():
    assert td.cfloat is td.complex64 and td.cdouble is td.complex128
    assert td.complex64.is_complex and not td.complex64.is_floating_point
    assert not td.float32.is_complex
    assert td.complex64.itemsize == 8 and td.complex128.itemsize == 16
    assert td.float32.to_complex() is td.complex64 and td.float64.to_complex() is td.complex128
    assert td.complex128.to_real() is td.float64 and td.float32.to_real() is td.float32
    assert repr(td.complex64) == repr(torch.complex64)
    x = td.zeros(2, dtype=td.cfloat)
    assert x.is_complex() and td.is_complex(x) and not td.zeros(1).is_complex()
    assert x.type() == "torch.ComplexFloatTensor" and x.element_size() == 8


ALL = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool", "complex64", "complex128"]


@pytest.mark.parametrize("a", ALL)
@pytest.mark.parametrize("b", CDT)
def test_promote_types_and_can_cast(a, b):
    ta, tb = getattr(torch, a), getattr(torch, b)
    assert str(td.promote_types(getattr(td, a), getattr(td, b))) == str(torch.promote_types(ta, tb))
    assert str(td.promote_types(getattr(td, b), getattr(td, a))) == str(torch.promote_types(tb, ta))
    assert td.can_cast(getattr(td, a), getattr(td, b)) == torch.can_cast(ta, tb)
    assert td.can_cast(getattr(td, b), getattr(td, a)) == torch.can_cast(tb, ta)


@pytest.mark.parametrize("name", ["float32", "float64", "int64", "int8", "bool", "complex64", "complex128"])
@pytest.mark.parametrize("zero_d", [False, True])
def test_complex_scalar_promotion(name, zero_d):
    shape = () if zero_d else (3,)
    x, tx = td.ones(shape, dtype=getattr(td, name)), torch.ones(shape, dtype=getattr(torch, name))
    for f in (lambda t: t + 1j, lambda t: 1j + t, lambda t: t * (2 - 1j), lambda t: t - 1j, lambda t: t / 1j,
              lambda t: (1 + 1j) - t):
        assert_same_outcome(lambda m: f(x if m is td else tx), check=same)
    assert str(td.result_type(x, 1j)) == str(torch.result_type(tx, 1j))


def test_zero_d_complex_with_float_tensor():
    # a 0-d complex128 keeps the float32 tensor's precision (torch's category rule)
    same(td.ones(2) + td.tensor(1j, dtype=td.complex128), torch.ones(2) + torch.tensor(1j, dtype=torch.complex128))
    same(td.ones(2, dtype=td.int32) * td.tensor(1j, dtype=td.complex128),
         torch.ones(2, dtype=torch.int32) * torch.tensor(1j, dtype=torch.complex128))


def test_inplace_promotion_errors():
    assert_raises_like(lambda: td.ones(2).add_(td.tensor([1j, 2])), lambda: torch.ones(2).add_(torch.tensor([1j, 2])))
    assert_raises_like(lambda: td.ones(2).__iadd__(1j), lambda: torch.ones(2).__iadd__(1j))
    x, tx = cpair((3,))
    x += 1j
    tx += 1j
    same(x, tx)


# ---------------------------------------------------------------- creation and interop

@pytest.mark.parametrize("name", CDT)
def test_creation(name):
    d, t = getattr(td, name), getattr(torch, name)
    for f in (lambda m, dt: m.zeros(2, 3, dtype=dt), lambda m, dt: m.ones(4, dtype=dt),
              lambda m, dt: m.full((2,), 1 - 2j, dtype=dt), lambda m, dt: m.full((2, 2), 3, dtype=dt),
              lambda m, dt: m.eye(3, dtype=dt), lambda m, dt: m.tensor([[1, 2j], [3.5, -1 - 1j]], dtype=dt),
              lambda m, dt: m.zeros_like(m.ones(2, dtype=dt)), lambda m, dt: m.ones_like(m.ones(2), dtype=dt),
              lambda m, dt: m.full_like(m.ones(3, dtype=dt), 2j), lambda m, dt: m.empty(2, dtype=dt).fill_(1 + 1j),
              lambda m, dt: m.zeros(3, dtype=dt).fill_(2)):
        same(f(td, d), f(torch, t))
    assert td.empty(2, 2, dtype=d).dtype is d
    r = td.randn(1000, dtype=d)
    assert r.dtype is d and 0.6 < float(r.real.std()) < 0.8 and 0.6 < float(r.imag.std()) < 0.8
    assert td.rand(5, dtype=d).dtype is d and td.randn_like(td.zeros(2, dtype=d)).dtype is d


def test_tensor_from_python_complex():
    for data in (1j, [1, 2.5, 1j], [[1 + 1j], [2]], [True, 1j], [np.complex64(1 + 2j)]):
        same(td.tensor(data), torch.tensor(data))
    same(td.full((2,), 1 + 2j), torch.full((2,), 1 + 2j))
    td.set_default_dtype(td.float64)
    try:
        torch.set_default_dtype(torch.float64)
        same(td.tensor([1j]), torch.tensor([1j]))
        assert repr(td.tensor([1j])) == repr(torch.tensor([1j]))
    finally:
        td.set_default_dtype(td.float32)
        torch.set_default_dtype(torch.float32)
    assert_raises_like(lambda: td.tensor([1j], dtype=td.float32), lambda: torch.tensor([1j], dtype=torch.float32))
    assert_raises_like(lambda: td.tensor([1j], dtype=td.int64), lambda: torch.tensor([1j], dtype=torch.int64))
    assert_raises_like(lambda: td.full((2,), 1j, dtype=td.float32), lambda: torch.full((2,), 1j, dtype=torch.float32))
    assert_raises_like(lambda: td.ones(2).fill_(1j), lambda: torch.ones(2).fill_(1j))


@pytest.mark.parametrize("name", CDT)
def test_numpy_roundtrip(name):
    a = cdata((2, 3)).astype(name)
    x = td.from_numpy(a)
    assert x.dtype is getattr(td, name)
    np.testing.assert_array_equal(x.numpy(), a)
    np.testing.assert_array_equal(np.asarray(x), a)
    assert x.numpy().dtype == a.dtype
    assert x[0, 1].item() == complex(a[0, 1]) and x.tolist() == a.tolist()
    assert complex(x[1, 2]) == complex(a[1, 2])
    assert_raises_like(lambda: int(x[0, 0]), lambda: int(torch.tensor(a)[0, 0]))
    assert_raises_like(lambda: float(x[0, 0]), lambda: float(torch.tensor(a)[0, 0]))
    assert float(td.tensor(2 + 0j)) == 2.0


@pytest.mark.parametrize("src", ALL)
@pytest.mark.parametrize("dst", CDT)
def test_casts(src, dst):
    data = RNG.uniform(-3, 3, (5,)).round(1)
    t = torch.tensor(data).to(getattr(torch, src))
    x = td.tensor(t.float().numpy()).to(getattr(td, src)) if src == "bfloat16" else td.tensor(t.numpy())
    same(x.to(getattr(td, dst)), t.to(getattr(torch, dst)))
    c, tc = x.to(getattr(td, dst)) * (1 + 1j), t.to(getattr(torch, dst)) * (1 + 1j)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        back = c.to(getattr(td, src))
    if src in CDT:
        assert not w
        return
    assert any("Casting complex values to real discards the imaginary part" in str(m.message) for m in w)
    assert issubclass(w[0].category, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = tc.to(getattr(torch, src))
    if src == "bfloat16":
        assert torch.equal(torch.tensor(back.float().numpy()), want.float())
    else:
        same(back, want)


def test_copy_between_dtypes():
    x, tx = cpair((2, 3), "complex128")
    y, ty = td.zeros(2, 3, dtype=td.complex64), torch.zeros(2, 3, dtype=torch.complex64)
    same(y.copy_(x), ty.copy_(tx))
    z, tz = td.zeros(3, dtype=td.complex128), torch.zeros(3, dtype=torch.complex128)
    same(z.copy_(td.tensor([1, 2, 3])), tz.copy_(torch.tensor([1, 2, 3])))
    same(x.clone(), tx.clone())
    same(x.t().contiguous(), tx.t().contiguous())


# ---------------------------------------------------------------- views

@pytest.mark.parametrize("name", CDT)
def test_views_and_movers(name):
    x, tx = cpair((3, 4), name)
    for f in (lambda t: t.view(4, 3), lambda t: t.reshape(-1), lambda t: t.t(), lambda t: t.permute(1, 0),
              lambda t: t[1:, ::2], lambda t: t[1], lambda t: t.unsqueeze(0).expand(2, 3, 4),
              lambda t: t.squeeze(), lambda t: t.flip(0), lambda t: t.tril(), lambda t: t.triu(1),
              lambda t: t[:, [3, 0, 3]],
              lambda t: t[[2, 0]], lambda t: t[t.real > 0], lambda t: t.narrow(1, 1, 2)):
        same(f(x), f(tx))
    same(td.cat([x, x * 1j]), torch.cat([tx, tx * 1j]))
    same(td.stack([x, x], 1), torch.stack([tx, tx], 1))
    same(td.where(x.real > 0, x, 0), torch.where(tx.real > 0, tx, 0))
    same(td.where(x.real > 0, x, 2j), torch.where(tx.real > 0, tx, 2j))
    idx, tidx = td.tensor([[0, 2], [1, 1], [3, 0]]), torch.tensor([[0, 2], [1, 1], [3, 0]])
    same(x.gather(1, idx), tx.gather(1, tidx))
    same(x.index_select(0, td.tensor([2, 0])), tx.index_select(0, torch.tensor([2, 0])))
    same(td.zeros(3, 4, dtype=x.dtype).scatter_(1, idx, x[:, :2]),
         torch.zeros(3, 4, dtype=tx.dtype).scatter_(1, tidx, tx[:, :2]))
    same(td.zeros(3, 4, dtype=x.dtype).scatter_add(1, idx, x[:, :2]),
         torch.zeros(3, 4, dtype=tx.dtype).scatter_add(1, tidx, tx[:, :2]))
    y, ty = x.clone(), tx.clone()
    y[[0, 2]] = 5j
    ty[[0, 2]] = 5j
    same(y, ty)
    y[1, 1:3] = td.tensor([1 + 1j, 2])
    ty[1, 1:3] = torch.tensor([1 + 1j, 2])
    same(y, ty)


@pytest.mark.parametrize("name", CDT)
def test_real_imag_views(name):
    x, tx = cpair((2, 3), name)
    same(x.real, tx.real)
    same(x.imag, tx.imag)
    same(td.real(x), torch.real(tx))
    assert x.real.stride() == tx.real.stride() and x.imag.storage_offset() == tx.imag.storage_offset()
    x.real.fill_(7)  # a view: writes through
    x.imag.mul_(2)
    tx.real.fill_(7)
    tx.imag.mul_(2)
    same(x, tx)
    r, tr = td.view_as_real(x), torch.view_as_real(tx)
    same(r, tr)
    assert r.stride() == tr.stride()
    same(td.view_as_complex(r), torch.view_as_complex(tr))
    same(td.view_as_complex(td.ones(4, 2, dtype=x.real.dtype)), torch.view_as_complex(torch.ones(4, 2, dtype=tx.real.dtype)))
    same(td.real(td.ones(2)), torch.real(torch.ones(2)))
    assert_raises_like(lambda: td.imag(td.ones(2)), lambda: torch.imag(torch.ones(2)))
    assert_raises_like(lambda: td.view_as_real(td.ones(2)), lambda: torch.view_as_real(torch.ones(2)))
    for shape_fn in (lambda m: m.ones(3), lambda m: m.ones(2, 2).t(), lambda m: m.tensor(1.),
                     lambda m: m.ones(7)[1:5].view(2, 2), lambda m: m.ones(2, dtype=m.int32)):
        assert_raises_like(lambda: td.view_as_complex(shape_fn(td)), lambda: torch.view_as_complex(shape_fn(torch)))


def test_complex_polar_conj_angle():
    a, b = RNG.standard_normal(4), RNG.standard_normal((3, 1))
    for dt in ("float32", "float64"):
        ta, tb = torch.tensor(a).to(getattr(torch, dt)), torch.tensor(b).to(getattr(torch, dt))
        xa, xb = td.tensor(ta.numpy()), td.tensor(tb.numpy())
        same(td.complex(xa, xb), torch.complex(ta, tb))
        same(td.polar(xa.abs(), xb), torch.polar(ta.abs(), tb))
    assert_raises_like(lambda: td.complex(td.ones(2), td.ones(2, dtype=td.float64)),
                       lambda: torch.complex(torch.ones(2), torch.ones(2, dtype=torch.float64)))
    assert_raises_like(lambda: td.complex(td.ones(2, dtype=td.int64), td.ones(2, dtype=td.int64)),
                       lambda: torch.complex(torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64)))
    x, tx = cpair((5,))
    same(x.conj(), tx.conj().resolve_conj())
    same(td.conj_physical(x), torch.conj_physical(tx))
    same(x.angle(), tx.angle())
    same(x.sgn(), tx.sgn())
    same(td.angle(td.tensor([-1., 2, 0])), torch.angle(torch.tensor([-1., 2, 0])))
    same(td.angle(td.tensor([-1, 2])), torch.angle(torch.tensor([-1, 2])))
    same(td.ones(2).conj(), torch.ones(2).conj())


# ---------------------------------------------------------------- arithmetic and functions

@pytest.mark.parametrize("name", CDT)
def test_binary_ops(name):
    x, tx = cpair((3, 4), name)
    y, ty = cpair((4,), name)
    r = td.tensor(RNG.standard_normal((3, 1)))
    tr = torch.tensor(r.numpy())
    for f in (lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
              lambda a, b: a ** 2, lambda a, b: a ** b, lambda a, b: 2 ** a, lambda a, b: a == b,
              lambda a, b: a != b, lambda a, b: a == a, lambda a, b: a + 2.5, lambda a, b: 3 - a,
              lambda a, b: a * 2, lambda a, b: a / 2, lambda a, b: a.add(b, alpha=2), lambda a, b: a.sub(b, alpha=0.5),
              lambda a, b: -a, lambda a, b: a.neg(), lambda a, b: a.pow(0.5), lambda a, b: a.mul(1 + 2j)):
        same(f(x, y), f(tx, ty))
    same(x * r, tx * tr)
    same(r - x, tr - tx)
    same(x / r, tx / tr)
    same(x.eq(x.conj()), tx.eq(tx.conj()))
    z, tz = x.clone(), tx.clone()
    z *= y
    tz *= ty
    z.div_(2j)
    tz.div_(2j)
    same(z, tz)


@pytest.mark.parametrize("name", CDT)
def test_unary_functions(name):
    x, tx = cpair((7,), name)
    for fn in ("abs", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "reciprocal",
               "sigmoid", "asin", "acos", "atan", "asinh", "acosh", "atanh", "log2", "log10", "neg"):
        tol = dict(rtol=1e-4, atol=1e-5) if name == "complex64" else dict(rtol=1e-10, atol=1e-12)
        same(getattr(x, fn)(), getattr(tx, fn)(), tol)
    specials = np.array([complex(np.nan, 1), complex(1, np.inf), complex(-np.inf, 0), 1 + 1j], dtype=name)
    s, ts = td.tensor(specials), torch.tensor(specials)
    for fn in ("isnan", "isinf", "isfinite"):
        same(getattr(td, fn)(s), getattr(torch, fn)(ts))
    assert_raises_like(lambda: x.abs_(), lambda: tx.abs_())


@pytest.mark.parametrize("name", CDT)
def test_reductions(name):
    x, tx = cpair((3, 4, 2), name)
    for f in (lambda t: t.sum(), lambda t: t.mean(), lambda t: t.prod(), lambda t: t.sum(1),
              lambda t: t.sum((0, 2), keepdim=True), lambda t: t.mean(-1), lambda t: t.prod(0),
              lambda t: t.prod(1, keepdim=True), lambda t: t.t().sum(0) if t.ndim == 2 else t[:, 0].t().sum(0),
              lambda t: t[:, :0].sum(1), lambda t: t[:, :0].prod(1)):
        same(f(x), f(tx), dict(rtol=1e-4, atol=1e-4) if name == "complex64" else None)
    same(x.mean(dtype=getattr(td, name)), tx.mean(dtype=getattr(torch, name)))
    same(td.ones(3).sum(dtype=td.complex64), torch.ones(3).sum(dtype=torch.complex64))


@pytest.mark.parametrize("name", CDT)
def test_matmul_family(name):
    a, ta = cpair((3, 4), name)
    b, tb = cpair((4, 5), name)
    v, tv = cpair((4,), name)
    bb, tbb = cpair((2, 4, 5), name)
    tol = dict(rtol=1e-4, atol=1e-4) if name == "complex64" else None
    # Debian's torch 1.13 returns 0 from complex dot/vdot (its BLAS cdotu call): numpy is the reference
    np.testing.assert_allclose(td.dot(v, v * 2j).numpy(), np.dot(v.numpy(), v.numpy() * 2j), rtol=1e-5)
    np.testing.assert_allclose(td.vdot(v, v * 2j).numpy(), np.vdot(v.numpy(), v.numpy() * 2j), rtol=1e-5)
    assert td.vdot(v, v).dtype is v.dtype
    for f in (lambda m, x, y, z, w: x @ y, lambda m, x, y, z, w: m.mm(x, y), lambda m, x, y, z, w: m.mv(x, z),
              lambda m, x, y, z, w: x @ w, lambda m, x, y, z, w: m.bmm(w.transpose(1, 2), w),
              lambda m, x, y, z, w: x.t().conj() @ x, lambda m, x, y, z, w: z @ y):
        same(f(td, a, b, v, bb), f(torch, ta, tb, tv, tbb), tol)
    same(td.isclose(a, a + 1e-9), torch.isclose(ta, ta + 1e-9))
    assert td.allclose(a, a.clone()) and not td.allclose(a, a + 1j)


# ---------------------------------------------------------------- the gate

REFUSED = [
    ("sort", lambda m, x: m.sort(x)), ("maximum", lambda m, x: m.maximum(x, x)), ("lt", lambda m, x: x < x),
    ("lt scalar", lambda m, x: x < 1), ("gt", lambda m, x: m.gt(x, x)), ("ge", lambda m, x: x >= x),
    ("clamp", lambda m, x: x.clamp(0, 1)), ("remainder", lambda m, x: x % 2), ("floor", lambda m, x: x.floor()),
    ("ceil", lambda m, x: x.ceil()), ("trunc", lambda m, x: x.trunc()), ("sign", lambda m, x: x.sign()),
    ("relu", lambda m, x: m.relu(x)), ("argmax", lambda m, x: x.argmax()), ("floordiv", lambda m, x: x // 2),
    ("div trunc", lambda m, x: m.div(x, 2, rounding_mode="trunc")), ("atan2", lambda m, x: m.atan2(x, x)),
    ("bitwise_and", lambda m, x: x & x), ("isposinf", lambda m, x: m.isposinf(x)),
    ("signbit", lambda m, x: m.signbit(x)), ("amax", lambda m, x: x.amax()), ("nansum", lambda m, x: x.nansum()),
    ("arange", lambda m, x: m.arange(3, dtype=x.dtype)), ("frac", lambda m, x: x.frac()),
    ("histc", lambda m, x: x.histc()),
]


@pytest.mark.parametrize("name", CDT)
@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_gate_messages(name, case):
    x, tx = cpair((3,), name)
    assert_raises_like(lambda: case[1](td, x), lambda: case[1](torch, tx))


# ---------------------------------------------------------------- printing

PRINT_CASES = [
    [1 + 2j, 3 - 4j], [0j], [1.5 - 0.25j, -2 + 1e-5j], [complex(np.inf, 1), complex(1, np.nan), -1 - 1j],
    [[1 + 1j, 2], [3, 4 - 1j]], [1e10 + 1j, 1], [-0.0 - 0.0j, 1j], 2 - 3j, [[1j] * 3] * 2,
]


@pytest.mark.parametrize("name", CDT)
@pytest.mark.parametrize("data", PRINT_CASES, ids=range(len(PRINT_CASES)))
def test_repr(name, data):
    x, tx = td.tensor(data, dtype=getattr(td, name)), torch.tensor(data, dtype=getattr(torch, name))
    assert repr(x) == repr(tx)
    assert str(x) == str(tx)


def test_repr_summarized_and_empty():
    a = (np.arange(2000) * (1 - 0.5j)).astype(np.complex64)
    assert repr(td.tensor(a)) == repr(torch.tensor(a))
    b = cdata((40, 60)).astype(np.complex128)
    assert repr(td.tensor(b)) == repr(torch.tensor(b))
    assert repr(td.zeros(0, dtype=td.complex64)) == repr(torch.zeros(0, dtype=torch.complex64))
    assert repr(td.zeros(0, 2, dtype=td.complex128)) == repr(torch.zeros(0, 2, dtype=torch.complex128))
    r = cdata((3, 5)).astype(np.complex64)
    assert repr(td.tensor(r)) == repr(torch.tensor(r))


# ---------------------------------------------------------------- elementwise and reductions added later

def _shapes_nc(name):
    """(td, torch) pairs: contiguous, transposed (non-contiguous) and a strided slice."""
    x, tx = cpair((4, 5), name)
    return [(x, tx), (x.t(), tx.t()), (x[::2, 1:], tx[::2, 1:])]


@pytest.mark.parametrize("name", CDT)
def test_cumulative_and_statistics(name):
    tol = dict(rtol=1e-4, atol=1e-4) if name == "complex64" else None
    for x, tx in _shapes_nc(name):
        for f in (lambda t: t.cumsum(0), lambda t: t.cumsum(-1), lambda t: t.cumprod(1), lambda t: t.cumprod(-2),
                  lambda t: t.var(), lambda t: t.std(1), lambda t: t.var(0, unbiased=False, keepdim=True),
                  lambda t: t.var(1, correction=0), lambda t: t.norm(), lambda t: t.norm(1, 0), lambda t: t.norm(3),
                  lambda t: t.norm(float("inf")), lambda t: t.norm(float("-inf"), 1), lambda t: t.norm(0),
                  lambda t: t.abs(), lambda t: t.sgn(), lambda t: t.angle(), lambda t: t.reciprocal(),
                  lambda t: t.square(), lambda t: t.pow(1 + 1j), lambda t: t.prod(1), lambda t: t.sum(0),
                  lambda t: t.mean(1, keepdim=True)):
            same(f(x), f(tx), tol)
        for f in (lambda m, t: m.var_mean(t, 1), lambda m, t: m.std_mean(t), lambda m, t: m.std_mean(t, 0, True)):
            for g, w in zip(f(td, x), f(torch, tx)):
                same(g, w, tol)
        for f in (lambda m, t: m.linalg.vector_norm(t), lambda m, t: m.linalg.vector_norm(t, 3, 1),
                  lambda m, t: m.linalg.vector_norm(t, float("inf")), lambda m, t: m.linalg.vector_norm(t, 0),
                  lambda m, t: m.linalg.vector_norm(t, -1, 0),
                  lambda m, t: m.linalg.vector_norm(t, dtype=getattr(m, "complex128")),
                  lambda m, t: m.linalg.matrix_norm(t), lambda m, t: m.linalg.matrix_norm(t, 1),
                  lambda m, t: m.linalg.matrix_norm(t, float("-inf")), lambda m, t: m.linalg.norm(t),
                  lambda m, t: m.dist(t, t * 1j), lambda m, t: m.dist(t, t.conj(), 3),
                  lambda m, t: m.cumsum(t, 0, dtype=getattr(m, "complex128"))):
            same(f(td, x), f(torch, tx), tol)
    y = td.zeros(3, dtype=getattr(td, name))
    ty = torch.zeros(3, dtype=getattr(torch, name))
    same(y.cumsum_(0), ty.cumsum_(0))
    same(td.arange(4).cumsum(0, dtype=td.complex64), torch.arange(4).cumsum(0, dtype=torch.complex64))
    same(td.arange(4).mean(dtype=getattr(td, name)), torch.arange(4).mean(dtype=getattr(torch, name)))
    same(td.arange(1, 5).prod(dtype=getattr(td, name)), torch.arange(1, 5).prod(dtype=getattr(torch, name)))
    e, te = td.zeros(0, 3, dtype=getattr(td, name)), torch.zeros(0, 3, dtype=getattr(torch, name))
    same(e.var(0), te.var(0))
    same(e.norm(), te.norm())


SPECIAL = [complex(np.nan, 1), complex(1, np.inf), complex(-np.inf, 0), 1 + 1j, 0j, 1j, -2.5 + 0j]


@pytest.mark.parametrize("name", CDT)
def test_nonzero_and_logical(name):
    for x, tx in _shapes_nc(name) + [(td.tensor(np.array(SPECIAL, dtype=name)), torch.tensor(np.array(SPECIAL, dtype=name)))]:
        x = td.where(x.real > 0.3, td.zeros((), dtype=x.dtype), x) if x.ndim == 2 else x
        tx = torch.where(tx.real > 0.3, torch.zeros((), dtype=tx.dtype), tx) if tx.ndim == 2 else tx
        x = td.where(x.real < -0.5, x.imag * 1j, x) if x.ndim == 2 else x  # pure imaginary values
        tx = torch.where(tx.real < -0.5, tx.imag * 1j, tx) if tx.ndim == 2 else tx
        for f in (lambda m, t: m.count_nonzero(t), lambda m, t: m.count_nonzero(t, 0), lambda m, t: t.nonzero(),
                  lambda m, t: m.argwhere(t), lambda m, t: t[t != 0], lambda m, t: t.masked_select(t.imag > 0),
                  lambda m, t: m.logical_not(t), lambda m, t: m.logical_and(t, t.real),
                  lambda m, t: m.logical_or(t, t * 0), lambda m, t: m.logical_xor(t, t.conj().imag),
                  lambda m, t: t.logical_and(m.ones(t.shape[-1], dtype=m.bool)), lambda m, t: t.isclose(t),
                  lambda m, t: m.isclose(t, t + 1e-9j, equal_nan=True)):
            same(f(td, x), f(torch, tx))
        for f in (lambda m, t: t.all(), lambda m, t: t.any(), lambda m, t: t.all(-1)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch 1.13 casts to bool: real part only
                same(f(td, x), f(torch, tx))
        for g, w in zip(x.nonzero(as_tuple=True), tx.nonzero(as_tuple=True)):
            same(g, w)
        assert td.allclose(x, x.clone(), equal_nan=True) == torch.allclose(tx, tx.clone(), equal_nan=True)


@pytest.mark.parametrize("name", CDT)
def test_ternary_and_alpha(name):
    tol = dict(rtol=1e-4, atol=1e-5) if name == "complex64" else None
    a, ta = cpair((3, 4), name)
    b, tb = cpair((4,), name)
    w, tw = cpair((3, 1), name)
    for f in (lambda m, x, y, z: m.lerp(x, y, 0.3), lambda m, x, y, z: m.lerp(x, y, 0.7),
              lambda m, x, y, z: m.lerp(x, y, 0.3 + 0.6j), lambda m, x, y, z: m.lerp(x, y, z),
              lambda m, x, y, z: m.lerp(x.t(), x.t() * 2, 0.1j),
              lambda m, x, y, z: m.addcmul(x, y, z), lambda m, x, y, z: m.addcmul(x, y, z, value=2),
              lambda m, x, y, z: m.addcmul(x, y, z, value=1j), lambda m, x, y, z: m.addcdiv(x, y, z, value=0.5),
              lambda m, x, y, z: m.addcdiv(x, y, z, value=2 - 1j), lambda m, x, y, z: m.addcdiv(x.t(), z.t(), x.t() + 1, value=3),
              lambda m, x, y, z: m.add(x, y, alpha=1j), lambda m, x, y, z: m.sub(x, y, alpha=2 - 1j),
              lambda m, x, y, z: x.add(2, alpha=1j), lambda m, x, y, z: m.add(x, m.ones(4), alpha=0.5j),
              lambda m, x, y, z: x.clone().add_(y, alpha=-1j), lambda m, x, y, z: x.clone().sub_(y, alpha=1j),
              lambda m, x, y, z: x.clone().lerp_(y, 0.2j), lambda m, x, y, z: x.clone().addcmul_(y, z, value=1j),
              lambda m, x, y, z: m.linspace(0, 1 + 1j, 5), lambda m, x, y, z: m.linspace(-1j, 2, 7),
              lambda m, x, y, z: m.linspace(1 + 1j, 3 - 2j, 4, dtype=m.complex128),
              lambda m, x, y, z: m.logspace(0, 1 + 1j, 5), lambda m, x, y, z: m.logspace(1j, 2, 3, base=2)):
        same(f(td, a, b, w), f(torch, ta, tb, tw), tol)
    assert_raises_like(lambda: td.add(td.ones(2), td.ones(2), alpha=1j),
                       lambda: torch.add(torch.ones(2), torch.ones(2), alpha=1j))


@pytest.mark.parametrize("name", CDT)
def test_fills_and_index_ops(name):
    x, tx = cpair((3, 4), name)
    idx, tidx = td.tensor([[0, 2], [1, 1], [0, 0]]), torch.tensor([[0, 2], [1, 1], [0, 0]])
    m, tm = x.real > 0, tx.real > 0
    for f in (lambda t, i, k: t.masked_fill(k, 1j), lambda t, i, k: t.masked_fill(k, 2),
              lambda t, i, k: t.index_fill(1, i[:, 0], 2 - 1j), lambda t, i, k: t.clone().fill_(3j),
              lambda t, i, k: t.clone().masked_fill_(k, -1j),
              lambda t, i, k: t.scatter(1, i, t[:, :2], reduce="multiply"),
              lambda t, i, k: t.scatter(1, i, 2j, reduce="multiply"), lambda t, i, k: t.scatter(1, i, 1j),
              lambda t, i, k: t.scatter(1, i, t[:, 1:3], reduce="add"),
              lambda t, i, k: t.clone().scatter_(0, i[:2], t[:2, :2] * 1j, reduce="multiply"),
              lambda t, i, k: t.index_add(0, i[:, 0], t * 1j), lambda t, i, k: t.index_add(1, i[0], t[:, :2], alpha=2),
              lambda t, i, k: t.index_add(1, i[0], t[:, :2], alpha=1j),
              lambda t, i, k: t.index_copy(0, i[:, 1][:2], t[:2] * 2), lambda t, i, k: t.take(i),
              lambda t, i, k: t.clone().put_(i, t[:, :2] * 1j), lambda t, i, k: t.clone().put_(i, t[:, :2], True),
              lambda t, i, k: t.flip(1), lambda t, i, k: t.roll(1), lambda t, i, k: t.roll(2, 1),
              lambda t, i, k: t.repeat(2, 1), lambda t, i, k: t.tile(2), lambda t, i, k: t.t().tile((2, 1)),
              lambda t, i, k: t.t().flip(0), lambda t, i, k: t.masked_select(k)):
        same(f(x, idx, m), f(tx, tidx, tm))
    for f in (lambda mod, t, k: mod.where(k, 1j, 2.0), lambda mod, t, k: mod.where(k, t, 1 - 1j),
              lambda mod, t, k: mod.where(k, 1j, t.t().t())):
        same(f(td, x, m), f(torch, tx, tm))
    same(td.sinc(x), torch.sinc(tx), dict(rtol=1e-4, atol=1e-5) if name == "complex64" else None)


def test_division_like_torch():
    """torch 1.13 divides and multiplies complex numbers with the textbook formulas."""
    a = np.array([1 + 1j, 1 + 0j, complex(np.inf, 0), 1e30 + 1e30j, 0j, 2 + 3j, complex(np.inf, np.inf)])
    b = np.array([0j, 0j, 1 + 0j, 1e30 + 1e30j, 0j, complex(np.inf, 0), 1 + 1j])
    for name in CDT:
        x, y = td.tensor(a.astype(name)), td.tensor(b.astype(name))
        tx, ty = torch.tensor(a.astype(name)), torch.tensor(b.astype(name))
        same(x[:1] / y[:1], tx[:1] / ty[:1])
        for i in range(len(a)):  # one element at a time: torch's scalar (not vectorized) path
            same(x[i:i + 1] / y[i:i + 1], tx[i:i + 1] / ty[i:i + 1])
            same(x[i:i + 1] * y[i:i + 1], tx[i:i + 1] * ty[i:i + 1])
        same(td.tensor([0j, 2j], dtype=x.dtype).reciprocal(), torch.tensor([0j, 2j], dtype=tx.dtype).reciprocal())


MORE_REFUSED = [
    ("logcumsumexp", lambda m, x: x.logcumsumexp(0)), ("exp2", lambda m, x: x.exp2()),
    ("expm1", lambda m, x: x.expm1()), ("log1p", lambda m, x: x.log1p()), ("cummax", lambda m, x: x.cummax(0)),
    ("median", lambda m, x: x.median()), ("topk", lambda m, x: x.topk(1)), ("aminmax", lambda m, x: x.aminmax()),
    ("argsort", lambda m, x: x.argsort()), ("mode", lambda m, x: x.mode()), ("softmax", lambda m, x: x.softmax(0)),
    ("heaviside", lambda m, x: m.heaviside(x, x)), ("msort", lambda m, x: m.msort(x)),
    ("nanmedian", lambda m, x: x.nanmedian()),
]


@pytest.mark.parametrize("case", MORE_REFUSED, ids=[c[0] for c in MORE_REFUSED])
def test_more_refusals(case):
    x, tx = cpair((3,))
    assert_raises_like(lambda: case[1](td, x), lambda: case[1](torch, tx))


@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_gather_scatter_negative_dims(dim):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    idx = rng.integers(0, 3 if dim in (0, -2) else 4, (2, 3))
    x, tx = td.tensor(a.astype(np.complex64)), torch.tensor(a.astype(np.complex64))
    i, ti = td.tensor(idx), torch.tensor(idx)
    assert np.array_equal(td.gather(x, dim, i).numpy(), torch.gather(tx, dim, ti).numpy())
    src, tsrc = td.ones(2, 3, dtype=td.complex64) * 2j, torch.ones(2, 3, dtype=torch.complex64) * 2j
    assert np.array_equal(x.scatter(dim, i, src).numpy(), tx.scatter(dim, ti, tsrc).numpy())
    assert np.array_equal(x.scatter_add(dim, i, src).numpy(), tx.scatter_add(dim, ti, tsrc).numpy())
    assert np.array_equal(x.cumsum(dim).numpy(), tx.cumsum(dim).numpy())
