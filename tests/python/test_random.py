"""Random numbers: manual_seed reproducibility, ranges and moments."""
import numpy as np
import pytest

import tensord as td


def test_manual_seed_reproducible():
    td.manual_seed(123)
    a = td.rand(100).tolist()
    b = td.randn(3, 5).tolist()
    c = td.randint(0, 10, (50,)).tolist()
    td.manual_seed(123)
    assert td.rand(100).tolist() == a
    assert td.randn(3, 5).tolist() == b
    assert td.randint(0, 10, (50,)).tolist() == c
    td.manual_seed(124)
    assert td.rand(100).tolist() != a
    g = td.manual_seed(2 ** 64 - 1)
    assert g.initial_seed() == 2 ** 64 - 1


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_rand_range(dt):
    td.manual_seed(0)
    x = td.rand(20000, dtype=getattr(td, dt))
    assert x.dtype is getattr(td, dt) and x.shape == (20000,)
    a = x.float().numpy()
    assert a.min() >= 0.0 and a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.02 and abs(a.var() - 1 / 12) < 0.01
    hist, _ = np.histogram(a, bins=10, range=(0, 1))
    assert hist.min() > 1500


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_randn_moments(dt):
    td.manual_seed(1)
    a = td.randn(200, 200, dtype=getattr(td, dt)).numpy().astype(np.float64).ravel()
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02
    assert abs((a ** 3).mean()) < 0.05 and abs((a ** 4).mean() - 3) < 0.15
    assert 0.67 < np.mean(np.abs(a) < 1) < 0.695


def test_randint():
    td.manual_seed(5)
    x = td.randint(3, 9, (10000,))
    assert x.dtype is td.int64
    v = x.numpy()
    assert v.min() == 3 and v.max() == 8
    counts = np.bincount(v - 3)
    assert counts.min() > 1400
    y = td.randint(4, (2, 3), dtype=td.int16)
    assert y.dtype is td.int16 and y.shape == (2, 3) and 0 <= y.numpy().min() and y.numpy().max() < 4
    z = td.randint(-5, 5, size=(1000,))
    assert z.numpy().min() == -5 and z.numpy().max() == 4
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got from=5 >= to=0"):
        td.randint(5, 0, (2,))


def test_rand_shapes_and_errors():
    assert td.rand(2, 3).shape == (2, 3) and td.rand((4,)).shape == (4,) and td.rand(()).shape == ()
    assert td.randn(0, 3).shape == (0, 3)
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        td.rand(3, dtype=td.int64)
