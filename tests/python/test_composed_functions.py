"""Functions composed in Python from the op rows (pointwise extras, statistics, windows,
distances, tensord.special, tensord.linalg extras) against torch 1.13: values, dtypes, shapes, non-contiguous inputs, errors."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, from_torch

warnings.filterwarnings("ignore", category=UserWarning)
RNG = np.random.default_rng(1234)


def _conv(x):
    return from_torch(x) if isinstance(x, torch.Tensor) else x


def both(fn, *args, rtol=None, atol=None, **kw):
    """fn(module, *args): torch tensors in args are mirrored into tensord; results compared."""
    want = fn(torch, *args, **kw)
    got = fn(td, *[_conv(a) for a in args], **{k: _conv(v) for k, v in kw.items()})
    if isinstance(want, torch.Tensor):
        assert_same(got, want, rtol, atol)
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            if isinstance(w, torch.Tensor):
                assert_same(g, w, rtol, atol)
            else:
                assert g == w
    else:
        assert got == want, (got, want)
    return got


def errs(fn, *args, **kw):
    return assert_raises_like(lambda: fn(td, *[_conv(a) for a in args], **{k: _conv(v) for k, v in kw.items()}),
                              lambda: fn(torch, *args, **kw))


def T(shape, dtype=torch.float32, low=-5, high=5, noncontig=False):
    if dtype == torch.bool:
        a = torch.from_numpy(RNG.random(shape) < 0.5)
    elif dtype.is_floating_point:
        a = torch.from_numpy(RNG.uniform(low, high, shape)).to(dtype)
    else:
        lo = 0 if dtype == torch.uint8 else low
        a = torch.from_numpy(RNG.integers(lo, high + 1, shape)).to(dtype)
    if noncontig and a.ndim >= 2:
        a = a.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, transposed strides
    return a


FLOATS = [torch.float32, torch.float64]
INTS = [torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8]
SHAPES = [(5,), (3, 4), (2, 3, 4)]


# ---------------------------------------------------------------- elementwise

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dt", FLOATS + [torch.int64, torch.int32, torch.uint8])
def test_trace_diff_deg(shape, dt):
    x = T(shape, dt, noncontig=True)
    if len(shape) == 2:
        both(lambda m, x: m.trace(x), x)
    both(lambda m, x: m.diff(x), x)
    both(lambda m, x: m.diff(x, n=2, dim=0), x)
    both(lambda m, x: x.diff(3, -1), x)
    both(lambda m, x: m.deg2rad(x), x)
    both(lambda m, x: m.rad2deg(x), x)
    if dt != torch.float16:
        both(lambda m, x: m.sinc(x), x)
    both(lambda m, x: m.isreal(x), x)
    both(lambda m, x: m.is_signed(x), x)


def test_diff_prepend_append_bool():
    x = T((2, 3), torch.int64)
    both(lambda m, x, p: m.diff(x, prepend=p), x, T((2, 1)))
    both(lambda m, x, p, a: m.diff(x, dim=0, prepend=p, append=a), x, T((1, 3), torch.int64), T((2, 3), torch.uint8))
    both(lambda m, x: m.diff(x), T((7,), torch.bool))
    both(lambda m, x: m.diff(x, n=0), x)
    errs(lambda m, x: m.diff(x), torch.tensor(1))
    both(lambda m, x: m.diff(x, n=-1), x)
    errs(lambda m, x, p: m.diff(x, prepend=p), x, torch.tensor(1))
    errs(lambda m, x, p: m.diff(x, prepend=p), x, torch.zeros(3, 1))
    errs(lambda m, x: m.trace(x), torch.arange(3))
    errs(lambda m, x: m.trace(x), torch.ones(2, 2, dtype=torch.bool))


@pytest.mark.parametrize("dt", FLOATS + [torch.int64, torch.uint8, torch.bool])
def test_fmax_fmin(dt):
    a, b = T((3, 4), dt, noncontig=True), T((4,), dt)
    if dt.is_floating_point:
        a[0, 1] = float("nan")
        b[2] = float("nan")
    both(lambda m, a, b: m.fmax(a, b), a, b)
    both(lambda m, a, b: m.fmin(a, b), a, b)
    both(lambda m, a, b: a.fmax(b), a, b)
    both(lambda m, a, b: m.fmax(a, b), a, T((4,), torch.float64))
    errs(lambda m, a: m.fmax(a, 2), a)


@pytest.mark.parametrize("dt", INTS)
def test_gcd_lcm(dt):
    a, b = T((3, 4), dt, -30, 30), T((4,), dt, -30, 30)
    both(lambda m, a, b: m.gcd(a, b), a, b)
    both(lambda m, a, b: m.lcm(a, b), a, b)
    both(lambda m, a, b: a.clone().gcd_(b), a, b)
    both(lambda m, a, b: a.clone().lcm_(b), a, b)
    both(lambda m, a, b: m.gcd(a, b), a, T((4,), torch.int8))
    errs(lambda m, a: m.gcd(a, a), T((3,)))
    errs(lambda m, a: m.gcd(a, a), T((3,), torch.bool))
    errs(lambda m, a: m.gcd(a, 2), a)


def test_heaviside_ldexp_float_power():
    x = T((3, 4))
    x[0, 0] = 0
    v = T((4,))
    both(lambda m, x, v: m.heaviside(x, v), x, v)
    both(lambda m, x, v: m.heaviside(x, v), T((5,), torch.int64, -2, 2), T((1,), torch.int64))
    both(lambda m, x, v: m.heaviside(x, v), T((5,), torch.bool), T((5,), torch.bool))
    errs(lambda m, x, v: m.heaviside(x, v), x, T((4,), torch.int64))
    errs(lambda m, x: m.heaviside(x, 1), x)
    for a, b in ((T((3, 4)), T((4,), torch.int64)), (T((3,), torch.int64), T((3,), torch.int64)),
                 (T((3,), torch.float64), T((3,), torch.int32))):
        both(lambda m, a, b: m.ldexp(a, b), a, b)
        both(lambda m, a, b: m.float_power(a, b), a, T(b.shape, torch.int64, 0, 3))
    both(lambda m, a: m.float_power(a, 2.5), T((3,), torch.int64, 0, 4))
    both(lambda m, a: m.float_power(2, a), T((3,), torch.int64, 0, 4))
    both(lambda m, a: a.clone().float_power_(2), T((3,), torch.float64))
    errs(lambda m, a: a.float_power_(2), T((3,)))
    errs(lambda m, a: m.ldexp(a, 2), x)


@pytest.mark.parametrize("dt", FLOATS + [torch.float16, torch.bfloat16])
def test_frexp(dt):
    x = torch.tensor([0., -0., 3., -0.75, 1e30, float("inf"), float("nan"), 1.5, 2.0 ** -130, 1e-3]).to(dt)
    both(lambda m, x: m.frexp(x), x)
    both(lambda m, x: x.frexp(), x[::2])
    errs(lambda m, x: m.frexp(x), T((3,), torch.int64))


@pytest.mark.parametrize("dt", [torch.float32, torch.float64, torch.bfloat16])
def test_nextafter(dt):
    x = torch.tensor([0., 1., 1., -1., 2., 1e-40, -2., float("inf"), 3e38, 5., float("nan")]).to(dt)
    y = torch.tensor([1., 2., 0., 0., 1., 0., -3., 0., 3.3e38, 5., 1.]).to(dt)
    want = torch.nextafter(x, y)
    got = td.nextafter(from_torch(x), from_torch(y))
    assert torch.equal(torch.from_numpy(got.float().numpy()).isnan(), want.float().isnan())
    assert np.array_equal(np.nan_to_num(got.double().numpy()), np.nan_to_num(want.double().numpy()))
    errs(lambda m, x: m.nextafter(x, x), T((3,), torch.int64))


def test_rsub_positive_isin_predicates():
    x, y = T((3, 4), torch.int64), T((4,))
    both(lambda m, x: m.rsub(x, 2), x)
    both(lambda m, x: m.rsub(x, 1.5), x)
    both(lambda m, x, y: m.rsub(x, y, alpha=2), x, y)
    errs(lambda m, x: m.rsub(x, 2, alpha=1.5), x)
    errs(lambda m, x: m.rsub(x, x), T((3,), torch.bool))
    both(lambda m, x: m.positive(x), x)
    errs(lambda m, x: m.positive(x), T((3,), torch.bool))
    for e, t in ((x, torch.tensor([1, 3, -2])), (T((2, 5)), T((3,))), (x, y), (x, torch.tensor([], dtype=torch.int64))):
        both(lambda m, e, t: m.isin(e, t), e, t)
        both(lambda m, e, t: m.isin(e, t, invert=True), e, t)
    both(lambda m, e: m.isin(e, 3), x)
    both(lambda m, e: m.isin(3, e), x)
    errs(lambda m, e: m.isin(e, e), T((3,), torch.bool))
    for v in ([1], [0.], [True]):
        assert td.is_nonzero(td.tensor(v)) == torch.is_nonzero(torch.tensor(v))
    errs(lambda m, x: m.is_nonzero(x), torch.tensor([]))
    errs(lambda m, x: m.is_nonzero(x), x)
    both(lambda m, a, b: m.is_same_size(a, b), x, T((3, 4)))
    both(lambda m, a, b: a.is_same_size(b), x, T((4, 3)))
    for dt in INTS + FLOATS + [torch.bool]:
        both(lambda m, a: a.is_signed(), T((2,), dt))


# ---------------------------------------------------------------- creation

def test_creation():
    both(lambda m: m.logspace(0, 2, 5))
    both(lambda m: m.logspace(-1, 2, 4, base=2, dtype=m.float64))
    both(lambda m: m.logspace(0, 2, 3, dtype=m.int64))
    both(lambda m: m.logspace(0, 1, 1))
    errs(lambda m: m.logspace(0, 2, -1))
    both(lambda m: m.range(0, 3))
    both(lambda m: m.range(0, 3, 0.5))
    both(lambda m: m.range(5, 1, -1.5, dtype=m.float64))
    both(lambda m: m.range(0, 3, dtype=m.int64))
    errs(lambda m: m.range(3, 0))
    for r, c, o in ((3, 4, 1), (4, 3, -1), (3, 3, 0), (0, 3, 0), (5, 2, 7)):
        both(lambda m: m.tril_indices(r, c, o))
        both(lambda m: m.triu_indices(r, c, o, dtype=m.int32))
    errs(lambda m: m.tril_indices(3, 4, dtype=m.float32))
    errs(lambda m: m.tril_indices(-1, 4))
    both(lambda m: m.scalar_tensor(3))
    both(lambda m: m.scalar_tensor(True))
    both(lambda m: m.scalar_tensor(2.5, dtype=m.float64))
    e = td.empty_strided((2, 3), (1, 2))
    assert e.shape == (2, 3) and e.stride() == (1, 2)
    buf = bytearray(np.arange(12, dtype=np.int16).tobytes())
    both(lambda m: m.frombuffer(buf, dtype=m.int16))
    both(lambda m: m.frombuffer(buf, dtype=m.int8, count=3, offset=5))
    both(lambda m: m.frombuffer(buf, dtype=m.float32, count=2))
    errs(lambda m: m.frombuffer(bytearray(b"\x01\x02\x03"), dtype=m.int16))
    td.set_num_threads(2)
    assert td.get_num_threads() == 2


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
def test_windows(n):
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
        both(lambda m: getattr(m, name)(n))
        both(lambda m: getattr(m, name)(n, False, dtype=m.float64))
    both(lambda m: m.hamming_window(n, True, 0.5, 0.3))
    both(lambda m: m.kaiser_window(n, False, 5.0))
    if n == 5:
        errs(lambda m: m.hann_window(5, dtype=m.int64))


@pytest.mark.parametrize("dt", [torch.int64, torch.int32, torch.float32, torch.float64, torch.bool])
def test_vander_block_diag(dt):
    x = T((4,), dt, -3, 3)
    both(lambda m, x: m.vander(x), x)
    both(lambda m, x: m.vander(x, N=3, increasing=True), x)
    both(lambda m, x: m.vander(x, N=0), x)
    both(lambda m, a, b, c: m.block_diag(a, b, c), T((2, 3), dt), T((3,), dt), torch.tensor(4).to(dt))
    both(lambda m, a, b: m.block_diag(a, b), T((2, 2), dt), T((1, 3), torch.float64))
    both(lambda m, a, b: m.block_diag(a, b), torch.ones(2, 0), T((1, 1)))
    both(lambda m: m.block_diag())
    errs(lambda m, x: m.vander(x), T((2, 2)))
    errs(lambda m, x: m.vander(x, N=-1), x)
    errs(lambda m, x: m.block_diag(x), T((2, 2, 2)))


def test_small_utilities():
    x = T((3, 4), noncontig=True)
    both(lambda m, x: m.fill(x, 2.5), x)
    both(lambda m, x: m.fill_(x.clone(), 2), x)
    both(lambda m, x: m.zero_(x.clone()), x)
    both(lambda m, x: m.clamp_min_(x.clone(), 0.5), x)
    both(lambda m, x: m.clamp_max_(x.clone(), 0.5), x)
    for name in ("greater_", "less_", "greater_equal_", "less_equal_"):
        both(lambda m, x: getattr(x.clone(), name)(0.5), x)
    both(lambda m, x: m.split_with_sizes(x, [1, 3], 1), x)
    both(lambda m, x: x.split_with_sizes([2, 1]), x)
    errs(lambda m, x: m.split_with_sizes(x, [2, 2]), x)
    both(lambda m, x: x.sum_to_size(1, 4), x)
    both(lambda m, x: x.sum_to_size(4), x)
    both(lambda m, x: x.sum_to_size(3, 1), x)
    both(lambda m, x: x.sum_to_size((3, 4)), x)
    errs(lambda m, x: x.sum_to_size(4, 3), x)
    both(lambda m, x: x.new([1, 2]), x)
    both(lambda m, x: x.new(), x)
    both(lambda m, x, y: x.new(y), x, T((3,)))
    errs(lambda m, x, y: x.new(y), x, T((3,), torch.int64))
    assert td.ones(2).new(2, 3).shape == (2, 3)
    d = td.detach(td.ones(3))
    assert d.shape == (3,) and not td.ones(2).is_shared()
    a = td.zeros(3)
    td.detach(a).fill_(2)  # shares storage
    assert a.tolist() == [2.0, 2.0, 2.0]
    assert a.share_memory_() is a


# ---------------------------------------------------------------- statistics

@pytest.mark.parametrize("dt", FLOATS)
def test_cdist_dist(dt):
    a, b = T((2, 5, 3), dt, noncontig=True), T((4, 3), dt)
    for p in (0, 1, 2, 3.5, float("inf")):
        both(lambda m, a, b: m.cdist(a, b, p=p), a, b)
        both(lambda m, a, b: m.dist(a, b, p), a[0], b[:1])
    errs(lambda m, a, b: m.cdist(a, b), a, T((4, 2), dt))
    errs(lambda m, a, b: m.cdist(a, b), T((3,)), b)
    errs(lambda m, a, b: m.cdist(a, b), T((3, 3), torch.int64), T((3, 3), torch.int64))
    errs(lambda m, a, b: m.cdist(a, b, p=-1), a, b)
    errs(lambda m, a: m.dist(a, a), T((3,), torch.int64))


@pytest.mark.parametrize("shape", [(5,), (3, 6), (1, 4)])
def test_cov_corrcoef(shape):
    x = T(shape, torch.float64, noncontig=True)
    n = shape[-1]
    both(lambda m, x: m.cov(x), x)
    both(lambda m, x: m.cov(x, correction=0), x)
    both(lambda m, x: m.corrcoef(x), x)
    both(lambda m, x: x.cov(), T(shape, torch.int64))
    fw, aw = T((n,), torch.int64, 0, 3), T((n,), torch.float64, 0.1, 2)
    both(lambda m, x, f, a: m.cov(x, fweights=f, aweights=a), x, fw, aw)
    both(lambda m, x, f: m.cov(x, correction=2, fweights=f), x, fw)
    errs(lambda m, x: m.cov(x), T((2, 2, 2)))
    errs(lambda m, x, f: m.cov(x, fweights=f), x, T((n,), torch.float64))


def test_combinations():
    x = T((4,), torch.int64)
    for r in (0, 1, 2, 3, 5):
        both(lambda m, x: m.combinations(x, r), x)
        both(lambda m, x: m.combinations(x, r, with_replacement=True), x)
    errs(lambda m, x: m.combinations(x), T((2, 2)))
    errs(lambda m, x: m.combinations(x, r=-1), x)


@pytest.mark.parametrize("dt", [torch.float32, torch.float64, torch.int64])
def test_trapezoid(dt):
    y = T((3, 5), dt, noncontig=True)
    xs = torch.tensor([0., 1, 3, 4, 7])
    for fn in ("trapezoid", "cumulative_trapezoid"):
        both(lambda m, y: getattr(m, fn)(y), y)
        both(lambda m, y: getattr(m, fn)(y, dx=0.5, dim=0), y)
        both(lambda m, y, x: getattr(m, fn)(y, x), y, xs)
        both(lambda m, y, x: getattr(m, fn)(y, x, dim=0), y, T((3, 5)))
        errs(lambda m, y: getattr(m, fn)(y), T((3,), torch.bool))
    both(lambda m, y, x: m.trapz(y, x), y, xs)
    both(lambda m, y: m.trapz(y, dx=2.0), y)
    errs(lambda m, y, x: m.trapezoid(y, x), y, xs[:3])


@pytest.mark.parametrize("interp", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dt", FLOATS)
def test_quantile(interp, dt):
    x = T((4, 7), dt, noncontig=True)
    x[1, 2] = float("nan")
    x[3, :] = float("nan")
    q = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0], dtype=dt)
    for fn in ("quantile", "nanquantile"):
        both(lambda m, x: getattr(m, fn)(x, 0.3, interpolation=interp), x[:1])
        both(lambda m, x, q: getattr(m, fn)(x, q, dim=1, interpolation=interp), x, q)
        both(lambda m, x, q: getattr(m, fn)(x, q, dim=0, keepdim=True, interpolation=interp), x, q)
        both(lambda m, x: getattr(x, fn)(0.5, -1, True, interpolation=interp), x)
        both(lambda m, x: getattr(m, fn)(x, 0.5, keepdim=True, interpolation=interp), x[:2])


def test_quantile_errors():
    x = T((3, 4))
    errs(lambda m, x: m.quantile(x, 0.5), T((3,), torch.int64))
    errs(lambda m, x: m.quantile(x, 1.5), x)
    errs(lambda m, x, q: m.quantile(x, q), x, torch.tensor([0.5], dtype=torch.float64))
    errs(lambda m, x, q: m.quantile(x, q), x, torch.tensor([[0.5]]))
    errs(lambda m, x, q: m.quantile(x, q), x, torch.tensor([0.5, 1.5]))
    errs(lambda m, x: m.quantile(x, 0.5, interpolation="foo"), x)
    errs(lambda m, x: m.nanquantile(x, 0.5), torch.tensor([]))


@pytest.mark.parametrize("dt", FLOATS)
def test_histogram(dt):
    x = T((4, 6), dt, noncontig=True)
    w = T((4, 6), dt, 0, 2)
    both(lambda m, x: m.histogram(x), x)
    both(lambda m, x: m.histogram(x, 7), x)
    both(lambda m, x: x.histogram(5, range=(-2.0, 3.0)), x)
    both(lambda m, x, w: m.histogram(x, 4, weight=w, density=True), x, w)
    both(lambda m, x, b: m.histogram(x, b), x, torch.tensor([-4., -1, 0, 2.5, 4], dtype=dt))
    both(lambda m, x: m.histogram(x, 3), torch.ones(5, dtype=dt))
    both(lambda m, x: m.histogram(x, 3), torch.ones(0, dtype=dt))
    errs(lambda m, x: m.histogram(x, 3), T((3,), torch.int64))
    errs(lambda m, x: m.histogram(x, 3, range=(2.0, 1.0)), x)


@pytest.mark.parametrize("dt", FLOATS)
def test_renorm(dt):
    x = T((3, 4, 2), dt, noncontig=True)
    for p, d, mx in ((2, 0, 3.0), (1, 1, 2.0), (3, -1, 100.0), (2.5, 2, 0.0)):
        both(lambda m, x: m.renorm(x, p, d, mx), x)
        both(lambda m, x: x.clone().renorm_(p, d, mx), x)
    errs(lambda m, x: m.renorm(x, 2, 0, 1), T((3, 3), torch.int64))
    errs(lambda m, x: m.renorm(x, -1, 0, 1), x)
    errs(lambda m, x: m.renorm(x, 2, 0, -1), x)
    errs(lambda m, x: m.renorm(x, 2, 0, 1), T((3,), dt))


# ---------------------------------------------------------------- scatter family

@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("dt", [torch.float32, torch.float64, torch.int64, torch.int32])
def test_scatter_reduce(reduce, dt):
    base, src = T((4, 6), dt, noncontig=True), T((3, 7), dt, -3, 3)
    idx = torch.from_numpy(RNG.integers(0, 4, (2, 5)))
    for inc in (True, False):
        both(lambda m, b, i, s: m.scatter_reduce(b, 0, i, s, reduce, include_self=inc), base, idx, src)
        both(lambda m, b, i, s: b.scatter_reduce(1, i, s, reduce, include_self=inc), base, idx, src)
        both(lambda m, b, i, s: b.clone().scatter_reduce_(0, i, s, reduce, include_self=inc), base, idx, src)
    if reduce != "sum":
        i1 = torch.tensor([0, 3, 0, 1])
        s1 = T((4, 6), dt, -3, 3)
        for inc in (True, False):
            both(lambda m, b, i, s: m.index_reduce(b, 0, i, s, reduce, include_self=inc), base, i1, s1)
            both(lambda m, b, i, s: b.clone().index_reduce_(1, i, s, reduce), base, torch.tensor([5, 0, 5, 2]),
                 T((4, 4), dt, -3, 3))


def test_scatter_errors_and_embeds():
    base, src, idx = T((4, 6)), T((3, 7)), torch.tensor([[0, 1], [2, 3]])
    errs(lambda m, b, i, s: m.scatter_reduce(b, 0, i, s, "foo"), base, idx, src)
    errs(lambda m, b, i, s: m.scatter_reduce(b, 0, i, s, "sum"), base, idx, src.double())
    errs(lambda m, b, i, s: m.index_reduce(b, 0, i, s, "sum"), base, torch.tensor([0]), T((1, 6)))
    x = T((3, 4, 5), noncontig=True)
    both(lambda m, x, s: m.select_scatter(x, s, 1, 2), x, T((3, 5)))
    both(lambda m, x, s: x.select_scatter(s, -1, 0), x, T((3, 4), torch.int64))
    both(lambda m, x, s: m.slice_scatter(x, s, 1, 1, 4, 2), x, T((3, 2, 5)))
    both(lambda m, x, s: m.slice_scatter(x, s, 0, 0, 3, 1), x, T((3, 4, 5)))  # torch 1.13 needs step
    both(lambda m, x, s: m.diagonal_scatter(x, s, 1, 1, 2), x, T((3, 4)))
    both(lambda m, x, s: m.diagonal_scatter(x, s), x, T((5, 3)))
    both(lambda m, x, s: m.as_strided_scatter(x, s, (2, 2), (3, 1), 2), T((12,)), T((2, 2)))
    errs(lambda m, x, s: m.select_scatter(x, s, 1, 2), x, T((3, 4)))
    errs(lambda m, x, s: m.slice_scatter(x, s, 0, 0, 2, 1), x, T((3, 4, 5)))
    errs(lambda m, x, s: m.diagonal_scatter(x, s), x, T((3, 3)))


@pytest.mark.parametrize("shape", [(3, 4), (7, 3), (4, 4, 4), (2, 5)])
def test_fill_diagonal(shape):
    for wrap in (False, True):
        both(lambda m, x: x.clone().fill_diagonal_(5, wrap), T(shape))
        both(lambda m, x: x.clone().fill_diagonal_(-1, wrap=wrap), T(shape, torch.int64))
    errs(lambda m, x: x.fill_diagonal_(1), T((3,)))
    errs(lambda m, x: x.fill_diagonal_(1), T((3, 4, 5)))


# ---------------------------------------------------------------- special

_SPECIAL_X = [0.0, 0.3, 1.0, -2.5, 5.0, 12.5, 19.9, 20.1, 35.0, -80.0, 300.0]


@pytest.mark.parametrize("name", ["i0", "i0e", "i1", "i1e", "ndtr", "log_ndtr", "erfcx", "entr", "bessel_j0",
                                  "bessel_j1", "expit", "gammaln", "digamma", "psi", "exp2", "expm1", "log1p",
                                  "erf", "erfc", "sinc"])
@pytest.mark.parametrize("dt", [torch.float64, torch.float32, torch.int64])
def test_special_unary(name, dt):
    x = torch.tensor(_SPECIAL_X, dtype=torch.float64)
    if name in ("i0", "i1") and dt != torch.float64:
        x = x[x.abs() < 80]
    x = x.to(dt) if dt.is_floating_point else x.round().to(dt)
    rtol = 1e-7 if dt == torch.float64 else 1e-5
    both(lambda m, x: getattr(m.special, name)(x), x, rtol=rtol, atol=1e-6)
    if name in ("i0", "sinc"):
        both(lambda m, x: getattr(m, name)(x), x, rtol=rtol, atol=1e-6)
        both(lambda m, x: getattr(x, name)(), x, rtol=rtol, atol=1e-6)


def test_special_misc():
    p = torch.tensor([1e-300, 1e-20, 1e-5, 0.01, 0.3, 0.5, 0.7, 0.99, 0.0, 1.0, -0.1], dtype=torch.float64)
    both(lambda m, p: m.special.ndtri(p), p)
    both(lambda m, p: m.special.ndtri(p), p.float()[1:])
    a = torch.tensor([0.5, 1, 2, 5, 30, 100, 0.1, 0, 3], dtype=torch.float64)
    x = torch.tensor([0.1, 1, 3, 5, 25, 120, 10, 1, 0], dtype=torch.float64)
    for fn in ("igamma", "igammac"):
        both(lambda m, a, x: getattr(m, fn)(a, x), a, x)
        both(lambda m, a, x: getattr(a.float(), fn)(x.float()), a, x)
    both(lambda m, a, x: m.special.gammainc(a, x), a, x)
    both(lambda m, a, x: m.special.gammaincc(a, x), a, x)
    errs(lambda m, a: m.igamma(a, a), T((3,), torch.int64))
    q = torch.tensor([0.5, 1, 2, 5, 30, -1.5, 0.01])
    for n in (0, 1, 2, 3):
        both(lambda m, q: m.polygamma(n, q), q, rtol=1e-5)
        both(lambda m, q: q.polygamma(n), q, rtol=1e-5)
    both(lambda m, q: m.polygamma(1, q), torch.tensor([1, 2, 3]))
    errs(lambda m, q: m.polygamma(-1, q), q)
    s, qq = torch.tensor([2., 3, 1.5, 1, 0.5, 4]), torch.tensor([1., 2, 0.5, 1, 1, 3.5])
    both(lambda m, s, q: m.special.zeta(s, q), s, qq)
    both(lambda m, q: m.special.zeta(2, q), qq)
    xm = torch.tensor([2.5, 3., 10, 1.2])
    both(lambda m, x: m.mvlgamma(x, 1), xm)
    both(lambda m, x: x.mvlgamma(3), xm)
    both(lambda m, x: m.special.multigammaln(x, 2), xm)
    errs(lambda m, x: m.mvlgamma(x, 0), xm)
    y = torch.tensor([0., 1, -1, 2, float("nan")])
    both(lambda m, a, b: m.special.xlog1py(a, b), torch.tensor([0., 1, 2, 0, 0]), y)
    both(lambda m, b: m.special.xlog1py(2, b), y)
    both(lambda m, a, b: m.special.xlogy(a, b), torch.tensor([0., 1, 2, 0, 0]), y)
    z = T((3, 4))
    both(lambda m, z: m.special.logsumexp(z, 1), z)
    both(lambda m, z: m.special.softmax(z, 1), z)
    both(lambda m, z: m.special.log_softmax(z, 0, dtype=m.float64), z)
    both(lambda m, z: m.special.logit(m.special.expit(z)), z, rtol=1e-4)
    both(lambda m, z: m.special.round(z), z)
    both(lambda m, z: m.special.erfinv(m.special.erf(z * 0.1)), z, rtol=1e-4)


# ---------------------------------------------------------------- linear algebra

@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (3, 5), (5, 3), (2, 1, 6, 6)])
@pytest.mark.parametrize("dt", FLOATS)
def test_lu(shape, dt):
    A = T(shape, dt, noncontig=True)
    both(lambda m, A: m.linalg.lu_factor(A), A, rtol=1e-4, atol=1e-5)
    both(lambda m, A: m.linalg.lu_factor_ex(A), A, rtol=1e-4, atol=1e-5)
    both(lambda m, A: m.linalg.lu(A), A, rtol=1e-4, atol=1e-5)
    both(lambda m, A: m.lu(A), A, rtol=1e-4, atol=1e-5)
    both(lambda m, A: A.lu(get_infos=True), A, rtol=1e-4, atol=1e-5)
    LU, piv = torch.linalg.lu_factor(A)
    both(lambda m, LU, piv: m.lu_unpack(LU, piv), LU, piv)
    both(lambda m, LU, piv: m.lu_unpack(LU, piv, unpack_pivots=False), LU, piv)
    if shape[-1] == shape[-2]:
        B = T(shape[:-1] + (2,), dt)
        both(lambda m, LU, piv, B: m.linalg.lu_solve(LU, piv, B), LU, piv, B, rtol=1e-4, atol=1e-4)
        both(lambda m, LU, piv, B: m.linalg.lu_solve(LU, piv, B, adjoint=True), LU, piv, B, rtol=1e-4, atol=1e-4)
        Bt = T(shape[:-2] + (2, shape[-1]), dt)
        both(lambda m, LU, piv, B: m.linalg.lu_solve(LU, piv, B, left=False), LU, piv, Bt, rtol=1e-4, atol=1e-4)
        both(lambda m, LU, piv, B: m.lu_solve(B, LU, piv), LU, piv, B, rtol=1e-4, atol=1e-4)


def test_lu_errors():
    errs(lambda m, A: m.linalg.lu_factor(A), torch.zeros(2, 2))
    both(lambda m, A: m.linalg.lu_factor_ex(A), torch.zeros(3, 3))
    errs(lambda m, A: m.linalg.lu_factor(A), torch.ones(2, 2, dtype=torch.int64))
    errs(lambda m, A: m.linalg.lu_factor(A), torch.ones(3))
    errs(lambda m, A: m.linalg.lu(A), torch.ones(3))


@pytest.mark.parametrize("dt", FLOATS)
def test_triangular(dt):
    A = T((2, 4, 4), dt, noncontig=True) + 6 * torch.eye(4, dtype=dt)
    B = T((2, 4, 3), dt)
    for upper in (True, False):
        for uni in (True, False):
            both(lambda m, A, B: m.linalg.solve_triangular(A, B, upper=upper, unitriangular=uni), A, B,
                 rtol=1e-4, atol=1e-5)
            both(lambda m, A, B: m.linalg.solve_triangular(A, B, upper=upper, left=False), A, B.transpose(-1, -2),
                 rtol=1e-4, atol=1e-5)
            for tr in (False, True):
                both(lambda m, A, B: m.triangular_solve(B, A, upper, tr, uni), A, B, rtol=1e-4, atol=1e-5)
    both(lambda m, A, B: B.triangular_solve(A), A, B, rtol=1e-4, atol=1e-5)
    errs(lambda m, A, B: m.linalg.solve_triangular(A, B, upper=True), A, T((4,), dt))
    errs(lambda m, A, B: m.linalg.solve_triangular(A, B, upper=True), A.long(), B.long())


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("scale", [0.0, 0.1, 1.0, 4.0, 20.0])
def test_matrix_exp(dt, scale):
    A = T((2, 3, 3), dt, noncontig=True) * scale
    rtol = 1e-3 if dt == torch.float32 else 1e-6  # tensord sums in float64, torch in the input dtype
    both(lambda m, A: m.matrix_exp(A), A, rtol=rtol)
    both(lambda m, A: m.linalg.matrix_exp(A[0]), A, rtol=rtol)
    both(lambda m, A: A.matrix_exp(), A, rtol=rtol)
    errs(lambda m, A: m.matrix_exp(A), torch.ones(2, 2, dtype=torch.int64))
    errs(lambda m, A: m.matrix_exp(A), torch.ones(2, 3))


def test_linalg_extras():
    x = T((2, 4))
    both(lambda m, x: m.linalg.vander(x), x)
    both(lambda m, x: m.linalg.vander(x, N=6), T((3,), torch.int64))
    both(lambda m, x: m.linalg.diagonal(x, offset=1), T((2, 3, 4)))
    A = T((4, 6, 8, 3), torch.float64)
    both(lambda m, A: m.linalg.tensorinv(A, 2), A, rtol=1e-5)
    A, B = T((6, 4, 2, 3, 4), torch.float64), T((6, 4), torch.float64)
    both(lambda m, A, B: m.linalg.tensorsolve(A, B), A, B, rtol=1e-5)


def test_names_exist():
    for n in ("trace diff fmax fmin gcd lcm gcd_ lcm_ deg2rad rad2deg sinc heaviside ldexp frexp nextafter "
              "float_power logspace range positive rsub isin isreal is_nonzero is_same_size is_signed tril_indices "
              "triu_indices vander block_diag cdist cov corrcoef dist combinations trapezoid trapz "
              "cumulative_trapezoid quantile nanquantile histogram i0 igamma igammac mvlgamma polygamma renorm "
              "scatter_reduce index_reduce select_scatter slice_scatter diagonal_scatter as_strided_scatter "
              "split_with_sizes clamp_min_ clamp_max_ fill fill_ zero_ scalar_tensor empty_strided frombuffer "
              "get_num_threads set_num_threads hann_window hamming_window blackman_window bartlett_window "
              "kaiser_window matrix_exp lu lu_unpack lu_solve triangular_solve cholesky_solve cholesky_inverse "
              "detach").split():
        assert hasattr(td, n), n
    for n in ("trace diff fmax fmin gcd_ lcm_ deg2rad_ sinc_ heaviside_ ldexp_ frexp nextafter_ float_power_ "
              "i0_ igamma_ polygamma_ mvlgamma_ renorm_ scatter_reduce_ index_reduce_ fill_diagonal_ greater_ "
              "less_ greater_equal_ less_equal_ sum_to_size new is_shared share_memory_ is_nonzero is_signed "
              "quantile nanquantile histogram matrix_exp lu lu_solve").split():
        assert hasattr(td.Tensor, n), n
    for n in dir(torch.special):
        if not n.startswith("_") and n in ("expit logit erf erfc erfinv gammaln digamma psi polygamma multigammaln "
                                           "i0 i0e i1 i1e ndtr ndtri log_ndtr sinc round exp2 expm1 log1p "
                                           "logsumexp softmax log_softmax xlogy xlog1py entr zeta bessel_j0 "
                                           "bessel_j1 erfcx gammainc gammaincc").split():
            assert hasattr(td.special, n), n
