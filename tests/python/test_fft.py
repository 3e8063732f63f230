"""tensord.fft against torch.fft (torch 1.13): transforms over one and several dims,
n/s resizing, the three norms, real/complex/integer inputs, strided inputs, helpers."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, from_torch, to_torch

NORMS = [None, "backward", "forward", "ortho"]


def _close(got, want, tol=None):
    assert isinstance(got, td.Tensor)
    assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
    single = want.dtype in (torch.float32, torch.complex64)
    tol = tol or (1e-4 if single else 1e-10)
    assert torch.allclose(to_torch(got), want, rtol=tol, atol=tol), (to_torch(got), want)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "f32": torch.randn(3, 8, generator=g),
        "f64": torch.randn(2, 7, dtype=torch.float64, generator=g),
        "c64": torch.randn(4, 6, dtype=torch.complex64, generator=g),
        "c128": torch.randn(5, 3, dtype=torch.complex128, generator=g),
        "i64": torch.randint(-5, 5, (2, 5), generator=g),
    }


@pytest.mark.parametrize("fn", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"])
@pytest.mark.parametrize("kind", ["f32", "f64", "c64", "c128", "i64"])
@pytest.mark.parametrize("norm", NORMS)
def test_1d(fn, kind, norm):
    x = _inputs()[kind]
    if fn in ("rfft", "ihfft") and x.is_complex():
        assert_raises_like(lambda: getattr(td.fft, fn)(from_torch(x)), lambda: getattr(torch.fft, fn)(x))
        return
    for kw in ({}, {"n": 4}, {"n": 11}, {"dim": 0}, {"n": 3, "dim": 0}):
        _close(getattr(td.fft, fn)(from_torch(x), norm=norm, **kw), getattr(torch.fft, fn)(x, norm=norm, **kw))


@pytest.mark.parametrize("fn", ["fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2", "irfft2", "hfftn", "ihfftn",
                                "hfft2", "ihfft2"])
@pytest.mark.parametrize("norm", NORMS)
def test_nd(fn, norm):
    g = torch.Generator().manual_seed(1)
    xr = torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
    xc = torch.randn(3, 4, 6, generator=g, dtype=torch.complex64)
    for x in (xr, xc):
        if fn.startswith(("rfft", "ihfft")) and x.is_complex():
            continue
        cases = [{}, {"dim": (0, 2)}, {"s": (5, 3)}, {"s": (2, 8), "dim": (0, 1)}]
        if not fn.endswith("2"):
            cases += [{"dim": 1}, {"s": (4, 2, 3)}]
        for kw in cases:
            _close(getattr(td.fft, fn)(from_torch(x), norm=norm, **kw), getattr(torch.fft, fn)(x, norm=norm, **kw))


def test_strided_and_broadcast_inputs():
    x = torch.randn(6, 10, dtype=torch.complex128)
    t = from_torch(x)
    _close(td.fft.fft(t.t(), dim=0), torch.fft.fft(x.t(), dim=0))
    _close(td.fft.fft(t[:, ::2]), torch.fft.fft(x[:, ::2]))
    _close(td.fft.irfft(t[1:4, 2:7]), torch.fft.irfft(x[1:4, 2:7]))
    r = torch.randn(1, 9, dtype=torch.float64)
    _close(td.fft.rfft(from_torch(r).expand(4, 9), dim=0), torch.fft.rfft(r.expand(4, 9), dim=0))
    _close(td.fft.fftn(from_torch(r).expand(3, 9)), torch.fft.fftn(r.expand(3, 9)))


def test_roundtrip_and_input_untouched():
    x = torch.randn(4, 16, dtype=torch.complex64)
    t = from_torch(x)
    spec = td.fft.rfft(td.fft.irfft(t, n=16), n=16)
    _close(td.fft.irfft(t, n=16), torch.fft.irfft(x, n=16))
    assert torch.equal(to_torch(t), x)  # C2R works on a copy: the input is intact
    _close(td.fft.ifft(td.fft.fft(t)), x)
    assert spec.shape == (4, 9)


def test_errors():
    x = torch.randn(4)
    t = from_torch(x)
    for f in (lambda m, a: m.fft.fft(a, n=0), lambda m, a: m.fft.fft(a, norm="bad"),
              lambda m, a: m.fft.fft(a, dim=2), lambda m, a: m.fft.rfft(a.to(m.complex64)),
              lambda m, a: m.fft.fftn(a, dim=(0, 0)), lambda m, a: m.fft.irfft(a[:1])):
        assert_raises_like(lambda: f(td, t), lambda: f(torch, x))


@pytest.mark.parametrize("n", [1, 4, 7, 10])
def test_freq_and_shift(n):
    for d in (1.0, 0.25):
        _close(td.fft.fftfreq(n, d), torch.fft.fftfreq(n, d))
        _close(td.fft.rfftfreq(n, d), torch.fft.rfftfreq(n, d))
    _close(td.fft.fftfreq(n, dtype=td.float64), torch.fft.fftfreq(n, dtype=torch.float64))
    x = torch.arange(n * 3).reshape(3, n)
    for dim in (None, 0, 1, (0, 1), -1):
        assert torch.equal(to_torch(td.fft.fftshift(from_torch(x), dim)), torch.fft.fftshift(x, dim))
        assert torch.equal(to_torch(td.fft.ifftshift(from_torch(x), dim)), torch.fft.ifftshift(x, dim))


def test_large_against_numpy():
    a = np.random.default_rng(0).standard_normal((3, 1000))
    got = to_torch(td.fft.rfft(td.tensor(a), norm="ortho")).numpy()
    assert np.allclose(got, np.fft.rfft(a, norm="ortho"), atol=1e-10)
