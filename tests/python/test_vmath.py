"""The float32 vector paths of exp, log, sin, cos, tanh and sigmoid (kernels/cpu/vmath.h)
against torch 1.13 and against float64 math: sizes around the 8-lane block, strided and
in-place operands, special values, large arguments of sin/cos (the libm fallback)."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_same

RNG = np.random.default_rng(77)
NAMES = ["exp", "log", "sin", "cos", "tanh", "sigmoid"]


def ref64(name, x):
    """float64 result of name over float32 data x, rounded to float32 (the exact answer)."""
    t = torch.from_numpy(x.astype(np.float64))
    return getattr(torch, name)(t).float()


def ulp_err(got, want):
    """largest error of got (torch float32) in units of want's float32 spacing; NaN must match."""
    g, w = got.double(), want.double()
    assert torch.equal(torch.isnan(g), torch.isnan(w))
    fin = torch.isfinite(w)
    assert torch.equal(g[~fin & ~torch.isnan(w)], w[~fin & ~torch.isnan(w)])
    g, w = g[fin], w[fin]
    spacing = (torch.nextafter(w.float().abs(), torch.tensor(np.inf)).double() - w.abs()).clamp(min=2.0 ** -149)
    return float(((g - w).abs() / spacing).max()) if w.numel() else 0.0


def data(name, n):
    x = (RNG.random(n) - 0.5) * 40
    if name == "log":
        x = np.abs(x) * RNG.choice([1e-30, 1e-3, 1, 1e20], n)
    return x.astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_sizes_around_lanes(name):
    for n in [0, 1, 3, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1000]:
        x = data(name, n)
        got = torch.from_numpy(getattr(td, name)(td.tensor(x)).numpy())
        assert_same(getattr(td, name)(td.tensor(x)), getattr(torch, name)(torch.from_numpy(x)))
        assert ulp_err(got, ref64(name, x)) <= 1.0, (name, n)


@pytest.mark.parametrize("name", NAMES)
def test_strided_and_inplace(name):
    x = data(name, 40 * 33).reshape(40, 33)
    tx, px = td.tensor(x), torch.from_numpy(x)
    assert_same(getattr(td, name)(tx.t()), getattr(torch, name)(px.t()))
    assert_same(getattr(td, name)(tx[::3, 1::2]), getattr(torch, name)(px[::3, 1::2]))
    big = data(name, 3 * 700).reshape(700, 3)  # strided runs longer than the 256-element scratch
    assert_same(getattr(td, name)(td.tensor(big)[:, 1]), getattr(torch, name)(torch.from_numpy(big)[:, 1]))
    ty, py = td.tensor(x), torch.from_numpy(x.copy())
    getattr(ty, name + "_")()
    getattr(py, name + "_")()
    assert_same(ty, py)


@pytest.mark.parametrize("name", NAMES)
def test_special_values(name):
    sp = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-38, 88.7, 88.8, -87.4, -103.9, -104.5,
          3.4e38, -3.4e38, 1e-4, -1e-4, 0.0624, 0.0626, 9.0, -9.0, 1e6, -1e6, 1.5e6, 12345.678]
    x = np.array(sp * 3, dtype=np.float32)  # the specials in every lane position
    got = torch.from_numpy(getattr(td, name)(td.tensor(x)).numpy())
    want = getattr(torch, name)(torch.from_numpy(x))
    assert torch.equal(torch.isnan(got), torch.isnan(want)), (got, want)
    assert_same(getattr(td, name)(td.tensor(x)), want, atol=1e-30)
    assert ulp_err(got, ref64(name, x)) <= 1.0
    if name in ("sin", "tanh"):  # odd functions keep the sign of zero
        assert torch.equal(torch.signbit(got[:2]), torch.tensor([False, True]))


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_trig_large_arguments(name):
    """Blocks with |x| > 1e6 go to libm; blocks below stay exact up to 1e6."""
    x = np.concatenate([RNG.uniform(-1e6, 1e6, 64), RNG.uniform(-1e9, 1e9, 13), [1e30, -1e30]]).astype(np.float32)
    got = torch.from_numpy(getattr(td, name)(td.tensor(x)).numpy())
    assert ulp_err(got, ref64(name, x)) <= 1.0


def test_float64_unchanged():
    x = RNG.uniform(-20, 20, 1001)
    for name in NAMES:
        xx = np.abs(x) if name == "log" else x
        assert_same(getattr(td, name)(td.tensor(xx)), getattr(torch, name)(torch.from_numpy(xx)), rtol=1e-15,
                    atol=1e-300)
