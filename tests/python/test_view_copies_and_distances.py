"""The *_copy view functions (_view_copies.py), distances (_distance.py), grad-mode and
predicate knobs, in-place aliases, splits, removed linalg names, activations against torch 1.13: values, dtypes, shapes, strides of the *_copy
results, non-contiguous inputs, errors and their messages."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, from_torch

warnings.filterwarnings("ignore", category=UserWarning)
RNG = np.random.default_rng(4321)
FLOATS = [torch.float32, torch.float64]


def _conv(x):
    if isinstance(x, torch.Tensor):
        return from_torch(x)
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, torch.Tensor) for v in x):
        return type(x)(from_torch(v) for v in x)
    return x


def _cmp(got, want, rtol, atol, strides):
    if isinstance(want, torch.Tensor) and want.is_complex():
        assert str(got.dtype) == str(want.dtype) and tuple(got.shape) == tuple(want.shape)
        g = torch.from_numpy(got.numpy())
        assert torch.allclose(g, want, rtol=rtol or 1e-5, atol=atol or 1e-6), (g, want)
        if strides:
            assert tuple(got.stride()) == tuple(want.stride()), (got.stride(), want.stride())
    elif isinstance(want, torch.Tensor):
        assert_same(got, want, rtol, atol)
        if strides:
            assert tuple(got.stride()) == tuple(want.stride()), (got.stride(), want.stride())
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _cmp(g, w, rtol, atol, strides)
    else:
        assert got == want, (got, want)


def both(fn, *args, rtol=None, atol=None, strides=False, **kw):
    """fn(module, *args): torch tensors in args are mirrored into tensord; results compared."""
    want = fn(torch, *args, **kw)
    got = fn(td, *[_conv(a) for a in args], **{k: _conv(v) for k, v in kw.items()})
    _cmp(got, want, rtol, atol, strides)
    return got


def errs(fn, *args, **kw):
    return assert_raises_like(lambda: fn(td, *[_conv(a) for a in args], **{k: _conv(v) for k, v in kw.items()}),
                              lambda: fn(torch, *args, **kw))


def T(shape, dtype=torch.float32, low=-5, high=5):
    if dtype == torch.bool:
        return torch.from_numpy(RNG.random(shape) < 0.5)
    if dtype.is_complex:
        return torch.complex(T(shape, torch.float64), T(shape, torch.float64)).to(dtype)
    if dtype.is_floating_point:
        return torch.from_numpy(RNG.uniform(low, high, shape)).to(dtype)
    lo = 0 if dtype == torch.uint8 else low
    return torch.from_numpy(RNG.integers(lo, high + 1, shape)).to(dtype)


# ---------------------------------------------------------------- conjugate transposes

@pytest.mark.parametrize("dt", [torch.float32, torch.int64, torch.complex64, torch.complex128])
def test_H_mH_mT_adjoint(dt):
    a, b = T((3, 4), dt), T((2, 3, 4), dt)
    for f in (lambda m, x: x.H, lambda m, x: x.mH, lambda m, x: x.mT, lambda m, x: m.adjoint(x),
              lambda m, x: x.adjoint()):
        both(f, a)
        both(f, a.t())
        both(f, torch.tensor(2, dtype=dt))
        if f.__code__.co_code != (lambda m, x: x.H).__code__.co_code:
            both(f, b)
        errs(f, T((3,), dt))
    errs(lambda m, x: x.H, b)
    errs(lambda m, x: x.H, T((3,), dt))


# ---------------------------------------------------------------- predicates, modes, knobs

def test_predicates_and_knobs():
    x = T((2, 3))
    both(lambda m, x: (m.is_neg(x), x.is_neg(), x.is_cpu, x.is_inference(), m.is_inference(x)), x)
    assert td.typename(from_torch(x)) == torch.typename(x) == "torch.FloatTensor"
    for dt in (torch.int64, torch.bool, torch.float64, torch.uint8, torch.complex64, torch.int8):
        assert td.typename(td.zeros(1, dtype=getattr(td, str(dt)[6:]))) == torch.typename(torch.zeros(1, dtype=dt))
    for o in (3, "s", [1], td.Size, int, test_predicates_and_knobs):
        assert td.typename(o) == torch.typename(o), o
    assert td.set_flush_denormal(False) is True and td.set_flush_denormal(True) is True
    td.set_flush_denormal(False)
    assert td.get_num_interop_threads() == 1
    td.set_num_interop_threads(3)
    assert td.get_num_interop_threads() == 3
    td.set_num_interop_threads(1)
    errs(lambda m: m.set_num_interop_threads(0))


def test_grad_mode():
    assert td.is_grad_enabled() is True and td.is_inference_mode_enabled() is False
    for m in (torch, td):
        seen = []
        with m.no_grad():
            seen.append(m.is_grad_enabled())
            with m.enable_grad():
                seen.append(m.is_grad_enabled())
            seen.append(m.is_grad_enabled())
        with m.inference_mode():
            seen += [m.is_grad_enabled(), m.is_inference_mode_enabled()]
            with m.inference_mode(False):
                seen += [m.is_grad_enabled(), m.is_inference_mode_enabled()]
        m.set_grad_enabled(False)
        seen.append(m.is_grad_enabled())
        m.set_grad_enabled(True)
        with m.set_grad_enabled(False):
            seen.append(m.is_grad_enabled())
        seen.append(m.is_grad_enabled())

        @m.no_grad()
        def f():
            return m.is_grad_enabled()
        seen += [f(), m.is_grad_enabled()]
        if m is torch:
            want = seen
    assert seen == want == [False, True, False, False, True, True, False, False, False, True, False, True]
    errs(lambda m: m.set_grad_enabled(1))


# ---------------------------------------------------------------- in-place aliases and top-level spellings

def test_inplace_aliases():
    x = T((3, 4))
    both(lambda m, x: m.negative_(x.clone()), x)
    both(lambda m, x: x.clone().negative_(), x)
    both(lambda m, x: m.fix_(x.clone()), x)
    both(lambda m, x: x.clone().fix_(), x)
    both(lambda m, x: x.clone().sgn_(), x)
    both(lambda m, x: x.clone().sgn_(), T((5,), torch.int64))
    both(lambda m, x: x.clone().sgn_(), T((2, 3), torch.complex64))
    both(lambda m, x: m.detach_(x), x)
    errs(lambda m, x: m.negative_(x), T((3,), torch.bool))
    both(lambda m, x: m.index_put_(x.clone(), (m.tensor([0, 2]),), m.tensor(7.)), x)
    both(lambda m, x: m.put(x, m.tensor([0, 11]), m.tensor([9., 8.])), x)
    both(lambda m, x: m.resize_as_(x.clone(), m.ones(5)), x)
    both(lambda m, x: x.new_empty_strided((2, 3), (1, 2)).shape, x)
    got, want = from_torch(x).new_empty_strided((2, 3), (1, 2), dtype=td.int32), x.new_empty_strided((2, 3), (1, 2),
                                                                                                       dtype=torch.int32)
    assert got.stride() == want.stride() and str(got.dtype) == str(want.dtype)


# ---------------------------------------------------------------- unsafe splits, *_copy

def test_unsafe_splits():
    x = T((3, 5))
    both(lambda m, x: m.unsafe_chunk(x, 2, 1), x)
    both(lambda m, x: m.unsafe_split(x, 2, 1), x)
    both(lambda m, x: m.unsafe_split_with_sizes(x, [1, 4], 1), x)
    both(lambda m, x: x.unsafe_chunk(2), x)
    both(lambda m, x: x.unsafe_split(1), x)
    both(lambda m, x: x.unsafe_split_with_sizes([2, 1]), x)
    errs(lambda m, x: m.unsafe_split_with_sizes(x, [1, 1], 1), x)
    errs(lambda m, x: m.unsafe_split(x, -1), x)


COPIES = [
    ("alias_copy", ()), ("detach_copy", ()), ("as_strided_copy", ((2, 2), (1, 2), 1)), ("as_strided_copy", ((2, 2), (1, 2))),
    ("diagonal_copy", (1,)), ("diagonal_copy", (-1, 1, 0)), ("permute_copy", ((1, 0),)), ("select_copy", (1, -1)),
    ("slice_copy", (1, 1, None, 2)), ("slice_copy", (0, -5, 100, 1)), ("t_copy", ()), ("transpose_copy", (0, 1)),
    ("unfold_copy", (1, 2, 2)), ("unsqueeze_copy", (0,)), ("view_copy", ((12,),)), ("view_copy", ((2, -1),)),
    ("expand_copy", ((2, -1, -1),)),
]


@pytest.mark.parametrize("name,args", COPIES)
def test_view_copies(name, args):
    a = torch.arange(12.).view(3, 4)
    targs = [getattr(td, str(v)[6:]) if isinstance(v, torch.dtype) else v for v in args]
    for x in (a, a.t().contiguous().t(), a[:, ::2].contiguous()) if name not in ("view_copy",) else (a, a.t()):
        got = getattr(td, name)(_conv(x) if x.is_contiguous() else _conv(x.t().contiguous()).t(), *targs)
        want = getattr(torch, name)(x, *args)
        _cmp(got, want, None, None, True)


def test_copy_more():
    c = T((2, 3), torch.complex64)
    both(lambda m, x: m.view_as_real_copy(x), c, strides=True)
    both(lambda m, x: m.view_as_complex_copy(x), T((3, 2)), strides=True)
    x = T((3, 1, 4))
    both(lambda m, x: m.squeeze_copy(x), x, strides=True)
    both(lambda m, x: m.squeeze_copy(x, 1), x, strides=True)
    both(lambda m, x: m.expand_copy(x[0], (2, 1, -1), implicit=True), x, strides=True)
    y = T((5, 4))
    both(lambda m, x: m.split_copy(x, 2), y, strides=True)
    both(lambda m, x: m.split_copy(x, 3, 1), y, strides=True)
    both(lambda m, x: m.split_with_sizes_copy(x, [1, 4]), y, strides=True)
    both(lambda m, x: m.unbind_copy(x, 1), y, strides=True)
    outs = [torch.empty(2, 4), torch.empty(2, 4), torch.empty(1, 4)]
    touts = [from_torch(o) for o in outs]
    assert torch.split_copy(y, 2, out=outs) is None and td.split_copy(from_torch(y), 2, out=touts) is None
    for g, w in zip(touts, outs):
        assert_same(g, w)
    o, to = torch.empty(4, 5, dtype=torch.int64), td.empty(4, 5, dtype=td.int64)
    assert td.t_copy(from_torch(y), out=to) is to
    assert_same(to, torch.t_copy(y, out=o))
    errs(lambda m, x: m.permute_copy(x, (1, 0), out=m.empty(0)), y)
    errs(lambda m, x: m.split_copy(x, 2, out=[m.empty(0)]), y)
    errs(lambda m, x: m.t_copy(x), x)
    errs(lambda m, x: m.select_copy(x, 1, 9), y)
    errs(lambda m, x: m.view_copy(x, -1), y)
    errs(lambda m, x: m.slice_copy(x, 0, 0, 2, 0), y)


# ---------------------------------------------------------------- removed / deprecated linear algebra

def test_removed_linalg():
    a = T((3, 3))
    for f in (lambda m, a: m.eig(a), lambda m, a: m.eig(a, True), lambda m, a: m.lstsq(a, a),
              lambda m, a: m.solve(a, a), lambda m, a: m.matrix_rank(a), lambda m, a: a.eig(),
              lambda m, a: a.lstsq(a), lambda m, a: a.solve(a)):
        errs(f, a)
    assert not hasattr(td.Tensor, "matrix_rank") and not hasattr(torch.Tensor, "matrix_rank")


@pytest.mark.parametrize("dt", FLOATS)
def test_symeig(dt):
    a = T((3, 4, 4), dt)
    a = a + a.mT
    both(lambda m, a: m.symeig(a)[0], a)
    both(lambda m, a: m.symeig(a, upper=False)[0], T((4, 4), dt))
    both(lambda m, a: m.symeig(a)[1], a)
    w, v = td.symeig(from_torch(a), eigenvectors=True)
    tw, tv = torch.symeig(a, eigenvectors=True)
    assert_same(w, tw)
    assert_same(td.abs(v), tv.abs(), 1e-4, 1e-4)  # eigenvectors up to sign
    w, v = from_torch(a[0]).symeig(True, False)
    assert_same(w, torch.symeig(a[0], True, False)[0])
    errs(lambda m, a: m.symeig(a), T((3, 4), dt))


# ---------------------------------------------------------------- thresholds

@pytest.mark.parametrize("dt", FLOATS + [torch.int64, torch.int32, torch.uint8])
def test_threshold(dt):
    x = T((3, 4), dt)
    for th, v in ((1, 7), (0.5, -1.5), (1.5, 7.5)):
        if dt == torch.uint8 and v < 0:
            continue
        both(lambda m, x: m.threshold(x, th, v), x)
        both(lambda m, x: m.threshold(x.t(), th, v), x)
        both(lambda m, x: m.threshold_(x.clone(), th, v), x)
        both(lambda m, x: m.nn.functional.threshold(x.clone(), th, v, True), x)
        both(lambda m, x: m.nn.functional.threshold(x, th, v), x)
    both(lambda m, x: m.threshold(x, m.tensor(1), 2), x)
    both(lambda m, x: m.threshold(x, 0, 1, out=m.empty(0, dtype=x.dtype)), x)
    errs(lambda m, x: m.threshold(x, 0, 1), T((3,), torch.bool))
    if dt.is_floating_point:
        n = torch.tensor([float("nan"), 1, -1], dtype=dt)
        both(lambda m, x: m.threshold(x, 0., 2), n)
        both(lambda m, x: m.threshold(x, float("nan"), 2), n)


@pytest.mark.parametrize("dt", FLOATS + [torch.int64, torch.bool])
def test_hardshrink(dt):
    x = T((3, 4), dt, -2, 2)
    if not dt.is_floating_point:
        errs(lambda m, x: m.hardshrink(x), x)
        return
    x[0, 0] = float("nan")
    x[1, 1] = 0.5
    for lam in (0.5, 1, -1, 0):
        both(lambda m, x: m.hardshrink(x, lam), x)
        both(lambda m, x: x.t().hardshrink(lambd=lam), x)
        both(lambda m, x: m.nn.functional.hardshrink(x, lam), x)
    both(lambda m, x: m.hardshrink(x, out=m.empty(0, dtype=x.dtype)), x)


# ---------------------------------------------------------------- norms, distances

@pytest.mark.parametrize("dt", FLOATS + [torch.complex64])
def test_frobenius_nuclear(dt):
    a, b = T((3, 5), dt), T((2, 3, 4), dt)
    both(lambda m, a: m.frobenius_norm(a), a)
    both(lambda m, a: m.frobenius_norm(a.t()), a)
    both(lambda m, a: m.frobenius_norm(a, (0,), False), a)
    both(lambda m, a: m.frobenius_norm(a, (0, 1), True), a)
    both(lambda m, a: m.frobenius_norm(a, (), False), a)
    both(lambda m, a: m.frobenius_norm(a, dim=(0, 2)), b)
    both(lambda m, a: m.frobenius_norm(a, [1], False, out=m.empty(0, dtype=m.float64)), b)
    errs(lambda m, a: m.frobenius_norm(a, (0, 1, 1), True), b)
    errs(lambda m, a: m.frobenius_norm(a, (0, 0), False), a)
    if dt.is_complex:
        return
    both(lambda m, a: m.nuclear_norm(a), a, rtol=1e-5)
    both(lambda m, a: m.nuclear_norm(a.t(), True), a, rtol=1e-5)
    both(lambda m, a: m.nuclear_norm(a, keepdim=True), a, rtol=1e-5)
    both(lambda m, a: m.nuclear_norm(a, (0, 2)), b, rtol=1e-5)
    both(lambda m, a: m.nuclear_norm(a, (2, 0), True), b, rtol=1e-5)
    both(lambda m, a: m.nuclear_norm(a, out=m.empty(0, dtype=m.float64)), a, rtol=1e-5)
    errs(lambda m, a: m.nuclear_norm(a), b)
    errs(lambda m, a: m.nuclear_norm(a, (0,)), b)


def test_norm_errors():
    i = T((2, 3), torch.int64)
    errs(lambda m, a: m.frobenius_norm(a), i)
    errs(lambda m, a: m.frobenius_norm(a, (0,), False), i)
    errs(lambda m, a: m.nuclear_norm(a), i)


@pytest.mark.parametrize("dt", FLOATS)
def test_pdist(dt):
    x = T((5, 3), dt)
    for p in (2, 0, 1, float("inf"), 0.5, 3):
        both(lambda m, x: m.pdist(x, p), x)
        both(lambda m, x: m.nn.functional.pdist(x.t(), p), x)
    both(lambda m, x: m.pdist(x), T((1, 3), dt))
    both(lambda m, x: m.pdist(x), T((0, 3), dt))
    both(lambda m, x: m.pdist(x), T((3, 0), dt))
    errs(lambda m, x: m.pdist(x, -1), x)
    errs(lambda m, x: m.pdist(x), T((3, 2), torch.int64))
    errs(lambda m, x: m.pdist(x), x[0])
    errs(lambda m, x: m.pdist(x), T((2, 2, 2), dt))
    errs(lambda m, x: m.pdist(x), x.half())


@pytest.mark.parametrize("dt", FLOATS)
def test_pairwise_distance(dt):
    a, b = T((4, 3), dt), T((4, 3), dt)
    both(lambda m, a, b: m.pairwise_distance(a, b), a, b)
    both(lambda m, a, b: m.pairwise_distance(a.t(), b.t(), 1, 0.1, True), a, b)
    both(lambda m, a, b: m.pairwise_distance(a[0], b), a, b)
    both(lambda m, a, b: m.pairwise_distance(a, b[:1, :1]), a, b)
    for p in (float("inf"), 0, -1, 3):
        both(lambda m, a, b: m.pairwise_distance(a, b, p), a, b)
    both(lambda m, a, b: m.pairwise_distance(a, b), T((2, 3), torch.int64), T((2, 3), torch.int64))
    both(lambda m, a, b: m.pairwise_distance(a, b), T((), dt), T((), dt))
    both(lambda m, a, b: m.nn.functional.pairwise_distance(a, b, keepdim=True), a, b)
    errs(lambda m, a, b: m.pairwise_distance(a[:, :2], b), a, b)


@pytest.mark.parametrize("dt", FLOATS)
def test_cosine_similarity(dt):
    a, b = T((4, 3), dt), T((4, 3), dt)
    both(lambda m, a, b: m.cosine_similarity(a, b), a, b)
    both(lambda m, a, b: m.cosine_similarity(a.t(), b.t(), 0), a, b)
    both(lambda m, a, b: m.cosine_similarity(a[0], b), a, b)
    both(lambda m, a, b: m.cosine_similarity(a, b, -1, 1e-3), a * 1e-5, b)
    z = torch.zeros(2, 3, dtype=dt)
    z[0, 0] = 1e-9
    both(lambda m, a, b: m.cosine_similarity(a, b), z, b[:2])
    both(lambda m, a, b: m.cosine_similarity(a, b, 1, 1e-3), z, z)
    both(lambda m, a, b: m.cosine_similarity(a, b), T((4, 3), torch.int64), b)
    both(lambda m, a, b: m.cosine_similarity(a, b), a, b.float())
    both(lambda m, a, b: m.cosine_similarity(a, b, 0), T((), dt), T((), dt))
    both(lambda m, a, b: m.nn.functional.cosine_similarity(a, b, dim=0), a, b)
    errs(lambda m, a, b: m.cosine_similarity(a, b), T((2, 3), torch.int64), T((2, 3), torch.int64))
    errs(lambda m, a, b: m.cosine_similarity(a, b, dim=5), a, b)
    errs(lambda m, a, b: m.cosine_similarity(a[:, :2], b), a, b)
