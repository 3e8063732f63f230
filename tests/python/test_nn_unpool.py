"""max_unpool1d/2d/3d and fractional_max_pool2d/3d (functions and modules) against torch
1.13: values, indices and gradients for the same inputs (fractional pooling with the same
_random_samples), the output_size rules and the errors."""
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like

rng = np.random.default_rng(11)


def _grad_pair(fn, a, *args):
    """fn(x, *args) in both libraries with x from a (float64, requiring grad), a weighted
    sum's backward: ((our out, our grad), (their out, their grad))."""
    res = []
    for mod in (td, T):
        x = mod.tensor(a, requires_grad=True)
        conv = [mod.tensor(v) if isinstance(v, np.ndarray) else v for v in args]
        out = fn(mod, x, *conv)
        y = out[0] if isinstance(out, tuple) else out
        w = mod.tensor(np.linspace(-1, 2, y.numel()).reshape(tuple(y.shape)))
        (y * w).sum().backward()
        res.append((tuple(o.detach().numpy() for o in out) if isinstance(out, tuple) else y.detach().numpy(),
                    x.grad.numpy()))
    return res


def _assert_pair(res):
    (o, g), (ro, rg) = res
    if isinstance(o, tuple):
        for a, b in zip(o, ro):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    else:
        np.testing.assert_allclose(o, ro, rtol=1e-12)
    np.testing.assert_allclose(g, rg, rtol=1e-12)


@pytest.mark.parametrize("n,shape,k,s,p", [
    (1, (2, 3, 8), 2, None, 0), (1, (3, 9), 3, 2, 1),
    (2, (2, 2, 6, 5), 2, None, 0), (2, (2, 5, 7), (3, 2), (2, 1), (1, 0)),
    (3, (1, 2, 4, 4, 6), 2, None, 0), (3, (2, 5, 4, 4), (2, 2, 3), (1, 2, 2), (0, 1, 1)),
])
def test_max_unpool_inverts_max_pool(n, shape, k, s, p):
    a = rng.standard_normal(shape)
    pool = "max_pool%dd" % n
    unpool = "max_unpool%dd" % n

    def fn(mod, x):
        y, i = getattr(mod.nn.functional, pool)(x, k, s, p, return_indices=True)
        return getattr(mod.nn.functional, unpool)(y, i, k, s, p, output_size=x.shape[-n:])
    _assert_pair(_grad_pair(fn, a))
    # the module, with an explicit output_size (the pooled input's size)
    mods = []
    for mod in (td, T):
        pooler = getattr(mod.nn, "MaxPool%dd" % n)(k, s, p, return_indices=True)
        un = getattr(mod.nn, "MaxUnpool%dd" % n)(k, s, p)
        x = mod.tensor(a)
        y, i = pooler(x)
        size = x.shape if x.ndim == n + 2 else x.shape[-n:]   # torch takes all dims or the spatial ones
        mods.append((un(y, i, output_size=size).numpy(), repr(un)))
    np.testing.assert_array_equal(mods[0][0], mods[1][0])
    assert mods[0][1] == mods[1][1]


def test_max_unpool_default_size():
    a = rng.standard_normal((2, 3, 4, 6))
    outs = []
    for mod in (td, T):
        y, i = mod.nn.functional.max_pool2d(mod.tensor(a), 2, return_indices=True)
        outs.append(mod.nn.functional.max_unpool2d(y * 2, i, 2).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    assert outs[0].shape == a.shape


@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.max_unpool2d(m.randn(1, 1, 2, 2), m.tensor([[[[0, 1], [2, 99]]]]), 2),
    lambda m: m.nn.functional.max_unpool2d(m.randn(1, 1, 2, 2), m.tensor([[[[0, 1], [2, 3]]]]), 2,
                                           output_size=(9, 9)),
    lambda m: m.nn.functional.max_unpool2d(m.randn(1, 1, 2, 2), m.tensor([[[[0, 1], [2, 3]]]]), 2, output_size=(9,)),
    lambda m: m.nn.functional.max_unpool2d(m.randn(1, 1, 2, 2), m.tensor([[[[0., 1], [2, 3]]]]), 2),
    lambda m: m.nn.functional.max_unpool2d(m.randn(1, 1, 2, 2), m.tensor([[[0, 1], [2, 3]]]), 2),
    lambda m: m.nn.functional.fractional_max_pool2d(m.randn(1, 1, 5, 5), 2),
    lambda m: m.nn.functional.fractional_max_pool2d(m.randn(1, 1, 5, 5), 4, output_size=4),
    lambda m: m.nn.functional.fractional_max_pool2d(m.randn(1, 1, 5, 5), 2, output_ratio=1.5),
    lambda m: m.nn.FractionalMaxPool2d(2),
    lambda m: m.nn.FractionalMaxPool2d(2, output_ratio=1.5),
    lambda m: m.nn.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5),
])
def test_errors_match_torch(call):
    assert_raises_like(lambda: call(td), lambda: call(T), prefix=60)


@pytest.mark.parametrize("n,shape,k,size,ratio", [
    (2, (2, 3, 9, 8), 2, (4, 3), None), (2, (1, 2, 10, 10), (3, 2), None, 0.5), (2, (3, 7, 6), 2, 3, None),
    (2, (2, 1, 5, 5), 2, 4, None), (2, (1, 1, 4, 6), 3, 1, None),
    (3, (1, 2, 6, 7, 8), 2, (3, 3, 4), None), (3, (2, 5, 5, 6), (2, 3, 2), None, (0.6, 0.5, 0.7)),
])
def test_fractional_max_pool_matches_torch(n, shape, k, size, ratio):
    a = rng.standard_normal(shape)
    batch = shape[0] if len(shape) == n + 2 else 1
    planes = shape[-n - 1]
    samples = rng.uniform(0, 1, (batch, planes, n))
    fn_name = "fractional_max_pool%dd" % n

    def fn(mod, x, s):
        return getattr(mod.nn.functional, fn_name)(x, k, output_size=size, output_ratio=ratio, return_indices=True,
                                                   _random_samples=s)
    _assert_pair(_grad_pair(fn, a, samples))
    # float32 input with float32 samples: the windows are computed in float32 as torch's
    a32, s32 = a.astype(np.float32), samples.astype(np.float32)
    ours = fn(td, td.tensor(a32), td.tensor(s32))
    theirs = fn(T, T.tensor(a32), T.tensor(s32))
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    # the module keeps its samples as a buffer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m_ours = getattr(td.nn, "FractionalMaxPool%dd" % n)(k, output_size=size, output_ratio=ratio,
                                                             _random_samples=td.tensor(samples))
        m_theirs = getattr(T.nn, "FractionalMaxPool%dd" % n)(k, output_size=size, output_ratio=ratio,
                                                             _random_samples=T.tensor(samples))
    np.testing.assert_array_equal(m_ours(td.tensor(a)).numpy(), m_theirs(T.tensor(a)).numpy())


def test_fractional_max_pool_random_windows_cover_the_input():
    # without samples: each output is the max of some window inside the input, and the
    # indices point at it
    a = rng.standard_normal((2, 3, 11, 9))
    y, i = td.nn.functional.fractional_max_pool2d(td.tensor(a), 2, output_size=(5, 4), return_indices=True)
    flat = a.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, i.numpy().reshape(2, 3, -1), 2).reshape(2, 3, 5, 4),
                                  y.numpy())
    assert y.shape == (2, 3, 5, 4)
