"""tensord.nn.functional's stateless tensor functions against torch 1.13: softmax family,
activations, one_hot, normalize, linear (values, dtypes, errors, warnings)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tensord as td
import tensord.nn.functional as DF
from tdhelpers import assert_raises_like, assert_same, pair

RNG = np.random.default_rng(5)
X = (RNG.standard_normal((4, 5, 6)) * 4).astype(np.float64)
X[0, 0, :3] = [30.0, -30.0, 0.0]  # softplus threshold / logsigmoid tails


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", [
    ("relu", {}), ("relu6", {}), ("sigmoid", {}), ("tanh", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("silu", {}), ("elu", {}), ("elu", {"alpha": 0.5}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
    ("softplus", {}), ("softplus", {"beta": 2, "threshold": 5}), ("logsigmoid", {}), ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
])
@pytest.mark.filterwarnings("ignore:nn.functional.(sigmoid|tanh) is deprecated")
def test_activations(dt, name, kw):
    x, tx = pair(X, dt)
    x, tx = x.transpose(0, 2), tx.transpose(0, 2)  # strided
    assert_same(getattr(DF, name)(x, **kw), getattr(TF, name)(tx, **kw), rtol=1e-5 if dt == "float32" else None)


@pytest.mark.parametrize("name", ["relu", "elu", "leaky_relu", "hardtanh", "silu", "relu6"])
def test_inplace_activations(name):
    x, tx = pair(X, "float32")
    r, tr = getattr(DF, name)(x, inplace=True), getattr(TF, name)(tx, inplace=True)
    assert r is x
    assert_same(x, tx, rtol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(name, dim):
    x, tx = pair(X, "float32")
    assert_same(getattr(DF, name)(x, dim), getattr(TF, name)(tx, dim), rtol=1e-5)
    assert_same(getattr(DF, name)(x, dim, dtype=td.float64), getattr(TF, name)(tx, dim, dtype=torch.float64))


@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 3, 5), (2, 2, 3, 5)])
def test_softmax_implicit_dim_warns_like_torch(shape):
    x, tx = pair(RNG.standard_normal(shape), "float32")
    with warnings.catch_warnings(record=True) as w1:
        warnings.simplefilter("always")
        want = TF.softmax(tx)
    with warnings.catch_warnings(record=True) as w2:
        warnings.simplefilter("always")
        got = DF.softmax(x)
    assert_same(got, want, rtol=1e-5)
    assert [str(w.message) for w in w2] == [str(w.message) for w in w1]


def test_one_hot():
    i, ti = pair([[2, 0], [1, 2]], "int64")
    assert_same(DF.one_hot(i), TF.one_hot(ti))
    assert_same(DF.one_hot(i, 5), TF.one_hot(ti, 5))
    e, te = pair(np.zeros((0,), dtype=np.int64), "int64")
    assert_same(DF.one_hot(e, 4), TF.one_hot(te, 4))
    s, ts = pair(2, "int64")
    assert_same(DF.one_hot(s, 4), TF.one_hot(ts, 4))
    for data, dt, n in (([1.0], "float32", -1), ([-1], "int64", -1), ([3], "int64", 3), ([1], "int32", -1)):
        x, tx = pair(data, dt)
        assert_raises_like(lambda: DF.one_hot(x, n), lambda: TF.one_hot(tx, n))
    assert_raises_like(lambda: DF.one_hot(e), lambda: TF.one_hot(te))


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1), (float("inf"), 1)])
def test_normalize(p, dim):
    x, tx = pair(X, "float64")
    assert_same(DF.normalize(x, p, dim), TF.normalize(tx, p, dim))
    z, tz = pair(np.zeros((2, 3)), "float32")
    assert_same(DF.normalize(z), TF.normalize(tz))


def test_linear():
    x, tx = pair(X, "float32")
    w, tw = pair(RNG.standard_normal((3, 6)), "float32")
    b, tb = pair(RNG.standard_normal(3), "float32")
    assert_same(DF.linear(x, w, b), TF.linear(tx, tw, tb), rtol=1e-5, atol=1e-5)
    assert_same(DF.linear(x, w), TF.linear(tx, tw), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_deprecated_aliases_warn_like_torch(name):
    x, tx = pair(X, "float32")
    with pytest.warns(UserWarning) as w1:
        getattr(TF, name)(tx)
    with pytest.warns(UserWarning) as w2:
        getattr(DF, name)(x)
    assert [str(w.message) for w in w2] == [str(w.message) for w in w1]


def test_errors():
    x, tx = pair(X, "float32")
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        DF.hardtanh(x, 2.0, 1.0)
    assert_raises_like(lambda: DF.gelu(x, approximate="erf"), lambda: TF.gelu(tx, approximate="erf"))
